"""The AppSpider emulator's workflow resources: scan configs (three SaveConfig encodings, uniqueness,
updates, deletion, attachments), engine groups and engines, clients, findings (deterministic, paged from
the store, refused before the report) and the report files (XML, zip, crawled links). Every response is
validated against the resolved spec by the `emulator` fixture."""

from __future__ import annotations

import io
import json
import zipfile
from collections.abc import Callable
from typing import Any
from xml.etree import ElementTree

import httpx
import pytest

from conformance.emulators.appspider.models import ACCOUNTS
from conformance.emulators.core import Emulator
from conformance.emulators.core.transport import SyncASGITransport
from conformance.suites.jobs.appspider import config_xml

from ..conftest import control

BASE = "/AppSpiderEnterprise/rest/v1"
OK: dict[str, Any] = {"IsSuccess": True, "ErrorMessage": None, "Reason": None}
UNKNOWN = "0e6c2b71-9d4a-4c3f-b8e2-6f1a5d7c9b23"


@pytest.fixture
def emu(appspider_emulator: Emulator) -> Emulator:
    return appspider_emulator


@pytest.fixture
def http(emu: Emulator, emu_client: Callable[..., httpx.Client]) -> httpx.Client:
    client = emu_client(emu)
    client.base_url = httpx.URL(f"http://127.0.0.1{BASE}/")
    return client


def login(http: httpx.Client, account: str = "webshop") -> dict[str, str]:
    info = ACCOUNTS[account]
    body = {"name": info["username"], "password": info["password"], "clientId": info["client_id"]}
    response = http.post("Authentication/Login", json=body)
    assert response.status_code == 200, response.text
    return {"Authorization": f"Basic {response.json()['Token']}"}


@pytest.fixture
def auth(http: httpx.Client) -> dict[str, str]:
    return login(http)


def group_of(http: httpx.Client, auth: dict[str, str]) -> str:
    response = http.get("EngineGroup/GetEngineGroupsForClient", headers=auth)
    assert response.status_code == 200, response.text
    return str(response.json()["EngineGroups"][0]["Id"])


def configs(http: httpx.Client, auth: dict[str, str]) -> dict[str, dict[str, Any]]:
    response = http.get("Config/GetConfigs", headers=auth)
    assert response.status_code == 200, response.text
    return {c["Name"]: c for c in response.json()["Configs"]}


def save(http: httpx.Client, auth: dict[str, str], **fields: Any) -> httpx.Response:
    return http.post("Config/SaveConfig", data=fields, headers=auth)


def new_config(
    http: httpx.Client, auth: dict[str, str], name: str = "ci", url: str = "https://ci.test/"
) -> str:
    response = save(http, auth, name=name, xml=config_xml(name, url), engineGroupId=group_of(http, auth))
    assert response.status_code == 200 and response.json() == OK, response.text
    return str(configs(http, auth)[name]["Id"])


def failure(response: httpx.Response, reason: str | None) -> str:
    assert response.status_code == 400, response.text
    body = response.json()
    assert body["IsSuccess"] is False and body["Reason"] == reason, body
    return str(body["ErrorMessage"])


def seed(http: httpx.Client, state: str, account: str = "webshop", **data: Any) -> str:
    body = {"account": account, "state": state, "progression": {"mode": "manual"}, "data": data}
    return str(control(http, "POST", "/scans", body)["id"])


def run(http: httpx.Client, auth: dict[str, str], config_name: str) -> str:
    response = http.post("Scan/RunScan", json={"configName": config_name}, headers=auth)
    assert response.status_code == 200, response.text
    return str(response.json()["Scan"]["Id"])


def to_state(http: httpx.Client, scan_id: str, *states: str) -> None:
    for state in states:
        control(http, "PATCH", f"/scans/{scan_id}", {"state": state})


def findings(http: httpx.Client, auth: dict[str, str], **params: Any) -> httpx.Response:
    return http.get("Finding/GetVulnerabilities", params=params, headers=auth)


# -- Config/GetConfigs, GetConfig, SaveConfig ---------------------------------------------------------


def test_get_configs__lists_the_clients_configs_only(http: httpx.Client, auth: dict[str, str]) -> None:
    mine = configs(http, auth)
    assert sorted(mine) == ["shop.example.com nightly", "shop.example.com weekly"]
    assert [t["Host"] for t in mine["shop.example.com nightly"]["Targets"]] == [
        "shop.example.com",
        "api.shop.example.com",
    ]
    assert sorted(configs(http, login(http, "acme-web"))) == ["www.acme.test full"]


def test_save_config__documented_form_creates_a_config_readable_with_its_xml(
    http: httpx.Client, auth: dict[str, str]
) -> None:
    config_id = new_config(http, auth, "ci", "https://ci.test/app")
    response = http.get("Config/GetConfig", params={"id": config_id}, headers=auth)
    assert response.status_code == 200
    config = response.json()["Config"]
    assert config["Name"] == "ci" and [t["Host"] for t in config["Targets"]] == ["ci.test"]
    assert ElementTree.fromstring(config["Xml"]).findtext("Name") == "ci"
    assert config["MonitoringDelay"] == 0 and config["Monitoring"] is False


def test_save_config__jenkins_form_with_scanconfigxml_and_null_strings(
    http: httpx.Client, auth: dict[str, str]
) -> None:
    response = save(
        http,
        auth,
        defendEnabled="true",
        monitoringDelay="24",
        monitoringTriggerScan="true",
        id="null",
        name="jenkins",
        clientId="null",
        engineGroupId=group_of(http, auth),
        monitoring="true",
        isApproveRequired="false",
        scanconfigxml=config_xml("jenkins", "https://jenkins.test/"),
    )
    assert response.status_code == 200, response.text
    config = configs(http, auth)["jenkins"]
    assert (config["Monitoring"], config["MonitoringDelay"], config["DefendEnabled"]) == (True, 24, True)


def test_save_config__multipart_config_json_part_and_an_attached_file(
    http: httpx.Client, auth: dict[str, str]
) -> None:
    doc = {"Name": "py", "EngineGroupId": group_of(http, auth), "Id": None, "ClientId": None}
    doc["Xml"] = config_xml("py", "https://py.test/")
    response = http.post(
        "Config/SaveConfig",
        files={
            "Config": (None, json.dumps(doc)),
            "Traffic": ("login.har", b'{"log": {}}', "application/json"),
        },
        headers=auth,
    )
    assert response.status_code == 200, response.text
    config_id = configs(http, auth)["py"]["Id"]
    got = http.post(
        "Config/GetAttachment",
        data={"configId": config_id, "fileName": "login.har", "fileType": "Traffic"},
        headers=auth,
    )
    assert got.status_code == 200 and got.content == b'{"log": {}}'
    assert got.headers["content-disposition"] == 'attachment; filename="login.har"'
    missing = http.post(
        "Config/GetAttachment",
        data={"configId": config_id, "fileName": "other.har", "fileType": "Traffic"},
        headers=auth,
    )
    assert failure(missing, "AttachmentNotFound") == "Attachment not found"


def test_save_config__name_taken_in_the_client_case_blind_is_refused(
    http: httpx.Client, auth: dict[str, str]
) -> None:
    response = save(
        http,
        auth,
        name="SHOP.example.com WEEKLY",
        xml=config_xml("x", "https://x.test/"),
        engineGroupId=group_of(http, auth),
    )
    assert failure(response, "ConfigNameIsNotUnique") == "Config name should be unique in the client"
    # Another client may use the name.
    acme = login(http, "acme-web")
    other = save(
        http,
        acme,
        name="shop.example.com weekly",
        xml=config_xml("x", "https://x.test/"),
        engineGroupId=group_of(http, acme),
    )
    assert other.status_code == 200, other.text


def test_save_config__with_id_updates_in_place(http: httpx.Client, auth: dict[str, str]) -> None:
    config_id = new_config(http, auth, "ci")
    response = save(
        http,
        auth,
        id=config_id,
        name="ci renamed",
        xml=config_xml("ci", "https://new.test/"),
        engineGroupId=group_of(http, auth),
    )
    assert response.status_code == 200, response.text
    now = configs(http, auth)
    assert "ci" not in now and now["ci renamed"]["Id"] == config_id
    assert [t["Host"] for t in now["ci renamed"]["Targets"]] == ["new.test"]


@pytest.mark.parametrize(
    ("fields", "reason", "says"),
    [
        ({"name": "x"}, "InvalidJsonSchema", "Required parameters not provided"),
        ({"name": "x", "xml": "<ScanConfig><Name>x</Name>"}, "InvalidJsonSchema", "xml: not a well-formed"),
        ({"name": "x", "xml": "<Other/>"}, "InvalidJsonSchema", "root element must be <ScanConfig>"),
        ({"name": "x", "monitoringDelay": "5"}, "InvalidJsonSchema", "monitoringDelay"),
        ({"name": "x", "id": UNKNOWN}, "ConfigNotFound", "Config not found"),
    ],
)
def test_save_config__bad_input_is_a_400_naming_what(
    http: httpx.Client, auth: dict[str, str], fields: dict[str, str], reason: str, says: str
) -> None:
    body = {"xml": config_xml("x", "https://x.test/"), "engineGroupId": group_of(http, auth), **fields}
    if fields == {"name": "x"}:
        body.pop("xml")
    assert says in failure(save(http, auth, **body), reason)
    assert "x" not in configs(http, auth)


def test_save_config__another_clients_engine_group_is_refused(
    http: httpx.Client, auth: dict[str, str]
) -> None:
    foreign = group_of(http, login(http, "acme-web"))
    response = save(http, auth, name="x", xml=config_xml("x", "https://x.test/"), engineGroupId=foreign)
    assert "engineGroupId" in failure(response, "InvalidJsonSchema")


def test_get_config__unknown_or_foreign_id_is_config_not_found(
    http: httpx.Client, auth: dict[str, str]
) -> None:
    foreign = next(iter(configs(http, login(http, "acme-web")).values()))["Id"]
    for config_id in (UNKNOWN, foreign):
        response = http.get("Config/GetConfig", params={"id": config_id}, headers=auth)
        assert failure(response, "ConfigNotFound") == "Config not found"


# -- Config/DeleteConfigs -----------------------------------------------------------------------------


def test_delete_configs__deletes_and_an_unknown_id_deletes_nothing(
    http: httpx.Client, auth: dict[str, str]
) -> None:
    first, second = new_config(http, auth, "a"), new_config(http, auth, "b")
    response = http.post("Config/DeleteConfigs", data={"configIds": [first, UNKNOWN]}, headers=auth)
    failure(response, "ConfigNotFound")
    assert {"a", "b"} <= set(configs(http, auth))
    response = http.post("Config/DeleteConfigs", json={"configIds": [first, second]}, headers=auth)
    assert response.status_code == 200 and response.json() == OK
    assert not {"a", "b"} & set(configs(http, auth))
    assert failure(http.post("Config/DeleteConfigs", data={}, headers=auth), "InvalidJsonSchema")


def test_delete_configs__delete_report_deletes_the_finished_scans(
    http: httpx.Client, auth: dict[str, str]
) -> None:
    config_id = new_config(http, auth, "gone")
    done, running = seed(http, "Completed", configName="gone"), seed(http, "Running", configName="gone")
    response = http.post(
        "Config/DeleteConfigs", data={"configIds": config_id, "deleteReport": "true"}, headers=auth
    )
    assert response.status_code == 200, response.text
    assert control(http, "GET", f"/scans/{done}")["state"] == "StartDeleteWithReports"
    assert control(http, "GET", f"/scans/{running}")["state"] == "Running"
    assert failure(findings(http, auth, scanId=done), "ReportNotReady")


# -- engine groups, engines, clients ------------------------------------------------------------------


def test_engine_groups__for_client_are_the_clients_and_all_are_every_clients(
    http: httpx.Client, auth: dict[str, str]
) -> None:
    mine = http.get("EngineGroup/GetEngineGroupsForClient", headers=auth).json()["EngineGroups"]
    every = http.get("EngineGroup/GetAllEngineGroups", headers=auth).json()["EngineGroups"]
    assert [g["Name"] for g in mine] == ["Webshop engines"]
    assert len(every) == len(ACCOUNTS) and mine[0] in every
    engines = http.get("Engine/GetEngines", headers=auth).json()["Engines"]
    assert {e for g in every for e in g["Engines"]} == {e["Id"] for e in engines}


def test_get_clients__the_users_clients(http: httpx.Client) -> None:
    acme = http.get("Client/GetClients", headers=login(http, "acme-web"))
    assert acme.status_code == 200
    assert sorted(c["ClientName"] for c in acme.json()["Clients"]) == ["Acme Mobile Team", "Acme Web Team"]
    webshop = http.get("Client/GetClients", headers=login(http)).json()["Clients"]
    assert webshop == [{"ClientId": ACCOUNTS["webshop"]["client_id"], "ClientName": "Webshop"}]


def test_get_client__by_name_case_blind_and_unknown_is_not_found(
    http: httpx.Client, auth: dict[str, str]
) -> None:
    response = http.get("Client/GetClient", params={"clientName": "WEBSHOP"}, headers=auth)
    assert response.status_code == 200
    assert response.json()["Client"]["ClientId"] == ACCOUNTS["webshop"]["client_id"]
    unknown = http.get("Client/GetClient", params={"clientName": "Acme Web Team"}, headers=auth)
    assert failure(unknown, "NotFound") == "No Client Found"
    assert failure(http.get("Client/GetClient", headers=auth), "InvalidJsonSchema")


# -- findings -------------------------------------------------------------------------------------------


def test_get_vulnerabilities__refused_until_the_scan_has_a_report(
    http: httpx.Client, auth: dict[str, str]
) -> None:
    scan_id = seed(http, "Running")
    says = failure(findings(http, auth, scanId=scan_id), "ReportNotReady")
    assert "'Running" in says
    for op in ("GetVulnerabilitiesSummaryXml", "GetReportZip", "GetCrawledLinksXml"):
        failure(http.get(f"Report/{op}", params={"scanId": scan_id}, headers=auth), "ReportNotReady")
    to_state(http, scan_id, "Completed")
    assert findings(http, auth, scanId=scan_id).status_code == 200


def test_get_vulnerabilities__same_scan_id_gives_the_same_findings(
    emulator: Callable[..., Emulator],
) -> None:
    def found() -> list[dict[str, Any]]:
        emu = emulator("appspider")
        with httpx.Client(transport=SyncASGITransport(emu), base_url=f"http://127.0.0.1{BASE}/") as http:
            auth = login(http)
            scan_id = seed(http, "Completed")
            body = findings(http, auth, scanId=scan_id).json()
            assert body["TotalCount"] == len(body["Findings"]) >= 2
            assert {f["ScanId"] for f in body["Findings"]} == {scan_id}
            return list(body["Findings"])

    assert found() == found()


def test_get_vulnerabilities__paged_from_the_store(
    http: httpx.Client, auth: dict[str, str], emu: Emulator, monkeypatch: pytest.MonkeyPatch
) -> None:
    scan_ids = [seed(http, "Completed") for _ in range(3)]
    every = findings(http, auth).json()
    assert every["TotalCount"] == len(every["Findings"]) and {f["ScanId"] for f in every["Findings"]} == set(
        scan_ids
    )
    limits: list[int | None] = []
    real = emu.store.list

    def spy(kind: str, *args: Any, **kwargs: Any) -> Any:
        if kind == "finding":
            limits.append(kwargs.get("limit"))
        return real(kind, *args, **kwargs)

    monkeypatch.setattr(emu.store, "list", spy)
    pages = []
    for page in range(every["TotalCount"] // 2 + 1):
        body = findings(http, auth, page=page, pageSize=2).json()
        assert body["TotalCount"] == every["TotalCount"] and body["TotalPages"] == -(
            -every["TotalCount"] // 2
        )
        pages += body["Findings"]
    assert pages == every["Findings"]
    assert limits and set(limits) == {2}  # never every finding of the client for one page
    one = findings(http, auth, scanId=scan_ids[0], page=0, pageSize=1000).json()
    assert one["Findings"] == [f for f in every["Findings"] if f["ScanId"] == scan_ids[0]]


@pytest.mark.parametrize(
    ("params", "says"),
    [({"page": 0}, "Required parameters not provided"), ({"page": 0, "pageSize": 1001}, "pageSize")],
)
def test_get_vulnerabilities__bad_paging_is_a_400(
    http: httpx.Client, auth: dict[str, str], params: dict[str, Any], says: str
) -> None:
    assert says in failure(findings(http, auth, **params), "InvalidJsonSchema")


def test_get_vulnerabilities__another_clients_scan_is_not_found(
    http: httpx.Client, auth: dict[str, str]
) -> None:
    foreign = seed(http, "Completed", account="acme-web")
    assert failure(findings(http, auth, scanId=foreign), "ScanNotFound") == "Scan not found"
    assert findings(http, auth).json()["TotalCount"] == 0


# -- reports ------------------------------------------------------------------------------------------


def test_reports__xml_zip_and_crawled_links_describe_the_findings(
    http: httpx.Client, auth: dict[str, str]
) -> None:
    scan_id = seed(http, "Completed")
    found = findings(http, auth, scanId=scan_id).json()["Findings"]
    xml = http.get("Report/GetVulnerabilitiesSummaryXml", params={"scanId": scan_id}, headers=auth)
    assert xml.status_code == 200 and xml.headers["content-type"].startswith("text/xml")
    summary = ElementTree.fromstring(xml.content)
    assert summary.tag == "VulnSummary" and summary.findtext("ScanName") == "shop.example.com weekly"
    assert [v.findtext("DbId") for v in summary.iter("Vuln")] == [f["Id"] for f in found]
    assert [v.findtext("CweId") for v in summary.iter("Vuln")] == [str(f["CweId"]) for f in found]

    zipped = http.get("Report/GetReportZip", params={"scanId": scan_id}, headers=auth)
    assert zipped.status_code == 200 and zipped.headers["content-type"] == "application/zip"
    assert zipped.headers["content-disposition"] == 'attachment; filename="ReportAllFiles.zip"'
    with zipfile.ZipFile(io.BytesIO(zipped.content)) as archive:
        assert archive.read("VulnerabilitiesSummary.xml") == xml.content
        links = ElementTree.fromstring(archive.read("CrawledLinks.xml"))
    crawled = http.get("Report/GetCrawledLinksXml", params={"scanId": scan_id}, headers=auth)
    assert ElementTree.fromstring(crawled.content).findall("Link/Url")[0].text == "https://shop.example.com/"
    assert [u.text for u in links.iter("Url")] == [
        u.text for u in ElementTree.fromstring(crawled.content).iter("Url")
    ]


def test_reports__a_stopped_scan_keeps_one_a_canceled_scan_has_none(
    http: httpx.Client, auth: dict[str, str]
) -> None:
    stopped = seed(http, "Running")
    to_state(http, stopped, "Stopping", "Stopped")
    assert http.get("Report/GetReportZip", params={"scanId": stopped}, headers=auth).status_code == 200
    assert findings(http, auth, scanId=stopped).json()["TotalCount"] >= 2
    canceled = seed(http, "Starting")
    to_state(http, canceled, "Canceling", "Stopped")
    failure(http.get("Report/GetReportZip", params={"scanId": canceled}, headers=auth), "ReportNotReady")


def test_reports__unknown_scan_and_missing_id(http: httpx.Client, auth: dict[str, str]) -> None:
    assert failure(http.get("Report/GetReportZip", params={"scanId": UNKNOWN}, headers=auth), "ScanNotFound")
    assert failure(http.get("Report/GetReportZip", headers=auth), "InvalidJsonSchema")


def test_run_scan__a_saved_config_runs_by_name_and_lists_by_config(
    http: httpx.Client, auth: dict[str, str]
) -> None:
    config_id = new_config(http, auth, "fresh", "https://fresh.test/")
    scan_id = run(http, auth, "FRESH")
    listed = http.get("Scan/GetScans", params={"configId": config_id}, headers=auth).json()["Scans"]
    assert [s["Id"] for s in listed] == [scan_id]
    assert listed[0]["Targets"][0]["Host"] == "fresh.test"


def test_save_config__an_entity_expansion_bomb_is_a_short_400(
    http: httpx.Client, auth: dict[str, str]
) -> None:
    entities = "".join(f'<!ENTITY {chr(98 + i)} "{("&" + chr(97 + i) + ";") * 10}">' for i in range(9))
    bomb = f'<?xml version="1.0"?><!DOCTYPE l [<!ENTITY a "aaaaaaaaaa">{entities}]>'
    bomb += "<ScanConfig><Name>&j;</Name></ScanConfig>"
    response = save(http, auth, name="bomb", xml=bomb, engineGroupId=group_of(http, auth))
    says = failure(response, "InvalidJsonSchema")
    assert says.startswith("xml: not a well-formed scan config") and len(response.content) < 1024


def test_scenario__no_configs_leaves_an_empty_client(http: httpx.Client, auth: dict[str, str]) -> None:
    control(http, "POST", "/scenario", {"name": "no_configs"})
    assert configs(http, auth) == {}
    assert findings(http, auth).json()["TotalCount"] == 0


def test_control__seeds_a_config_that_runs(http: httpx.Client, auth: dict[str, str]) -> None:
    body = {"account": "webshop", "data": {"name": "seeded", "hosts": ["seeded.test"]}}
    made = control(http, "POST", "/resources/config", body, status=201)
    assert made["Name"] == "seeded" and [t["Host"] for t in made["Targets"]] == ["seeded.test"]
    assert configs(http, auth)["seeded"]["Id"] == made["Id"]
    assert http.get("Scan/GetScans", params={"configId": made["Id"]}, headers=auth).json()["Scans"] == []
    run(http, auth, "seeded")
    for data, says in [
        ({"name": "seeded", "hosts": []}, "Config name should be unique in the client"),
        ({"hosts": ["x.test"]}, "data.name"),
    ]:
        response = http.post(http.base_url.join("/_emulator/resources/config"), json={"data": data})
        assert response.status_code == 400 and says in response.json()["error"]
    other = http.post(http.base_url.join("/_emulator/resources/website"), json={"data": {}})
    assert other.status_code == 400 and "'website' is not a resource kind" in other.json()["error"]


def test_tolerance__doubled_and_trailing_slashes_reach_the_operation(
    http: httpx.Client, auth: dict[str, str]
) -> None:
    """A public AppSpider client posts to `.../rest/v1//Scan/PauseScan` and `.../Scan/RunScan/`
    (x-scanwire-tolerance slashes: collapse, INFERENCE): both reach the operation, as on the real server."""
    plain = http.get("Scan/GetScans", headers=auth)
    doubled = http.get(f"http://127.0.0.1{BASE}//Scan/GetScans", headers=auth)
    trailing = http.get("Scan/GetScans/", headers=auth)
    assert plain.status_code == doubled.status_code == trailing.status_code == 200
    assert doubled.json() == trailing.json() == plain.json()
    paused = http.post(f"http://127.0.0.1{BASE}//Scan/PauseScan", data={"scanId": UNKNOWN}, headers=auth)
    # The operation answered (an unknown scan), not the router's "no such endpoint" 404.
    assert (paused.status_code, paused.json()["Reason"]) == (400, "ScanNotFound")
