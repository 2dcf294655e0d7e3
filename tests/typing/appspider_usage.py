"""Typed use of the generated AppSpider client; checked by `mypy --strict`, never run."""

from __future__ import annotations

from pathlib import Path
from uuid import UUID

import appspider_client
from appspider_client import AuthenticatedClient
from appspider_client.api.scan_management import get_scan_status, run_scan
from appspider_client.models import (
    Finding,
    FindingsResponse,
    RunScanJsonRequest,
    RunScanRequest,
    RunScanResponse,
    SaveConfigForm,
    ScanStatusName,
    ScanStatusResponse,
    ScanStatusText,
)
from appspider_client.types import File


def make_client(login_token: str) -> AuthenticatedClient:
    # `Authorization: Basic <token from /Authentication/Login>` (spec securitySchemes.AppSpiderToken).
    return AuthenticatedClient(
        base_url="https://appspider.example.com/AppSpiderEnterprise/rest/v1",
        token=login_token,
        prefix="Basic",
    )


def start(client: AuthenticatedClient, config_id: UUID | None, config_name: str) -> UUID | None:
    # The form model is sent as a form, the JSON model as JSON (overlays/appspider/30-codegen-*).
    body = RunScanRequest(config_id=config_id) if config_id else RunScanJsonRequest(config_name=config_name)
    response = run_scan.sync_detailed(client=client, body=body)
    if isinstance(response.parsed, RunScanResponse):
        scan_id: UUID = response.parsed.scan.id
        return scan_id
    return None


def status(client: AuthenticatedClient, scan_id: UUID) -> ScanStatusText | ScanStatusName | None:
    # Two vocabularies reach the same field: descriptive text and the enum name (spec ScanStatusResponse).
    response = get_scan_status.sync_detailed(client=client, scan_id=[scan_id])
    if isinstance(response.parsed, ScanStatusResponse):
        text: ScanStatusText | ScanStatusName | None = response.parsed.status
        return text
    return None


def job(scan_config_xml: str, workdir: Path) -> tuple[list[Finding], Path, bytes]:
    # The workflow through the typed surface: a config, a run, its findings and its report files.
    with appspider_client.connect(auth=("scanner-ci", "secret")) as client:
        group: UUID = client.engines.get_engine_groups_for_client().engine_groups[0].id
        client.scan_configuration.save_config(
            body=SaveConfigForm(engine_group_id=group, name="ci", xml=scan_config_xml)
        )
        scan = client.start_scan(config_name="ci")
        client.wait_for_scan(scan)
        page: FindingsResponse = client.findings.get_vulnerabilities(
            scan_id=UUID(str(scan.id)), page=0, page_size=50
        )
        found: list[Finding] = [*page.findings, *client.iter_findings(scan)]
        summary: File = client.reports.get_vulnerabilities_summary_xml(scan_id=UUID(str(scan.id)))
        return found, client.download_report(scan, workdir / "ReportAllFiles.zip"), summary.payload.read()
