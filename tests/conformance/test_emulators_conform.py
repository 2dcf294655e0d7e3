"""The fast conformance pass of `make test`: every emulator against its own spec, all four phases.

Schemathesis drives each in-process emulator with positive and negative data (examples, coverage,
fuzzing, stateful chains). Every emulator must pass every check on every operation of its spec, never
answer 5xx, and its own response validation must have seen no violation. `scanwire conformance`
(default 25 examples) and `make bench` run the same suite bigger.
"""

from __future__ import annotations

import pytest

from conformance.suites.runner import ConformanceOptions, run_vendor
from scanwire.paths import VENDORS, layout
from scanwire.specs import iter_operations
from scanwire.yamlio import load_yaml

FAST = ConformanceOptions(max_examples=8)
# Vendors whose workflow no OpenAPI link can chain, and why (the stateful phase has nothing to follow).
# ThreadFix chains since issue 16: createTeam -> createApplication -> upload / read / list scans.
NO_LINKS: dict[str, str] = {}


def _spec_operations(vendor: str) -> set[str]:
    doc = load_yaml(layout().resolved(vendor), "spec").data
    return {f"{method} {path}" for method, path, _ in iter_operations(doc)}


@pytest.mark.parametrize("vendor", VENDORS)
def test_emulator__passes_its_own_conformance_suite(vendor: str) -> None:
    run = run_vendor(vendor, FAST)
    failing = run.failing_checks()
    errors = {op.label: op.errors for op in run.operations.values() if op.errors}
    assert (run.fatal, failing, errors) == (None, {}, {})
    assert not [s for s in run.statuses if s.startswith("5")], run.statuses
    # Every operation of the spec was exercised, and each with more than a handful of cases.
    assert set(run.operations) == _spec_operations(vendor)
    assert {op.label: op.cases for op in run.operations.values() if op.cases < 5} == {}
    # Negative data reached the emulator and was refused as the vendor refuses it (4xx), not crashed on.
    assert any(s.startswith("4") for s in run.statuses), run.statuses
    if vendor in NO_LINKS:
        assert run.phases.get("stateful", 0) == 0, f"{vendor} chains now: drop it from NO_LINKS"
    else:
        assert run.phases.get("stateful", 0) > 0, run.phases
