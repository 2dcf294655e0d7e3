"""One complete job per vendor, from an empty API to findings and a report file on disk.

Each vendor module here (`conformance.suites.jobs.<vendor>`) holds `run(client, workdir) -> Steps`: it
creates what a scan needs (a website, a config, an application...), starts the scan, waits, lists the
findings through `client.iter_findings` and streams the report through `client.download_report`, all
through the generated client, as a user's program would. `run_job(vendor, workdir)` runs it against a fresh
in-process emulator whose scans move one step per poll (the waiter's timer advances the emulator's clock,
so nothing sleeps), then checks what came back: the final state, the findings and that the report file
is a whole document of the kind it claims to be. `scanwire run` prints the results after conformance; the
tests run the same jobs (tests/conformance/test_jobs.py), so the README's flow cannot rot unnoticed.
"""

from __future__ import annotations

import csv
import importlib
import io
import json
import time
import zipfile
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from xml.etree import ElementTree

from conformance.emulators.core.app import Emulator, EmulatorSettings, build_emulator
from conformance.emulators.core.clock import ManualClock
from conformance.emulators.core.transport import SyncASGITransport
from conformance.suites.runner import _emulator_credentials

__all__ = ["JobError", "JobResult", "Steps", "emulated_client", "run_job", "sniff_report"]

BASE = "http://127.0.0.1"


class JobError(RuntimeError):
    """A job did not end as a user expects (no findings, a broken report...); the message says which step."""


@dataclass
class Steps:
    """What a vendor's job did: the target it created, the scan, its findings and the report file."""

    target: str
    scan: Any  # the Scan answered by wait_for_scan
    findings: list[Any] = field(default_factory=list)
    report: Path | None = None
    notes: list[str] = field(default_factory=list)


@dataclass
class JobResult:
    vendor: str
    target: str
    scan: str
    status: str
    raw: str
    findings: int
    report: Path | None
    report_kind: str | None
    report_bytes: int
    seconds: float
    notes: list[str]


def emulated_client(vendor: str, emu: Emulator | None = None) -> tuple[Any, Emulator]:
    """(the vendor's generated client, its emulator): a fresh in-process emulator whose scans move one
    state per poll, and a client whose waits advance the emulator's clock instead of sleeping."""
    package = importlib.import_module(f"{vendor}_client")
    if emu is None:
        emu = build_emulator(
            vendor, clock=ManualClock(), settings=EmulatorSettings(progression={"mode": "reads", "every": 1})
        )
    clock = emu.clock
    if not isinstance(clock, ManualClock):
        raise TypeError("the job's emulator needs a ManualClock (its waits advance it)")
    creds = _emulator_credentials(emu.spec, emu.plugin)
    client = package.connect(
        BASE,
        auth=package.VENDOR.auth(**creds),
        transport=SyncASGITransport(emu),
        timer=package.ManualTimer(on_sleep=clock.advance),
    )
    return client, emu


def sniff_report(path: Path) -> str:
    """What kind of document the report file is, after checking it parses as that: `zip(xml)`, `pdf`,
    `json`, `xml`, `html` or `csv`; JobError when it is none of them whole."""
    with path.open("rb") as fh:
        head = fh.read(512)
    if head.startswith(b"PK\x03\x04"):
        with zipfile.ZipFile(path) as archive:
            bad = archive.testzip()
            if bad is not None:
                raise JobError(f"{path.name}: member {bad} of the zip is corrupt")
            kinds = []
            for name in archive.namelist():
                if name.lower().endswith(".xml"):
                    with archive.open(name) as member:
                        ElementTree.parse(member)
                    kinds.append("xml")
            return f"zip({','.join(sorted(set(kinds))) or 'no xml'})"
    if head.startswith(b"%PDF-"):
        if b"%%EOF" not in path.read_bytes()[-1024:]:
            raise JobError(f"{path.name}: a PDF without its %%EOF trailer (cut short?)")
        return "pdf"
    text = head.lstrip(b"\xef\xbb\xbf").lstrip().lower()
    if text.startswith((b"{", b"[")):
        json.loads(path.read_bytes())
        return "json"
    if text.startswith((b"<!doctype html", b"<html")):
        body = path.read_bytes().lower()
        if b"</html>" not in body:
            raise JobError(f"{path.name}: an HTML report without </html> (cut short?)")
        return "html"
    if text.startswith(b"<"):
        ElementTree.parse(path)
        return "xml"
    rows = list(csv.reader(io.StringIO(path.read_text(encoding="utf-8-sig"))))
    if len(rows) >= 1 and len(rows[0]) > 1:
        return "csv"
    raise JobError(f"{path.name}: not a zip, PDF, JSON, HTML, XML or CSV document")


def _job(vendor: str) -> Callable[[Any, Path], Steps]:
    module = importlib.import_module(f"conformance.suites.jobs.{vendor}")
    run: Callable[[Any, Path], Steps] = module.run
    return run


def run_job(vendor: str, workdir: Path) -> JobResult:
    """The vendor's job against a fresh in-process emulator, checked; JobError names the step that failed."""
    workdir.mkdir(parents=True, exist_ok=True)
    start = time.perf_counter()
    client, _emu = emulated_client(vendor)
    with client:
        steps = _job(vendor)(client, workdir)
    status = steps.scan.status
    if status.normalized != "succeeded":
        raise JobError(f"{vendor}: the scan ended {status.normalized} ({status.raw!r}), not succeeded")
    kind = sniff_report(steps.report) if steps.report is not None else None
    return JobResult(
        vendor=vendor,
        target=steps.target,
        scan=str(steps.scan.id),
        status=str(status.normalized),
        raw=str(status.raw),
        findings=len(steps.findings),
        report=steps.report,
        report_kind=kind,
        report_bytes=steps.report.stat().st_size if steps.report is not None else 0,
        seconds=time.perf_counter() - start,
        notes=steps.notes,
    )
