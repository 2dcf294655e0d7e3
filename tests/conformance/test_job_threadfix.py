"""ThreadFix's job end to end on a fresh emulator, through the generated client: team -> application ->
upload -> wait until DONE -> the imported scan's findings -> the scan file back as the report."""

from __future__ import annotations

from pathlib import Path
from xml.etree import ElementTree

from conformance.suites.jobs import emulated_client, run_job
from conformance.suites.jobs.threadfix import ZAP, run


def test_threadfix_job__import_done_with_its_deterministic_findings_and_the_scan_file(tmp_path: Path) -> None:
    result = run_job("threadfix", tmp_path)
    assert (result.status, result.raw) == ("succeeded", "DONE")
    assert result.findings == 5  # random.Random("threadfix-scan-1"): the first imported scan's draw
    assert result.report_kind == "xml" and result.report is not None
    # The report is the uploaded file itself (T14 returns the original scan file).
    assert result.report.read_bytes() == ZAP
    assert ElementTree.parse(result.report).getroot().tag == "OWASPZAPReport"


def test_threadfix_job__findings_are_the_scan_details_findings(tmp_path: Path) -> None:
    client, _emu = emulated_client("threadfix")
    with client:
        steps = run(client, tmp_path)
        scan_id = steps.scan.context["scanId"]
        details = client.scans.get_scan_details(scan_id).object_
    assert [f.id for f in steps.findings] == [f.id for f in details.findings]
    assert len(steps.findings) == 5
