"""The Advalidation emulator: operations, lifecycle, auth, isolation, bad input, faults, rate limits,
scenarios and persistence. Every response is validated against the resolved spec by the fixtures."""

from __future__ import annotations

import itertools
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx
import pytest

from conformance.emulators.advalidation import Plugin
from conformance.emulators.advalidation.models import CHECKS_BY_FORMAT, checks_for
from conformance.emulators.core import Emulator, EmulatorSettings, ManualClock, build_emulator
from conformance.emulators.core.spec import resolved_spec
from conformance.emulators.core.transport import SyncASGITransport

from .conftest import control

ACME = {"X-API-Key": Plugin.accounts["acme"]["api_key"]}
GLOBEX = {"X-API-Key": Plugin.accounts["globex"]["api_key"]}
T0 = "2024-03-22T19:56:21Z"  # ManualClock's start
# After a reset: acme owns creatives 101 (display) and 102 (video), globex 103 (display); each has a
# finished `initial` scan 301, 302, 303. The first rescan is scan 304.
ACME_DISPLAY, ACME_VIDEO, GLOBEX_DISPLAY = 101, 102, 103
ACME_SCAN, ACME_VIDEO_SCAN, GLOBEX_SCAN = 301, 302, 303
OPERATIONS = [("GET", "/v2/scans/301"), ("GET", "/v2/users/me"), ("POST", "/v2/creatives/101/rescan")]
# The IP bucket's size, read from the spec the emulator serves (x-rate-limit.capacity).
BUCKET = int(resolved_spec("advalidation")[0]["x-rate-limit"]["capacity"])


def err(status: int, *issues: dict[str, Any]) -> dict[str, Any]:
    return {"error": {"responseCode": status, "issues": list(issues)}}


def field_issue(field: str, message: str) -> dict[str, Any]:
    return {"type": "invalid_field_value", "message": message, "relatedField": field}


@pytest.fixture
def emu(advalidation_emulator: Emulator) -> Emulator:
    return advalidation_emulator


def rescan(http: httpx.Client, creative: int = ACME_VIDEO, headers: dict[str, str] = ACME) -> dict[str, Any]:
    response = http.post(f"/v2/creatives/{creative}/rescan", headers=headers)
    assert response.status_code == 200, response.text
    return response.json()["data"]


def poll(http: httpx.Client, scan_id: int, include_checks: bool = False) -> dict[str, Any]:
    params = {"include_checks": "true"} if include_checks else {}
    response = http.get(f"/v2/scans/{scan_id}", headers=ACME, params=params)
    assert response.status_code == 200, response.text
    return response.json()["data"]


def poll_until_terminal(emu: Emulator, http: httpx.Client, scan_id: int, limit: int = 10) -> list[str]:
    seen = []
    for _ in range(limit):
        seen.append(poll(http, scan_id)["processingStatus"])
        if emu.lifecycle.is_terminal(seen[-1]):
            break
    return seen


def assert_legal(emu: Emulator, states: list[str]) -> None:
    pairs = list(itertools.pairwise(states))
    assert [p for p in pairs if not emu.lifecycle.is_legal(*p)] == []


# -- happy paths ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("headers", "user"),
    [
        (ACME, {"id": 1, "email": "api-user@acme.example", "name": "Acme Ad Ops"}),
        (GLOBEX, {"id": 2, "email": "api-user@globex.example", "name": "Globex Trafficking"}),
    ],
)
def test_get_current_user__returns_the_key_owner(
    http: httpx.Client, headers: dict[str, str], user: dict
) -> None:
    response = http.get("/v2/users/me", headers=headers)
    assert response.status_code == 200
    assert response.json() == {"data": user}
    assert response.headers["content-type"] == "application/json"


def test_get_scan__initial_scan_is_finished_without_tests_by_default(http: httpx.Client) -> None:
    response = http.get(f"/v2/scans/{ACME_SCAN}", headers=ACME)
    assert response.status_code == 200
    assert response.json() == {
        "data": {
            "id": ACME_SCAN,
            "createdAt": T0,
            "updatedAt": T0,
            "finishedAt": T0,
            "sequenceType": "initial",
            "nbIssues": 0,
            "tests": None,
            "processingStatus": "finished",
            "isInconclusive": False,
            "inconclusiveReason": None,
        }
    }


def test_get_scan__include_checks_returns_check_results(http: httpx.Client) -> None:
    scan = poll(http, ACME_VIDEO_SCAN, include_checks=True)
    assert scan["tests"] == checks_for(str(ACME_VIDEO_SCAN), "video") == CHECKS_BY_FORMAT["video"]
    assert [t["result"] for t in scan["tests"]] == ["fail", "warn", "pass"]
    assert list(scan["tests"][0]) == [
        "name",
        "value",
        "valueFormatted",
        "valuePhrase",
        "result",
        "attributes",
        "extended",
    ]
    assert scan["nbIssues"] == 2  # recursive warns + recursive fails


@pytest.mark.parametrize("value", ["false", "0", "no"])
def test_get_scan__include_checks_false_gives_null_tests(http: httpx.Client, value: str) -> None:
    response = http.get(f"/v2/scans/{ACME_SCAN}", headers=ACME, params={"include_checks": value})
    assert response.status_code == 200
    assert response.json()["data"]["tests"] is None


def test_rescan_creative__returns_a_new_queued_manual_scan(http: httpx.Client) -> None:
    response = http.post(f"/v2/creatives/{ACME_VIDEO}/rescan", headers=ACME)
    assert response.status_code == 200
    assert response.json() == {
        "data": {
            "id": 304,
            "createdAt": T0,
            "updatedAt": None,
            "finishedAt": None,
            "sequenceType": "manual",
            "nbIssues": None,
            "tests": None,
            "processingStatus": "queued",
            "isInconclusive": None,
            "inconclusiveReason": None,
        }
    }
    assert rescan(http)["id"] == 305
    assert poll(http, ACME_VIDEO_SCAN)["processingStatus"] == "finished"  # the old scan is untouched


def test_rescan_creative__generated_client_drives_the_flow(emu: Emulator) -> None:
    from advalidation_client import Client
    from advalidation_client.api.scans import get_scan, rescan_creative
    from advalidation_client.api.users import get_current_user
    from advalidation_client.models import ScanResponse, UserResponse

    client = Client(
        base_url="http://127.0.0.1/v2", headers=ACME, httpx_args={"transport": SyncASGITransport(emu)}
    )
    with client:
        assert isinstance(get_current_user.sync(client=client), UserResponse)
        started = rescan_creative.sync(ACME_VIDEO, client=client)
        assert isinstance(started, ScanResponse)
        states = [str(started.data.processing_status)]
        while not emu.lifecycle.is_terminal(states[-1]):
            polled = get_scan.sync(started.data.id, client=client, include_checks=True)
            assert isinstance(polled, ScanResponse)
            states.append(str(polled.data.processing_status))
    assert states == ["queued", "processing", "finished"]
    assert polled.data.nb_issues == 2
    assert [t.name for t in polled.data.tests] == [
        "Test_Video_Duration",
        "Test_Video_Bitrate",
        "Test_Video_Audio",
    ]


# -- lifecycle ------------------------------------------------------------------------------------


def test_get_scan__rescan_polled_to_finished_along_legal_transitions(
    emu: Emulator, http: httpx.Client
) -> None:
    started = rescan(http)
    states = [started["processingStatus"], *poll_until_terminal(emu, http, started["id"])]
    assert states == ["queued", "processing", "finished"]
    assert_legal(emu, states)
    final = poll(http, started["id"], include_checks=True)
    assert (final["finishedAt"], final["nbIssues"], final["isInconclusive"]) == (T0, 2, False)
    assert final["tests"] == CHECKS_BY_FORMAT["video"]


def test_get_scan__fields_stay_null_until_the_scan_finishes(http: httpx.Client, emu: Emulator) -> None:
    control(http, "PUT", "/progression", {"mode": "manual"}, status=200)
    scan_id = rescan(http)["id"]
    control(http, "POST", "/clock", {"advance": 5}, status=200)
    control(http, "POST", f"/scans/{scan_id}/advance", {}, status=200)
    processing = poll(http, scan_id, include_checks=True)
    assert processing["processingStatus"] == "processing"
    assert processing["updatedAt"] == "2024-03-22T19:56:26Z"
    assert [processing[k] for k in ("finishedAt", "nbIssues", "tests", "isInconclusive")] == [None] * 4
    control(http, "POST", "/clock", {"advance": 60}, status=200)
    control(http, "POST", f"/scans/{scan_id}/advance", {}, status=200)
    done = poll(http, scan_id)
    assert (done["createdAt"], done["updatedAt"], done["finishedAt"]) == (
        T0,
        "2024-03-22T19:57:26Z",
        "2024-03-22T19:57:26Z",
    )


def test_get_scan__failure_outcome_ends_failed_with_finished_at(emu: Emulator, http: httpx.Client) -> None:
    control(http, "PUT", "/progression", {"outcome": "failure"}, status=200)
    started = rescan(http)
    states = poll_until_terminal(emu, http, started["id"])
    assert states == ["processing", "failed"]
    assert_legal(emu, ["queued", *states])
    failed = poll(http, started["id"], include_checks=True)
    assert failed["finishedAt"] == T0
    assert [failed[k] for k in ("nbIssues", "tests", "isInconclusive", "inconclusiveReason")] == [None] * 4


def test_get_scan__per_scan_failure_outcome_leaves_others_on_the_happy_path(
    emu: Emulator, http: httpx.Client
) -> None:
    doomed, fine = rescan(http)["id"], rescan(http)["id"]
    control(http, "PATCH", f"/scans/{doomed}", {"progression": {"outcome": "failure"}}, status=200)
    assert poll_until_terminal(emu, http, doomed)[-1] == "failed"
    assert poll_until_terminal(emu, http, fine)[-1] == "finished"


def test_get_scan__hang_outcome_stays_processing(emu: Emulator, http: httpx.Client) -> None:
    control(http, "PUT", "/progression", {"outcome": "hang"}, status=200)
    scan_id = rescan(http)["id"]
    assert [poll(http, scan_id)["processingStatus"] for _ in range(6)] == ["processing"] * 6
    assert poll(http, scan_id)["finishedAt"] is None


@pytest.mark.parametrize(
    ("final", "path"), [("failed", ["processing", "failed"]), ("finished", ["processing", "finished"])]
)
def test_get_scan__final_state_is_reached_along_auto_edges(
    emu: Emulator, http: httpx.Client, final: str, path: list[str]
) -> None:
    control(http, "PUT", "/progression", {"final": final}, status=200)
    scan_id = rescan(http)["id"]
    assert poll_until_terminal(emu, http, scan_id) == path


def test_get_scan__immediate_mode_finishes_on_first_poll(http: httpx.Client) -> None:
    control(http, "PUT", "/progression", {"mode": "immediate"}, status=200)
    scan_id = rescan(http)["id"]
    assert poll(http, scan_id)["processingStatus"] == "finished"
    history = control(http, "GET", f"/scans/{scan_id}")["history"]
    assert [h[0] for h in history] == ["queued", "processing", "finished"]


def test_get_scan__reads_mode_moves_every_n_polls(http: httpx.Client) -> None:
    control(http, "PUT", "/progression", {"mode": "reads", "every": 2}, status=200)
    scan_id = rescan(http)["id"]
    states = [poll(http, scan_id)["processingStatus"] for _ in range(4)]
    assert states == ["queued", "processing", "processing", "finished"]


def test_get_scan__seconds_mode_follows_the_clock(http: httpx.Client) -> None:
    control(http, "PUT", "/progression", {"mode": "seconds", "every": 30}, status=200)
    scan_id = rescan(http)["id"]
    assert poll(http, scan_id)["processingStatus"] == "queued"
    control(http, "POST", "/clock", {"advance": 30}, status=200)
    assert poll(http, scan_id)["processingStatus"] == "processing"
    control(http, "POST", "/clock", {"advance": 30}, status=200)
    done = poll(http, scan_id)
    assert (done["processingStatus"], done["finishedAt"]) == ("finished", "2024-03-22T19:57:21Z")


def test_get_scan__manual_mode_moves_only_through_control(http: httpx.Client) -> None:
    control(http, "PUT", "/progression", {"mode": "manual"}, status=200)
    scan_id = rescan(http)["id"]
    assert [poll(http, scan_id)["processingStatus"] for _ in range(3)] == ["queued"] * 3
    control(http, "POST", f"/scans/{scan_id}/advance", {"steps": 2}, status=200)
    assert poll(http, scan_id)["processingStatus"] == "finished"


def test_get_scan__terminal_scan_never_moves(http: httpx.Client) -> None:
    assert {poll(http, ACME_SCAN)["processingStatus"] for _ in range(5)} == {"finished"}


def test_get_scan__cancelled_server_side_is_terminal_with_finished_at(
    emu: Emulator, http: httpx.Client
) -> None:
    scan_id = rescan(http)["id"]
    control(http, "PATCH", f"/scans/{scan_id}", {"state": "cancelled"}, status=200)
    states = [poll(http, scan_id)["processingStatus"] for _ in range(3)]
    assert states == ["cancelled"] * 3
    assert_legal(emu, ["queued", *states])
    cancelled = poll(http, scan_id, include_checks=True)
    assert (cancelled["finishedAt"], cancelled["nbIssues"], cancelled["tests"]) == (T0, None, None)


def test_cancel_scan__the_api_has_no_cancel_operation(emu: Emulator, http: httpx.Client) -> None:
    assert emu.lifecycle.operations["cancel"] is None
    response = http.delete(f"/v2/scans/{ACME_SCAN}", headers=ACME)
    assert (response.status_code, response.json(), response.headers["allow"]) == (405, err(405), "GET")
    response = http.post(f"/v2/scans/{ACME_SCAN}/cancel", headers=ACME)
    assert (response.status_code, response.json()) == (404, err(404))


# -- auth and isolation ---------------------------------------------------------------------------


@pytest.mark.parametrize(("method", "path"), OPERATIONS)
@pytest.mark.parametrize(
    "headers",
    [{}, {"X-API-Key": "wrong"}, {"X-API-Key": ""}, {"Authorization": f"Bearer {ACME['X-API-Key']}"}],
    ids=["missing", "wrong", "empty", "bearer-instead"],
)
def test_every_operation__bad_credentials_get_401(
    http: httpx.Client, method: str, path: str, headers: dict[str, str]
) -> None:
    response = http.request(method, path, headers=headers)
    assert (response.status_code, response.json()) == (401, err(401))
    # The IP bucket counts a refused key too, and says so (headers on every answer, vendor-notes-workflow §1).
    assert response.headers["x-ratelimit-ipremaining"] == str(BUCKET - 1)


def test_get_scan__other_accounts_scan_is_forbidden_and_not_progressed(http: httpx.Client) -> None:
    response = http.get(f"/v2/scans/{GLOBEX_SCAN}", headers=ACME)
    assert (response.status_code, response.json()) == (403, err(403))
    scan_id = rescan(http)["id"]
    for _ in range(3):
        response = http.get(f"/v2/scans/{scan_id}", headers=GLOBEX, params={"include_checks": "true"})
        assert (response.status_code, response.json()) == (403, err(403))
    assert poll(http, scan_id)["processingStatus"] == "processing"  # globex's reads did not count


def test_rescan_creative__other_accounts_creative_is_forbidden(http: httpx.Client) -> None:
    before = len(control(http, "GET", "/scans"))
    response = http.post(f"/v2/creatives/{ACME_VIDEO}/rescan", headers=GLOBEX)
    assert (response.status_code, response.json()) == (403, err(403))
    assert len(control(http, "GET", "/scans")) == before


@pytest.mark.parametrize("scan_id", ["999", "0", "-1", ACME_DISPLAY, "99999999999999999999"])
def test_get_scan__unknown_id_is_404(http: httpx.Client, scan_id: Any) -> None:
    response = http.get(f"/v2/scans/{scan_id}", headers=ACME)
    assert (response.status_code, response.json()) == (404, err(404))


def test_rescan_creative__unknown_creative_is_404(http: httpx.Client) -> None:
    response = http.post(f"/v2/creatives/{ACME_SCAN}/rescan", headers=ACME)
    assert (response.status_code, response.json()) == (404, err(404))


# -- bad input ------------------------------------------------------------------------------------


@pytest.mark.parametrize("scan_id", ["abc", "1.5", "3e2", "true", "%20"])
def test_get_scan__non_integer_id_is_422(http: httpx.Client, scan_id: str) -> None:
    response = http.get(f"/v2/scans/{scan_id}", headers=ACME)
    assert response.status_code == 422
    assert response.json() == err(422, field_issue("scanId", "scanId must be an integer"))


@pytest.mark.parametrize("value", ["maybe", "", "2", "truee"])
def test_get_scan__bad_include_checks_is_422(http: httpx.Client, value: str) -> None:
    response = http.get(f"/v2/scans/{ACME_SCAN}", headers=ACME, params={"include_checks": value})
    assert response.status_code == 422
    assert response.json() == err(422, field_issue("include_checks", "include_checks must be a boolean"))


def test_rescan_creative__non_integer_id_is_422(emu: Emulator, http: httpx.Client) -> None:
    response = http.post("/v2/creatives/abc/rescan", headers=ACME)
    assert response.status_code == 422
    assert response.json() == err(422, field_issue("creativeId", "creativeId must be an integer"))
    assert emu.violations == []  # rescanCreative declares 422 (spec fixed after this emulator found the gap)


@pytest.mark.parametrize(
    ("content", "content_type"),
    [(b"{not json", "application/json"), (b"\x00\xff", "application/octet-stream"), (b"a=1", "text/plain")],
)
def test_rescan_creative__ignores_a_body_it_does_not_take(
    http: httpx.Client, content: bytes, content_type: str
) -> None:
    response = http.post(
        f"/v2/creatives/{ACME_VIDEO}/rescan", headers={**ACME, "Content-Type": content_type}, content=content
    )
    assert response.status_code == 200
    assert response.json()["data"]["processingStatus"] == "queued"


def test_get_scan__without_request_validation_still_answers_422(
    emulator: Callable[..., Emulator], emu_client: Any
) -> None:
    emu = emulator("advalidation", validate_requests=False)
    http = emu_client(emu)
    response = http.get("/v2/scans/abc", headers=ACME)
    assert (response.status_code, response.json()) == (
        422,
        err(422, field_issue("scanId", "scanId must be an integer")),
    )
    response = http.get(f"/v2/scans/{ACME_SCAN}", headers=ACME, params={"include_checks": "maybe"})
    assert response.json() == err(422, field_issue("include_checks", "include_checks must be a boolean"))
    assert poll(http, ACME_VIDEO_SCAN, include_checks=True)["nbIssues"] == 2


def test_unknown_route__vendor_404_and_405(http: httpx.Client) -> None:
    assert http.get("/v2/creatives", headers=ACME).json() == err(404)
    response = http.put("/v2/users/me", headers=ACME)
    assert (response.status_code, response.json()) == (405, err(405))


# -- faults ---------------------------------------------------------------------------------------


@pytest.mark.parametrize("status", [429, 500, 502, 503])
def test_get_scan__injected_status_fault_in_vendor_envelope(http: httpx.Client, status: int) -> None:
    control(http, "POST", "/faults", {"kind": "status", "status": status, "retry_after": 3})
    response = http.get(f"/v2/scans/{ACME_SCAN}", headers=ACME)
    assert (response.status_code, response.json()) == (status, err(status))
    # Retry-After on a 429 only (the fault's own value); never on a 5xx (vendor-notes-workflow §1).
    assert response.headers.get("retry-after") == ("3" if status == 429 else None)
    assert poll(http, ACME_SCAN)["processingStatus"] == "finished"  # one use only


def test_get_scan__fault_targets_one_operation(http: httpx.Client) -> None:
    control(http, "POST", "/faults", {"kind": "status", "status": 503, "operation": "getScan", "count": 2})
    assert http.get("/v2/users/me", headers=ACME).status_code == 200
    assert [http.get(f"/v2/scans/{ACME_SCAN}", headers=ACME).status_code for _ in range(3)] == [503, 503, 200]


def test_get_scan__timeout_fault_is_504(http: httpx.Client) -> None:
    control(http, "POST", "/faults", {"kind": "timeout", "seconds": 0})
    response = http.get(f"/v2/scans/{ACME_SCAN}", headers=ACME)
    assert (response.status_code, response.json()) == (504, err(504))


@pytest.mark.parametrize(
    ("variant", "body", "media"),
    [
        ("html", b"<html><body><h1>502 Bad Gateway</h1></body></html>", "text/html"),
        ("empty", b"", "application/json"),
    ],
)
def test_get_scan__malformed_fault(http: httpx.Client, variant: str, body: bytes, media: str) -> None:
    control(http, "POST", "/faults", {"kind": "malformed", "variant": variant})
    response = http.get(f"/v2/scans/{ACME_SCAN}", headers=ACME)
    assert (response.status_code, response.content) == (200, body)
    assert response.headers["content-type"].startswith(media)


def test_get_scan__truncated_fault_is_not_json(http: httpx.Client) -> None:
    control(http, "POST", "/faults", {"kind": "malformed"})
    response = http.get(f"/v2/scans/{ACME_SCAN}", headers=ACME)
    assert response.status_code == 200 and response.content.startswith(b'{"data":')
    with pytest.raises(ValueError):
        response.json()


def test_get_current_user__expired_auth_fault_is_401(http: httpx.Client) -> None:
    control(http, "POST", "/faults", {"kind": "expired_auth"})
    response = http.get("/v2/users/me", headers=ACME)
    assert (response.status_code, response.json()) == (401, err(401))
    assert http.get("/v2/users/me", headers=ACME).status_code == 200


# -- rate limits ----------------------------------------------------------------------------------


def test_every_operation__answers_carry_ip_limit_and_remaining(http: httpx.Client) -> None:
    answers = [http.request(m, p, headers=ACME) for m, p in OPERATIONS]
    assert [int(r.headers["x-ratelimit-ipremaining"]) for r in answers] == [
        BUCKET - 1,
        BUCKET - 2,
        BUCKET - 3,
    ]
    assert {r.headers["x-ratelimit-iplimit"] for r in answers} == {str(BUCKET)}
    response = http.get("/v2/scans/999", headers=ACME)  # failures spend a token and say so too
    assert response.status_code == 404
    assert (response.headers["x-ratelimit-iplimit"], response.headers["x-ratelimit-ipremaining"]) == (
        str(BUCKET),
        str(BUCKET - 4),
    )


def test_rate_limit__bucket_is_the_spec_capacity_refilled_per_second(emu: Emulator) -> None:
    # The numbers are the spec's (vendor-notes-workflow §1: a 15-request bucket, 1 token/s).
    assert {k: emu.spec["x-rate-limit"][k] for k in ("capacity", "refill-per-second", "scope")} == {
        "capacity": 15,
        "refill-per-second": 1,
        "scope": "ip",
    }


def test_get_current_user__rate_limit_enforced_per_ip_and_refilled(emu: Emulator, http: httpx.Client) -> None:
    remaining = [
        int(http.get("/v2/users/me", headers=ACME).headers["x-ratelimit-ipremaining"]) for _ in range(BUCKET)
    ]
    assert remaining == list(range(BUCKET - 1, -1, -1))
    limited = http.get(f"/v2/scans/{ACME_SCAN}", headers=ACME)  # request BUCKET + 1 of the burst
    assert (limited.status_code, limited.json()) == (429, err(429))
    # Retry-After is the bucket size, not the wait (the vendor SDK's changelog: "always sends 15").
    assert limited.headers["retry-after"] == str(BUCKET)
    assert (limited.headers["x-ratelimit-iplimit"], limited.headers["x-ratelimit-ipremaining"]) == (
        str(BUCKET),
        "0",
    )
    other_ip = httpx.Client(
        transport=SyncASGITransport(emu, client=("10.0.0.7", 4000)), base_url="http://127.0.0.1"
    )
    with other_ip:
        assert other_ip.get("/v2/users/me", headers=GLOBEX).headers["x-ratelimit-ipremaining"] == str(
            BUCKET - 1
        )
    control(http, "POST", "/clock", {"advance": 1}, status=200)  # one token back (refill 1/s)
    passed = http.get("/v2/users/me", headers=ACME)
    assert (passed.status_code, passed.headers["x-ratelimit-ipremaining"]) == (200, "0")
    assert "retry-after" not in passed.headers
    assert http.get("/v2/users/me", headers=ACME).status_code == 429


def test_get_current_user__rate_limits_switch_off(http: httpx.Client) -> None:
    control(http, "PATCH", "/settings", {"rate_limits": False}, status=200)
    responses = [http.get("/v2/users/me", headers=ACME) for _ in range(BUCKET + 5)]
    assert {r.status_code for r in responses} == {200}
    assert all("x-ratelimit-ipremaining" not in r.headers for r in responses)
    control(http, "PATCH", "/settings", {"rate_limits": True}, status=200)
    assert http.get("/v2/users/me", headers=ACME).headers["x-ratelimit-ipremaining"] == str(BUCKET - 1)


# -- scenarios, control seeding, coverage, persistence ---------------------------------------------


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        (
            "one_completed_scan",
            {"processingStatus": "finished", "nbIssues": 2, "isInconclusive": False},
        ),
        ("one_queued_scan", {"processingStatus": "queued", "finishedAt": None, "nbIssues": None}),
        ("one_running_scan", {"processingStatus": "processing", "finishedAt": None, "updatedAt": T0}),
        ("one_failed_scan", {"processingStatus": "failed", "finishedAt": T0, "nbIssues": None}),
        ("one_canceled_scan", {"processingStatus": "cancelled", "finishedAt": T0, "tests": None}),
        (
            "inconclusive_scan",
            {
                "isInconclusive": True,
                "inconclusiveReason": "The creative could not be rendered",
                "nbIssues": 0,
            },
        ),
    ],
)
def test_scenario__sets_up_a_scan_seen_through_the_api(http: httpx.Client, name: str, expected: dict) -> None:
    result = control(http, "POST", "/scenario", {"name": name})["result"]
    scan = poll(http, result["scanId"], include_checks=True)
    assert {k: scan[k] for k in expected} == expected
    assert scan["sequenceType"] == "manual"
    history = [h[0] for h in control(http, "GET", f"/scans/{result['scanId']}")["history"]]
    assert history[0] == "queued" and history[-1] == scan["processingStatus"]


def test_scenario__one_finished_scan_with_checks_returns_tests(http: httpx.Client) -> None:
    scan_id = control(http, "POST", "/scenario", {"name": "one_completed_scan"})["result"]["scanId"]
    assert poll(http, scan_id, include_checks=True)["tests"] == CHECKS_BY_FORMAT["video"]


def test_scenario__queue_stalled_keeps_new_scans_queued(http: httpx.Client) -> None:
    control(http, "POST", "/scenario", {"name": "queue_stalled"})
    scan_id = rescan(http)["id"]
    assert [poll(http, scan_id)["processingStatus"] for _ in range(3)] == ["queued"] * 3


def test_scenario__list_and_unknown_name(http: httpx.Client) -> None:
    assert control(http, "GET", "/scenarios") == sorted(Plugin.scenarios)
    assert "unknown scenario" in control(http, "POST", "/scenario", {"name": "nope"}, status=400)["error"]


def test_seed_scan__for_another_account_is_isolated(http: httpx.Client) -> None:
    seeded = control(http, "POST", "/scans", {"account": "globex", "state": "processing"})
    assert seeded["vendor"]["processingStatus"] == "processing"
    assert http.get(f"/v2/scans/{seeded['id']}", headers=ACME).status_code == 403
    response = http.get(f"/v2/scans/{seeded['id']}", headers=GLOBEX)
    assert response.json()["data"]["processingStatus"] == "finished"


@pytest.mark.parametrize(
    "body",
    [
        {"data": {"bogus": 1}},
        {"state": "done"},
        {"data": {"creativeId": GLOBEX_DISPLAY}},
        {"data": {"tests": "x"}},
    ],
)
def test_seed_scan__bad_control_input_is_refused(http: httpx.Client, body: dict) -> None:
    before = len(control(http, "GET", "/scans"))
    assert "error" in control(http, "POST", "/scans", body, status=400)
    assert len(control(http, "GET", "/scans")) == before


def test_reset__restores_creatives_and_initial_scans(http: httpx.Client) -> None:
    rescan(http)
    control(http, "POST", "/reset", status=200)
    scans = control(http, "GET", "/scans")
    assert [(s["id"], s["account"], s["state"]) for s in scans] == [
        ("301", "acme", "finished"),
        ("302", "acme", "finished"),
        ("303", "globex", "finished"),
    ]
    assert rescan(http)["id"] == 304


def test_coverage__every_spec_operation_is_routed(http: httpx.Client) -> None:
    assert control(http, "GET", "/coverage")["missing"] == []


def test_restart__state_survives_on_a_sqlite_file(tmp_path: Path) -> None:
    db, clock = tmp_path / "x.sqlite3", ManualClock()

    def start() -> tuple[Emulator, httpx.Client]:
        emu = build_emulator(
            "advalidation", db=db, clock=clock, settings=EmulatorSettings(validate_responses=True)
        )
        return emu, httpx.Client(transport=SyncASGITransport(emu), base_url="http://127.0.0.1")

    first, http = start()
    with http:
        scan_id = rescan(http)["id"]
        assert poll(http, scan_id)["processingStatus"] == "processing"
    first.store.close()
    second, http = start()
    with http:
        assert poll(http, scan_id)["processingStatus"] == "finished"
        assert http.get(f"/v2/scans/{scan_id}", headers=GLOBEX).status_code == 403
        assert len(control(http, "GET", "/scans")) == 4  # the reset at start-up did not re-seed creatives
        assert rescan(http)["id"] == scan_id + 1
    second.store.close()
    assert first.violations == second.violations == [] and first.errors == second.errors == []


def test_checks__the_same_scan_id_always_has_the_same_findings_and_ids_differ() -> None:
    assert checks_for("304", "display") == checks_for("304", "display")
    values = {checks_for(str(n), "display")[0]["value"] for n in range(300, 340)}
    assert len(values) > 5  # drawn per scan, not one fixed catalogue
    for n in range(300, 340):
        size_check = checks_for(str(n), "display")[0]
        assert size_check["result"] == ("pass" if int(size_check["value"]) <= 150_000 else "fail")
