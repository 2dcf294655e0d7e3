"""The Invicti Enterprise emulator: every operation, lifecycle, actions, auth, paging, bad input, faults."""

from __future__ import annotations

import copy
import itertools
import re
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx
import pytest

from conformance.emulators.core import Emulator, EmulatorSettings, ManualClock, build_emulator
from conformance.emulators.core.transport import SyncASGITransport
from conformance.emulators.invicti.models import ACCOUNTS

from .conftest import clock, seed

ACME = (ACCOUNTS["acme"]["user_id"], ACCOUNTS["acme"]["token"])
GLOBEX = (ACCOUNTS["globex"]["user_id"], ACCOUNTS["globex"]["token"])
SEED_ID = "87be9df1-9f81-46e9-e860-b13b04474ccc"
UNKNOWN_ID = "00000000-1111-2222-3333-444444444444"
CACHE_HEADERS = {"cache-control": "no-cache", "pragma": "no-cache", "expires": "-1"}
TERMINAL = ("Complete", "Failed", "Cancelled")
STATES = (
    "Queued",
    "Delayed",
    "Scanning",
    "Pausing",
    "Paused",
    "Resuming",
    "Archiving",
    "AsyncArchiving",
    *TERMINAL,
)
TIMESPAN = re.compile(r"^(\d+\.)?\d{2}:\d{2}:\d{2}(\.\d{7})?$")
ISO_DOTNET = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{7}\+00:00$")
UNAUTHORIZED = {"Message": "Authorization has been denied for this request."}


@pytest.fixture
def emu(invicti_emulator: Emulator) -> Emulator:
    return invicti_emulator


def scenario(http: httpx.Client, name: str) -> Any:
    response = http.post("/_emulator/scenario", json={"name": name})
    assert response.status_code == 201, response.text
    return response.json()["result"]


def detail(http: httpx.Client, scan_id: str) -> dict[str, Any]:
    response = http.get(f"/api/1.0/scans/detail/{scan_id}")
    assert response.status_code == 200, response.text
    return dict(response.json())


def status(http: httpx.Client, scan_id: str) -> dict[str, Any]:
    response = http.get(f"/api/1.0/scans/status/{scan_id}")
    assert response.status_code == 200, response.text
    return dict(response.json())


def act(http: httpx.Client, action: str, scan_id: str, **kw: Any) -> httpx.Response:
    return http.post(f"/api/1.0/scans/{action}", json=scan_id, **kw)


def example(emu: Emulator, path: str, name: str, method: str = "get") -> Any:
    content = emu.spec["paths"][path][method]["responses"]["200"]["content"]["application/json"]
    return copy.deepcopy(content["examples"][name]["value"])


def advance(http: httpx.Client, scan_id: str, steps: int = 1) -> None:
    assert http.post(f"/_emulator/scans/{scan_id}/advance", json={"steps": steps}).status_code == 200


def allow_undeclared(emu: Emulator, *statuses: int) -> None:
    """Bad input gets 400/415 {Message}, which the spec does not declare yet (reported): accept only that."""
    expected = {f"Unknown response http status: {s}" for s in statuses}
    others = [v for v in emu.violations if set(v.problems) - expected]
    assert others == []
    emu.violations.clear()


# -- happy paths --------------------------------------------------------------------------------------


def test_get_scan_detail__seed_scan_reproduced_field_for_field(emu: Emulator, http: httpx.Client) -> None:
    assert scenario(http, "one_completed_scan") == {"scanId": SEED_ID}
    response = http.get(f"/api/1.0/scans/detail/{SEED_ID}")
    assert response.status_code == 200
    assert response.json() == example(emu, "/api/1.0/scans/detail/{id}", "seed")
    assert len(response.json()) == 96
    assert response.headers["content-type"] == "application/json; charset=utf-8"
    assert response.headers["content-length"] == "3475"  # the seed's own Content-Length
    assert {k: response.headers[k] for k in CACHE_HEADERS} == CACHE_HEADERS


def test_get_scan_status__seed_scan_matches_notes_example(emu: Emulator, http: httpx.Client) -> None:
    scenario(http, "one_completed_scan")
    assert status(http, SEED_ID) == example(emu, "/api/1.0/scans/status/{id}", "notes-complete")


def test_list_scans__first_page_matches_notes_example(emu: Emulator, http: httpx.Client) -> None:
    scenario(http, "one_completed_scan")
    response = http.get("/api/1.0/scans/list", params={"page": 1, "pageSize": 20})
    assert response.json() == example(emu, "/api/1.0/scans/list", "notes-first-page")
    assert {k: response.headers[k] for k in CACHE_HEADERS} == CACHE_HEADERS


def test_list_scans_by_state__complete_matches_notes_example(emu: Emulator, http: httpx.Client) -> None:
    scenario(http, "one_completed_scan")
    seed(http, "Scanning")
    response = http.get("/api/1.0/scans/listbystate", params={"scanTaskState": "Complete"})
    assert response.json() == example(emu, "/api/1.0/scans/listbystate", "notes-complete-scans")


def test_cancel_scan__queued_scan_is_cancelled(http: httpx.Client) -> None:
    scan_id = seed(http, progression={"mode": "manual"})
    response = act(http, "cancel", scan_id)
    assert (response.status_code, response.json()) == (200, "Ok")
    assert response.headers["content-type"] == "application/json; charset=utf-8"
    view = detail(http, scan_id)
    assert (view["State"], view["IsCompleted"], view["Phase"], view["AgentId"]) == (
        "Cancelled",
        True,
        "Pending",
        None,
    )
    assert (view["EstimatedLaunchTime"], view["FailureReason"]) == (None, None)


def test_pause_scan__pause_and_resume_follow_the_road(http: httpx.Client) -> None:
    scan_id = scenario(http, "one_running_scan")["scanId"]
    assert status(http, scan_id) == {
        "CompletedSteps": 10655, "EstimatedLaunchTime": None, "EstimatedSteps": 21310, "State": "Scanning"
    }  # fmt: skip
    assert act(http, "pause", scan_id).json() == "Ok"
    assert status(http, scan_id)["State"] == "Pausing"
    advance(http, scan_id)
    assert status(http, scan_id)["State"] == "Paused"
    assert act(http, "resume", scan_id).json() == "Ok"
    assert status(http, scan_id)["State"] == "Resuming"
    advance(http, scan_id)
    view = detail(http, scan_id)
    assert (view["State"], view["CompletedSteps"], view["Phase"]) == (
        "Scanning",
        10655,
        "CrawlingAndAttacking",
    )


def test_resume_scan__paused_scenario_resumes(http: httpx.Client) -> None:
    scan_id = scenario(http, "one_paused_scan")["scanId"]
    assert (detail(http, scan_id)["State"], detail(http, scan_id)["Percentage"]) == ("Paused", 50)
    assert act(http, "resume", scan_id).json() == "Ok"
    assert detail(http, scan_id)["State"] == "Resuming"


def test_pause_scan__reads_mode_pausing_becomes_paused_and_stays(emu: Emulator, http: httpx.Client) -> None:
    scan_id = seed(http, "Scanning")
    assert act(http, "pause", scan_id).json() == "Ok"
    assert [status(http, scan_id)["State"] for _ in range(4)] == ["Paused"] * 4
    assert act(http, "resume", scan_id).json() == "Ok"
    seen = [status(http, scan_id)["State"] for _ in range(3)]
    assert seen == ["Scanning", "Archiving", "Complete"]
    history = [h[0] for h in emu.engine.get(scan_id).history]
    assert history == [
        "Queued",
        "Scanning",
        "Pausing",
        "Paused",
        "Resuming",
        "Scanning",
        "Archiving",
        "Complete",
    ]
    assert all(emu.lifecycle.is_direct(a, b) for a, b in itertools.pairwise(history))


def test_generated_client__polls_and_pauses(emu: Emulator, emu_client: Callable[..., httpx.Client]) -> None:
    from invicti_client import Client
    from invicti_client.api.scans import get_scan_status, list_scans, pause_scan
    from invicti_client.models import ScanActionResult

    client = Client(base_url="http://127.0.0.1").set_httpx_client(emu_client(emu, auth=ACME))
    scan_id = seed(emu_client(emu), "Scanning", progression={"mode": "manual"})
    assert pause_scan.sync(client=client, body=scan_id) == ScanActionResult.OK
    assert pause_scan.sync(client=client, body=scan_id) == ScanActionResult.SCANNOTRUNNING
    parsed = get_scan_status.sync(scan_id, client=client)
    assert parsed is not None and parsed.to_dict()["State"] == "Pausing"
    page = list_scans.sync(client=client)
    assert page is not None and page.to_dict()["TotalItemCount"] == 1


# -- lifecycle ----------------------------------------------------------------------------------------


def test_get_scan_status__polled_to_complete_along_legal_transitions(
    emu: Emulator, http: httpx.Client
) -> None:
    scan_id = seed(http, progression={"mode": "reads", "every": 3})
    observed, views = [], []
    for _ in range(12):
        observed.append(status(http, scan_id)["State"])
        views.append(detail(http, scan_id))
        clock(emu).advance(60)
        if observed[-1] in TERMINAL:
            break
    assert observed == ["Queued"] * 2 + ["Scanning"] * 3 + ["Archiving"] * 3 + ["Complete"]
    assert all(emu.lifecycle.is_legal(a, b) for a, b in itertools.pairwise(observed))
    assert [v["Percentage"] for v in views] == [0, 0, 25, 50, 75, 100, 100, 100, 100]
    assert [v["Phase"] for v in views[:6]] == ["Pending", "Pending", "Crawling"] + [
        "CrawlingAndAttacking"
    ] * 2 + ["Complete"]
    steps = [v["CompletedSteps"] for v in views]
    assert steps == sorted(steps) and steps[-1] == views[-1]["EstimatedSteps"] == 21310
    assert [v["EstimatedLaunchTime"] for v in views[:3]] == [3, 3, None]
    assert views[-1]["Duration"] == "00:03:00"  # three minutes Scanning; queue and archive time not counted
    assert (views[-1]["TotalVulnerabilityCount"], views[-1]["ThreatLevel"], views[-2]["ThreatLevel"]) == (
        44, "Critical", "Unknown"
    )  # fmt: skip


def test_get_scan_detail__does_not_advance_the_scan(http: httpx.Client) -> None:
    scan_id = seed(http)
    assert [detail(http, scan_id)["State"] for _ in range(5)] == ["Queued"] * 5
    assert http.get("/api/1.0/scans/list").json()["List"][0]["State"] == "Queued"
    assert status(http, scan_id)["State"] == "Scanning"


@pytest.mark.parametrize("state", STATES)
def test_get_scan_detail__fields_consistent_with_state(http: httpx.Client, state: str) -> None:
    view = detail(http, seed(http, state, progression={"mode": "manual"}))
    assert view["State"] == state and len(view) == 96
    assert (view["Phase"] == "Complete") == (state in ("Archiving", "AsyncArchiving", "Complete"))
    assert view["IsCompleted"] == (state in TERMINAL)
    assert (view["EstimatedLaunchTime"] is not None) == (state in ("Queued", "Delayed"))
    failed = state == "Failed"
    assert (view["FailureReason"], view["FailureReasonString"]) == (
        ("ScanTargetNotReachable", "Scan Target Not Reachable") if failed else (None, None)
    )
    assert (view["FailureReasonDescription"] is not None) == failed
    assert (view["VulnerabilityCriticalCount"], view["GlobalVulnerabilityHighCount"]) == (
        (6, 11) if state == "Complete" else (0, 0)
    )
    assert (view["Percentage"] == 100) == (state in ("Archiving", "AsyncArchiving", "Complete"))
    assert TIMESPAN.match(view["Duration"]) and ISO_DOTNET.match(view["StateChanged"])
    assert view["InitiatedAt"] == view["Initiated"] == "2024-03-22T19:56:21.0000000+00:00"
    assert (view["InitiatedTime"], view["InitiatedDate"]) == ("22/03/2024 01:56 PM", "22/03/2024")


def test_get_scan_detail__locale_times_follow_the_account(
    emu_client: Callable[..., httpx.Client], emu: Emulator
) -> None:
    http = emu_client(emu, auth=GLOBEX)
    view = detail(http, seed(http, account="globex"))
    assert (view["InitiatedTime"], view["InitiatedDate"]) == ("22/03/2024 08:56 PM", "22/03/2024")
    assert (view["UserId"], view["UserName"], view["WebsiteName"]) == (
        GLOBEX[0],
        "Hank Scorpio",
        "Globex Portal",
    )


def test_get_scan_detail__duration_over_a_day_has_a_day_part(emu: Emulator, http: httpx.Client) -> None:
    scan_id = seed(http, "Scanning", progression={"mode": "manual"})
    clock(emu).advance(98_000.5)
    assert detail(http, scan_id)["Duration"] == "1.03:13:20.5000000"
    advance(http, scan_id)  # Archiving: the agent is done, the duration stops
    clock(emu).advance(3600)
    assert detail(http, scan_id)["Duration"] == "1.03:13:20.5000000"


@pytest.mark.parametrize(
    ("progression", "expected"),
    [
        ({"outcome": "failure"}, ["Scanning", "Failed"]),
        ({"outcome": "hang"}, ["Scanning", "Archiving", "Archiving", "Archiving"]),
        ({"final": "AsyncArchiving"}, ["Scanning", "AsyncArchiving", "Complete"]),
        # A non-terminal `final` is a side road taken once: Delayed, back to Queued, then on to Scanning.
        ({"final": "Delayed"}, ["Delayed", "Queued", "Scanning"]),
        ({"mode": "immediate"}, ["Complete"]),
    ],
)
def test_get_scan_status__progression_outcomes(
    emu: Emulator, http: httpx.Client, progression: dict[str, Any], expected: list[str]
) -> None:
    scan_id = seed(http, progression=progression)
    observed = [status(http, scan_id)["State"] for _ in expected]
    assert observed == expected
    assert all(emu.lifecycle.is_legal(a, b) for a, b in itertools.pairwise(["Queued", *observed]))
    view = detail(http, scan_id)
    if observed[-1] == "Failed":
        failure = ("ScanTargetNotReachable", True, "CrawlingAndAttacking", 50)  # frozen where it stopped
        assert (view["FailureReason"], view["IsCompleted"], view["Phase"], view["Percentage"]) == failure
    if observed[0] == "Delayed":
        assert view["EstimatedLaunchTime"] is None and view["Phase"] != "Pending"


def test_seed_scan__timeout_outcome_refused(http: httpx.Client) -> None:
    # Invicti has no timed-out state: the lifecycle declares no timeout road, so the control API says so.
    response = http.post("/_emulator/scans", json={"progression": {"outcome": "timeout"}})
    assert (response.status_code, response.json()) == (
        400,
        {"error": "this vendor's lifecycle has no timeout road"},
    )


def test_get_scan_status__seconds_mode_follows_the_clock(emu: Emulator, http: httpx.Client) -> None:
    scan_id = seed(http, progression={"mode": "seconds", "every": 100})
    assert status(http, scan_id)["State"] == "Queued"
    clock(emu).advance(150)
    assert (status(http, scan_id)["State"], detail(http, scan_id)["Percentage"]) == ("Scanning", 50)
    clock(emu).advance(250)
    assert detail(http, scan_id)["State"] == "Complete"  # time-based steps apply on detail too


def test_seed_scan__failure_reason_from_data(http: httpx.Client) -> None:
    scan_id = seed(
        http, "Scanning", data={"FailureReason": "LoginFailed"}, progression={"outcome": "failure"}
    )
    assert detail(http, scan_id)["FailureReason"] is None  # shown only once the scan has failed
    assert status(http, scan_id)["State"] == "Failed"
    view = detail(http, scan_id)
    assert (view["FailureReason"], view["FailureReasonString"]) == ("LoginFailed", "Login Failed")


def test_seed_scan__unknown_field_refused(http: httpx.Client) -> None:
    response = http.post("/_emulator/scans", json={"data": {"Bogus": 1}})
    assert response.status_code == 400 and "Bogus" in response.json()["error"]


# -- actions ------------------------------------------------------------------------------------------

REFUSALS = {
    "cancel": {"Complete": "ScanCompleted", "Cancelled": "ScanCancelled", "Failed": "ScanFailed"},
    "pause": {
        "Queued": "ScanQueued", "Delayed": "ScanQueued", "Pausing": "ScanNotRunning",
        "Paused": "ScanNotRunning", "Resuming": "ScanNotRunning", "Archiving": "ScanNotRunning",
        "AsyncArchiving": "ScanNotRunning",
        "Complete": "ScanCompleted", "Cancelled": "ScanCancelled", "Failed": "ScanFailed",
    },
    "resume": {
        "Queued": "ScanQueued", "Delayed": "ScanQueued", "Scanning": "ScanNotPaused",
        "Pausing": "ScanNotPaused", "Resuming": "ScanNotPaused", "Archiving": "ScanNotPaused",
        "AsyncArchiving": "ScanNotPaused",
        "Complete": "ScanCompleted", "Cancelled": "ScanCancelled", "Failed": "ScanFailed",
    },
}  # fmt: skip
ACCEPTED = {"cancel": "Cancelled", "pause": "Pausing", "resume": "Resuming"}


@pytest.mark.parametrize("action", ["cancel", "pause", "resume"])
@pytest.mark.parametrize("state", STATES)
def test_scan_action__each_state(emu: Emulator, http: httpx.Client, action: str, state: str) -> None:
    scan_id = seed(http, state, progression={"mode": "manual"})
    response = act(http, action, scan_id)
    assert response.status_code == 200
    refused = REFUSALS[action].get(state)
    assert (emu.lifecycle.after_action(state, action) is None) == (refused is not None)
    assert response.json() == (refused or "Ok")
    assert detail(http, scan_id)["State"] == (state if refused else ACCEPTED[action])


@pytest.mark.parametrize("action", ["cancel", "pause", "resume"])
def test_scan_action__unknown_or_other_accounts_scan_not_found(
    emu: Emulator, emu_client: Callable[..., httpx.Client], http: httpx.Client, action: str
) -> None:
    assert act(http, action, UNKNOWN_ID).json() == "ScanNotFound"
    other = seed(http, "Paused" if action == "resume" else "Scanning", account="globex")
    response = act(http, action, other)
    assert (response.status_code, response.json()) == (200, "ScanNotFound")
    assert emu.engine.get(other).state == ("Paused" if action == "resume" else "Scanning")


# -- auth ---------------------------------------------------------------------------------------------

OPERATIONS = [
    ("GET", f"/api/1.0/scans/detail/{SEED_ID}", None),
    ("GET", f"/api/1.0/scans/status/{SEED_ID}", None),
    ("GET", "/api/1.0/scans/list", None),
    ("GET", "/api/1.0/scans/listbystate?scanTaskState=Complete", None),
    ("POST", "/api/1.0/scans/cancel", SEED_ID),
    ("POST", "/api/1.0/scans/pause", SEED_ID),
    ("POST", "/api/1.0/scans/resume", SEED_ID),
]
BAD_AUTH = [
    None,
    httpx.BasicAuth(ACME[0], "wrong-token"),
    httpx.BasicAuth(GLOBEX[0], ACME[1]),
    httpx.BasicAuth("not-a-user", ACME[1]),
]


@pytest.mark.parametrize(("method", "url", "body"), OPERATIONS)
@pytest.mark.parametrize("auth", BAD_AUTH, ids=["none", "wrong-token", "other-user", "bad-user"])
def test_operation__bad_credentials_unauthorized(
    emu: Emulator, emu_client: Callable[..., httpx.Client], method: str, url: str, body: Any, auth: Any
) -> None:
    http = emu_client(emu)
    scenario(http, "one_completed_scan")
    response = http.request(method, url, json=body, auth=auth)
    assert (response.status_code, response.json()) == (401, UNAUTHORIZED)
    assert {k: response.headers[k] for k in CACHE_HEADERS} == CACHE_HEADERS


def test_get_scan_status__user_id_compared_case_blind_token_not(
    emu: Emulator, emu_client: Callable[..., httpx.Client], http: httpx.Client
) -> None:
    """The user id is a GUID, which .NET compares case-blind (x-scanwire-auth `case-insensitive`)."""
    scenario(http, "one_completed_scan")
    anon = emu_client(emu)
    url = f"/api/1.0/scans/status/{SEED_ID}"
    assert anon.get(url, auth=(ACME[0].upper(), ACME[1])).status_code == 200
    assert anon.get(url, auth=(ACME[0], ACME[1].upper())).status_code == 401


@pytest.mark.parametrize("header", ["Bearer acme-invicti-api-token", "Basic !!!notbase64", "Basic YWNtZQ=="])
def test_get_scan_status__malformed_authorization_unauthorized(
    emu: Emulator, emu_client: Callable[..., httpx.Client], header: str
) -> None:
    response = emu_client(emu).get(f"/api/1.0/scans/status/{SEED_ID}", headers={"Authorization": header})
    assert (response.status_code, response.json()) == (401, UNAUTHORIZED)


def test_get_scan_detail__other_accounts_scan_not_found(
    emu: Emulator, emu_client: Callable[..., httpx.Client], http: httpx.Client
) -> None:
    scenario(http, "one_completed_scan")
    globex = emu_client(emu, auth=GLOBEX)
    for url in (f"/api/1.0/scans/detail/{SEED_ID}", f"/api/1.0/scans/status/{SEED_ID}"):
        response = globex.get(url)
        assert (response.status_code, response.json()) == (404, {"Message": "Scan not found."})
    assert globex.get("/api/1.0/scans/list").json()["TotalItemCount"] == 0
    by_state = globex.get("/api/1.0/scans/listbystate", params={"scanTaskState": "Complete"})
    assert by_state.json()["List"] == []
    assert status(http, SEED_ID)["State"] == "Complete"


def test_get_scan_status__unknown_id_not_found(http: httpx.Client) -> None:
    response = http.get(f"/api/1.0/scans/status/{UNKNOWN_ID}")
    assert (response.status_code, response.json()) == (404, {"Message": "Scan not found."})
    assert {k: response.headers[k] for k in CACHE_HEADERS} == CACHE_HEADERS


# -- paging -------------------------------------------------------------------------------------------

PAGING = ("FirstItemOnPage", "LastItemOnPage", "HasPreviousPage", "HasNextPage", "IsFirstPage", "IsLastPage")


@pytest.mark.parametrize(
    ("params", "items", "fields", "counts"),
    [
        ({}, 20, (1, 20, False, True, True, False), (2, 1, 20)),
        ({"page": 2}, 5, (21, 25, True, False, False, True), (2, 2, 20)),
        (
            {"page": 3},
            0,
            (41, 25, True, False, False, True),
            (2, 3, 20),
        ),  # beyond the end: PagedList arithmetic
        ({"page": 2, "pageSize": 10}, 10, (11, 20, True, True, False, False), (3, 2, 10)),
        ({"pageSize": 200}, 25, (1, 25, False, False, True, True), (1, 1, 200)),
        ({"page": 25, "pageSize": 1}, 1, (25, 25, True, False, False, True), (25, 25, 1)),
    ],
)
def test_list_scans__paging_boundaries(
    http: httpx.Client, params: dict[str, int], items: int, fields: tuple[Any, ...], counts: tuple[int, ...]
) -> None:
    scenario(http, "many_scans")
    page = http.get("/api/1.0/scans/list", params=params).json()
    assert len(page["List"]) == items
    assert tuple(page[k] for k in PAGING) == fields
    assert (page["PageCount"], page["PageNumber"], page["PageSize"], page["TotalItemCount"]) == (*counts, 25)


def test_list_scans__empty_account(http: httpx.Client) -> None:
    page = http.get("/api/1.0/scans/list").json()
    assert page == {
        "FirstItemOnPage": 1, "HasNextPage": False, "HasPreviousPage": False, "IsFirstPage": True,
        "IsLastPage": True, "LastItemOnPage": 0, "List": [], "PageCount": 0, "PageNumber": 1, "PageSize": 20,
        "TotalItemCount": 0,
    }  # fmt: skip


def test_list_scans__newest_first_and_own_account_only(http: httpx.Client) -> None:
    ids = scenario(http, "many_scans")
    pages = [
        http.get("/api/1.0/scans/list", params={"page": p, "pageSize": 10}).json()["List"] for p in (1, 2, 3)
    ]
    assert [s["Id"] for page in pages for s in page] == list(reversed(ids["acme"]))


def test_list_scans_by_state__filters_state_window_and_target(emu: Emulator, http: httpx.Client) -> None:
    first = seed(http, "Complete")  # StateChanged 2024-03-22 19:56:21
    clock(emu).advance(86_400)
    second = seed(http, "Complete")  # 2024-03-23 19:56:21
    queued = seed(http, "Queued", progression={"mode": "manual"})
    url = "/api/1.0/scans/listbystate"

    def ids(**params: str) -> list[str]:
        return [s["Id"] for s in http.get(url, params=params).json()["List"]]

    assert ids(scanTaskState="Complete") == [second, first]
    assert ids(scanTaskState="Complete", startDate="03/23/2024 00:00:00") == [second]
    assert ids(scanTaskState="Complete", endDate="03/22/2024 23:59:59") == [first]
    assert ids(
        scanTaskState="Complete", startDate="2024-03-22T19:00:00Z", endDate="2024-03-22T20:00:00Z"
    ) == [first]
    assert ids(scanTaskState="Queued", startDate="03/23/2024") == [queued]
    assert ids(scanTaskState="Complete", targetUrlCriteria="TESTINVICTI") == [second, first]
    assert ids(scanTaskState="Complete", targetUrlCriteria="globex") == []
    assert ids(scanTaskState="Paused") == []


@pytest.mark.parametrize("value", ["22/03/2024 00:00:00", "yesterday", "03/32/2024 00:00:00"])
def test_list_scans_by_state__bad_date_format(emu: Emulator, http: httpx.Client, value: str) -> None:
    response = http.get(
        "/api/1.0/scans/listbystate", params={"scanTaskState": "Complete", "startDate": value}
    )
    assert response.status_code == 400
    assert response.json() == {
        "Message": f"The request is invalid. startDate '{value}' is not a valid date; use MM/dd/yyyy HH:mm:ss"
    }
    allow_undeclared(emu, 400)


# -- bad input ----------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("url", "fragment"),
    [
        ("/api/1.0/scans/list?page=0", "page"),
        ("/api/1.0/scans/list?page=abc", "page"),
        ("/api/1.0/scans/list?pageSize=0", "pageSize"),
        ("/api/1.0/scans/list?pageSize=201", "greater than the maximum of 200"),
        ("/api/1.0/scans/listbystate", "Missing required query parameter: scanTaskState"),
        ("/api/1.0/scans/listbystate?scanTaskState=Running", "'Running' is not one of"),
        ("/api/1.0/scans/detail/not-a-guid", "Invalid path parameter: id"),
        ("/api/1.0/scans/status/12345", "Invalid path parameter: id"),
    ],
)
def test_get__bad_query_or_path_bad_request(
    emu: Emulator, http: httpx.Client, url: str, fragment: str
) -> None:
    response = http.get(url)
    assert response.status_code == 400
    assert set(response.json()) == {"Message"}
    assert (
        response.json()["Message"].startswith("The request is invalid.")
        and fragment in response.json()["Message"]
    )
    assert {k: response.headers[k] for k in CACHE_HEADERS} == CACHE_HEADERS
    allow_undeclared(emu, 400)


@pytest.mark.parametrize(
    ("content", "content_type", "code", "fragment"),
    [
        (b"{garbage", "application/json", 400, "Failed to deserialize"),
        (b"12345", "application/json", 400, "12345 is not of type 'string'"),
        (
            b'{"id": "87be9df1-9f81-46e9-e860-b13b04474ccc"}',
            "application/json",
            400,
            "is not of type 'string'",
        ),
        (b'"not-a-guid"', "application/json", 400, "does not match"),
        (b"", "application/json", 400, "Missing required request body"),
        (
            b'"87be9df1-9f81-46e9-e860-b13b04474ccc"',
            "text/plain",
            415,
            "media type 'text/plain' is not supported",
        ),
        (b"87be9df1-9f81-46e9-e860-b13b04474ccc", None, 415, "no Content-Type header"),
    ],
)
@pytest.mark.parametrize("action", ["cancel", "pause", "resume"])
def test_scan_action__bad_body_refused(
    emu: Emulator,
    http: httpx.Client,
    action: str,
    content: bytes,
    content_type: str | None,
    code: int,
    fragment: str,
) -> None:
    headers = {"Content-Type": content_type} if content_type else {}
    response = http.post(f"/api/1.0/scans/{action}", content=content, headers=headers)
    assert response.status_code == code
    assert set(response.json()) == {"Message"} and fragment in response.json()["Message"]
    allow_undeclared(emu, 400, 415)


def test_unknown_route_and_method__vendor_envelope(emu: Emulator, http: httpx.Client) -> None:
    response = http.get("/api/1.0/scans/nothing/here")
    uri = "/api/1.0/scans/nothing/here"
    message = f"No HTTP resource was found that matches the request URI '{uri}'."
    assert (response.status_code, response.json()) == (404, {"Message": message})
    response = http.delete("/api/1.0/scans/list")
    assert (response.status_code, response.json()) == (
        405, {"Message": "The requested resource does not support http method 'DELETE'."}
    )  # fmt: skip


# -- faults, rate limits ------------------------------------------------------------------------------


def inject(http: httpx.Client, **fault: Any) -> None:
    assert http.post("/_emulator/faults", json=fault).status_code == 201


def test_get_scan_status__injected_429_and_500_in_vendor_envelope(http: httpx.Client) -> None:
    scan_id = seed(http)
    inject(http, kind="status", status=429, retry_after=7, operation="getScanStatus")
    response = http.get(f"/api/1.0/scans/status/{scan_id}")
    assert (response.status_code, response.json()) == (
        429,
        {"Message": "Too many requests. Please try again later."},
    )
    assert response.headers["retry-after"] == "7"
    assert {k: response.headers[k] for k in CACHE_HEADERS} == CACHE_HEADERS
    inject(http, kind="status", status=500, count=2)
    for _ in range(2):
        response = http.get(f"/api/1.0/scans/detail/{scan_id}")
        assert (response.status_code, response.json()) == (500, {"Message": "An error has occurred."})
    assert status(http, scan_id)["State"] == "Scanning"  # faults consumed no read


@pytest.mark.parametrize(("variant", "check"), [("truncated", "{"), ("html", "<html>"), ("empty", "")])
def test_get_scan_detail__malformed_fault(http: httpx.Client, variant: str, check: str) -> None:
    scenario(http, "one_completed_scan")
    inject(http, kind="malformed", variant=variant)
    response = http.get(f"/api/1.0/scans/detail/{SEED_ID}")
    assert response.status_code == 200 and response.text.startswith(check)
    with pytest.raises(ValueError):
        response.json()
    assert detail(http, SEED_ID)["Id"] == SEED_ID


def test_cancel_scan__expired_auth_fault_unauthorized(http: httpx.Client) -> None:
    scan_id = seed(http, progression={"mode": "manual"})
    inject(http, kind="expired_auth", operation="POST /api/1.0/scans/cancel")
    response = act(http, "cancel", scan_id)
    assert (response.status_code, response.json()) == (401, UNAUTHORIZED)
    assert act(http, "cancel", scan_id).json() == "Ok"


def test_list_scans__no_rate_limit_declared_switch_accepted(emu: Emulator, http: httpx.Client) -> None:
    assert "x-rate-limit" not in emu.spec and not emu.limiter.operation_limits
    assert all(http.get("/api/1.0/scans/list").status_code == 200 for _ in range(150))
    assert http.patch("/_emulator/settings", json={"rate_limits": False}).json()["rate_limits"] is False
    assert http.get("/api/1.0/scans/list").status_code == 200


# -- scenarios, control, persistence ------------------------------------------------------------------


def test_scenarios__listed_and_observable(emu: Emulator, http: httpx.Client) -> None:
    names = {
        "one_completed_scan",
        "queued_scans",
        "one_running_scan",
        "one_paused_scan",
        "many_scans",
        "queue_stalled",
    }
    assert set(http.get("/_emulator/scenarios").json()) == names
    queued = scenario(http, "queued_scans")["scanIds"]
    assert [status(http, i) for i in queued] == [
        {"CompletedSteps": 0, "EstimatedLaunchTime": m, "EstimatedSteps": 0, "State": "Queued"}
        for m in (3, 6, 9)
    ]
    scenario(http, "queue_stalled")
    scan_id = seed(http)
    assert [status(http, scan_id)["State"] for _ in range(3)] == ["Queued"] * 3
    assert http.get("/_emulator/coverage").json()["missing"] == []


def test_state__survives_restart_on_sqlite_file(tmp_path: Path) -> None:
    db = tmp_path / "x.sqlite3"

    def open_emu() -> tuple[Emulator, httpx.Client]:
        emu = build_emulator(
            "invicti", db=db, clock=ManualClock(), settings=EmulatorSettings(validate_responses=True)
        )
        return emu, httpx.Client(transport=SyncASGITransport(emu), base_url="http://127.0.0.1", auth=ACME)

    emu, http = open_emu()
    scenario(http, "one_completed_scan")
    scan_id = seed(http, progression={"every": 2})
    assert [status(http, scan_id)["State"] for _ in range(2)] == ["Queued", "Scanning"]
    before = detail(http, scan_id)
    http.close()
    emu.store.close()

    emu, http = open_emu()
    assert detail(http, scan_id) == before
    assert detail(http, SEED_ID)["State"] == "Complete"
    assert [status(http, scan_id)["State"] for _ in range(2)] == ["Scanning", "Archiving"]
    assert http.get("/api/1.0/scans/list").json()["TotalItemCount"] == 2
    assert emu.violations == [] and emu.errors == []
    http.close()
    emu.store.close()
