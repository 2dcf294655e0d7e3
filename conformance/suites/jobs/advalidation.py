"""Advalidation's complete job: default ad specification → campaign → upload a creative (which starts its
scan) → wait → the scan's checks. The API has no report file (the creative's `shareURL` is a web page),
so the job writes none."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from advalidation_client.models import CampaignCreate, MediaType

from conformance.suites.jobs import Steps


def run(client: Any, workdir: Path) -> Steps:
    specs = client.ad_specifications.list_ad_specifications().data
    display = next(s for s in specs if s.type_ == MediaType.DISPLAY and s.is_default)
    campaign = client.campaigns.create_campaign(
        body=CampaignCreate(name="Spring launch", type_=MediaType.DISPLAY, adspec_id=display.id)
    ).data
    scan = client.start_scan(campaign.id, payload="https://cdn.example.com/ads/leaderboard.png")
    final = client.wait_for_scan(scan, timeout=600, poll_interval=5)
    findings = list(client.iter_findings(final))
    return Steps(
        target=f"campaign {campaign.id} (ad spec {display.id})",
        scan=final,
        findings=findings,
        notes=["Advalidation has no report-file API: results are the checks (shareURL is a web page)"],
    )
