"""ThreadFix issue-16 resources over raw HTTP: teams, applications, imported scans, vulnerability search and
scan files — their rules, failures (HTTP 200 `success: false`), paging and per-team isolation."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from conformance.emulators.core import EmulatorSettings, ManualClock, build_emulator
from conformance.emulators.core.transport import SyncASGITransport
from conformance.emulators.threadfix.models import ACCOUNTS

REST = "http://localhost:8080/threadfix/rest/latest"
ACME = {"Authorization": f"APIKEY {ACCOUNTS['acme']['api_key']}", "Accept": "application/json"}
GLOBEX = {"Authorization": f"APIKEY {ACCOUNTS['globex']['api_key']}", "Accept": "application/json"}


@pytest.fixture
def http() -> httpx.Client:
    emu = build_emulator(
        "threadfix", clock=ManualClock(), settings=EmulatorSettings(progression={"mode": "immediate"})
    )
    return httpx.Client(transport=SyncASGITransport(emu), base_url=REST, headers=ACME)


def ok(response: httpx.Response) -> Any:
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["success"] is True, body
    return body["object"]


def failure(response: httpx.Response) -> str:
    assert response.status_code == 200, response.text
    body = response.json()
    assert (body["success"], body["object"], body["responseCode"]) == (False, None, -1), body
    return str(body["message"])


def imported(http: httpx.Client, app: int, files: list[tuple[str, bytes]] | None = None) -> int:
    """Upload, poll until DONE, answer the imported scanId."""
    parts = [("file", f) for f in (files or [("zap.xml", b"<OWASPZAPReport/>")])]
    path = f"/applications/{app}/upload/multi" if files and len(files) > 1 else f"/applications/{app}/upload"
    href = ok_links(http.post(path, files=parts))
    pending = href.rsplit("/", 2)[-2]
    for _ in range(20):
        status = ok(http.get(f"/applications/{app}/pendingScan/{pending}/status"))
        if status["status"] == "DONE":
            return int(status["scanId"])
    raise AssertionError("the pending scan never reached DONE")


def ok_links(response: httpx.Response) -> str:
    ok(response)
    return str(response.json()["links"][0]["href"])


def test_teams__create_lookup_and_page(http: httpx.Client) -> None:
    created = [ok(http.post("/teams/new", data={"name": f"Team {n}"})) for n in range(3)]
    assert ok(http.get(f"/teams/{created[1]['id']}"))["name"] == "Team 1"
    assert ok(http.get("/teams/lookup", params={"name": "Team 2"}))["id"] == created[2]["id"]
    everything = ok(http.get("/teams"))
    assert [t["name"] for t in everything] == ["Acme", "Team 0", "Team 1", "Team 2"]
    page = ok(http.get("/teams", params={"page": 2, "pageSize": 3}))
    assert [t["name"] for t in page] == ["Team 2"]
    assert failure(http.get("/teams", params={"pageSize": 0})).startswith("Invalid request")


def test_teams__failures(http: httpx.Client) -> None:
    assert failure(http.post("/teams/new", data={})) in (
        '"name" parameter was not present, new Team creation failed.',
        "Invalid request: request body: 'name' is a required property",
    )
    assert failure(http.post("/teams/new", data={"name": "<b>x</b>"})) == (
        "No HTML characters are allowed in custom names."
    )
    assert failure(http.post("/teams/new", data={"name": "Acme"})) == "New Team creation failed."
    assert failure(http.get("/teams/999")) == "Team Lookup failed."
    assert failure(http.get("/teams/lookup", params={"name": "Nope"})) == "No team found with name 'Nope'"
    assert failure(http.get("/teams/1", headers=GLOBEX)) == "Team Lookup failed."  # acme's team


def test_applications__create_lookup_and_rules(http: httpx.Client) -> None:
    app = ok(
        http.post(
            "/teams/1/applications/new",
            data={"name": "Shop", "uniqueId": "shop-1", "applicationCriticality": "4"},
        )
    )
    assert (app["applicationCriticality"], app["organization"]) == (
        {"id": 4, "name": "Critical"},
        {"name": "Acme", "id": 1},
    )
    assert ok(http.get(f"/applications/{app['id']}"))["scans"] == []
    assert ok(http.get("/applications/Acme/lookup", params={"name": "Shop"}))["id"] == app["id"]
    assert ok(http.get("/applications/Acme/lookup", params={"uniqueId": "shop-1"}))["id"] == app["id"]
    assert [a["id"] for a in ok(http.get("/applications/allTeamLookup", params={"uniqueId": "shop-1"}))] == [
        app["id"]
    ]
    assert ok(http.get("/applications/allTeamLookup", params={"uniqueId": "shop-1"}, headers=GLOBEX)) == []
    team = ok(http.get("/teams/1"))
    assert "Shop" in [a["name"] for a in team["applications"]]
    assert failure(http.post("/teams/1/applications/new", data={"name": "Shop"})) == (
        "New Application creation failed."
    )
    assert failure(http.post("/teams/1/applications/new", data={"name": "X", "url": "not a url"})) == (
        "New Application creation failed."
    )
    assert failure(http.post("/teams/999/applications/new", data={"name": "X"})) == "Invalid Team ID."
    ok(http.post("/teams/1/applications/new", data={"name": "Shop 2", "uniqueId": "shop-1"}))
    assert failure(http.get("/applications/Acme/lookup", params={"uniqueId": "shop-1"})) == (
        "More than one application found. Check your search criteria."
    )


def test_scans__imported_listed_with_findings_and_file(http: httpx.Client) -> None:
    assert failure(http.get("/applications/6/scans")) == "No scans associated with application: 6"
    scan_id = imported(http, 6, [("a.xml", b"<a/>"), ("b.xml", b"<b/>")])
    listed = ok(http.get("/applications/6/scans"))
    assert [(s["id"], s["scannerName"]) for s in listed] == [(scan_id, "OWASP Zed Attack Proxy")]
    # `metadata.<key>=<value>` filters (2.8+, spec x-note): accepted, and ignored (scans carry no metadata).
    assert ok(http.get("/applications/6/scans", params={"metadata.branch": "main"})) == listed
    detail = ok(http.get(f"/scans/{scan_id}"))
    assert detail["numberTotalVulnerabilities"] == len(detail["findings"]) >= 3
    app = ok(http.get("/applications/6"))
    assert app["totalVulnCount"] == len(detail["findings"])
    assert [s["id"] for s in app["scans"]] == [scan_id]
    second = http.get(f"/scans/{scan_id}/download", params={"scanFileName": "b.xml"})
    assert (second.headers["content-type"], second.content) == ("application/octet-stream", b"<b/>")
    assert http.get(f"/scans/{scan_id}/download").content == b"<a/>"
    assert failure(http.get(f"/scans/{scan_id}/download", params={"scanFileName": "c.xml"})).startswith(
        "No scan file named"
    )
    assert failure(http.get(f"/scans/{scan_id}", headers=GLOBEX)) == "No scan exists for requested id"


def test_multi_upload__one_scanner_type_only(http: httpx.Client) -> None:
    files = [("file", ("a.xml", b"<a/>")), ("file", ("b.fpr", b"<FVDL/>"))]
    assert (
        failure(http.post("/applications/6/upload/multi", files=files)) == "Scans are not of the same type."
    )


def test_vulnerability_search__filters_and_pages(http: httpx.Client) -> None:
    first = imported(http, 6)
    imported(http, 1295)
    mine = ok(http.post("/vulnerabilities", data={"applications[0].id": "6"}))
    detail = ok(http.get(f"/scans/{first}"))
    assert sorted(v["id"] for v in mine) == sorted(f["id"] for f in detail["findings"])
    everything = ok(http.post("/vulnerabilities"))
    assert len(everything) > len(mine)
    severity = mine[0]["genericSeverity"]["intValue"]
    high = ok(
        http.post(
            "/vulnerabilities",
            data={"applications[0].id": "6", "genericSeverities[0].intValue": str(severity)},
        )
    )
    assert high and all(v["genericSeverity"]["intValue"] == severity for v in high)
    pages = [
        ok(http.post("/vulnerabilities", data={"numberVulnerabilities": "2", "page": str(n)}))
        for n in range(1, 10)
    ]
    assert [v["id"] for page in pages for v in page] == [v["id"] for v in everything]
    assert ok(http.post("/vulnerabilities", headers=GLOBEX)) == []


def test_delete__scan_goes_and_its_vulnerabilities_with_it(http: httpx.Client) -> None:
    scan_id = imported(http, 6)
    href = ok_links(http.delete(f"/scans/{scan_id}/delete"))
    pending = href.rsplit("/", 2)[-2]
    states = {ok(http.get(f"/applications/6/pendingScan/{pending}/status"))["status"] for _ in range(3)}
    assert "SCAN_DELETED" in states
    assert failure(http.get(f"/scans/{scan_id}")) == "No scan exists for requested id"
    assert ok(http.post("/vulnerabilities", data={"applications[0].id": "6"})) == []
    assert failure(http.delete(f"/scans/{scan_id}/delete")) == "No scan exists for requested id"


def test_scenario__seeds_team_application_and_imported_scan(http: httpx.Client) -> None:
    response = http.post("http://localhost:8080/_emulator/scenario", json={"name": "team_with_imported_scan"})
    assert response.status_code == 201, response.text
    ids = response.json()["result"]
    assert ok(http.get(f"/teams/{ids['teamId']}"))["applications"][0]["id"] == ids["appId"]
    assert [s["id"] for s in ok(http.get(f"/applications/{ids['appId']}/scans"))] == [ids["scanId"]]
    assert len(ok(http.get(f"/scans/{ids['scanId']}"))["findings"]) >= 3
    assert http.get(f"/scans/{ids['scanId']}/download").content == b"<OWASPZAPReport/>"
