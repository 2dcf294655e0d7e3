"""`sniff_report`: a report file is accepted only as a whole document of a kind it parses as."""

from __future__ import annotations

import io
import zipfile
from pathlib import Path

import pytest

from conformance.suites.jobs import JobError, sniff_report


def _zip(members: dict[str, bytes]) -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, data in members.items():
            archive.writestr(name, data)
    return buf.getvalue()


GOOD = {
    "zip(xml)": _zip(
        {"VulnerabilitiesSummary.xml": b"<?xml version='1.0'?><Vulns><Vuln/></Vulns>", "a.html": b"x"}
    ),
    "pdf": b"%PDF-1.4\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n",
    "json": b'{"vulnerabilities": [1, 2]}',
    "html": b"<!DOCTYPE html><html><body><h1>Report</h1></body></html>",
    "xml": b"<?xml version='1.0'?><netsparker><vulnerabilities/></netsparker>",
    "csv": b"Name,Severity\nXSS,High\n",
}


@pytest.mark.parametrize("kind", sorted(GOOD))
def test_whole_documents_are_named(kind: str, tmp_path: Path) -> None:
    path = tmp_path / "report"
    path.write_bytes(GOOD[kind])
    assert sniff_report(path) == kind


@pytest.mark.parametrize(
    ("data", "error"),
    [
        (GOOD["pdf"].replace(b"%%EOF", b""), "PDF without"),
        (GOOD["html"][:-10], "without </html>"),
        (GOOD["xml"][:-5], "no element found|unclosed|mismatched"),
        (GOOD["json"][:-3], "Expecting|delimiter"),
        (_zip({"r.xml": b"<a><b></a>"}), "mismatched"),
        (b"just words", "not a zip"),
    ],
)
def test_broken_or_cut_short_documents_are_refused(data: bytes, error: str, tmp_path: Path) -> None:
    path = tmp_path / "report"
    path.write_bytes(data)
    with pytest.raises((JobError, ValueError, SyntaxError), match=error):
        sniff_report(path)
