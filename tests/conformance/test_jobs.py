"""Every vendor's complete job (conformance.suites.jobs) from an empty in-process emulator: the scan
succeeds, the findings come and are the same for the same job, the report file (where the vendor has one)
is a whole document. `scanwire run` prints the same jobs after conformance."""

from __future__ import annotations

from pathlib import Path

import pytest

from conformance.suites.jobs import run_job
from scanwire import VENDORS

# The kind of document each vendor's report is (None: the API has no report file).
REPORT_KINDS = {
    "advalidation": None,
    "invicti": {"xml", "json", "html", "csv", "pdf"},
    "appspider": {"zip(xml)", "xml"},
    "threadfix": {"xml"},
    "soda": None,
}


@pytest.mark.parametrize("vendor", VENDORS)
def test_job__from_nothing_to_findings_and_report(vendor: str, tmp_path: Path) -> None:
    result = run_job(vendor, tmp_path / "first")
    assert result.status == "succeeded"
    assert result.findings > 0
    expected = REPORT_KINDS[vendor]
    if expected is None:
        assert result.report is None
    else:
        assert result.report is not None and result.report.is_relative_to(tmp_path)
        assert result.report_kind in expected and result.report_bytes > 0
    again = run_job(vendor, tmp_path / "again")  # a fresh emulator: the same job, the same outcome
    assert (again.scan, again.findings, again.report_kind) == (
        result.scan,
        result.findings,
        result.report_kind,
    )
