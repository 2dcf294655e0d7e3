"""Opt-in: the read-only conformance suite against a real vendor server.

Runs only for a vendor whose `SCANWIRE_<VENDOR>_BASE_URL` is set (the server's base URL with its
path prefix), with credentials from the same variables `scanwire conformance --base-url` reads
(docs/conformance.md). Never needed to pass the test suite; CI sets none of them, so every case
here is skipped there. Writes (run/cancel/upload) stay off: a live run must not start scans.
"""

from __future__ import annotations

import os

import pytest

from conformance.suites.runner import ConformanceOptions, env_credentials, run_vendor
from scanwire.paths import VENDORS


def _base_url(vendor: str) -> str | None:
    return os.environ.get(f"SCANWIRE_{vendor.upper()}_BASE_URL") or None


@pytest.mark.live
@pytest.mark.parametrize("vendor", VENDORS)
def test_live_server_conforms_read_only(vendor: str) -> None:
    base_url = _base_url(vendor)
    if base_url is None:
        names = ", ".join([f"SCANWIRE_{vendor.upper()}_BASE_URL", *env_credentials(vendor).values()])
        pytest.skip(f"live {vendor} run is opt-in: set {names}")
    max_examples = int(os.environ.get("SCANWIRE_LIVE_MAX_EXAMPLES", "10"))
    run = run_vendor(vendor, ConformanceOptions(base_url=base_url, max_examples=max_examples))
    failing = run.failing_checks()
    assert (run.fatal, failing) == (None, {})
    assert run.cases > 0
