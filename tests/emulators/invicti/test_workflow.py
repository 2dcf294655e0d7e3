"""Invicti's scan workflow: launch (scans/new), findings (scans/result), reports, delete, tolerance."""

from __future__ import annotations

import csv
import io
import json
import xml.etree.ElementTree as ET
from typing import Any

import httpx
import pytest

from conformance.emulators.core import Emulator
from conformance.emulators.core.tolerance import QueryParams, Tolerance, ToleranceError
from conformance.emulators.invicti import reports
from conformance.emulators.invicti.models import ACCOUNTS

GLOBEX = (ACCOUNTS["globex"]["user_id"], ACCOUNTS["globex"]["token"])
UNKNOWN_ID = "00000000-1111-2222-3333-444444444444"
REPORT = "/api/1.0/scans/report/"


@pytest.fixture
def emu(invicti_emulator: Emulator) -> Emulator:
    return invicti_emulator


def launch(http: httpx.Client, target: str = "https://shop.example/") -> str:
    response = http.post("/api/1.0/scans/new", json={"TargetUri": target, "Scope": "WholeDomain"})
    assert response.status_code == 201, response.text
    body = response.json()
    assert isinstance(body, list) and len(body) == 1
    return str(body[0]["Id"])


def complete(http: httpx.Client, scan_id: str) -> None:
    response = http.patch(f"/_emulator/scans/{scan_id}", json={"state": "Complete"})
    assert response.status_code == 200, response.text


def test_new_scan__answers_201_array_and_starts_queued(http: httpx.Client) -> None:
    response = http.post(
        "/api/1.0/scans/new", json={"TargetUri": "https://shop.example/", "Scope": "WholeDomain"}
    )
    [scan] = response.json()
    assert (response.status_code, scan["State"], scan["TargetUrl"], scan["Scope"]) == (
        201,
        "Queued",
        "https://shop.example/",
        "WholeDomain",
    )
    status = http.get(f"/api/1.0/scans/status/{scan['Id']}").json()
    assert status["State"] in ("Queued", "Scanning")


def test_new_scan__ignores_unknown_members(http: httpx.Client) -> None:
    # SecHub sends AgentName, not in NewScanTaskApiModel (vendor-notes-workflow §2).
    response = http.post("/api/1.0/scans/new", json={"TargetUri": "https://a.example/", "AgentName": "x"})
    assert response.status_code == 201


def test_new_scan__wrong_type_is_400_envelope(http: httpx.Client) -> None:
    response = http.post("/api/1.0/scans/new", json={"TargetUri": 5})
    assert response.status_code == 400
    assert "TargetUri" in response.json()["Message"]


def test_get_scan_result__empty_until_complete_then_deterministic(http: httpx.Client) -> None:
    scan_id = launch(http)
    assert http.get(f"/api/1.0/scans/result/{scan_id}").json() == []
    complete(http, scan_id)
    first = http.get(f"/api/1.0/scans/result/{scan_id}").json()
    expected = [reports.model(f) for f in reports.findings(scan_id, "https://shop.example/")]
    assert first == expected and 2 <= len(first) <= 6
    assert http.get(f"/api/1.0/scans/result/{scan_id}").json() == first


def test_get_scan_result__other_account_and_unknown_are_404(http: httpx.Client) -> None:
    scan_id = launch(http)
    assert http.get(f"/api/1.0/scans/result/{scan_id}", auth=GLOBEX).status_code == 404
    assert http.get(f"/api/1.0/scans/result/{UNKNOWN_ID}").json() == {"Message": "Scan not found."}


def test_get_scan_report__not_ready_before_complete(http: httpx.Client) -> None:
    scan_id = launch(http)
    response = http.get(REPORT, params={"id": scan_id, "type": "Vulnerabilities", "format": "Json"})
    assert response.status_code == 404
    assert response.json() == {"Message": "The report is not available until the scan is complete."}


def test_get_scan_report__every_format_is_a_valid_document(http: httpx.Client) -> None:
    scan_id = launch(http)
    complete(http, scan_id)
    names = {r["Title"] for r in http.get(f"/api/1.0/scans/result/{scan_id}").json()}

    def get(fmt: str) -> httpx.Response:
        response = http.get(REPORT, params={"id": scan_id, "type": "Vulnerabilities", "format": fmt})
        assert response.status_code == 200, response.text
        assert response.headers["content-type"].split(";")[0] == reports.MEDIA_TYPES[fmt]
        assert response.headers["content-disposition"].startswith("attachment")
        return response

    doc = get("Json").json()
    assert {v["Name"] for v in doc["Vulnerabilities"]} == names
    assert doc["Target"]["ScanId"] == scan_id.replace("-", "")
    root = ET.fromstring(get("Xml").content)
    assert root.tag == "invicti-enterprise"
    assert {e.text for e in root.iter("name")} == names
    rows = list(csv.DictReader(io.StringIO(get("Csv").text)))
    assert {r["Name"] for r in rows} == names
    assert get("Html").text.startswith("<!DOCTYPE html>")
    assert all(name in get("Txt").text for name in names)
    pdf = get("Pdf").content
    assert pdf.startswith(b"%PDF-1.4") and pdf.rstrip().endswith(b"%%EOF")


def test_get_scan_report__unknown_format_is_400(http: httpx.Client) -> None:
    scan_id = launch(http)
    response = http.get(REPORT, params={"id": scan_id, "type": "Vulnerabilities", "format": "Docx"})
    assert response.status_code == 400
    assert "format" in response.json()["Message"]


def test_delete_scans__refuses_running_then_deletes(http: httpx.Client) -> None:
    scan_id = launch(http)
    http.patch(f"/_emulator/scans/{scan_id}", json={"state": "Scanning"})
    assert http.post("/api/1.0/scans/delete", json=[scan_id]).json() == "OnGoingScanExisting"
    assert http.get(f"/api/1.0/scans/status/{scan_id}").status_code == 200
    complete(http, scan_id)
    assert http.post("/api/1.0/scans/delete", json=[scan_id]).json() == "Ok"
    assert http.get(f"/api/1.0/scans/status/{scan_id}").status_code == 404
    assert http.get(f"/api/1.0/scans/result/{scan_id}").status_code == 404


def test_delete_scans__some_not_found(http: httpx.Client) -> None:
    scan_id = launch(http)
    complete(http, scan_id)
    assert http.post("/api/1.0/scans/delete", json=[scan_id, UNKNOWN_ID]).json() == "SomeOfScansNotFound"
    assert http.get(f"/api/1.0/scans/status/{scan_id}").status_code == 404


def test_tolerance__empty_optional_query_values_are_absent(http: httpx.Client) -> None:
    scan_id = launch(http)
    complete(http, scan_id)
    response = http.get(
        "/api/1.0/scans/listbystate?scanTaskState=Complete&targetUrlCriteria=&startDate=&endDate=&page="
    )
    assert response.status_code == 200, response.text
    assert [s["Id"] for s in response.json()["List"]] == [scan_id]


def test_tolerance__empty_required_query_value_is_still_400(http: httpx.Client) -> None:
    assert http.get("/api/1.0/scans/listbystate?scanTaskState=").status_code == 400


@pytest.mark.parametrize(
    "form",
    [
        "/api/1.0/scans/report/?id={id}&type=Vulnerabilities&format=Csv",  # the documented one
        "/api/1.0/scans/report/?Type=Vulnerabilities&Format=Csv&Id={id}",  # [INV-JENK]
        "/api/1.0/scans/report?Id={id}&type=vulnerabilities&format=csv",  # [INV-GHA], enum values blind
        "/api/1.0/scans/report/{id}?Type=Vulnerabilities&Format=Csv",  # [INV-SECHUB]
        "/api/1.0/scans/report/{id}/?TYPE=VULNERABILITIES&format=Csv",
    ],
)
def test_tolerance__every_report_form_real_clients_send(http: httpx.Client, form: str) -> None:
    scan_id = launch(http)
    complete(http, scan_id)
    response = http.get(form.format(id=scan_id))
    assert response.status_code == 200, response.text
    assert response.headers["content-type"].startswith("text/csv")
    assert (
        response.text
        == http.get(
            "/api/1.0/scans/report/", params={"id": scan_id, "type": "Vulnerabilities", "format": "Csv"}
        ).text
    )


def test_tolerance__an_alias_still_needs_what_the_operation_needs(http: httpx.Client) -> None:
    scan_id = launch(http)
    complete(http, scan_id)
    missing = http.get(f"/api/1.0/scans/report/{scan_id}?Format=Csv")  # no type
    assert missing.status_code == 400 and "type" in missing.text
    assert http.get(f"/api/1.0/scans/report/{UNKNOWN_ID}?type=Vulnerabilities&format=Csv").status_code == 404
    assert http.get("/api/1.0/scans/report/a/b?type=Vulnerabilities&format=Csv").status_code == 404


def test_tolerance__doubled_and_trailing_slashes(http: httpx.Client) -> None:
    scan_id = launch(http)
    complete(http, scan_id)
    assert http.get(f"/api/1.0//scans/result/{scan_id}/").status_code == 200
    # scans/report/ is documented with a trailing slash; clients also call it without [INV-GHA].
    params = {"id": scan_id, "type": "Vulnerabilities", "format": "Csv"}
    assert http.get("/api/1.0/scans/report", params=params).status_code == 200
    assert http.get("/api/1.0/scans//report//", params=params).status_code == 200


@pytest.mark.parametrize(
    ("raw", "message"),
    [
        ({"slashes": "merge"}, "'merge' is not one of strict, collapse"),
        ({"query": "absent"}, "x-scanwire-tolerance.query: unknown"),
        ("collapse", "must be a mapping"),
        ({"query-names": "blind"}, "'blind' is not one of strict, case-insensitive"),
        ({"aliases": {"path": "/x"}}, "aliases must be a list"),
        (
            {"aliases": [{"path": "/x/{id}", "operation": "GET /nowhere"}]},
            r"aliases\[0\].operation: 'GET /nowhere'",
        ),
        ({"aliases": [{"operation": "GET /a"}]}, r"aliases\[0\]: needs `path`"),
    ],
)
def test_tolerance__bad_extension_names_what(raw: Any, message: str) -> None:
    with pytest.raises(ToleranceError, match=message):
        Tolerance.from_spec({"x-scanwire-tolerance": raw})


def test_tolerance__absent_extension_is_strict() -> None:
    strict = Tolerance.from_spec({})
    assert strict.paths("/a//b/") == ["/a//b/"]
    params = QueryParams(
        frozenset({"a"}), {"a": (), "b": (), "c": (), "type": ("Vulnerabilities", "Crawled")}
    )
    assert strict.query("a=&b=1", params) == "a=&b=1"
    assert strict.query("A=1&type=crawled", params) == "A=1&type=crawled"
    assert Tolerance(empty_query_absent=True).query("a=&b=&c=1", params) == "b=&c=1"
    blind = Tolerance(empty_query_absent=True, query_names_case_blind=True, enum_values_case_blind=True)
    # Names and enumerated values take the declared spelling; an empty optional one renamed is dropped.
    assert blind.query("A=&TYPE=crawled&C=x%20y&Other=1", params) == "type=Crawled&c=x%20y&Other=1"
    assert blind.query("type=Unknown", params) == "type=Unknown"  # no member matches: left to validation
    assert json.dumps(
        Tolerance.from_spec({"x-scanwire-tolerance": {"slashes": "collapse"}}).paths("/a//b/")
    ) == ('["/a//b/", "/a/b/", "/a/b"]')
