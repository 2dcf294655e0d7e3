"""Advalidation's complete job through the generated client, from an empty emulator."""

from __future__ import annotations

from pathlib import Path

from conformance.emulators.advalidation.models import checks_for
from conformance.suites.jobs import run_job


def test_job__campaign_upload_wait_and_the_scans_checks(tmp_path: Path) -> None:
    result = run_job("advalidation", tmp_path)
    assert (result.status, result.raw) == ("succeeded", "finished")
    assert result.target.startswith("campaign ")
    # The findings are the scan's own checks (deterministic per scan id), read through iter_findings.
    assert result.findings == len(checks_for(result.scan, "display")) == 2
    assert result.report is None and "no report-file API" in result.notes[0]
    again = run_job("advalidation", tmp_path / "again")
    assert (again.scan, again.findings) == (result.scan, result.findings)  # a fresh emulator, same job
