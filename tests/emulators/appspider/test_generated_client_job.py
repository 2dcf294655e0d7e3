"""The whole AppSpider job through the GENERATED client, from an empty emulator (no scans, no findings):
engine group -> SaveConfig -> RunScan (start_scan) -> wait -> findings -> report file on disk, checked
against what the emulator holds. Sync through the typed namespaces and through the runtime's
iter_findings/download_report; async through the same helpers; and the shared job runner."""

from __future__ import annotations

import asyncio
import zipfile
from pathlib import Path
from typing import Any
from xml.etree import ElementTree

import appspider_client
import httpx
import pytest
from appspider_client.models import SaveConfigForm

from conformance.emulators.appspider.findings import findings_for
from conformance.emulators.core import Emulator, EmulatorSettings, ManualClock, build_emulator
from conformance.emulators.core.engine import Progression
from conformance.emulators.core.transport import SyncASGITransport
from conformance.suites.jobs import run_job, sniff_report
from conformance.suites.jobs.appspider import config_xml

BASE = "https://appspider.example.com"
AUTH = ("scanner-ci", "correct horse battery staple")
NAME, URL = "ci.example.com full", "https://ci.example.com/"


@pytest.fixture
def emu() -> Any:
    emu = build_emulator(
        "appspider", clock=ManualClock(), settings=EmulatorSettings(progression={"mode": "immediate"})
    )
    emu.plugin.scenarios["no_configs"](emu.backend)  # nothing but the client and its engine group
    assert [emu.store.count(kind) for kind in ("scan", "config", "finding")] == [0, 0, 0]
    yield emu
    assert emu.violations == [] and emu.errors == []
    emu.store.close()


def expected_findings(emu: Emulator, scan_id: str) -> list[str]:
    """The finding ids the emulator's deterministic generator gives this scan (its targets, any time)."""
    config = next(r.data for r in emu.store.list("config", "webshop") if r.data["Name"] == NAME)
    return [f["Id"] for f in findings_for(scan_id, config["Targets"], "t")]


def test_job__typed_namespaces_from_an_empty_emulator(emu: Emulator, tmp_path: Path) -> None:
    with appspider_client.connect(BASE, auth=AUTH, transport=SyncASGITransport(emu)) as client:
        group = client.engines.get_engine_groups_for_client().engine_groups[0]
        saved = client.scan_configuration.save_config(
            body=SaveConfigForm(engine_group_id=group.id, name=NAME, xml=config_xml(NAME, URL))
        )
        assert saved.is_success is True
        config = next(c for c in client.scan_configuration.get_configs().configs if c.name == NAME)
        assert [t.host for t in config.targets] == ["ci.example.com"]
        scan = client.start_scan(config_id=config.id)  # POST /Scan/RunScan (form, configId)
        final = client.wait_for_scan(scan, timeout=600, poll_interval=5)
        assert final.status.normalized == "succeeded" and final.status.raw == "Completed"

        first = client.findings.get_vulnerabilities(scan_id=scan.id, page=0, page_size=2)
        ids = [f.id for f in first.findings]
        for page in range(1, first.total_pages):
            ids += [
                f.id
                for f in client.findings.get_vulnerabilities(scan_id=scan.id, page=page, page_size=2).findings
            ]
        assert ids == expected_findings(emu, str(scan.id)) and first.total_count == len(ids)

        report = client.reports.get_report_zip(scan_id=scan.id)
        path = tmp_path / "ReportAllFiles.zip"
        path.write_bytes(report.payload.read())
    with zipfile.ZipFile(path) as archive:
        summary = ElementTree.fromstring(archive.read("VulnerabilitiesSummary.xml"))
    assert summary.findtext("ScanName") == NAME
    assert [v.findtext("DbId") for v in summary.iter("Vuln")] == ids
    assert {v.findtext("WebSite") for v in summary.iter("Vuln")} == {"https://ci.example.com"}


def test_job__runtime_helpers_iter_findings_and_download_report(emu: Emulator, tmp_path: Path) -> None:
    with appspider_client.connect(BASE, auth=AUTH, transport=SyncASGITransport(emu)) as client:
        group = client.engines.get_engine_groups_for_client().engine_groups[0]
        client.scan_configuration.save_config(
            body=SaveConfigForm(engine_group_id=group.id, name=NAME, xml=config_xml(NAME, URL))
        )
        emu.engine.set_default_progression(Progression(mode="manual"))  # the scan waits in Starting
        scan = client.start_scan(config_name=NAME)
        with pytest.raises(appspider_client.ApiError) as early:
            client.download_report(scan, tmp_path / "early.zip")
        assert isinstance(early.value, appspider_client.ConflictError)
        assert early.value.code == "ReportNotReady" and early.value.status == 400
        assert list(tmp_path.iterdir()) == []  # no partial file
        for state in ("Running", "Completed"):
            emu.engine.set_state(str(scan.id), state)
        assert client.wait_for_scan(scan, timeout=600, poll_interval=5).status.raw == "Completed"
        found = list(client.iter_findings(scan, page_size=1))
        path = client.download_report(scan, tmp_path / "report.zip")
    assert [f.id for f in found] == expected_findings(emu, str(scan.id))
    assert {str(f.scan_id) for f in found} == {str(scan.id)}
    assert {f.target_host for f in found} == {"ci.example.com"}
    assert sniff_report(path) == "zip(xml)"
    with zipfile.ZipFile(path) as archive:
        vulns = ElementTree.fromstring(archive.read("VulnerabilitiesSummary.xml")).iter("Vuln")
        assert [v.findtext("DbId") for v in vulns] == [f.id for f in found]


def test_job__async_client(emu: Emulator, tmp_path: Path) -> None:
    async def job() -> tuple[Any, list[Any], Path]:
        async with appspider_client.connect_async(
            BASE, auth=AUTH, transport=httpx.ASGITransport(app=emu)
        ) as client:
            groups = await client.engines.get_engine_groups_for_client()
            await client.scan_configuration.save_config(
                body=SaveConfigForm(
                    engine_group_id=groups.engine_groups[0].id, name=NAME, xml=config_xml(NAME, URL)
                )
            )
            scan = await client.start_scan(config_name=NAME)
            final = await client.wait_for_scan(scan, timeout=600, poll_interval=5)
            found = [f async for f in client.iter_findings(scan)]
            return final, found, await client.download_report(scan, tmp_path / "async.zip")

    final, found, path = asyncio.run(job())
    assert final.status.normalized == "succeeded"
    assert [f.id for f in found] == expected_findings(emu, str(final.id))
    assert sniff_report(path) == "zip(xml)"


def test_job__the_shared_job_runner(tmp_path: Path) -> None:
    result = run_job("appspider", tmp_path)
    assert (result.status, result.raw, result.report_kind) == ("succeeded", "Completed", "zip(xml)")
    assert result.findings >= 2 and result.report is not None and result.report.name == "ReportAllFiles.zip"
