"""ThreadFix's complete job: team → application → upload a scan file (a pending scan) → wait until the
import is DONE → the imported scan's findings → the scan file back as the report."""

from __future__ import annotations

import io
from pathlib import Path
from typing import Any

from threadfix_client.models import CreateApplicationForm, CreateTeamBody
from threadfix_client.types import File

from conformance.suites.jobs import Steps

ZAP = b'<?xml version="1.0"?><OWASPZAPReport version="2.11.1"><site name="https://shop.example"/></OWASPZAPReport>'


def run(client: Any, workdir: Path) -> Steps:
    team = client.teams.create_team(body=CreateTeamBody(name="Web shop")).object_
    app = client.applications.create_application(
        team.id, body=CreateApplicationForm(name="Shop", url="https://shop.example")
    ).object_
    scan = client.start_scan(app.id, file=File(payload=io.BytesIO(ZAP), file_name="zap.xml"))
    final = client.wait_for_scan(scan, timeout=1800, poll_interval=10)
    findings = list(client.iter_findings(final))
    report = client.download_report(final, workdir / "zap.xml")
    return Steps(
        target=f"team {team.id} / application {app.id}", scan=final, findings=findings, report=report
    )
