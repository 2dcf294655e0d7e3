"""AppSpider findings and report files: produced from the scan id alone, so the same scan always yields
the same findings and the same documents. No HTTP, no store: the backend stores what `findings_for`
returns and renders what it stored.

Field names are the documented ones: the `Findings[]` item of Finding/GetVulnerabilities (AS-DOC2
findings-management, FACT) and the `<VulnSummary>` document (DefectDojo's sample of AppSpider 7.0.011.1,
FACT). The catalogue of vulnerability kinds, their scores and CWE/CAPEC/OWASP numbers are ours
(illustrative), as are the elements of CrawledLinks.xml (not documented: INFERENCE).
"""

from __future__ import annotations

import base64
import io
import random
import zipfile
from collections.abc import Iterable, Mapping
from typing import Any
from xml.etree import ElementTree as ET

__all__ = ["APP_VERSION", "crawled_links_xml", "findings_for", "report_zip", "summary_xml"]

APP_VERSION = "7.0.011.1"

# (VulnType, AttackScore, CweId, Capec, DissaAsc, Owasp07, Owasp10, Owasp13, AttackClass, parameter)
_KINDS: list[tuple[str, str, int, int, int, int, int, int, str, str]] = [
    ("Cross-site Scripting", "3-Medium", 79, 86, 3580, 1, 2, 3, "Reflected", "q"),
    ("SQL Injection", "4-High", 89, 66, 3540, 2, 1, 1, "Blind SQL", "id"),
    ("Cookie Attributes", "1-Informational", 614, 102, 3620, 7, 6, 5, "Cookie", "session"),
    ("Information Disclosure", "2-Low", 200, 118, 3610, 6, 6, 6, "Server banner", "path"),
    ("Cross-Site Request Forgery", "3-Medium", 352, 62, 3590, 5, 5, 8, "Form", "token"),
    ("Directory Traversal", "4-High", 22, 126, 3560, 4, 4, 4, "Path", "file"),
    ("Unvalidated Redirect", "2-Low", 601, 194, 3600, 10, 10, 10, "Redirect", "next"),
]
_PAGES = ["search", "login", "cart", "account", "products", "download", "redirect"]


def findings_for(scan_id: str, targets: list[Mapping[str, Any]], found_at: str) -> list[dict[str, Any]]:
    """The findings of a scan that just got its report: 2 to 6 of them, chosen by a generator seeded
    with the scan id. Each is a `Findings[]` item plus `ScanId`."""
    rng = random.Random(scan_id)
    hosts = [t for t in targets if t.get("Host")] or [{"Id": None, "Host": "localhost"}]
    out = []
    for _ in range(rng.randint(2, 6)):
        kind = rng.choice(_KINDS)
        vuln_type, score, cwe, capec, dissa, o07, o10, o13, attack, param = kind
        target = rng.choice(hosts)
        page = rng.choice(_PAGES)
        method = rng.choice(["GET", "POST"])
        url = f"https://{target['Host']}/{page}"
        out.append(
            {
                "Id": f"{rng.getrandbits(128):032x}",
                "ScanId": scan_id,
                "VulnType": vuln_type,
                "VulnParam": param,
                "VulnUrl": url + (f"?{param}=1" if method == "GET" else ""),
                "TargetId": target.get("Id"),
                "DiscoveredDate": found_at,
                "AttackScore": score,
                "Status": "Open",
                "Description": f"<p>{vuln_type} on /{page} through parameter {param}.</p>",
                "Recommendation": f"<p>Fix the handling of {param} on /{page}.</p>",
                "OriginalTraffic": None,
                "Capec": capec,
                "DissaAsc": dissa,
                "Owasp07": o07,
                "Owasp10": o10,
                "Owasp13": o13,
                "Oval": None,
                "CweId": cwe,
                "ResourceId": None,
                "AttackType": attack,
                "TargetHost": target["Host"],
                "LatestDetectedDate": found_at,
                "NormalizedPostParams": f"{param}=1" if method == "POST" else None,
                "HtmlEntityAttacked": "Parameter",
                "Method": method,
                "AttackVulnerabilities": None,
            }
        )
    return out


def _text(parent: ET.Element, tag: str, value: Any) -> None:
    ET.SubElement(parent, tag).text = "" if value is None else str(value)


def summary_xml(scan: Mapping[str, Any], findings: Iterable[Mapping[str, Any]]) -> bytes:
    """VulnerabilitiesSummary.xml: `<VulnSummary>` with the scan's facts and one `<Vuln>` per finding."""
    root = ET.Element("VulnSummary")
    started = _display(scan.get("StartTime"))
    ended = _display(scan.get("CompletionTime") or scan.get("StopTime"))
    for tag, value in (
        ("AppVersion", APP_VERSION),
        ("ScanName", scan["Name"]),
        ("Metadata", ""),
        ("ScanStarted", started),
        ("ScanEnded", ended),
        ("ScanDuration", "00:00:24"),
        ("UTCOffset", 0),
        ("ResourcesCrawled", len(_links(scan, findings_list := list(findings)))),
        ("NumberOfRequests", 40 * max(1, len(findings_list))),
        ("NumberOfFailedRequests", 0),
    ):
        _text(root, tag, value)
    vulns = ET.SubElement(root, "VulnList")
    for f in findings_list:
        vuln = ET.SubElement(vulns, "Vuln")
        for tag, value in (
            ("DbId", f["Id"]),
            ("ParentDbId", ""),
            ("ScanName", scan["Name"]),
            ("WebSite", f"https://{f['TargetHost']}"),
            ("VulnType", f["VulnType"]),
            ("VulnUrl", f["VulnUrl"]),
            ("NormalizedUrl", str(f["VulnUrl"]).split("?")[0]),
            ("VulnParam", f["VulnParam"]),
            ("ParameterName", f["VulnParam"]),
            ("HtmlEntityAttacked", f["HtmlEntityAttacked"]),
            ("AttackType", f["AttackType"]),
            ("AttackScore", f["AttackScore"]),
            ("Method", f["Method"]),
            ("NormalizedPostParams", f["NormalizedPostParams"]),
            ("Description", f["Description"]),
            ("Recommendation", f["Recommendation"]),
            ("Page", str(f["VulnUrl"]).split("?")[0]),
            ("Url", f["VulnUrl"]),
            ("CrawlTraffic", base64.b64encode(f"{f['Method']} {f['VulnUrl']} HTTP/1.1".encode()).decode()),
            ("AttackClass", f["AttackType"]),
            ("CweId", f["CweId"]),
            ("CAPEC", f["Capec"]),
            ("DISSA_ASC", f["DissaAsc"]),
            ("OWASP2007", f["Owasp07"]),
            ("OWASP2010", f["Owasp10"]),
            ("OWASP2013", f["Owasp13"]),
            ("OVAL", f["Oval"]),
            ("ScanDate", started),
            ("ScanEnd", ended),
            ("Confidence", "High"),
        ):
            _text(vuln, tag, value)
    data: bytes = ET.tostring(root, encoding="utf-8", xml_declaration=True)
    return data


def _links(scan: Mapping[str, Any], findings: list[Mapping[str, Any]]) -> list[str]:
    roots = [f"https://{t['Host']}/" for t in scan.get("Targets") or [] if t.get("Host")]
    pages = sorted({str(f["VulnUrl"]).split("?")[0] for f in findings})
    return list(dict.fromkeys([*roots, *pages]))


def crawled_links_xml(scan: Mapping[str, Any], findings: Iterable[Mapping[str, Any]]) -> bytes:
    """CrawledLinks.xml (elements INFERENCE): `<CrawledLinks><Link><Url>...</Url></Link>...`."""
    root = ET.Element("CrawledLinks")
    for url in _links(scan, list(findings)):
        _text(ET.SubElement(root, "Link"), "Url", url)
    data: bytes = ET.tostring(root, encoding="utf-8", xml_declaration=True)
    return data


def report_zip(scan: Mapping[str, Any], findings: Iterable[Mapping[str, Any]]) -> bytes:
    """ReportAllFiles.zip: VulnerabilitiesSummary.xml at the root (PyAppSpider reads it there) and
    CrawledLinks.xml."""
    findings = list(findings)
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        # A fixed member time: the same scan gives the same bytes.
        for name, data in (
            ("VulnerabilitiesSummary.xml", summary_xml(scan, findings)),
            ("CrawledLinks.xml", crawled_links_xml(scan, findings)),
        ):
            info = zipfile.ZipInfo(name, date_time=(2000, 1, 1, 0, 0, 0))
            archive.writestr(info, data, compress_type=zipfile.ZIP_DEFLATED)
    return buffer.getvalue()


def _display(value: Any) -> str:
    """2017-11-15 14:05:42, as VulnerabilitiesSummary.xml writes times (from the .NET ISO form)."""
    return "" if not value else str(value).replace("T", " ")[:19]
