"""Invicti's complete job: create the website (websites/new) → launch a scan of its root URL (scans/new
answers 201 with an array, the scan starts Queued) → wait until Complete → its findings (scans/result) →
the vulnerabilities report as XML."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from invicti_client.models import NewWebsiteApiModel, WebsiteLicenseType

from conformance.suites.jobs import Steps

TARGET = "https://shop.example/"


def run(client: Any, workdir: Path) -> Steps:
    body = NewWebsiteApiModel(root_url=TARGET, name="Shop", license_type=WebsiteLicenseType.SUBSCRIPTION)
    website = client.websites.new_website(body=body)
    scan = client.start_scan(target_uri=website.root_url)
    final = client.wait_for_scan(scan, timeout=3600, poll_interval=5)
    findings = list(client.iter_findings(final))
    report = client.download_report(final, workdir / "vulnerabilities.xml", format="Xml")
    return Steps(
        target=f"website {website.id} ({website.root_url})", scan=final, findings=findings, report=report
    )
