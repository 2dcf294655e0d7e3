"""Invicti findings and report files: deterministic vulnerabilities per scan, rendered in the six formats.

No HTTP and no state: `findings(scan_id, target)` is a pure function of the scan id (same id, same
findings), `render(...)` turns them into a report document of one format.
"""

from __future__ import annotations

import csv
import html
import io
import json
import random
from typing import Any
from xml.sax.saxutils import escape

__all__ = ["FORMATS", "MEDIA_TYPES", "findings", "render"]

# format -> media type (Html is FACT [INV-JENK]; the rest INFERENCE, vendor-notes-workflow §2).
MEDIA_TYPES = {
    "Xml": "application/xml",
    "Csv": "text/csv",
    "Pdf": "application/pdf",
    "Html": "text/html",
    "Txt": "text/plain",
    "Json": "application/json",
}
FORMATS = tuple(MEDIA_TYPES)
# (Type, Name, Severity, path) — vulnerability types of the vendor enum and its sample reports.
_CATALOGUE = (
    ("Xss", "Cross-site Scripting", "High", "search?q="),
    ("SqlInjection", "SQL Injection", "Critical", "product?id="),
    ("MissingXFrameOptionsHeader", "Missing X-Frame-Options Header", "Low", ""),
    ("CookieNotMarkedAsHttpOnly", "Cookie Not Marked as HttpOnly", "Low", "login"),
    ("OpenRedirection", "Open Redirection", "Medium", "redirect?url="),
    ("InsecureTransportationSecurityProtocolSupportedTls10",
     "Insecure Transportation Security Protocol Supported (TLS 1.0)", "Medium", ""),
    ("VersionDisclosureNginx", "Version Disclosure (Nginx)", "Low", ""),
    ("PasswordTransmittedOverHttp", "Password Transmitted over HTTP", "High", "account/login"),
)  # fmt: skip


def findings(scan_id: str, target: str) -> list[dict[str, Any]]:
    """Two to six vulnerabilities of `target`, chosen by a generator seeded from the scan id."""
    rng = random.Random(scan_id)
    picked = rng.sample(_CATALOGUE, rng.randint(2, 6))
    root = target if target.endswith("/") else target + "/"
    out = []
    for n, (kind, name, severity, path) in enumerate(picked):
        url = root + path
        out.append(
            {
                "n": n,
                "Type": kind,
                "Title": name,
                "Severity": severity,
                "Url": url,
                "IssueUrl": f"https://www.netsparkercloud.com/issues/detail/{scan_id}-{n}",
                "Certainty": rng.choice((90, 95, 100)),
                "Confirmed": rng.random() < 0.5,
            }
        )
    return out


def model(finding: dict[str, Any]) -> dict[str, Any]:
    """A finding as scans/result shows it (VulnerabilityModel)."""
    return {k: finding[k] for k in ("IssueUrl", "Title", "Type", "Url")}


def render(fmt: str, scan: dict[str, Any], items: list[dict[str, Any]]) -> bytes:
    """The report of one scan (`scan`: Id, TargetUrl, Initiated, Duration) in `fmt` (one of FORMATS)."""
    return _RENDERERS[fmt](scan, items)


def _json(scan: dict[str, Any], items: list[dict[str, Any]]) -> bytes:
    # Shape of the vendor's JSON vulnerabilities report (vendor-notes-workflow §2, [INV-SECHUB, INV-DD]).
    doc = {
        "Generated": scan.get("Generated"),
        "Target": {
            "ScanId": scan["Id"].replace("-", ""),
            "Url": scan.get("TargetUrl"),
            "Initiated": scan.get("Initiated"),
            "Duration": scan.get("Duration"),
        },
        "Vulnerabilities": [
            {
                "Url": f["Url"],
                "Type": f["Type"],
                "Name": f["Title"],
                "Severity": f["Severity"],
                "Certainty": f["Certainty"],
                "Confirmed": f["Confirmed"],
                "State": "Present",
                "LookupId": f["IssueUrl"].rsplit("/", 1)[-1],
            }
            for f in items
        ],
    }
    return json.dumps(doc, ensure_ascii=False).encode()


def _xml(scan: dict[str, Any], items: list[dict[str, Any]]) -> bytes:
    # <invicti-enterprise> root with kebab-case children (vendor-notes-workflow §2 INFERENCE for today).
    out = [
        '<?xml version="1.0" encoding="utf-8"?>',
        f'<invicti-enterprise generated="{escape(str(scan.get("Generated") or ""))}">',
        "<target>",
        f"<scan-id>{escape(scan['Id'].replace('-', ''))}</scan-id>",
        f"<url>{escape(str(scan.get('TargetUrl') or ''))}</url>",
        f"<initiated>{escape(str(scan.get('Initiated') or ''))}</initiated>",
        f"<duration>{escape(str(scan.get('Duration') or ''))}</duration>",
        "</target>",
        "<vulnerabilities>",
    ]
    for f in items:
        out += [
            "<vulnerability>",
            f"<url>{escape(f['Url'])}</url>",
            f"<type>{escape(f['Type'])}</type>",
            f"<name>{escape(f['Title'])}</name>",
            f"<severity>{escape(f['Severity'])}</severity>",
            f"<certainty>{f['Certainty']}</certainty>",
            f"<confirmed>{str(f['Confirmed']).lower()}</confirmed>",
            "</vulnerability>",
        ]
    out += ["</vulnerabilities>", "</invicti-enterprise>"]
    return "\n".join(out).encode()


def _csv(scan: dict[str, Any], items: list[dict[str, Any]]) -> bytes:
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\r\n")
    writer.writerow(["Name", "Type", "Severity", "Url", "Certainty", "Confirmed"])
    for f in items:
        writer.writerow([f["Title"], f["Type"], f["Severity"], f["Url"], f["Certainty"], f["Confirmed"]])
    return buffer.getvalue().encode()


def _lines(scan: dict[str, Any], items: list[dict[str, Any]]) -> list[str]:
    head = f"Scan {scan['Id']} of {scan.get('TargetUrl')}: {len(items)} vulnerabilities"
    return [head, *(f"[{f['Severity']}] {f['Title']} at {f['Url']}" for f in items)]


def _txt(scan: dict[str, Any], items: list[dict[str, Any]]) -> bytes:
    return ("\n".join(_lines(scan, items)) + "\n").encode()


def _html(scan: dict[str, Any], items: list[dict[str, Any]]) -> bytes:
    rows = "".join(
        f"<tr><td>{html.escape(f['Title'])}</td><td>{html.escape(f['Severity'])}</td>"
        f"<td>{html.escape(f['Url'])}</td></tr>"
        for f in items
    )
    title = html.escape(f"Invicti scan report {scan['Id']}")
    return (
        f'<!DOCTYPE html><html><head><meta charset="utf-8"><title>{title}</title></head><body>'
        f"<h1>{title}</h1><table><tr><th>Name</th><th>Severity</th><th>Url</th></tr>{rows}</table>"
        "</body></html>"
    ).encode()


def _pdf(scan: dict[str, Any], items: list[dict[str, Any]]) -> bytes:
    """A one-page PDF 1.4 with the text lines (Helvetica), cross-reference offsets computed."""
    text = " ".join(f"({_pdf_string(line)}) Tj T*" for line in _lines(scan, items))
    stream = f"BT /F1 10 Tf 14 TL 40 800 Td {text} ET".encode("latin-1")
    objects = [
        b"<< /Type /Catalog /Pages 2 0 R >>",
        b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
        b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 595 842] /Resources << /Font << /F1 4 0 R >> >>"
        b" /Contents 5 0 R >>",
        b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>",
        b"<< /Length %d >>\nstream\n" % len(stream) + stream + b"\nendstream",
    ]
    out = bytearray(b"%PDF-1.4\n")
    offsets = []
    for n, body in enumerate(objects, 1):
        offsets.append(len(out))
        out += b"%d 0 obj\n" % n + body + b"\nendobj\n"
    xref = len(out)
    out += b"xref\n0 %d\n0000000000 65535 f \n" % (len(objects) + 1)
    out += b"".join(b"%010d 00000 n \n" % o for o in offsets)
    out += b"trailer\n<< /Size %d /Root 1 0 R >>\nstartxref\n%d\n%%%%EOF\n" % (len(objects) + 1, xref)
    return bytes(out)


def _pdf_string(line: str) -> str:
    """A PDF literal string's content: Latin-1 only, backslash and parentheses escaped."""
    line = line.encode("latin-1", "replace").decode("latin-1")
    return line.replace("\\", "\\\\").replace("(", "\\(").replace(")", "\\)")


_RENDERERS = {"Xml": _xml, "Csv": _csv, "Pdf": _pdf, "Html": _html, "Txt": _txt, "Json": _json}
