"""The AppSpider Enterprise emulator: login and tokens, every Scan Management operation, the lifecycle and
its refusals, client isolation, request-encoding quirks, bad input, faults, scenarios and persistence.
Every response is validated against the resolved spec by the fixtures."""

from __future__ import annotations

import base64
import itertools
import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx
import pytest
from appspider_client import AuthenticatedClient, Client
from appspider_client.api.authentication import login as login_op
from appspider_client.api.scan_management import get_scan_status, run_scan
from appspider_client.models import LoginRequest, RunScanRequest

from conformance.emulators.appspider import Plugin
from conformance.emulators.appspider.models import ACCOUNTS, CONFIGS
from conformance.emulators.core import Emulator, EmulatorSettings, ManualClock, build_emulator
from conformance.emulators.core.transport import SyncASGITransport

from .conftest import control

BASE = "/AppSpiderEnterprise/rest/v1"
WEEKLY, NIGHTLY = "shop.example.com weekly", "shop.example.com nightly"
FORM = {"Content-Type": "application/x-www-form-urlencoded"}
MISSING_ID = "0e6c2b71-9d4a-4c3f-b8e2-6f1a5d7c9b23"
REQUIRED = {
    "IsSuccess": False,
    "ErrorMessage": "Required parameters not provided",
    "Reason": "InvalidJsonSchema",
}
NOT_FOUND = {"IsSuccess": False, "ErrorMessage": "Scan not found", "Reason": "ScanNotFound"}
OK: dict[str, Any] = {"IsSuccess": True, "ErrorMessage": None, "Reason": None}


def ok(**fields: Any) -> dict[str, Any]:
    return {**fields, **OK}


def creds(account: str) -> dict[str, str]:
    return {"name": ACCOUNTS[account]["username"], "password": ACCOUNTS[account]["password"]}


@pytest.fixture
def emu(appspider_emulator: Emulator) -> Emulator:
    return appspider_emulator


@pytest.fixture
def http(emu: Emulator, emu_client: Callable[..., httpx.Client]) -> httpx.Client:
    client = emu_client(emu)
    client.base_url = httpx.URL(f"http://127.0.0.1{BASE}/")
    return client


def login(http: httpx.Client, account: str = "webshop") -> dict[str, str]:
    body: dict[str, Any] = creds(account)
    if account.startswith("acme"):
        body["clientId"] = ACCOUNTS[account]["client_id"]
    response = http.post("Authentication/Login", json=body)
    assert response.status_code == 200, response.text
    return {"Authorization": f"Basic {response.json()['Token']}"}


def seed(http: httpx.Client, state: str | None = None, account: str = "webshop", mode: str = "manual") -> str:
    body: dict[str, Any] = {"account": account, "progression": {"mode": mode}}
    return str(control(http, "POST", "/scans", {**body, **({"state": state} if state else {})})["id"])


def state_of(http: httpx.Client, scan_id: str) -> str:
    return str(control(http, "GET", f"/scans/{scan_id}")["state"])


def run(http: httpx.Client, auth: dict[str, str], **body: Any) -> str:
    response = http.post("Scan/RunScan", json=body or {"configName": WEEKLY}, headers=auth)
    assert response.status_code == 200, response.text
    return str(response.json()["Scan"]["Id"])


def get(http: httpx.Client, op: str, auth: dict[str, str], scan_id: str) -> httpx.Response:
    return http.get(f"Scan/{op}", params={"scanId": scan_id}, headers=auth)


def status(http: httpx.Client, auth: dict[str, str], scan_id: str) -> Any:
    response = get(http, "GetScanStatus", auth, scan_id)
    assert response.status_code == 200, response.text
    return response.json()["Status"]


def poll(http: httpx.Client, auth: dict[str, str], scan_id: str, emu: Emulator, limit: int = 12) -> list[Any]:
    seen = [status(http, auth, scan_id)]
    while not emu.lifecycle.is_terminal(seen[-1]) and len(seen) < limit:
        seen.append(status(http, auth, scan_id))
    return seen


def assert_legal_to_terminal(emu: Emulator, seen: list[Any]) -> None:
    lc = emu.lifecycle
    assert all(lc.is_legal(a, b) for a, b in itertools.pairwise(seen)), seen
    assert lc.is_terminal(seen[-1]), seen


def progression(http: httpx.Client, **body: Any) -> None:
    control(http, "PUT", "/progression", body)


# -- Authentication/Login ------------------------------------------------------------------------------


def test_login__single_client_user_gets_a_token_used_raw_after_basic(http: httpx.Client) -> None:
    response = http.post("Authentication/Login", json=creds("webshop"))
    assert response.status_code == 200
    body = response.json()
    assert body == {"IsSuccess": True, "Token": body["Token"], "ErrorMessage": None, "Reason": None}
    assert len(body["Token"]) == 40 and body["Token"] != base64.b64encode(b"scanner-ci:x").decode()
    scans = http.get("Scan/GetScans", headers={"Authorization": f"Basic {body['Token']}"})
    assert scans.status_code == 200 and scans.json() == ok(Scans=[])


def test_login__tokens_are_deterministic_and_distinct(emulator: Callable[..., Emulator]) -> None:
    def tokens() -> list[str]:
        with httpx.Client(transport=SyncASGITransport(emulator("appspider")), base_url="http://t") as client:
            return [
                client.post(f"{BASE}/Authentication/Login", json=creds("webshop")).json()["Token"]
                for _ in "ab"
            ]

    first = tokens()
    assert first == tokens() and first[0] != first[1]


def test_login__multi_client_user_without_client_id_gets_the_clients(http: httpx.Client) -> None:
    response = http.post("Authentication/Login", json=creds("acme-web"))
    assert response.status_code == 401
    assert response.json() == {
        "IsSuccess": False,
        "Token": None,
        "ErrorMessage": "Invalid clientId",
        "Reason": "Invalid clientId",
        "Clients": {
            "Acme Web Team": "7d3e9c14-58b2-4a6f-9e01-c2b4a8f6d359",
            "Acme Mobile Team": "1b6f0a82-c39d-47e5-8a14-5e2d7c9b0f68",
        },
    }


def test_login__multi_client_user_with_client_id_is_scoped_to_that_client(http: httpx.Client) -> None:
    web, mobile = login(http, "acme-web"), login(http, "acme-mobile")
    scan_id = run(http, web, configName="www.acme.test full")
    assert [s["Id"] for s in http.get("Scan/GetScans", headers=web).json()["Scans"]] == [scan_id]
    assert http.get("Scan/GetScans", headers=mobile).json()["Scans"] == []
    response = get(http, "GetScanStatus", mobile, scan_id)
    assert (response.status_code, response.json()) == (400, NOT_FOUND)
    foreign = http.post("Scan/RunScan", json={"configName": "www.acme.test full"}, headers=mobile)
    assert foreign.status_code == 400 and foreign.json()["Reason"] == "ScanStartFailed"


def test_login__client_id_of_another_users_client_is_invalid_client_id(http: httpx.Client) -> None:
    body = {**creds("webshop"), "clientId": ACCOUNTS["acme-web"]["client_id"]}
    response = http.post("Authentication/Login", json=body)
    assert response.status_code == 401
    assert response.json()["Reason"] == "Invalid clientId"
    assert response.json()["Clients"] == {"Webshop": ACCOUNTS["webshop"]["client_id"]}


@pytest.mark.parametrize(
    "body", [{"name": "scanner-ci", "password": "wrong"}, {"name": "nobody", "password": "x"}]
)
def test_login__wrong_credentials_are_invalid_credentials(http: httpx.Client, body: dict[str, str]) -> None:
    response = http.post("Authentication/Login", json=body)
    assert response.status_code == 401
    assert response.json() == {
        "IsSuccess": False,
        "Token": None,
        "ErrorMessage": "Invalid user name or password",
        "Reason": "InvalidCredentials",
    }


@pytest.mark.parametrize(
    ("content", "content_type"),
    [
        (b'{"name": "scanner-ci"}', "application/json"),
        (b'{"name": 5, "password": []}', "application/json"),
        (b'{"name": "scanner-ci", "password": "x", "clientId": "nope"}', "application/json"),
        (b"{garbage", "application/json"),
        (b"[1, 2]", "application/json"),
        (b"", "application/json"),
        (b"name=scanner-ci&password=x", "text/plain"),
    ],
)
def test_login__bad_input_is_invalid_json_schema(
    http: httpx.Client, content: bytes, content_type: str
) -> None:
    response = http.post("Authentication/Login", content=content, headers={"Content-Type": content_type})
    assert response.status_code == 400
    body = response.json()
    assert (body["IsSuccess"], body["Token"], body["Reason"]) == (False, None, "InvalidJsonSchema")


def test_login__missing_password_says_required_parameters_not_provided(http: httpx.Client) -> None:
    response = http.post("Authentication/Login", json={"name": "scanner-ci"})
    assert (response.status_code, response.json()) == (400, {**REQUIRED, "Token": None})


# -- authorization on every other operation -------------------------------------------------------------


@pytest.mark.parametrize(
    "headers",
    [
        {},
        {"Authorization": "Basic " + base64.b64encode(b"scanner-ci:correct horse battery staple").decode()},
        {"Authorization": "Basic not-a-token"},
        {"Authorization": "Bearer whatever"},
        {"Authorization": "Basic"},
    ],
    ids=["missing", "base64-user-password", "unknown", "bearer", "empty"],
)
def test_get_scans__without_a_valid_token_is_invalid_credentials(
    http: httpx.Client, headers: dict[str, str]
) -> None:
    response = http.get("Scan/GetScans", headers=headers)
    assert response.status_code == 401
    body = response.json()
    assert (body["IsSuccess"], body["Reason"], set(body)) == (False, "InvalidCredentials", set(OK))


def test_get_scan_status__token_expires_after_token_ttl(http: httpx.Client) -> None:
    control(http, "PATCH", "/settings", {"token_ttl": 600})
    auth = login(http)
    scan_id = run(http, auth)
    control(http, "POST", "/clock", {"advance": 599})
    assert get(http, "GetScanStatus", auth, scan_id).status_code == 200
    control(http, "POST", "/clock", {"advance": 1})
    response = get(http, "GetScanStatus", auth, scan_id)
    assert response.status_code == 401
    assert response.json() == {
        "IsSuccess": False,
        "ErrorMessage": "Authorization token is invalid or expired",
        "Reason": "InvalidCredentials",
    }
    assert status(http, login(http), scan_id) == "Completed"


def test_expired_token__scenario_token_is_refused(http: httpx.Client) -> None:
    setup = control(http, "POST", "/scenario", {"name": "expired_token"})["result"]
    response = get(http, "GetScanStatus", {"Authorization": f"Basic {setup['token']}"}, setup["scanId"])
    assert response.status_code == 401 and response.json()["Reason"] == "InvalidCredentials"
    assert status(http, login(http), setup["scanId"]) == "Completed"


def test_get_scan_status__expired_auth_fault_answers_like_an_expired_token(http: httpx.Client) -> None:
    auth = login(http)
    control(http, "POST", "/faults", {"kind": "expired_auth", "operation": "getScanStatus"})
    response = get(http, "GetScanStatus", auth, MISSING_ID)
    assert response.status_code == 401
    assert response.json() == {
        "IsSuccess": False,
        "ErrorMessage": "Authorization token is invalid or expired",
        "Reason": "InvalidCredentials",
    }
    assert get(http, "GetScanStatus", auth, MISSING_ID).json() == NOT_FOUND


# -- RunScan ----------------------------------------------------------------------------------------------


def configs(http: httpx.Client, auth: dict[str, str]) -> dict[str, str]:
    """Config name -> id, learned the way a client would: start one scan of each and read ConfigId."""
    out = {}
    for name in CONFIGS["webshop"]:
        response = http.post("Scan/RunScan", json={"configName": name}, headers=auth)
        out[name] = response.json()["Scan"]["ConfigId"]
    return out


def test_run_scan__by_config_name_returns_the_new_scan(http: httpx.Client) -> None:
    response = http.post("Scan/RunScan", json={"configName": WEEKLY}, headers=login(http))
    assert response.status_code == 200
    body = response.json()
    scan = body["Scan"]
    assert body == ok(Scan=scan)
    assert (scan["Status"], scan["StartedBy"], scan["Targets"][0]["Host"]) == (
        82,
        "scanner-ci",
        "shop.example.com",
    )
    assert (scan["StartTime"], scan["CompletionTime"], scan["IsImported"]) == (
        "2024-03-22T19:56:21.000",
        None,
        False,
    )


def test_run_scan__generated_client_flow_reaches_terminal(emu: Emulator) -> None:
    transport, user = {"transport": SyncASGITransport(emu)}, creds("webshop")
    base = f"http://127.0.0.1{BASE}"
    token = login_op.sync(
        client=Client(base_url=base, httpx_args=transport),
        body=LoginRequest(name=user["name"], password=user["password"]),
    )
    assert token is not None and isinstance(token.token, str)
    client = AuthenticatedClient(base_url=base, token=token.token, prefix="Basic", httpx_args=transport)
    started = run_scan.sync(client=client, body=RunScanRequest(config_name=WEEKLY))
    assert started is not None and hasattr(started, "scan")
    seen: list[str] = []
    while (not seen or not emu.lifecycle.is_terminal(seen[-1])) and len(seen) < 10:
        answer = get_scan_status.sync(client=client, scan_id=[started.scan.id])
        assert answer is not None and hasattr(answer, "status")
        seen.append(str(answer.status))
    assert seen == ["Running", "Completed"]


@pytest.mark.parametrize(
    "send",
    [
        lambda h, cid, a: h.post("Scan/RunScan", data={"configId": cid}, headers=a),
        lambda h, cid, a: h.post("Scan/RunScan", json={"configId": [cid]}, headers=a),
        lambda h, cid, a: h.post("Scan/RunScan", json={"configId": cid.upper()}, headers=a),
        lambda h, cid, a: h.post("Scan/RunScan", params={"configId": cid}, headers=a),
    ],
    ids=["form-scalar", "json-list", "json-upper-case", "query-string"],
)
def test_run_scan__by_config_id_in_every_encoding(http: httpx.Client, send: Any) -> None:
    auth = login(http)
    nightly = configs(http, auth)[NIGHTLY]
    response = send(http, nightly, auth)
    assert response.status_code == 200, response.text
    assert response.json()["Scan"]["ConfigId"] == nightly


@pytest.mark.parametrize(
    "kwargs",
    [{}, {"json": {}}, {"data": {"other": "x"}}, {"json": {"configName": ""}}],
    ids=["no-body", "empty-json", "form-without-config", "empty-name"],
)
def test_run_scan__without_config_is_invalid_json_schema(http: httpx.Client, kwargs: dict[str, Any]) -> None:
    response = http.post("Scan/RunScan", headers=login(http), **kwargs)
    assert (response.status_code, response.json()) == (400, REQUIRED)


@pytest.mark.parametrize(
    ("body", "message"),
    [
        ({"configName": "nope"}, "Scan config with 'configName' not found in client"),
        ({"configId": MISSING_ID}, "Scan config with 'configId' doesn't exist in client"),
    ],
)
def test_run_scan__unknown_config_is_scan_start_failed(http: httpx.Client, body: Any, message: str) -> None:
    response = http.post("Scan/RunScan", json=body, headers=login(http))
    assert response.status_code == 400
    assert response.json() == {"IsSuccess": False, "ErrorMessage": message, "Reason": "ScanStartFailed"}


@pytest.mark.parametrize(
    "body",
    [{"configId": "not-a-guid"}, {"configId": [MISSING_ID, MISSING_ID]}, {"configId": []}, {"configName": 7}],
)
def test_run_scan__bad_input_is_invalid_json_schema(http: httpx.Client, body: Any) -> None:
    response = http.post("Scan/RunScan", json=body, headers=login(http))
    assert response.status_code == 400
    assert response.json()["Reason"] == "InvalidJsonSchema" and response.json()["IsSuccess"] is False


# -- GetScanStatus and the lifecycle ---------------------------------------------------------------------


def test_get_scan_status__started_scan_walks_legal_states_to_completed(
    http: httpx.Client, emu: Emulator
) -> None:
    progression(http, mode="reads", every=2)
    auth = login(http)
    seen = poll(http, auth, run(http, auth), emu)
    assert seen == ["Starting", "Running", "Running", "Completed"]
    assert_legal_to_terminal(emu, seen)


@pytest.mark.parametrize(
    ("prog", "expected"),
    [
        ({"outcome": "failure"}, ["Running", "Failed"]),
        ({"outcome": "hang"}, ["Running", "Hanged"]),
    ],
    ids=["failure", "hang"],
)
def test_get_scan_status__progression_outcomes_are_visible(
    http: httpx.Client, emu: Emulator, prog: dict[str, Any], expected: list[str]
) -> None:
    progression(http, mode="reads", every=1, **prog)
    auth = login(http)
    scan_id = run(http, auth)
    seen = [status(http, auth, scan_id) for _ in range(len(expected) + 1)]
    assert seen == [*expected, expected[-1]]
    assert_legal_to_terminal(emu, ["Starting", *seen])


def test_get_scan_status__post_terminal_roads_after_completed(http: httpx.Client, emu: Emulator) -> None:
    auth = login(http)
    seen = []
    for road in (["Completed", "VulnLoadFailed"], ["Completed", "ReportRegenerating", "ReportError"]):
        scan_id = control(http, "POST", "/scenario", {"name": "one_running_scan"})["result"]["scanId"]
        seen = ["Running"]
        for state in road:
            control(http, "PATCH", f"/scans/{scan_id}", {"state": state})
            seen.append(status(http, auth, scan_id))
        assert_legal_to_terminal(emu, [s for s in seen if s is not None])
    assert seen == ["Running", "Completed", None, "Download failed"]


def test_get_scan_status__timeout_outcome_is_refused_no_such_road(http: httpx.Client) -> None:
    response = http.put("http://127.0.0.1/_emulator/progression", json={"outcome": "timeout"})
    assert response.status_code == 400


@pytest.mark.parametrize(
    ("final", "detour"),
    [
        ("StartingCloud", ["Waiting for Cloud"]),
        ("PausedByBlackout", ["Running", "Pending Blackout", "Blackouted"]),
    ],
    ids=["cloud", "blackout"],
)
def test_get_scan_status__side_roads_then_back_to_the_happy_path(
    http: httpx.Client, emu: Emulator, final: str, detour: list[str]
) -> None:
    auth = login(http)
    scan_id = run(http, auth)
    control(http, "PATCH", f"/scans/{scan_id}", {"progression": {"mode": "reads", "final": final}})
    seen = ["Starting", *(status(http, auth, scan_id) for _ in detour)]
    assert seen[1:] == detour
    control(http, "PATCH", f"/scans/{scan_id}", {"progression": {"mode": "reads"}})
    seen += poll(http, auth, scan_id, emu)
    assert seen[-2:] == ["Running", "Completed"]
    assert_legal_to_terminal(emu, seen)


def test_get_scan_status__modes_immediate_seconds_manual(http: httpx.Client) -> None:
    auth = login(http)
    progression(http, mode="immediate")
    assert status(http, auth, run(http, auth)) == "Completed"
    progression(http, mode="seconds", every=30)
    timed = run(http, auth)
    assert status(http, auth, timed) == "Starting"
    control(http, "POST", "/clock", {"advance": 60})
    assert status(http, auth, timed) == "Completed"
    progression(http, mode="manual")
    held = run(http, auth)
    assert [status(http, auth, held) for _ in range(3)] == ["Starting"] * 3
    control(http, "POST", f"/scans/{held}/advance", {"steps": 1})
    assert status(http, auth, held) == "Running"


DISPLAY = {
    "Starting": "Starting",
    "StartingCloud": "Waiting for Cloud",
    "Running": "Running",
    "Pausing": "Pausing",
    "Paused": "Paused",
    "Resuming": "Resuming",
    "PendingPauseByBlackout": "Pending Blackout",
    "PausedByBlackout": "Blackouted",
    "Stopping": "Stopping",
    "Canceling": "Canceling",
    "Stopped": "Stopped",
    "Completed": "Completed",
    "Failed": "Failed",
    "Hanged": "Hanged",
    "VulnLoadFailed": "Vuln Load Failed",
    "ReportError": "Download failed",
    "StartDeleteWithReports": "Deleting All",
    "ReportRegenerating": None,  # the document's display vocabulary has no string for it
}


@pytest.mark.parametrize(("state", "text"), DISPLAY.items())
def test_get_scan_status__answers_the_display_vocabulary(http: httpx.Client, state: str, text: Any) -> None:
    assert status(http, login(http), seed(http, state)) == text


def test_get_scan_status__jenkins_style_get_with_form_content_type(http: httpx.Client) -> None:
    auth = login(http)
    scan_id = seed(http, "Running")
    response = http.get("Scan/GetScanStatus", params={"scanId": scan_id}, headers={**auth, **FORM})
    assert (response.status_code, response.json()) == (200, ok(Status="Running"))
    upper = http.get("Scan/GetScanStatus", params={"scanId": scan_id.upper()}, headers=auth)
    assert upper.json() == ok(Status="Running")


@pytest.mark.parametrize(
    "op", ["GetScanStatus", "IsScanActive", "IsScanFinished", "HasReport", "HasScanImported", "GetScanErrors"]
)
def test_get_scan_status__unknown_missing_and_bad_scan_ids(http: httpx.Client, op: str) -> None:
    auth = login(http)
    unknown = get(http, op, auth, MISSING_ID)
    assert (unknown.status_code, unknown.json()) == (400, NOT_FOUND)
    missing = http.get(f"Scan/{op}", headers=auth)
    assert (missing.status_code, missing.json()) == (400, REQUIRED)
    bad = get(http, op, auth, "42")
    assert bad.status_code == 400 and bad.json()["Reason"] == "InvalidJsonSchema"


@pytest.mark.parametrize(
    "op", ["GetScanStatus", "IsScanActive", "IsScanFinished", "HasReport", "HasScanImported"]
)
def test_get_scan_status__other_clients_scan_is_scan_not_found(http: httpx.Client, op: str) -> None:
    foreign = seed(http, "Running", account="acme-web")
    response = get(http, op, login(http), foreign)
    assert (response.status_code, response.json()) == (400, NOT_FOUND)


# -- single-scan actions --------------------------------------------------------------------------------


def test_cancel_scan__starting_scan_goes_canceling_then_stopped(http: httpx.Client, emu: Emulator) -> None:
    progression(http, mode="reads", every=2)
    auth = login(http)
    scan_id = run(http, auth)
    response = http.post("Scan/CancelScan", data={"scanId": scan_id}, headers=auth)
    assert (response.status_code, response.json()) == (200, OK)
    seen = ["Starting", *poll(http, auth, scan_id, emu)]
    assert seen == ["Starting", "Canceling", "Stopped"]
    assert_legal_to_terminal(emu, seen)
    assert get(http, "HasReport", auth, scan_id).json() == ok(Result=False)


@pytest.mark.parametrize(
    "send",
    [
        lambda h, sid, a: h.post("Scan/CancelScan", json={"scanId": [sid]}, headers=a),
        lambda h, sid, a: h.post("Scan/CancelScan", json={"scanId": sid}, headers=a),
        lambda h, sid, a: h.post("Scan/CancelScan", params={"scanId": sid}, headers=a),
        lambda h, sid, a: h.post("Scan/CancelScan", content=f"scanId={sid.upper()}", headers={**a, **FORM}),
    ],
    ids=["json-list", "json-scalar", "query-string", "form-upper-case"],
)
def test_cancel_scan__waiting_for_cloud_in_every_encoding(http: httpx.Client, send: Any) -> None:
    scan_id = control(http, "POST", "/scenario", {"name": "waiting_for_cloud"})["result"]["scanId"]
    response = send(http, scan_id, login(http))
    assert (response.status_code, response.json()) == (200, OK)
    assert state_of(http, scan_id) == "Canceling"


def test_pause_scan__then_resume_scan_round_trip(http: httpx.Client, emu: Emulator) -> None:
    auth = login(http)
    scan_id = run(http, auth)
    seen = ["Starting", status(http, auth, scan_id)]
    assert http.post("Scan/PauseScan", data={"scanId": scan_id}, headers=auth).json() == OK
    seen += [status(http, auth, scan_id), status(http, auth, scan_id)]
    assert http.post("Scan/ResumeScan", json={"scanId": scan_id}, headers=auth).json() == OK
    seen += poll(http, auth, scan_id, emu)
    assert seen == ["Starting", "Running", "Paused", "Paused", "Running", "Completed"]
    assert_legal_to_terminal(emu, seen)
    history = [h[0] for h in control(http, "GET", f"/scans/{scan_id}")["history"]]
    assert history == ["Starting", "Running", "Pausing", "Paused", "Resuming", "Running", "Completed"]


def test_stop_scan__running_scan_goes_stopping_then_stopped_with_a_report(
    http: httpx.Client, emu: Emulator
) -> None:
    auth = login(http)
    scan_id = run(http, auth)
    seen = ["Starting", status(http, auth, scan_id)]
    assert http.post("Scan/StopScan", data={"scanId": scan_id}, headers=auth).json() == OK
    assert state_of(http, scan_id) == "Stopping"
    seen += poll(http, auth, scan_id, emu)
    assert seen == ["Starting", "Running", "Stopped"]
    assert_legal_to_terminal(emu, seen)
    assert get(http, "HasReport", auth, scan_id).json() == ok(Result=True)
    assert get(http, "IsScanFinished", auth, scan_id).json() == ok(Result=True)


ILLEGAL = [
    ("CancelScan", "canceled", ["Running", "Paused", "Stopping", "Completed", "Stopped"]),
    ("PauseScan", "paused", ["Starting", "StartingCloud", "Pausing", "Paused", "Completed"]),
    ("ResumeScan", "resumed", ["Starting", "Running", "Resuming", "PausedByBlackout", "Failed"]),
    ("StopScan", "stopped", ["Starting", "Paused", "Stopping", "Stopped", "Completed"]),
]


@pytest.mark.parametrize(
    ("op", "word", "state"), [(op, word, state) for op, word, states in ILLEGAL for state in states]
)
def test_cancel_scan__illegal_actions_are_refused(http: httpx.Client, op: str, word: str, state: str) -> None:
    scan_id = seed(http, state)
    response = http.post(f"Scan/{op}", data={"scanId": scan_id}, headers=login(http))
    assert response.status_code == 400
    assert response.json() == {
        "IsSuccess": False,
        "ErrorMessage": f"Scan cannot be {word}: its status is '{DISPLAY[state]}'",
        "Reason": None,
    }
    assert state_of(http, scan_id) == state


@pytest.mark.parametrize("op", ["CancelScan", "PauseScan", "ResumeScan", "StopScan"])
def test_pause_scan__bad_input_unknown_and_foreign_scans(http: httpx.Client, op: str) -> None:
    auth = login(http)
    empty: list[dict[str, Any]] = [{}, {"data": {}}, {"json": {}}, {"json": {"scanId": []}}]
    for kwargs in empty:
        response = http.post(f"Scan/{op}", headers=auth, **kwargs)
        assert response.status_code == 400 and response.json()["Reason"] == "InvalidJsonSchema", kwargs
    for content, ctype in (
        (b"{oops", "application/json"),
        (b"scanId=x", "text/plain"),
        (b'"x"', "application/json"),
    ):
        response = http.post(f"Scan/{op}", content=content, headers={**auth, "Content-Type": ctype})
        assert response.status_code == 400 and response.json()["Reason"] == "InvalidJsonSchema", content
    for scan_id in (MISSING_ID, seed(http, "Running", account="acme-mobile")):
        response = http.post(f"Scan/{op}", data={"scanId": scan_id}, headers=auth)
        assert (response.status_code, response.json()) == (400, NOT_FOUND)


# -- all-scans actions ------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("op", "before", "after"),
    [
        (
            "PauseAllScans",
            ["Running", "Running", "Starting", "Completed"],
            ["Pausing", "Pausing", "Starting", "Completed"],
        ),
        (
            "ResumeAllScans",
            ["Paused", "Running", "PausedByBlackout"],
            ["Resuming", "Running", "PausedByBlackout"],
        ),
        ("StopAllScans", ["Running", "Paused", "Failed"], ["Stopping", "Paused", "Failed"]),
        ("CancelAllScans", ["Starting", "StartingCloud", "Running"], ["Canceling", "Canceling", "Running"]),
        ("CancelAllScans", [], []),
    ],
)
def test_pause_all_scans__acts_on_every_legal_scan_of_the_client_only(
    http: httpx.Client, op: str, before: list[str], after: list[str]
) -> None:
    mine = [seed(http, state) for state in before]
    theirs = [seed(http, state, account="acme-web") for state in before]
    response = http.post(f"Scan/{op}", headers=login(http))
    assert (response.status_code, response.json()) == (200, OK)
    assert [state_of(http, s) for s in mine] == after
    assert [state_of(http, s) for s in theirs] == before


# -- GetScans ---------------------------------------------------------------------------------------------


def test_get_scans__lists_the_clients_scans_with_integer_codes(http: httpx.Client) -> None:
    auth = login(http)
    completed = control(http, "POST", "/scenario", {"name": "one_completed_scan"})["result"]["scanId"]
    running = control(http, "POST", "/scenario", {"name": "one_running_scan"})["result"]["scanId"]
    seed(http, "Running", account="acme-web")
    response = http.get("Scan/GetScans", headers={**auth, **FORM})
    assert response.status_code == 200
    scans = response.json()["Scans"]
    assert set(response.json()) == {"Scans", *OK}
    assert [(s["Id"], s["Status"]) for s in scans] == [(completed, 32), (running, 82)]
    first = scans[0]
    assert first["CompletionTime"] == "2024-03-22T19:56:21.000" and first["EngineId"] is not None
    assert (first["Token"], first["WindowsScanStart"], first["WindowScanStop"], first["IsUploaded"]) == (
        None,
        None,
        None,
        False,
    )


LISTING_CODES = {
    **dict.fromkeys(["Starting", "StartingCloud", "Running", "Pausing", "PendingPauseByBlackout"], 82),
    **dict.fromkeys(["Paused", "Resuming", "PausedByBlackout"], 80),
    **dict.fromkeys(["Stopping", "Canceling", "Stopped"], 122),
    **dict.fromkeys(["Completed", "ReportRegenerating"], 32),
    **dict.fromkeys(["Failed", "Hanged"], 72),
    **dict.fromkeys(["VulnLoadFailed", "ReportError"], 119),
    "StartDeleteWithReports": 82,  # seeded straight from Starting: lists as the state it left
}


@pytest.mark.parametrize(("state", "code"), LISTING_CODES.items())
def test_get_scans__status_code_of_every_state(http: httpx.Client, state: str, code: int) -> None:
    seed(http, state)
    assert [s["Status"] for s in http.get("Scan/GetScans", headers=login(http)).json()["Scans"]] == [code]


@pytest.mark.parametrize(
    "road",
    [
        ["Starting", "StartingCloud", "Running", "Completed", "VulnLoadFailed"],
        ["Starting", "Canceling", "Stopped"],
        ["Starting", "Running", "Pausing", "Paused", "Resuming", "Running", "Stopping", "Stopped"],
        ["Starting", "Running", "PendingPauseByBlackout", "PausedByBlackout", "Running", "Hanged"],
        ["Starting", "Running", "Completed", "ReportRegenerating", "ReportError"],
    ],
)
def test_get_scans__listing_codes_follow_legal_transitions(
    http: httpx.Client, emu: Emulator, road: list[str]
) -> None:
    auth = login(http)
    scan_id = seed(http)
    codes = []
    for state in road[1:]:
        control(http, "PATCH", f"/scans/{scan_id}", {"state": state})
        codes.append(http.get("Scan/GetScans", headers=auth).json()["Scans"][0]["Status"])
    assert all(emu.lifecycle.is_legal(a, b) for a, b in itertools.pairwise(codes)), codes


def test_get_scans__filters_by_config_id(http: httpx.Client) -> None:
    auth = login(http)
    ids = control(http, "POST", "/scenario", {"name": "many_scans"})["result"]
    weekly, nightly = ids["configIds"]
    listed = http.get("Scan/GetScans", params={"configId": nightly}, headers=auth).json()
    assert [s["Id"] for s in listed["Scans"]] == ids["scanIds"][5:]
    assert {s["ConfigId"] for s in listed["Scans"]} == {nightly}
    both = http.get("Scan/GetScans", params=[("configId", weekly), ("configId", nightly)], headers=auth)
    assert [s["Id"] for s in both.json()["Scans"]] == ids["scanIds"]


@pytest.mark.parametrize("account", ["webshop", "acme-web"])
def test_get_scans__unknown_or_foreign_config_id_does_not_exist_in_client(
    http: httpx.Client, account: str
) -> None:
    foreign = control(http, "POST", "/scenario", {"name": "multi_client_login"})["result"]
    cid = MISSING_ID
    if account == "acme-web":
        cid = control(http, "GET", f"/scans/{foreign['scanIds']['acme-web']}")["vendor"]["ConfigId"]
    response = http.get("Scan/GetScans", params={"configId": cid}, headers=login(http))
    assert response.status_code == 400
    assert response.json() == {
        "IsSuccess": False,
        "ErrorMessage": "Config Id does not exist in client",
        "Reason": None,
    }


def test_get_scans__pages_are_zero_based_with_links(http: httpx.Client) -> None:
    auth = login(http)
    ids = control(http, "POST", "/scenario", {"name": "many_scans"})["result"]
    weekly = ids["configIds"][0]

    def page(number: int, size: int) -> dict[str, Any]:
        params = {"configId": weekly, "page": number, "pageSize": size}
        response = http.get("Scan/GetScans", params=params, headers=auth)
        assert response.status_code == 200, response.text
        return dict(response.json())

    def href(number: int, size: int) -> str:
        return f"{BASE}/Scan/GetScans?configId={weekly}&page={number}&pageSize={size}"

    first = page(0, 2)
    assert [s["Id"] for s in first["Scans"]] == ids["scanIds"][:2]
    assert (first["TotalCount"], first["TotalPages"]) == (5, 3)
    assert first["Links"] == [{"Rel": "self", "Href": href(0, 2)}, {"Rel": "next", "Href": href(1, 2)}]
    last = page(2, 2)
    assert [s["Id"] for s in last["Scans"]] == ids["scanIds"][4:5]
    assert last["Links"] == [{"Rel": "self", "Href": href(2, 2)}, {"Rel": "prev", "Href": href(1, 2)}]
    beyond = page(3, 2)
    assert (beyond["Scans"], beyond["TotalCount"], beyond["Links"][1]) == (
        [],
        5,
        {"Rel": "prev", "Href": href(2, 2)},
    )
    whole = page(0, 5)
    assert (len(whole["Scans"]), whole["TotalPages"], whole["Links"]) == (
        5,
        1,
        [{"Rel": "self", "Href": href(0, 5)}],
    )
    unfiltered = http.get("Scan/GetScans", params={"page": 1, "pageSize": 4}, headers=auth).json()
    assert ([s["Id"] for s in unfiltered["Scans"]], unfiltered["TotalPages"]) == (ids["scanIds"][4:], 2)


@pytest.mark.parametrize(
    "params",
    [{"page": 0}, {"pageSize": 2}, {"page": -1, "pageSize": 2}, {"page": 0, "pageSize": 0},
     {"page": "x", "pageSize": 2}, {"configId": "nope"}],
)  # fmt: skip
def test_get_scans__bad_paging_is_invalid_json_schema(http: httpx.Client, params: dict[str, Any]) -> None:
    response = http.get("Scan/GetScans", params=params, headers=login(http))
    assert response.status_code == 400 and response.json()["Reason"] == "InvalidJsonSchema"


# -- boolean and detail reads ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("state", "active", "finished", "report"),
    [
        ("Starting", True, False, False), ("Running", True, False, False), ("Paused", True, False, False),
        ("Stopping", True, False, False), ("Completed", False, True, True), ("Failed", False, True, False),
        ("Hanged", False, True, False), ("VulnLoadFailed", False, True, True),
        ("ReportError", False, True, False), ("ReportRegenerating", True, False, False),
    ],
)  # fmt: skip
def test_is_scan_finished__and_is_scan_active_and_has_report_per_state(
    http: httpx.Client, state: str, active: bool, finished: bool, report: bool
) -> None:
    auth = login(http)
    scan_id = seed(http, state)
    assert get(http, "IsScanActive", auth, scan_id).json() == ok(Result=active)
    assert get(http, "IsScanFinished", auth, scan_id).json() == ok(Result=finished)
    assert get(http, "HasReport", auth, scan_id).json() == ok(Result=report)


def test_has_scan_imported__becomes_true_some_reads_after_completed(http: httpx.Client) -> None:
    auth = login(http)
    scan_id = run(http, auth)
    seen = [get(http, "HasScanImported", auth, scan_id).json() for _ in range(4)]
    assert seen == [
        ok(IsImported=False, Status="Running"),
        ok(IsImported=False, Status="Completed"),
        ok(IsImported=False, Status="Completed"),
        ok(IsImported=True, Status="Completed"),
    ]
    listed = http.get("Scan/GetScans", headers=auth).json()["Scans"][0]
    assert listed["IsImported"] is True


def test_get_scan_errors__one_event_per_failure(http: httpx.Client) -> None:
    auth = login(http)
    failed = control(http, "POST", "/scenario", {"name": "one_failed_scan"})["result"]["scanId"]
    assert get(http, "GetScanErrors", auth, failed).json() == ok(
        Events=[
            {
                "Type": "Error",
                "Date": "2024-03-22T19:56:21.000",
                "Message": "Scan failed: the scan engine reported an error",
            }
        ]
    )
    completed = control(http, "POST", "/scenario", {"name": "one_completed_scan"})["result"]["scanId"]
    assert get(http, "GetScanErrors", auth, completed).json() == ok(Events=[])
    control(http, "PATCH", f"/scans/{completed}", {"state": "ReportError"})
    assert [e["Message"] for e in get(http, "GetScanErrors", auth, completed).json()["Events"]] == [
        "Scan report download failed"
    ]


def test_get_scan_errors__other_clients_scan_is_scan_is_not_allowed(http: httpx.Client) -> None:
    foreign = seed(http, "Failed", account="acme-mobile")
    response = get(http, "GetScanErrors", login(http), foreign)
    assert response.status_code == 400
    assert response.json() == {
        "IsSuccess": False,
        "ErrorMessage": "User does not have permissions to access scan",
        "Reason": "ScanIsNotAllowed",
    }


def test_get_scan_statuses__lists_the_enum_names(http: httpx.Client, emu: Emulator) -> None:
    response = http.get("Scan/GetScanStatuses", headers={**login(http), **FORM})
    statuses = response.json()["Statuses"]
    assert response.json() == ok(Statuses=statuses)
    assert len(statuses) == 42 and statuses[:3] == ["Starting", "PendingStarting", "ValidatingStarting"]
    assert {emu.lifecycle.canonical(s) for s in statuses} == set(emu.lifecycle.states)


# -- faults, rate limits, validation off ------------------------------------------------------------------


@pytest.mark.parametrize("code", [429, 500, 503])
def test_get_scan_status__injected_status_fault_in_vendor_envelope(http: httpx.Client, code: int) -> None:
    auth = login(http)
    control(http, "POST", "/faults", {"kind": "status", "status": code, "retry_after": 5})
    response = get(http, "GetScanStatus", auth, MISSING_ID)
    assert response.status_code == code and "retry-after" not in response.headers
    assert response.json() == {"IsSuccess": False, "ErrorMessage": "injected fault", "Reason": None}
    assert get(http, "GetScanStatus", auth, MISSING_ID).json() == NOT_FOUND


def test_login__injected_fault_keeps_the_login_shape(http: httpx.Client) -> None:
    control(http, "POST", "/faults", {"kind": "status", "status": 500, "operation": "login"})
    response = http.post("Authentication/Login", json=creds("webshop"))
    assert response.status_code == 500
    assert response.json() == {
        "IsSuccess": False,
        "Token": None,
        "ErrorMessage": "injected fault",
        "Reason": None,
    }


@pytest.mark.parametrize(
    ("variant", "content_type"),
    [("truncated", "application/json"), ("html", "text/html"), ("empty", "application/json")],
)
def test_get_scan_statuses__malformed_fault(http: httpx.Client, variant: str, content_type: str) -> None:
    auth = login(http)
    control(http, "POST", "/faults", {"kind": "malformed", "variant": variant})
    response = http.get("Scan/GetScanStatuses", headers=auth)
    assert response.status_code == 200 and response.headers["content-type"].startswith(content_type)
    with pytest.raises(json.JSONDecodeError):
        json.loads(response.content)


def test_get_scans__spec_declares_no_rate_limit_and_the_switch_is_harmless(http: httpx.Client) -> None:
    auth = login(http)
    assert all(http.get("Scan/GetScans", headers=auth).status_code == 200 for _ in range(70))
    assert control(http, "PATCH", "/settings", {"rate_limits": False})["rate_limits"] is False
    assert http.get("Scan/GetScans", headers=auth).status_code == 200


def test_run_scan__bad_input_with_request_validation_off_is_never_a_500(
    http: httpx.Client, emu: Emulator
) -> None:
    control(http, "PATCH", "/settings", {"validate_requests": False})
    auth = login(http)
    cases: list[tuple[str, dict[str, Any]]] = [
        ("Scan/RunScan", {"json": [1, 2]}),
        ("Scan/RunScan", {"json": {"configId": {"a": 1}}}),
        ("Scan/RunScan", {"content": b"{oops", "headers": {"Content-Type": "application/json"}}),
        ("Scan/CancelScan", {"json": {"scanId": 12}}),
        ("Scan/PauseScan", {"data": {"scanId": ["a", "b"]}}),
        ("Authentication/Login", {"json": {"name": 1, "password": None}}),
        ("Authentication/Login", {"json": "just a string"}),
    ]
    for path, kwargs in cases:
        headers = {**auth, **kwargs.pop("headers", {})}
        response = http.post(path, headers=headers, **kwargs)
        assert 400 <= response.status_code < 500 and response.json()["IsSuccess"] is False, (
            path,
            response.text,
        )
    response = http.get("Scan/GetScans", params={"page": "x", "pageSize": "y"}, headers=auth)
    assert response.status_code == 400 and response.json()["Reason"] == "InvalidJsonSchema"
    assert emu.errors == []


# -- scenarios, control, persistence ---------------------------------------------------------------------


@pytest.mark.parametrize("name", sorted(Plugin.scenarios))
def test_scenarios__each_runs_over_the_control_api(http: httpx.Client, name: str) -> None:
    assert control(http, "POST", "/scenario", {"name": name})["scenario"] == name


def test_multi_client_login__scenario_clients_each_see_their_own_scan(http: httpx.Client) -> None:
    setup = control(http, "POST", "/scenario", {"name": "multi_client_login"})["result"]
    refused = http.post(
        "Authentication/Login", json={"name": setup["username"], "password": setup["password"]}
    )
    assert refused.json()["Clients"] == setup["clients"]
    for account, client_id in zip(("acme-web", "acme-mobile"), setup["clients"].values(), strict=True):
        body = {"name": setup["username"], "password": setup["password"], "clientId": client_id}
        auth = {"Authorization": "Basic " + http.post("Authentication/Login", json=body).json()["Token"]}
        assert [s["Id"] for s in http.get("Scan/GetScans", headers=auth).json()["Scans"]] == [
            setup["scanIds"][account]
        ]


def test_running_scan__scenario_is_running_until_moved(http: httpx.Client) -> None:
    scan_id = control(http, "POST", "/scenario", {"name": "one_running_scan"})["result"]["scanId"]
    auth = login(http)
    assert [status(http, auth, scan_id) for _ in range(3)] == ["Running"] * 3
    assert get(http, "IsScanActive", auth, scan_id).json() == ok(Result=True)


def test_queue_stalled__scenario_keeps_new_scans_starting(http: httpx.Client) -> None:
    control(http, "POST", "/scenario", {"name": "queue_stalled"})
    auth = login(http)
    scan_id = run(http, auth)
    assert [status(http, auth, scan_id) for _ in range(3)] == ["Starting"] * 3


def test_coverage__every_spec_operation_is_routed(http: httpx.Client) -> None:
    coverage = control(http, "GET", "/coverage")
    assert coverage["missing"] == [] and len(coverage["implemented"]) == 32
    assert control(http, "GET", "/accounts") == ACCOUNTS


def test_restart__state_survives_on_a_sqlite_file(tmp_path: Path) -> None:
    db = tmp_path / "x.sqlite3"
    settings = EmulatorSettings(validate_responses=True)
    built: list[Emulator] = []

    def client() -> httpx.Client:
        emu = build_emulator("appspider", db=db, clock=ManualClock(), settings=settings)
        built.append(emu)
        return httpx.Client(transport=SyncASGITransport(emu), base_url=f"http://127.0.0.1{BASE}/")

    with client() as first:
        auth = login(first)
        scan_id = run(first, auth)
        assert status(first, auth, scan_id) == "Running"
        before = first.get("Scan/GetScans", headers=auth).json()["Scans"]
    built[0].store.close()
    with client() as second:
        assert status(second, auth, scan_id) == "Completed"
        after = second.get("Scan/GetScans", headers=auth).json()["Scans"]
        assert [s["ConfigId"] for s in after] == [s["ConfigId"] for s in before]
        assert run(second, auth) != scan_id
        assert len(second.get("Scan/GetScans", headers=auth).json()["Scans"]) == 2
    built[1].store.close()
    assert [v for e in built for v in e.violations] == [] and [x for e in built for x in e.errors] == []
