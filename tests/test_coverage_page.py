"""IMPLEMENTATION_COVERAGE.md is current, and what it lists is complete: every operation emulated and
reachable through its generated client."""

from __future__ import annotations

import pytest

from scanwire.coverage import page_path, render, vendor_coverage
from scanwire.paths import VENDORS, layout


def test_page__is_up_to_date() -> None:
    lay = layout()
    assert page_path(lay).read_text(encoding="utf-8") == render(lay, list(VENDORS)), (
        "IMPLEMENTATION_COVERAGE.md is stale: run `scanwire coverage`"
    )


@pytest.mark.parametrize("vendor", VENDORS)
def test_every_operation__is_emulated_and_has_a_client_function(vendor: str) -> None:
    ops = vendor_coverage(layout(), vendor)
    assert ops
    assert [o.key for o in ops if not o.emulated or o.client_module is None] == []
    assert [o.key for o in ops if not o.sources] == []  # every operation says where it comes from
