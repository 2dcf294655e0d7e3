"""One whole Invicti job through the GENERATED client from an empty emulator, sync and async:
create the target (scans/new) -> start -> wait -> findings -> report file on disk."""

from __future__ import annotations

import asyncio
import json
import xml.etree.ElementTree as ET
from pathlib import Path

import httpx
import invicti_client

from conformance.emulators.core import EmulatorSettings, ManualClock, build_emulator
from conformance.emulators.core.transport import SyncASGITransport
from conformance.emulators.invicti import reports
from conformance.emulators.invicti.models import ACCOUNTS

ACME = (ACCOUNTS["acme"]["user_id"], ACCOUNTS["acme"]["token"])
BASE = "https://www.netsparkercloud.com"
TARGET = "https://shop.example/"


def _emulator():  # type: ignore[no-untyped-def]
    return build_emulator(
        "invicti", clock=ManualClock(), settings=EmulatorSettings(progression={"mode": "reads", "every": 1})
    )


def _expected(scan_id: str) -> list[tuple[str, str]]:
    return [(f["Type"], f["Url"]) for f in reports.findings(scan_id, TARGET)]


def test_job__sync_from_empty_emulator(tmp_path: Path) -> None:
    emu = _emulator()
    timer = invicti_client.ManualTimer(on_sleep=emu.clock.advance)
    with invicti_client.connect(BASE, auth=ACME, transport=SyncASGITransport(emu), timer=timer) as client:
        started = client.start_scan(target_uri=TARGET)  # POST /api/1.0/scans/new -> 201 [ScanTaskModel]
        assert started.status.state == "Queued"  # the lifecycle's initial state (the answer is an array)
        final = client.wait_for_scan(started, timeout=3600, poll_interval=5)
        assert (final.status.normalized, final.status.raw) == ("succeeded", "Complete")
        # typed namespace and the cross-vendor helper agree, and give the deterministic findings
        typed = client.scans.get_scan_result(started.id)
        helped = list(client.iter_findings(started))
        assert (
            [(f.type_, f.url) for f in typed] == [(f.type_, f.url) for f in helped] == _expected(started.id)
        )
        path = client.download_report(started, tmp_path / "report.xml", format="Xml")
        root = ET.parse(path).getroot()
        assert root.tag == "invicti-enterprise"
        assert [e.text for e in root.iter("type")] == [t for t, _ in _expected(started.id)]
        pdf = client.download_report(started, tmp_path / "report.pdf", format="Pdf").read_bytes()
        assert pdf.startswith(b"%PDF-1.4") and pdf.rstrip().endswith(b"%%EOF")
    assert emu.errors == [] and emu.violations == []


def test_job__async_from_empty_emulator(tmp_path: Path) -> None:
    emu = _emulator()

    async def main() -> tuple[str, list[tuple[str, str]], Path]:
        timer = invicti_client.ManualTimer(on_sleep=emu.clock.advance)
        transport = httpx.ASGITransport(app=emu)
        async with invicti_client.connect_async(BASE, auth=ACME, transport=transport, timer=timer) as client:
            started = await client.start_scan(target_uri=TARGET)
            final = await client.wait_for_scan(started, timeout=3600, poll_interval=5)
            assert final.status.raw == "Complete"
            found = [(f.type_, f.url) async for f in client.iter_findings(started)]
            path = await client.download_report(started, tmp_path / "report.json", format="Json")
            return started.id, found, path

    scan_id, found, path = asyncio.run(main())
    assert found == _expected(scan_id)
    doc = json.loads(path.read_text())
    assert [v["Type"] for v in doc["Vulnerabilities"]] == [t for t, _ in _expected(scan_id)]
