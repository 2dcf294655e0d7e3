"""The ThreadFix 2.x emulator: upload and pending-scan status, lifecycle, auth, isolation, versions, bad
input, faults, scenarios and persistence. Every response is validated against the resolved spec."""

from __future__ import annotations

import io
import itertools
from pathlib import Path
from typing import Any

import httpx
import pytest

from conformance.emulators.core import (
    Emulator,
    EmulatorSettings,
    IllegalTransitionError,
    ManualClock,
    build_emulator,
)
from conformance.emulators.core.transport import SyncASGITransport
from conformance.emulators.threadfix.models import ACCOUNTS, ThreadfixBackend

from .conftest import control

ACME = {"Authorization": f"APIKEY {ACCOUNTS['acme']['api_key']}"}
GLOBEX = {"Authorization": f"APIKEY {ACCOUNTS['globex']['api_key']}"}
JSON = {"Accept": "application/json"}
REST = "/threadfix/rest/latest"
T0_MS = 1_711_137_381_000  # ManualClock's start, epoch ms
# After a reset: acme owns applications 6 and 1295, globex owns 42. The first pending scan is id 1.
ACME_APP, ACME_APP2, GLOBEX_APP = 6, 1295, 42
HAPPY = ["QUEUED", "UPLOADED", "FINDINGS_GENERATING", "CHANNEL_MERGING", "APPLICATION_MERGING"]
HAPPY += ["APPLICATION_MERGED", "DONE"]
UPLOAD_PATH = "/applications/{appId}/upload"


def fail(message: str) -> dict[str, Any]:
    return {"message": message, "success": False, "responseCode": -1, "object": None}


AUTH_FAILED = fail("Authentication failed, check your API Key.")
KEY_NOT_FOUND = fail("API Key not found in database.")
RESTRICTED = fail("The requested URL is restricted for your API Key.")
UNRECOGNIZED = fail("Bad rest request due to unrecognized path.")
APP_LOOKUP = fail("Application lookup failed. Check your ID.")
SCAN_LOOKUP = fail("Pending scan lookup failed. Check your ID.")
NO_FILES = fail("No files selected.")


@pytest.fixture
def emu(threadfix_emulator: Emulator) -> Emulator:
    return threadfix_emulator


def upload(
    http: httpx.Client,
    app: int | str = ACME_APP,
    headers: dict[str, str] = ACME,
    prefix: str = REST,
    **body: Any,
) -> httpx.Response:
    """POST .../upload; a contoso.fpr file part unless `files`, `json`, `data` or `content` is given."""
    if not body.keys() & {"files", "json", "data", "content"}:
        body["files"] = {"file": ("contoso.fpr", b"<FVDL/>")}
    return http.post(f"{prefix}/applications/{app}/upload", headers=headers, **body)


def as_type(content_type: str) -> dict[str, str]:
    return {**ACME, "Content-Type": content_type}


def status(
    http: httpx.Client, pending: int | str = 1, app: int | str = ACME_APP, headers: dict[str, str] = ACME
) -> httpx.Response:
    return http.get(f"{REST}/applications/{app}/pendingScan/{pending}/status", headers={**JSON, **headers})


def poll(http: httpx.Client, pending: int = 1, app: int = ACME_APP) -> dict[str, Any]:
    response = status(http, pending, app)
    assert response.status_code == 200 and response.json()["success"] is True, response.text
    body: dict[str, Any] = response.json()
    assert body["message"] == body["object"]["scanMessage"]
    view: dict[str, Any] = body["object"]
    return view


def poll_until_terminal(emu: Emulator, http: httpx.Client, pending: int = 1, limit: int = 12) -> list[str]:
    seen = ["QUEUED"]
    for _ in range(limit):
        seen.append(poll(http, pending)["status"])
        if emu.lifecycle.is_terminal(seen[-1]):
            break
    return seen


def assert_legal(emu: Emulator, states: list[str]) -> None:
    assert [p for p in itertools.pairwise(states) if not emu.lifecycle.is_legal(*p)] == []


def progression(http: httpx.Client, **raw: Any) -> None:
    control(http, "PUT", "/progression", raw)


# -- happy paths ----------------------------------------------------------------------------------


def test_upload_scan__queues_a_pending_scan_and_links_its_status(emu: Emulator, http: httpx.Client) -> None:
    response = upload(http)
    assert response.status_code == 200
    assert response.headers["content-type"] == "application/json;charset=UTF-8"
    assert response.json() == {
        "message": "",
        "success": True,
        "responseCode": -1,
        "object": "Scan upload process started.",
        "links": [
            {
                "method": "GET",
                "rel": "related",
                "href": f"http://127.0.0.1{REST}/applications/6/pendingScan/1/status",
            }
        ],
    }
    start = emu.lifecycle.operations["start"]
    assert start is not None and start.id is not None and start.id.extract(response.json()) == "1"
    assert control(http, "GET", "/scans/1")["state"] == "QUEUED"


@pytest.mark.parametrize("version", ["latest", "legacy", "v2.4", "v2.7.7", "v2.8.8"])
def test_upload_scan__link_repeats_the_called_version(http: httpx.Client, version: str) -> None:
    body = upload(http, prefix=f"/threadfix/rest/{version}").json()
    assert (
        body["links"][0]["href"]
        == f"http://127.0.0.1/threadfix/rest/{version}/applications/6/pendingScan/1/status"
    )


def test_upload_scan__implicit_legacy_without_version_segment(http: httpx.Client) -> None:
    body = upload(http, prefix="/threadfix/rest").json()
    assert body["links"][0]["href"] == "http://127.0.0.1/threadfix/rest/applications/6/pendingScan/1/status"
    legacy = http.get("/threadfix/rest/applications/6/pendingScan/1/status", headers={**JSON, **ACME})
    assert legacy.status_code == 200 and legacy.json()["object"]["status"] == "UPLOADED"


def test_upload_scan__every_file_part_is_listed(http: httpx.Client) -> None:
    binary = bytes(range(256)) + b"\r\n--not-a-boundary\r\n"
    files = [("file", ("first.fpr", binary)), ("file", ("second scan.xml", b"<x/>"))]
    assert upload(http, files=files).json()["success"] is True
    pending = poll(http)
    assert pending["fileDataList"] == [
        {"id": 1, "originalName": "first.fpr"},
        {"id": 2, "originalName": "second scan.xml"},
    ]
    assert pending["name"] == "first.fpr"


def test_get_pending_scan_status__done_matches_the_seed_sample(http: httpx.Client) -> None:
    ids = control(http, "POST", "/scenario", {"name": "one_completed_scan"}, 201)["result"]
    assert ids == {"appId": 6, "pendingScanId": 1, "scanId": 1}
    response = status(http)
    assert response.json() == {
        "message": "Scan Processing Completed. Statistics Update Queued.",
        "success": True,
        "responseCode": -1,
        "object": {
            "id": 1,
            "modifiedDate": T0_MS,
            "active": True,
            "fileDataList": [{"id": 1, "originalName": "contoso.fpr"}],
            "appId": 6,
            "errorMessage": None,
            "status": "DONE",
            "error": False,
            "scanId": 1,
            "type": "upload",
            "name": "contoso.fpr",
            "time": T0_MS,
            "scanMessage": "Scan Processing Completed. Statistics Update Queued.",
        },
    }


def test_get_pending_scan_status__upload_polled_to_done_along_legal_transitions(
    emu: Emulator, http: httpx.Client
) -> None:
    upload(http)
    seen, scan_ids = ["QUEUED"], []
    for _ in range(10):
        pending = poll(http)
        seen.append(pending["status"])
        scan_ids.append(pending["scanId"])
        if emu.lifecycle.is_terminal(pending["status"]):
            break
    assert seen == HAPPY
    assert_legal(emu, seen)
    assert scan_ids == [None] * 5 + [1]  # scanId only once DONE (2.7.7)


def test_get_pending_scan_status__modified_date_follows_the_clock(emu: Emulator, http: httpx.Client) -> None:
    upload(http)
    control(http, "POST", "/clock", {"advance": 2.5})
    pending = poll(http)
    assert pending["modifiedDate"] == pending["time"] == T0_MS + 2500


# -- progression outcomes -------------------------------------------------------------------------


def test_get_pending_scan_status__failure_outcome_interrupts(emu: Emulator, http: httpx.Client) -> None:
    progression(http, outcome="failure")
    upload(http)
    seen = poll_until_terminal(emu, http)
    assert seen == ["QUEUED", "SCAN_INTERRUPTED"]
    pending = poll(http)
    assert pending["error"] is True and pending["scanId"] is None
    assert pending["errorMessage"] == "Scan processing was interrupted: the scan file could not be parsed."
    assert pending["scanMessage"] == "Scan processing was interrupted"


def test_get_pending_scan_status__hang_outcome_stays_merged(emu: Emulator, http: httpx.Client) -> None:
    progression(http, outcome="hang")
    upload(http)
    seen = ["QUEUED"] + [poll(http)["status"] for _ in range(12)]
    assert seen[-7:] == ["APPLICATION_MERGED"] * 7 and seen[:6] == HAPPY[:6]
    assert_legal(emu, seen)


def test_progression__timeout_and_unreachable_finals_are_refused(http: httpx.Client) -> None:
    # No timeout edge in the lifecycle, and deletion needs an action the API does not have.
    refused = control(http, "PUT", "/progression", {"outcome": "timeout"}, 400)
    assert refused == {"error": "this vendor's lifecycle has no timeout road"}
    refused = control(http, "PUT", "/progression", {"final": "SCAN_DELETED"}, 400)
    assert refused == {"error": "progression.final 'SCAN_DELETED' is not reachable without a client action"}


@pytest.mark.parametrize(
    ("final", "tail"),
    [
        ("LINKING_DEFECTS", ["APPLICATION_MERGED", "LINKING_DEFECTS", "DONE"]),
        ("FINISHED_FINDING_PULLING", ["APPLICATION_MERGED", "FINISHED_FINDING_PULLING"]),
    ],
)
def test_get_pending_scan_status__final_state_side_roads(
    emu: Emulator, http: httpx.Client, final: str, tail: list[str]
) -> None:
    progression(http, final=final)
    upload(http)
    seen = poll_until_terminal(emu, http)
    assert seen[-len(tail) :] == tail and seen[:6] == HAPPY[:6]
    assert_legal(emu, seen)


def test_get_pending_scan_status__seconds_mode_follows_the_clock(http: httpx.Client) -> None:
    progression(http, mode="seconds", every=10)
    upload(http)
    assert poll(http)["status"] == "QUEUED"
    control(http, "POST", "/clock", {"advance": 25})
    assert poll(http)["status"] == "FINDINGS_GENERATING"


def test_get_pending_scan_status__manual_mode_moves_only_by_control(http: httpx.Client) -> None:
    progression(http, mode="manual")
    upload(http)
    assert [poll(http)["status"] for _ in range(3)] == ["QUEUED"] * 3
    control(http, "POST", "/scans/1/advance", {"steps": 2})
    assert poll(http)["status"] == "FINDINGS_GENERATING"


def test_get_pending_scan_status__immediate_mode_and_per_scan_override(http: httpx.Client) -> None:
    progression(http, mode="immediate")
    upload(http)
    upload(http)
    control(http, "PATCH", "/scans/2", {"progression": {"mode": "manual"}})
    assert poll(http, 1)["status"] == "DONE"
    assert poll(http, 2)["status"] == "QUEUED"


def test_delete__only_from_done_and_only_through_control(emu: Emulator, http: httpx.Client) -> None:
    progression(http, mode="manual")
    ids = control(http, "POST", "/scenario", {"name": "deleted_scan"}, 201)["result"]
    assert poll(http, ids["pendingScanId"])["status"] == "SCAN_QUEUED_FOR_DELETE"
    control(http, "POST", f"/scans/{ids['pendingScanId']}/advance")
    deleted = poll(http, ids["pendingScanId"])
    assert (deleted["status"], deleted["active"], deleted["scanId"]) == ("SCAN_DELETED", False, 1)
    upload(http)
    assert isinstance(emu.backend, ThreadfixBackend)
    with pytest.raises(IllegalTransitionError):
        emu.backend.delete_scan("2")  # QUEUED: the lifecycle only deletes a DONE scan
    assert control(http, "GET", "/scans/2")["state"] == "QUEUED"


@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("POST", f"{REST}/applications/6/pendingScan/1/cancel"),
        ("DELETE", f"{REST}/applications/6/pendingScan/1/status"),
        ("GET", f"{REST}/applications/6/upload"),
        ("POST", f"{REST}/applications/6/pendingScan/1/status"),
        ("GET", "/threadfix/rest/defects"),  # not emulated (teams is, since issue 16)
    ],
)
def test_unknown_route__catch_all_404_never_405(http: httpx.Client, method: str, path: str) -> None:
    upload(http)
    response = http.request(method, path, headers={**JSON, **ACME})
    assert (response.status_code, response.json()) == (404, UNRECOGNIZED)
    assert control(http, "GET", "/scans/1")["state"] == "QUEUED"


# -- versions and Accept --------------------------------------------------------------------------


@pytest.mark.parametrize("version", ["v3", "v2", "V2.4", "v2.x", "latest2", "1.0"])
def test_get_pending_scan_status__unknown_version_is_unrecognized(http: httpx.Client, version: str) -> None:
    upload(http)
    response = http.get(
        f"/threadfix/rest/{version}/applications/6/pendingScan/1/status", headers={**JSON, **ACME}
    )
    assert (response.status_code, response.json()) == (404, UNRECOGNIZED)
    bad = upload(http, prefix=f"/threadfix/rest/{version}", headers={})
    assert (bad.status_code, bad.json()) == (404, UNRECOGNIZED)


@pytest.mark.parametrize("accept", [None, "*/*", "application/json", "text/html, application/json;q=0.9"])
def test_get_pending_scan_status__accept_admitting_json_is_served(
    http: httpx.Client, accept: str | None
) -> None:
    upload(http)
    request = http.build_request("GET", f"{REST}/applications/6/pendingScan/1/status", headers=ACME)
    if accept is None:
        del request.headers["Accept"]
    else:
        request.headers["Accept"] = accept
    response = http.send(request)
    assert response.status_code == 200 and response.json()["object"]["status"] == "UPLOADED"


def test_get_pending_scan_status__accept_excluding_json_is_unrecognized(http: httpx.Client) -> None:
    upload(http)
    response = http.get(
        f"{REST}/applications/6/pendingScan/1/status", headers={**ACME, "Accept": "text/html"}
    )
    assert (response.status_code, response.json()) == (404, UNRECOGNIZED)
    assert upload(http, headers={**ACME, "Accept": "application/xml"}).json() == UNRECOGNIZED


# -- auth and isolation ---------------------------------------------------------------------------

CREDENTIALS = [
    ({}, AUTH_FAILED),
    ({"Authorization": "Bearer " + ACCOUNTS["acme"]["api_key"]}, AUTH_FAILED),
    ({"Authorization": "APIKEY "}, AUTH_FAILED),
    ({"Authorization": ACCOUNTS["acme"]["api_key"]}, AUTH_FAILED),
    ({"Authorization": "APIKEY not-a-key"}, KEY_NOT_FOUND),
]


@pytest.mark.parametrize(("headers", "expected"), CREDENTIALS)
def test_get_pending_scan_status__bad_credentials(
    http: httpx.Client, headers: dict[str, str], expected: dict[str, Any]
) -> None:
    upload(http)
    response = status(http, headers=headers)
    assert (response.status_code, response.json()) == (200, expected)
    assert control(http, "GET", "/scans/1")["reads"] == 0


@pytest.mark.parametrize(("headers", "expected"), CREDENTIALS)
def test_upload_scan__bad_credentials(
    http: httpx.Client, headers: dict[str, str], expected: dict[str, Any]
) -> None:
    response = upload(http, headers=headers)
    assert (response.status_code, response.json()) == (200, expected)
    assert control(http, "GET", "/scans") == []


def test_upload_scan__legacy_api_key_parameter_and_case_insensitive_scheme(http: httpx.Client) -> None:
    key = ACCOUNTS["acme"]["api_key"]
    assert upload(http, headers={}, params={"apiKey": key}).json()["success"] is True
    assert upload(http, headers={"Authorization": f"apikey {key}"}).json()["success"] is True
    assert upload(http, headers={}, params={"apiKey": ""}).json() == AUTH_FAILED
    assert upload(http, headers={}, params={"apiKey": "nope"}).json() == KEY_NOT_FOUND


def test_get_pending_scan_status__other_teams_application_is_restricted(http: httpx.Client) -> None:
    ids = control(http, "POST", "/scenario", {"name": "two_teams"}, 201)["result"]
    globex = ids["globex"]
    response = status(http, globex["pendingScanId"], GLOBEX_APP, headers=ACME)
    assert (response.status_code, response.json()) == (200, RESTRICTED)
    # Through one's own application, another team's pending scan does not exist.
    assert status(http, globex["pendingScanId"], ACME_APP, headers=ACME).json() == SCAN_LOOKUP
    assert status(http, ids["acme"]["pendingScanId"], ACME_APP, headers=GLOBEX).json() == RESTRICTED
    assert status(http, globex["pendingScanId"], GLOBEX_APP, headers=GLOBEX).json()["object"]["appId"] == 42


def test_upload_scan__other_teams_application_is_restricted(http: httpx.Client) -> None:
    assert upload(http, app=GLOBEX_APP).json() == RESTRICTED
    assert upload(http, app=ACME_APP, headers=GLOBEX).json() == RESTRICTED
    assert control(http, "GET", "/scans") == []


def test_get_pending_scan_status__unknown_ids(http: httpx.Client) -> None:
    upload(http)
    assert status(http, 1, ACME_APP2).json() == SCAN_LOOKUP  # right team, wrong application
    assert status(http, 99).json() == SCAN_LOOKUP
    assert status(http, 1, 999).json() == APP_LOOKUP
    assert upload(http, app=999).json() == APP_LOOKUP


# -- bad input ------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("app", "pending", "problem"),
    [("abc", 1, "appId"), (6, "x1", "pendingScanId"), (6, 1.5, "pendingScanId"), (6, 2**40, "pendingScanId")],
)
def test_get_pending_scan_status__non_integer_ids(
    http: httpx.Client, app: Any, pending: Any, problem: str
) -> None:
    response = status(http, pending, app)
    body = response.json()
    assert response.status_code == 200 and body["success"] is False and body["object"] is None
    assert body["message"].startswith("Invalid request: ") and problem in body["message"]


@pytest.mark.parametrize(
    "kwargs",
    [
        {"json": {"file": "contoso.fpr"}},
        {"data": {"file": "not a file part"}},
        {"content": b"\x00garbage", "headers": as_type("multipart/form-data; boundary=zz")},
        {
            "content": b"--zz\r\n\r\nno disposition\r\n--zz--",
            "headers": as_type("multipart/form-data; boundary=zz"),
        },
        {"content": b"garbage", "headers": as_type("multipart/form-data")},
        {"content": b"<FVDL/>", "headers": as_type("application/octet-stream")},
        {"files": {"scan": ("contoso.fpr", b"<FVDL/>")}},
        {"files": {}, "data": {"file": ""}},
    ],
    ids=["json", "form-field", "garbage", "no-name", "no-boundary", "octet-stream", "wrong-field", "empty"],
)
def test_upload_scan__no_file_part_selects_no_files(http: httpx.Client, kwargs: dict[str, Any]) -> None:
    headers = kwargs.pop("headers", ACME)
    response = upload(http, headers=headers, **kwargs)
    assert (response.status_code, response.json()) == (200, NO_FILES)
    assert control(http, "GET", "/scans") == []


def test_upload_scan__non_integer_application_id(http: httpx.Client) -> None:
    body = upload(http, app="6x").json()
    assert body["success"] is False and body["message"].startswith(
        "Invalid request: Path parameter error: appId"
    )
    assert "file" not in body["message"]  # the multipart part itself was fine


def test_upload_scan__empty_file_has_no_scan_type(http: httpx.Client) -> None:
    response = upload(http, files={"file": ("empty.fpr", b"")})
    assert response.json() == fail("Failed to determine the scan type.")


def test_upload_scan__served_without_request_validation(emu: Emulator, http: httpx.Client) -> None:
    control(http, "PATCH", "/settings", {"validate_requests": False})
    assert upload(http).json()["success"] is True
    assert upload(http, json={"file": "x"}).json() == NO_FILES
    assert status(http, 1, "abc").json()["message"].startswith("Invalid request: ")
    assert poll(http)["status"] == "UPLOADED"


# -- faults, rate limits --------------------------------------------------------------------------


@pytest.mark.parametrize("code", [429, 500, 502, 503])
def test_get_pending_scan_status__injected_status_fault(http: httpx.Client, code: int) -> None:
    upload(http)
    control(http, "POST", "/faults", {"kind": "status", "status": code, "retry_after": 5}, 201)
    response = status(http)
    assert (response.status_code, response.json()) == (code, fail("injected fault"))
    assert "retry-after" not in response.headers  # ThreadFix documents no Retry-After
    assert status(http).status_code == 200


@pytest.mark.parametrize(
    ("variant", "content_type"), [("truncated", "application/json"), ("html", "text/html")]
)
def test_get_pending_scan_status__injected_malformed_body(
    http: httpx.Client, variant: str, content_type: str
) -> None:
    upload(http)
    control(http, "POST", "/faults", {"kind": "malformed", "variant": variant}, 201)
    response = status(http)
    assert response.status_code == 200 and response.headers["content-type"].startswith(content_type)
    with pytest.raises(ValueError):
        response.json()


def test_upload_scan__injected_expired_auth_and_operation_scoped_fault(http: httpx.Client) -> None:
    control(http, "POST", "/faults", {"kind": "expired_auth"}, 201)
    assert upload(http).json() == KEY_NOT_FOUND
    control(http, "POST", "/faults", {"kind": "status", "status": 503, "operation": "uploadScan"}, 201)
    assert status(http, 99).json() == SCAN_LOOKUP  # another operation: untouched
    assert upload(http).status_code == 503
    assert upload(http).json()["success"] is True


def test_rate_limits__none_declared_so_none_enforced(emu: Emulator, http: httpx.Client) -> None:
    assert emu.limiter.operation_limits == {} and emu.limiter.global_limit is None
    upload(http)
    assert all(status(http).status_code == 200 for _ in range(40))
    control(http, "PATCH", "/settings", {"rate_limits": False})
    assert status(http).status_code == 200


# -- scenarios, coverage, generated client, persistence -------------------------------------------


@pytest.mark.parametrize(
    ("name", "state", "error"),
    [
        ("one_completed_scan", "DONE", False),
        ("one_queued_scan", "QUEUED", False),
        ("interrupted_scan", "SCAN_INTERRUPTED", True),
        ("remote_import_finished", "FINISHED_FINDING_PULLING", False),
    ],
)
def test_scenario__visible_through_the_api(http: httpx.Client, name: str, state: str, error: bool) -> None:
    ids = control(http, "POST", "/scenario", {"name": name}, 201)["result"]
    pending = poll(http, ids["pendingScanId"], ids["appId"])
    assert (pending["status"], pending["error"]) == (state, error)
    assert (pending["scanId"] is not None) == (state == "DONE")


def test_scenario__queue_stalled_keeps_uploads_queued(http: httpx.Client) -> None:
    names = control(http, "GET", "/scenarios")
    assert set(names) >= {
        "one_completed_scan",
        "interrupted_scan",
        "deleted_scan",
        "queue_stalled",
        "two_teams",
    }
    control(http, "POST", "/scenario", {"name": "queue_stalled"}, 201)
    upload(http)
    assert [poll(http)["status"] for _ in range(3)] == ["QUEUED"] * 3


def test_seed_scan__control_fields_and_refusals(http: httpx.Client) -> None:
    data = {"appId": 42, "fileNames": ["a.xml", "b.xml"], "errorMessage": "Parser crashed."}
    seeded = control(
        http, "POST", "/scans", {"account": "globex", "state": "SCAN_INTERRUPTED", "data": data}, 201
    )
    view = seeded["vendor"]
    assert (view["appId"], view["name"], view["errorMessage"], view["error"]) == (
        42,
        "a.xml",
        "Parser crashed.",
        True,
    )
    assert [f["originalName"] for f in view["fileDataList"]] == ["a.xml", "b.xml"]
    assert control(http, "POST", "/scans", {"account": "acme", "data": {"appId": 42}}, 400) == {
        "error": "application 42 belongs to another team"
    }
    assert control(http, "POST", "/scans", {"data": {"appId": 7}}, 404) == {
        "error": "application 7 not found"
    }
    assert control(http, "POST", "/scans", {"data": {"appId": "6"}}, 400) == {
        "error": "data.appId must be an integer"
    }
    assert len(control(http, "GET", "/scans")) == 1


def test_coverage__every_spec_operation_is_routed(http: httpx.Client) -> None:
    coverage = control(http, "GET", "/coverage")
    assert coverage["missing"] == []
    assert len(coverage["implemented"]) == 16  # the 2 status-slice operations and T1-T14
    assert "DELETE /scans/{scanId}/delete" in coverage["implemented"]


def test_generated_client__upload_then_poll_until_terminal(emu: Emulator) -> None:
    from threadfix_client import AuthenticatedClient
    from threadfix_client.api.scans import get_pending_scan_status, upload_scan
    from threadfix_client.models import PendingScanStatusResponse, UploadScanRequest, UploadScanResponse
    from threadfix_client.types import File

    transport = SyncASGITransport(emu)
    client = AuthenticatedClient(
        base_url="http://127.0.0.1/threadfix/rest/v2.8.8",
        token=ACCOUNTS["acme"]["api_key"],
        prefix="APIKEY",
        httpx_args={"transport": transport},
    )
    with client:
        started = upload_scan.sync(
            ACME_APP, client=client, body=UploadScanRequest(file=File(io.BytesIO(b"<FVDL/>"), "c.fpr"))
        )
        assert isinstance(started, UploadScanResponse) and started.success is True
        seen = ["QUEUED"]
        while not emu.lifecycle.is_terminal(seen[-1]) and len(seen) < 10:
            answer = get_pending_scan_status.sync(ACME_APP, 1, client=client)
            assert isinstance(answer, PendingScanStatusResponse) and answer.object_ is not None
            seen.append(str(answer.object_.status))
    transport.close()
    assert seen == HAPPY


def test_restart__sqlite_file_keeps_scans_counters_and_applications(tmp_path: Path) -> None:
    db = tmp_path / "x.sqlite3"

    def start() -> tuple[Emulator, httpx.Client]:
        emu = build_emulator(
            "threadfix", db=db, clock=ManualClock(), settings=EmulatorSettings(validate_responses=True)
        )
        return emu, httpx.Client(transport=SyncASGITransport(emu), base_url="http://127.0.0.1")

    first, http = start()
    upload(http)
    assert [poll(http)["status"] for _ in range(2)] == ["UPLOADED", "FINDINGS_GENERATING"]
    http.close()
    first.store.close()
    second, http = start()
    assert poll(http)["status"] == "CHANNEL_MERGING"
    assert (
        upload(http, app=ACME_APP2)
        .json()["links"][0]["href"]
        .endswith("/applications/1295/pendingScan/2/status")
    )
    assert poll(http, 2, ACME_APP2)["fileDataList"] == [{"id": 2, "originalName": "contoso.fpr"}]
    assert upload(http, app=GLOBEX_APP).json() == RESTRICTED
    http.close()
    second.store.close()
    assert first.violations == second.violations == [] and first.errors == second.errors == []
