"""ThreadFix issue-16 workflow: the generated client from an empty emulator, create team -> application ->
upload -> wait -> findings -> scan file on disk -> delete followed through the pending scan."""

from __future__ import annotations

import io
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest
import threadfix_client
from threadfix_client.models.create_application_form import CreateApplicationForm
from threadfix_client.models.create_team_body import CreateTeamBody
from threadfix_client.models.vulnerability_search_form import VulnerabilitySearchForm
from threadfix_client.types import File

from conformance.emulators.core import EmulatorSettings, ManualClock, build_emulator
from conformance.emulators.core.transport import SyncASGITransport
from conformance.emulators.threadfix.models import SEVERITIES

KEY = "r31OPbW9LEAYnnAskBjYRACYmF2mGOmWgQAKmtPYE5YY"
GLOBEX = "Gx7kQ2mZt9VbLw4RfN8cYs1HdJp6UaE3oTi5XyKqWM0B"
ZAP = b'<?xml version="1.0"?><OWASPZAPReport version="2.11"><site name="https://shop.example"/></OWASPZAPReport>'


def _client(emu, key: str = KEY):  # type: ignore[no-untyped-def]
    return threadfix_client.connect("http://localhost:8080", auth=key, transport=SyncASGITransport(emu))


@pytest.fixture
def emu():  # type: ignore[no-untyped-def]
    return build_emulator(
        "threadfix", clock=ManualClock(), settings=EmulatorSettings(progression={"mode": "immediate"})
    )


def _run_job(emu, tmp_path: Path):  # type: ignore[no-untyped-def]
    with _client(emu) as client:
        team = client.teams.create_team(body=CreateTeamBody(name="Shop team")).object_
        app = client.applications.create_application(
            team.id, body=CreateApplicationForm(name="Shop", url="https://shop.example")
        ).object_
        scan = client.start_scan(app.id, file=File(payload=io.BytesIO(ZAP), file_name="zap.xml"))
        final = client.wait_for_scan(scan, timeout=60, poll_interval=1)
        scan_id = final.model.object_.scan_id
        detail = client.scans.get_scan_details(scan_id).object_
        vulns = client.vulnerabilities.search_vulnerabilities(
            body=VulnerabilitySearchForm.from_dict({"applications[0].id": app.id})
        ).object_
        target = tmp_path / "zap.xml"
        # The typed namespace parses JSON models; a file answer is read from the raw response.
        raw = client.with_raw_response.scans.download_scan(scan_id)
        assert raw.headers["content-type"] == "application/octet-stream"
        target.write_bytes(raw.http_response.content)
        return team, app, final, detail, vulns, target


def test_job__empty_emulator_to_findings_and_scan_file(emu, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    team, app, final, detail, vulns, target = _run_job(emu, tmp_path)
    assert (team.name, app.name, app.organization.id) == ("Shop team", "Shop", team.id)
    assert (final.status.normalized.value, final.status.raw) == ("succeeded", "DONE")
    assert detail.scanner_name == "OWASP Zed Attack Proxy"
    assert 3 <= len(detail.findings) <= 6
    assert detail.number_total_vulnerabilities == len(detail.findings) == len(vulns)
    assert sorted(f.id for f in detail.findings) == sorted(v.id for v in vulns)
    assert {v.generic_severity.name for v in vulns} <= set(SEVERITIES.values())
    assert ET.parse(target).getroot().tag == "OWASPZAPReport"  # the uploaded file, byte for byte
    assert target.read_bytes() == ZAP


def test_job__same_scan_id_gives_the_same_findings(tmp_path: Path) -> None:
    def findings() -> list[tuple[int, str | None, str | None]]:
        emu = build_emulator(
            "threadfix", clock=ManualClock(), settings=EmulatorSettings(progression={"mode": "immediate"})
        )
        *_, vulns, _ = _run_job(emu, tmp_path)
        return [(v.generic_severity.int_value, v.generic_vulnerability.name, v.path) for v in vulns]

    first = findings()
    assert first == findings()
    assert len(first) >= 3


def test_delete__queues_then_deletes_through_the_pending_scan(emu, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    _, app, final, detail, _, _ = _run_job(emu, tmp_path)
    with _client(emu) as client:
        answer = client.scans.delete_scan(detail.id)
        assert answer.object_ == "Successfully queued scan to be deleted."
        href = answer.links[0].href
        assert href.endswith(f"/applications/{app.id}/pendingScan/{final.id}/status")
        status = client.get_scan(threadfix_client.ScanRef(final.id, {"appId": app.id}))
        assert status.status.raw in ("SCAN_QUEUED_FOR_DELETE", "SCAN_DELETED")
        client.wait_for_scan(status, timeout=60, poll_interval=1) if not status.status.terminal else None
        with pytest.raises(threadfix_client.NotFoundError, match="No scan exists for requested id"):
            client.scans.get_scan_details(detail.id)
        assert (
            client.vulnerabilities.search_vulnerabilities(
                body=VulnerabilitySearchForm.from_dict({"applications[0].id": app.id})
            ).object_
            == []
        )


def test_isolation__another_team_sees_nothing(emu, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    _, app, _, detail, _, _ = _run_job(emu, tmp_path)
    with _client(emu, GLOBEX) as client:
        with pytest.raises(threadfix_client.NotFoundError, match="No scan exists"):
            client.scans.get_scan_details(detail.id)
        assert (
            client.vulnerabilities.search_vulnerabilities(
                body=VulnerabilitySearchForm.from_dict({"applications[0].id": app.id})
            ).object_
            == []
        )


def test_job__through_the_cross_vendor_helpers(emu, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    """iter_findings / download_report / delete address the imported scan (poll context `scanId`)."""
    with _client(emu) as client:
        team = client.teams.create_team(body=CreateTeamBody(name="Helpers")).object_
        app = client.applications.create_application(team.id, body=CreateApplicationForm(name="Shop")).object_
        scan = client.start_scan(app.id, file=File(payload=io.BytesIO(ZAP), file_name="zap.xml"))
        with pytest.raises(threadfix_client.UnsupportedOperationError, match="no 'scanId' yet"):
            list(client.iter_findings(scan))  # the upload answer has no imported scan yet
        final = client.wait_for_scan(scan, timeout=60, poll_interval=1)
        assert final.context == {"appId": app.id, "scanId": final.model.object_.scan_id}
        findings = list(client.iter_findings(final))
        detail = client.scans.get_scan_details(final.context["scanId"]).object_
        assert [f.to_dict() for f in detail.findings] == [f.to_dict() for f in findings]
        assert len(findings) >= 3
        path = client.download_report(final, tmp_path / "report.xml")
        assert ET.parse(path).getroot().tag == "OWASPZAPReport"
        answer = client.delete(final)
        assert answer.object_ == "Successfully queued scan to be deleted."
        client.wait_for_scan(final, timeout=60, poll_interval=1)
        with pytest.raises(threadfix_client.NotFoundError):
            list(client.iter_findings(final))
