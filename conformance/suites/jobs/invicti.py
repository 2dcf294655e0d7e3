"""Invicti's complete job: launch a scan of the target URL (scans/new answers 201 with an array, the scan
starts Queued) → wait until Complete → its findings (scans/result) → the vulnerabilities report as XML.
Websites, profiles and policies are not emulated yet, so the target is the scan's TargetUri itself."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from conformance.suites.jobs import Steps

TARGET = "https://shop.example/"


def run(client: Any, workdir: Path) -> Steps:
    scan = client.start_scan(target_uri=TARGET)
    final = client.wait_for_scan(scan, timeout=3600, poll_interval=5)
    findings = list(client.iter_findings(final))
    report = client.download_report(final, workdir / "vulnerabilities.xml", format="Xml")
    return Steps(target=TARGET, scan=final, findings=findings, report=report)
