"""The Soda Cloud API v1 emulator: every operation, lifecycle, cancel, logs paging, auth, isolation, bad
input, rate limits, faults, scenarios and persistence. Every response is validated against the resolved
spec by the fixtures."""

from __future__ import annotations

import itertools
import time
from collections.abc import Callable
from datetime import datetime
from typing import Any

import httpx
import pytest

from conformance.emulators.core import Emulator, EmulatorSettings, ManualClock, build_emulator
from conformance.emulators.core.transport import SyncASGITransport
from conformance.emulators.soda import Plugin
from conformance.emulators.soda.models import CHECKS_BY_STATE

from .conftest import clock, control, seed

ACME = (Plugin.accounts["acme"]["key_id"], Plugin.accounts["acme"]["secret"])
GLOBEX = (Plugin.accounts["globex"]["key_id"], Plugin.accounts["globex"]["secret"])
T0 = "2024-03-22T19:56:21.000Z"  # ManualClock's start
DEFINITION = "weekday_scan_schedule"  # the vendor's documented example
# ScanStateDTO (seed); the final set is the seed's own list.
TERMINAL = (
    "canceled",
    "timedOut",
    "failed",
    "completedWithErrors",
    "completedWithFailures",
    "completedWithWarnings",
    "completed",
)
RUNNING = ("queuing", "executing", "started", "cancelationRequested", "timeOutRequested")
STATES = (*RUNNING, *TERMINAL)
OPERATIONS = [
    ("POST", "/api/v1/scans", {"scanDefinition": DEFINITION}),
    ("GET", "/api/v1/scans/{id}", None),
    ("DELETE", "/api/v1/scans/{id}", None),
    ("GET", "/api/v1/scans/{id}/logs", None),
    ("GET", "/api/v1/test-login", None),
]


@pytest.fixture
def emu(soda_emulator: Emulator) -> Emulator:
    return soda_emulator


@pytest.fixture
def anon(emu: Emulator, emu_client: Callable[..., httpx.Client]) -> httpx.Client:
    return emu_client(emu)


def trigger(http: httpx.Client, definition: str = DEFINITION, **form: str) -> str:
    response = http.post("/api/v1/scans", data={"scanDefinition": definition, **form})
    assert response.status_code == 201, response.text
    return str(response.headers["x-soda-scan-id"])


def status(http: httpx.Client, scan_id: str) -> dict[str, Any]:
    response = http.get(f"/api/v1/scans/{scan_id}")
    assert response.status_code == 200, response.text
    return dict(response.json())


def logs(http: httpx.Client, scan_id: str, **params: Any) -> dict[str, Any]:
    response = http.get(f"/api/v1/scans/{scan_id}/logs", params=params)
    assert response.status_code == 200, response.text
    return dict(response.json())


def poll_until_terminal(http: httpx.Client, scan_id: str, limit: int = 10) -> list[str]:
    seen: list[str] = []
    for _ in range(limit):
        seen.append(status(http, scan_id)["state"])
        if seen[-1] in TERMINAL:
            break
    return seen


def history(http: httpx.Client, scan_id: str) -> list[str]:
    return [h[0] for h in control(http, "GET", f"/scans/{scan_id}")["history"]]


def scan_count(http: httpx.Client) -> int:
    return len(control(http, "GET", "/scans"))


def assert_legal(emu: Emulator, states: list[str]) -> None:
    assert [p for p in itertools.pairwise(states) if not emu.lifecycle.is_legal(*p)] == []


def assert_soda_error(response: httpx.Response, status_code: int, code: str) -> str:
    """Soda's ErrorResponse {code, message}; returns the message."""
    assert response.status_code == status_code, response.text
    assert response.headers["content-type"] == "application/json"
    body = response.json()
    assert set(body) == {"code", "message"} and body["code"] == code
    assert isinstance(body["message"], str) and body["message"]
    return str(body["message"])


def nulls(value: Any, path: str = "") -> list[str]:
    if value is None:
        return [path or "(root)"]
    if isinstance(value, dict):
        return [p for k, v in value.items() for p in nulls(v, f"{path}/{k}")]
    if isinstance(value, list):
        return [p for i, v in enumerate(value) for p in nulls(v, f"{path}/{i}")]
    return []


def example(emu: Emulator, name: str) -> dict[str, Any]:
    content = emu.spec["paths"]["/api/v1/scans/{scanId}"]["get"]["responses"]["200"]["content"]
    return dict(content["application/json"]["examples"][name]["value"])


# -- happy paths ----------------------------------------------------------------------------------


def test_trigger_scan__201_with_scan_id_and_location_headers_and_no_body(
    emu: Emulator, http: httpx.Client
) -> None:
    response = http.post("/api/v1/scans", data={"scanDefinition": DEFINITION})
    assert response.status_code == 201
    assert response.content == b""
    scan_id = response.headers["x-soda-scan-id"]
    assert response.headers["location"] == f"http://127.0.0.1/api/v1/scans/{scan_id}"
    assert [s["id"] for s in control(http, "GET", "/scans")] == [scan_id]


def test_trigger_scan__ids_are_distinct_and_the_same_on_a_fresh_emulator(
    emulator: Callable[..., Emulator], emu_client: Callable[..., httpx.Client]
) -> None:
    one, two = (emu_client(emulator("soda"), auth=ACME) for _ in range(2))
    ids = [trigger(one) for _ in range(5)]
    assert len(set(ids)) == 5
    assert trigger(two) == ids[0]  # ids come from a seeded counter, not from randomness


def test_trigger_scan__data_timestamp_becomes_scan_time(http: httpx.Client) -> None:
    scan_id = trigger(http, dataTimestamp="2023-12-31T10:15:30+01:00")
    view = status(http, scan_id)
    assert datetime.fromisoformat(view["scanTime"]) == datetime.fromisoformat("2023-12-31T09:15:30+00:00")
    assert view["created"] == T0


def test_trigger_scan__without_data_timestamp_scan_time_is_now(emu: Emulator, http: httpx.Client) -> None:
    clock(emu).advance(0.25)
    view = status(http, trigger(http, "orders_contract_daily"))
    assert view["created"] == view["scanTime"] == "2024-03-22T19:56:21.250Z"
    assert view["scanDefinition"]["name"] == "orders_contract_daily"
    assert view["cloudUrl"] == f"https://cloud.soda.io/scans/{view['id']}"


def test_trigger_scan__same_definition_keeps_its_id(http: httpx.Client) -> None:
    a, b, c = trigger(http), trigger(http), trigger(http, "other")
    definitions = [status(http, s)["scanDefinition"] for s in (a, b, c)]
    assert definitions[0] == definitions[1] and definitions[0]["id"] != definitions[2]["id"]


def test_get_scan_status__queuing_scan_shows_only_set_fields(emu: Emulator, http: httpx.Client) -> None:
    control(http, "PUT", "/progression", {"mode": "manual"})
    view = status(http, trigger(http))
    assert view["state"] == "queuing"
    assert set(view) == set(example(emu, "notes-queuing"))
    assert nulls(view) == []


def test_get_scan_status__completed_scan_has_the_fields_of_the_notes_example(
    emu: Emulator, http: httpx.Client
) -> None:
    scan_id = trigger(http)
    assert poll_until_terminal(http, scan_id)[-1] == "completed"
    view = status(http, scan_id)
    assert set(view) == set(example(emu, "notes-completed"))
    assert (view["errors"], view["failures"], view["warnings"]) == (0, 0, 0)
    assert [c["evaluationStatus"] for c in view["checks"]] == ["pass", "pass"]
    assert view["agentId"] == view["runnerId"]
    assert view["ended"] == T0
    # A stage may still be ongoing after the scan is final (vendor-notes §5 INFERENCE).
    assert [(s["name"], s["state"]) for s in view["postProcessingStages"]] == [
        ("diagnosticWarehouse", "ongoing")
    ]


@pytest.mark.parametrize(("auth", "organisation"), [(ACME, "Acme Data"), (GLOBEX, "Globex Analytics")])
def test_test_login__returns_the_key_owners_organisation(
    anon: httpx.Client, auth: tuple[str, str], organisation: str
) -> None:
    response = anon.get("/api/v1/test-login", auth=auth)
    assert response.status_code == 200
    assert response.json() == {"organisationName": organisation}
    assert response.headers["content-type"] == "application/json"


def test_generated_client__triggers_polls_and_reads_logs(emu: Emulator) -> None:
    from soda_client import Client
    from soda_client.api.scans import get_scan_logs, get_scan_status, trigger_scan
    from soda_client.models import PublicApiScanLogsResponse, PublicApiScanStatusResponse, TriggerScanBody

    client = Client(
        base_url="http://127.0.0.1", httpx_args={"transport": SyncASGITransport(emu), "auth": ACME}
    )
    with client:
        started = trigger_scan.sync_detailed(client=client, body=TriggerScanBody(scan_definition=DEFINITION))
        assert started.status_code == 201
        scan_id = started.headers["X-Soda-Scan-Id"]
        states: list[str] = []
        while not states or states[-1] not in TERMINAL:
            polled = get_scan_status.sync(scan_id, client=client)
            assert isinstance(polled, PublicApiScanStatusResponse)
            states.append(str(polled.state))
        page = get_scan_logs.sync(scan_id, client=client, page=0, size=100)
    assert states == ["executing", "started", "completed"]
    assert isinstance(page, PublicApiScanLogsResponse)
    assert (page.first, page.last, page.total_elements) == (True, True, 4)


# -- lifecycle ------------------------------------------------------------------------------------


def test_lifecycle__states_and_final_states_are_the_seeds(emu: Emulator) -> None:
    assert set(emu.lifecycle.states) == set(STATES)
    assert emu.lifecycle.terminal == frozenset(TERMINAL)
    assert emu.lifecycle.initial == "queuing"
    cancelable = {s for s in STATES if emu.lifecycle.after_action(s, "cancel")}
    assert cancelable == {"queuing", "executing", "started"}  # the cancel doc's `pending` and `submitted`


def test_get_scan_status__polled_to_completed_along_legal_transitions(
    emu: Emulator, http: httpx.Client
) -> None:
    scan_id = trigger(http)
    views = []
    for _ in range(10):
        views.append(status(http, scan_id))
        if views[-1]["state"] in TERMINAL:
            break
    states = [v["state"] for v in views]
    assert states == ["executing", "started", "completed"]
    assert_legal(emu, ["queuing", *states])
    assert all(emu.lifecycle.is_direct(a, b) for a, b in itertools.pairwise(history(http, scan_id)))
    # `ended` is present iff the scan is final: prefect-soda-cloud's end test (vendor-notes §5 FACT).
    assert [("ended" in v) for v in views] == [False, False, True]
    assert all(nulls(v) == [] for v in views)
    assert [("agentId" in v, "submitted" in v) for v in views] == [(True, True)] * 3


@pytest.mark.parametrize(
    ("progression", "expected"),
    [
        ({"outcome": "failure"}, ["failed"]),  # never picked up: "the scan did not start"
        ({"outcome": "timeout"}, ["executing", "timeOutRequested", "timedOut"]),
        ({"outcome": "hang"}, ["executing", "started", "started", "started"]),
        ({"final": "completedWithWarnings"}, ["executing", "started", "completedWithWarnings"]),
        ({"final": "completedWithFailures"}, ["executing", "started", "completedWithFailures"]),
        ({"final": "completedWithErrors"}, ["executing", "started", "completedWithErrors"]),
        ({"mode": "immediate"}, ["completed"]),
    ],
)
def test_get_scan_status__progression_outcomes(
    emu: Emulator, http: httpx.Client, progression: dict[str, Any], expected: list[str]
) -> None:
    control(http, "PUT", "/progression", progression)
    scan_id = trigger(http)
    observed = [status(http, scan_id)["state"] for _ in expected]
    assert observed == expected
    assert_legal(emu, ["queuing", *observed])
    view = status(http, scan_id)
    assert ("ended" in view) == (observed[-1] in TERMINAL)


@pytest.mark.parametrize(
    ("final", "counts", "statuses"),
    [
        ("completed", (0, 0, 0), ["pass", "pass"]),
        ("completedWithWarnings", (0, 0, 1), ["pass", "warn"]),
        ("completedWithFailures", (0, 1, 1), ["pass", "fail", "warn"]),
        ("completedWithErrors", (1, 0, 0), ["pass", "notEvaluated"]),
    ],
)
def test_get_scan_status__counts_agree_with_the_completed_variant(
    http: httpx.Client, final: str, counts: tuple[int, int, int], statuses: list[str]
) -> None:
    control(http, "PUT", "/progression", {"mode": "immediate", "final": final})
    view = status(http, trigger(http))
    assert view["state"] == final
    assert (view["errors"], view["failures"], view["warnings"]) == counts
    assert [c["evaluationStatus"] for c in view["checks"]] == statuses == CHECKS_BY_STATE[final]
    assert len({c["id"] for c in view["checks"]}) == len(statuses)


def test_get_scan_status__failed_before_pickup_has_no_runner_fields(http: httpx.Client) -> None:
    control(http, "PUT", "/progression", {"outcome": "failure"})
    view = status(http, trigger(http))
    assert view["state"] == "failed" and view["ended"] == T0
    for absent in ("agentId", "runnerId", "submitted", "started", "checks", "errors"):
        assert absent not in view


def test_get_scan_status__reads_mode_moves_every_n_polls(http: httpx.Client) -> None:
    control(http, "PUT", "/progression", {"mode": "reads", "every": 2})
    scan_id = trigger(http)
    states = [status(http, scan_id)["state"] for _ in range(6)]
    assert states == ["queuing", "executing", "executing", "started", "started", "completed"]


def test_get_scan_status__seconds_mode_follows_the_clock(emu: Emulator, http: httpx.Client) -> None:
    control(http, "PUT", "/progression", {"mode": "seconds", "every": 30})
    scan_id = trigger(http)
    assert status(http, scan_id)["state"] == "queuing"
    control(http, "POST", "/clock", {"advance": 29.9})
    assert status(http, scan_id)["state"] == "queuing"
    control(http, "POST", "/clock", {"advance": 0.1})
    view = status(http, scan_id)
    assert (view["state"], view["submitted"]) == ("executing", "2024-03-22T19:56:51.000Z")
    control(http, "POST", "/clock", {"advance": 30})
    assert status(http, scan_id)["started"] == "2024-03-22T19:57:21.000Z"
    control(http, "POST", "/clock", {"advance": 30})
    done = status(http, scan_id)
    assert (done["state"], done["started"], done["ended"]) == (
        "completed",
        "2024-03-22T19:57:21.000Z",
        "2024-03-22T19:57:51.000Z",
    )


def test_get_scan_status__manual_mode_moves_only_through_control(http: httpx.Client) -> None:
    control(http, "PUT", "/progression", {"mode": "manual"})
    scan_id = trigger(http)
    assert [status(http, scan_id)["state"] for _ in range(3)] == ["queuing"] * 3
    control(http, "POST", f"/scans/{scan_id}/advance", {"steps": 2})
    assert status(http, scan_id)["state"] == "started"
    control(http, "POST", f"/scans/{scan_id}/advance", {"steps": 5})  # stops at the end of the road
    assert [status(http, scan_id)["state"] for _ in range(2)] == ["completed"] * 2
    assert history(http, scan_id) == ["queuing", "executing", "started", "completed"]


def test_get_scan_status__terminal_scan_never_moves(http: httpx.Client) -> None:
    scan_id = control(http, "POST", "/scenario", {"name": "one_completed_scan"}, status=201)["result"][
        "scanId"
    ]
    views = [status(http, scan_id) for _ in range(4)]
    assert {v["state"] for v in views} == {"completed"}
    assert all(v == views[0] for v in views)


@pytest.mark.parametrize("state", STATES)
def test_get_scan_status__seeded_state_omits_unset_fields_and_ends_iff_final(
    http: httpx.Client, state: str
) -> None:
    view = status(http, seed(http, state, progression={"mode": "manual"}))
    assert view["state"] == state
    assert nulls(view) == []  # unset fields are omitted, never null (vendor-notes §5)
    assert ("ended" in view) == (state in TERMINAL)
    assert ("checks" in view) == state.startswith("completed")
    assert {"id", "cloudUrl", "created", "state"} <= set(view)


def test_get_scan_status__executing_scan_has_a_started_timestamp(http: httpx.Client) -> None:
    view = status(http, trigger(http))
    assert view["state"] == "executing"
    assert view["started"] == T0


def test_scenario__one_completed_scan_has_the_fields_of_a_run_scan(http: httpx.Client) -> None:
    scan_id = control(http, "POST", "/scenario", {"name": "one_completed_scan"}, status=201)["result"][
        "scanId"
    ]
    view = status(http, scan_id)
    assert view["state"] == "completed"
    assert {"submitted", "started", "ended", "agentId", "runnerId"} <= set(view)


# -- cancel ---------------------------------------------------------------------------------------


def test_cancel_scan__queuing_scan_is_canceled_at_once(http: httpx.Client) -> None:
    control(http, "PUT", "/progression", {"mode": "manual"})
    scan_id = trigger(http)
    response = http.delete(f"/api/v1/scans/{scan_id}")
    assert response.status_code == 200 and response.content == b""
    assert response.headers["location"] == f"http://127.0.0.1/api/v1/scans/{scan_id}"
    view = status(http, scan_id)
    assert (view["state"], view["ended"]) == ("canceled", T0)
    assert "agentId" not in view and "started" not in view
    assert logs(http, scan_id)["content"][-1]["level"] == "warning"


@pytest.mark.parametrize("state", ["executing", "started"])
def test_cancel_scan__running_scan_asks_the_runner_then_is_canceled(
    emu: Emulator, http: httpx.Client, state: str
) -> None:
    scan_id = seed(http, state)
    assert http.delete(f"/api/v1/scans/{scan_id}").status_code == 200
    assert emu.engine.get(scan_id).state == "cancelationRequested"
    observed = [status(http, scan_id) for _ in range(3)]
    assert [v["state"] for v in observed] == ["canceled"] * 3
    assert_legal(emu, [state, "cancelationRequested", "canceled"])
    assert history(http, scan_id)[-3:] == [state, "cancelationRequested", "canceled"]


def test_cancel_scan__cancelation_requested_is_shown_without_ended(http: httpx.Client) -> None:
    scan_id = control(http, "POST", "/scenario", {"name": "one_running_scan"}, status=201)["result"]["scanId"]
    assert http.delete(f"/api/v1/scans/{scan_id}").status_code == 200
    view = status(http, scan_id)  # manual progression: stays until the runner confirms
    assert view["state"] == "cancelationRequested" and "ended" not in view
    control(http, "POST", f"/scans/{scan_id}/advance")
    assert status(http, scan_id)["state"] == "canceled"


@pytest.mark.parametrize("state", [s for s in STATES if s not in ("queuing", "executing", "started")])
def test_cancel_scan__other_states_refused_with_400(emu: Emulator, http: httpx.Client, state: str) -> None:
    scan_id = seed(http, state, progression={"mode": "manual"})
    assert emu.lifecycle.after_action(state, "cancel") is None
    message = assert_soda_error(http.delete(f"/api/v1/scans/{scan_id}"), 400, "bad_request")
    assert state in message
    assert emu.engine.get(scan_id).state == state


def test_cancel_scan__twice_second_is_refused(http: httpx.Client) -> None:
    control(http, "PUT", "/progression", {"mode": "manual"})
    scan_id = trigger(http)
    assert http.delete(f"/api/v1/scans/{scan_id}").status_code == 200
    assert "canceled" in assert_soda_error(http.delete(f"/api/v1/scans/{scan_id}"), 400, "bad_request")


# -- logs -----------------------------------------------------------------------------------------


def test_get_scan_logs__one_page_by_default(http: httpx.Client) -> None:
    scan_id = trigger(http)
    poll_until_terminal(http, scan_id)
    page = logs(http, scan_id)
    assert {k: v for k, v in page.items() if k != "content"} == {
        "first": True,
        "last": True,
        "number": 0,
        "size": 1000,
        "totalElements": 4,
        "totalPages": 1,
    }
    assert [line["index"] for line in page["content"]] == [0, 1, 2, 3]
    assert [line["message"].split()[2] for line in page["content"]] == [
        "queuing",
        "executing",
        "started",
        "completed",
    ]
    assert {line["level"] for line in page["content"]} == {"info"}


def test_get_scan_logs__pages_are_zero_based_until_last(http: httpx.Client) -> None:
    result = control(http, "POST", "/scenario", {"name": "long_log"}, status=201)["result"]
    scan_id, total = result["scanId"], result["logLines"]
    assert total > 200
    pages = []
    for number in itertools.count():
        pages.append(logs(http, scan_id, page=number, size=100))
        if pages[-1]["last"]:
            break
    assert [p["number"] for p in pages] == [0, 1, 2]
    assert [(p["first"], p["last"]) for p in pages] == [(True, False), (False, False), (False, True)]
    assert {(p["size"], p["totalElements"], p["totalPages"]) for p in pages} == {(100, total, 3)}
    assert [len(p["content"]) for p in pages] == [100, 100, total - 200]
    lines = [line for p in pages for line in p["content"]]
    assert [line["index"] for line in lines] == list(range(total))
    assert lines == logs(http, scan_id, size=1000)["content"]


@pytest.mark.parametrize("size", [100, 1000])
def test_get_scan_logs__size_bounds_accepted(http: httpx.Client, size: int) -> None:
    scan_id = control(http, "POST", "/scenario", {"name": "long_log"}, status=201)["result"]["scanId"]
    page = logs(http, scan_id, size=size)
    assert page["size"] == size and len(page["content"]) == min(size, page["totalElements"])


def test_get_scan_logs__page_beyond_the_end_is_empty_and_last(http: httpx.Client) -> None:
    scan_id = control(http, "POST", "/scenario", {"name": "long_log"}, status=201)["result"]["scanId"]
    page = logs(http, scan_id, page=7, size=100)
    assert (page["content"], page["first"], page["last"], page["number"]) == ([], False, True, 7)


def test_get_scan_logs__sorted_by_timestamp_ascending(emu: Emulator, http: httpx.Client) -> None:
    control(http, "PUT", "/progression", {"mode": "seconds", "every": 10})
    scan_id = trigger(http)
    for _ in range(3):
        clock(emu).advance(10)
        status(http, scan_id)
    stamps = [line["timestamp"] for line in logs(http, scan_id)["content"]]
    assert len(stamps) == 4 and len(set(stamps)) == 4
    assert stamps == sorted(stamps)


def test_get_scan_logs__reading_logs_does_not_progress_the_scan(http: httpx.Client) -> None:
    scan_id = trigger(http)
    for _ in range(3):
        logs(http, scan_id)
    assert status(http, scan_id)["state"] == "executing"


# -- auth and isolation ---------------------------------------------------------------------------

BAD_AUTH: dict[str, dict[str, Any]] = {
    "none": {},
    "wrong-secret": {"auth": (ACME[0], "not-the-secret")},
    "other-accounts-key-id": {"auth": (GLOBEX[0], ACME[1])},
    "unknown-key-id": {"auth": ("nobody", ACME[1])},
    "secret-as-bearer": {"headers": {"Authorization": f"Bearer {ACME[1]}"}},
    "not-base64": {"headers": {"Authorization": "Basic !!!"}},
    "no-colon": {"headers": {"Authorization": "Basic YWNtZS1rZXktaWQ="}},  # base64("acme-key-id")
    "empty-basic": {"headers": {"Authorization": "Basic "}},
}


@pytest.mark.parametrize(("method", "path", "form"), OPERATIONS)
@pytest.mark.parametrize("how", ["none", "wrong-secret"])
def test_every_operation__bad_credentials_get_soda_401(
    http: httpx.Client, anon: httpx.Client, method: str, path: str, form: Any, how: str
) -> None:
    control(http, "PUT", "/progression", {"mode": "manual"})
    scan_id = trigger(http)
    response = anon.request(method, path.format(id=scan_id), data=form, **BAD_AUTH[how])
    assert_soda_error(response, 401, "unauthorized")
    assert scan_count(http) == 1
    assert control(http, "GET", f"/scans/{scan_id}")["state"] == "queuing"


@pytest.mark.parametrize("how", list(BAD_AUTH))
def test_get_scan_status__every_kind_of_bad_credentials_gets_soda_401(
    http: httpx.Client, anon: httpx.Client, how: str
) -> None:
    scan_id = trigger(http)
    assert_soda_error(anon.get(f"/api/v1/scans/{scan_id}", **BAD_AUTH[how]), 401, "unauthorized")
    assert control(http, "GET", f"/scans/{scan_id}")["reads"] == 0


def test_get_scan_status__unknown_scan_without_credentials_is_401_not_404(anon: httpx.Client) -> None:
    assert_soda_error(anon.get("/api/v1/scans/nope"), 401, "unauthorized")


def test_every_operation__other_accounts_scan_is_not_found_and_untouched(
    http: httpx.Client, anon: httpx.Client
) -> None:
    scan_id = trigger(http)
    for method, path in [("GET", "/api/v1/scans/{id}"), ("GET", "/api/v1/scans/{id}/logs")] * 2 + [
        ("DELETE", "/api/v1/scans/{id}")
    ]:
        response = anon.request(method, path.format(id=scan_id), auth=GLOBEX)
        assert scan_id in assert_soda_error(response, 404, "not_found")
    assert status(http, scan_id)["state"] == "executing"  # globex's reads did not count, nor its cancel


def test_every_operation__seeded_globex_scan_is_globex_only(http: httpx.Client, anon: httpx.Client) -> None:
    scan_id = seed(http, "started", account="globex", progression={"mode": "manual"})
    assert_soda_error(http.get(f"/api/v1/scans/{scan_id}"), 404, "not_found")
    assert anon.get(f"/api/v1/scans/{scan_id}", auth=GLOBEX).json()["agentId"] == "runner-globex"


@pytest.mark.parametrize(
    "scan_id", ["nope", "0", "00000000-0000-0000-0000-000000000000", "x" * 500, "a%20b", "%E2%80%A6"]
)
def test_get_scan_status__unknown_id_is_404(http: httpx.Client, scan_id: str) -> None:
    assert_soda_error(http.get(f"/api/v1/scans/{scan_id}"), 404, "not_found")
    assert_soda_error(http.get(f"/api/v1/scans/{scan_id}/logs"), 404, "not_found")
    assert_soda_error(http.delete(f"/api/v1/scans/{scan_id}"), 404, "not_found")


@pytest.mark.parametrize("mangle", ["{id}%0A", "%09{id}", "{head}%0D%0A{tail}"])
def test_get_scan_status__id_with_control_characters_is_not_another_scan(
    http: httpx.Client, mangle: str
) -> None:
    scan_id = trigger(http)
    path = "/api/v1/scans/" + mangle.format(id=scan_id, head=scan_id[:8], tail=scan_id[8:])
    assert_soda_error(http.get(path), 404, "not_found")


# -- bad input ------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("kwargs", "fragment"),
    [
        ({}, "body"),
        ({"data": {"dataTimestamp": "2023-12-31T10:15:30+01:00"}}, "scanDefinition"),
        ({"json": {"scanDefinition": DEFINITION}}, "application/json"),
        ({"data": {"scanDefinition": DEFINITION, "dataTimestamp": "yesterday"}}, "dataTimestamp"),
        ({"content": b"scanDefinition=x", "headers": {"Content-Type": "text/plain"}}, "text/plain"),
        ({"content": b"\xff\xfe", "headers": {"Content-Type": "application/x-www-form-urlencoded"}}, ""),
    ],
    ids=[
        "no-body",
        "no-scan-definition",
        "json-body",
        "bad-data-timestamp",
        "text-plain",
        "undecodable",
    ],
)
def test_trigger_scan__bad_body_is_400_and_creates_nothing(
    http: httpx.Client, kwargs: dict[str, Any], fragment: str
) -> None:
    message = assert_soda_error(http.post("/api/v1/scans", **kwargs), 400, "bad_request")
    assert fragment in message
    assert scan_count(http) == 0


@pytest.mark.parametrize("definition", ["", "   "])
def test_trigger_scan__empty_scan_definition_follows_the_spec(http: httpx.Client, definition: str) -> None:
    # Issue 15 #10: the spec's scanDefinition is a string without minLength; the emulator no longer adds a
    # rule of its own (it answered 400), the spec decides.
    response = http.post("/api/v1/scans", data={"scanDefinition": definition})
    assert response.status_code == 201
    assert scan_count(http) == 1


@pytest.mark.parametrize(
    "query", ["page=-1", "page=abc", "page=1.5", "size=99", "size=1001", "size=0", "size=-5", "size=abc"]
)
def test_get_scan_logs__bad_page_or_size_is_400(http: httpx.Client, query: str) -> None:
    scan_id = trigger(http)
    message = assert_soda_error(http.get(f"/api/v1/scans/{scan_id}/logs?{query}"), 400, "bad_request")
    assert query.split("=")[0] in message


@pytest.mark.parametrize(
    ("method", "path", "kwargs"),
    [
        ("POST", "/api/v1/scans", {}),
        ("POST", "/api/v1/scans", {"data": {"dataTimestamp": "2023-12-31T10:15:30+01:00"}}),
        ("GET", "/api/v1/scans/{id}/logs", {"params": {"page": "abc"}}),
        ("GET", "/api/v1/scans/{id}/logs", {"params": {"size": "0"}}),
    ],
    ids=["post-no-body", "post-no-scan-definition", "logs-page-abc", "logs-size-0"],
)
def test_every_operation__without_request_validation_bad_input_is_400_not_500(
    method: str, path: str, kwargs: dict[str, Any]
) -> None:
    # Built by hand: the fixture would (rightly) fail the test at teardown on the handler crash.
    emu = build_emulator("soda", clock=ManualClock(), settings=EmulatorSettings(validate_requests=False))
    try:
        with httpx.Client(transport=SyncASGITransport(emu), base_url="http://127.0.0.1", auth=ACME) as http:
            scan_id = trigger(http)
            response = http.request(method, path.format(id=scan_id), **kwargs)
            assert_soda_error(response, 400, "bad_request")
            assert emu.errors == []
    finally:
        emu.store.close()


def test_unknown_route__soda_404_and_405(http: httpx.Client) -> None:
    for path in ("/api/v1/nothing", "/api/v2/scans", "/api/v1/scans/a/b/c", "/"):
        assert_soda_error(http.get(path), 404, "not_found")
    response = http.put("/api/v1/scans")
    assert_soda_error(response, 405, "method_not_allowed")
    assert response.headers["allow"] == "POST"
    response = http.patch("/api/v1/scans/some-id")
    assert_soda_error(response, 405, "method_not_allowed")
    assert response.headers["allow"] == "DELETE, GET"
    assert scan_count(http) == 0


# -- rate limits ----------------------------------------------------------------------------------

# Per operation, per account (seed: status and logs 60/60 s, cancel 10/60 s; [SODA-SPEC]: trigger
# 10/60 s, test-login 10/10 s).
LIMITS = [
    ("POST", "/api/v1/scans", 10, 60, 201),
    ("GET", "/api/v1/scans/{id}", 60, 60, 200),
    ("DELETE", "/api/v1/scans/{id}", 10, 60, 400),  # a refused cancel still counts
    ("GET", "/api/v1/scans/{id}/logs", 60, 60, 200),
    ("GET", "/api/v1/test-login", 10, 10, 200),
]


@pytest.mark.parametrize(("method", "path", "limit", "window", "ok"), LIMITS)
def test_every_operation__rate_limit_from_the_spec(
    emu: Emulator, http: httpx.Client, method: str, path: str, limit: int, window: int, ok: int
) -> None:
    key = f"{method} {path.replace('{id}', '{scanId}')}"
    assert emu.operations[key]["x-rate-limit"] == {"requests": limit, "per-seconds": window}
    scan_id = control(http, "POST", "/scenario", {"name": "one_completed_scan"}, status=201)["result"][
        "scanId"
    ]
    url, form = path.format(id=scan_id), {"scanDefinition": DEFINITION} if method == "POST" else None
    codes = [http.request(method, url, data=form).status_code for _ in range(limit)]
    assert codes == [ok] * limit
    limited = http.request(method, url, data=form)
    assert_soda_error(limited, 429, "too_many_requests")
    # Soda documents no Retry-After or X-RateLimit-* header (vendor-notes §5).
    assert not [h for h in limited.headers if h.startswith("x-ratelimit") or h == "retry-after"]
    clock(emu).advance(window)
    assert http.request(method, url, data=form).status_code == ok


def test_get_scan_status__rate_limit_is_per_account_and_per_operation(
    http: httpx.Client, anon: httpx.Client
) -> None:
    scan_id = trigger(http)
    assert [http.get("/api/v1/test-login").status_code for _ in range(11)] == [200] * 10 + [429]
    assert anon.get("/api/v1/test-login", auth=GLOBEX).status_code == 200
    assert status(http, scan_id)["state"] == "executing"
    assert logs(http, scan_id)["totalElements"] == 2


def test_get_scan_status__rate_limited_poll_does_not_progress_the_scan(http: httpx.Client) -> None:
    control(http, "PUT", "/progression", {"mode": "manual"})
    scan_id = trigger(http)
    for _ in range(60):
        status(http, scan_id)
    control(http, "PATCH", f"/scans/{scan_id}", {"progression": {"mode": "reads"}})
    assert_soda_error(http.get(f"/api/v1/scans/{scan_id}"), 429, "too_many_requests")
    assert control(http, "GET", f"/scans/{scan_id}")["state"] == "queuing"
    control(http, "POST", "/clock", {"advance": 60})
    assert status(http, scan_id)["state"] == "executing"  # the same poll, allowed, moves it


def test_test_login__bad_credentials_do_not_spend_the_accounts_limit(
    http: httpx.Client, anon: httpx.Client
) -> None:
    for _ in range(15):
        assert anon.get("/api/v1/test-login", auth=(ACME[0], "wrong")).status_code == 401
    assert [http.get("/api/v1/test-login").status_code for _ in range(11)] == [200] * 10 + [429]


def test_every_operation__rate_limits_switch_off(http: httpx.Client) -> None:
    assert control(http, "PATCH", "/settings", {"rate_limits": False})["rate_limits"] is False
    assert {http.get("/api/v1/test-login").status_code for _ in range(25)} == {200}
    assert len({trigger(http) for _ in range(15)}) == 15
    control(http, "PATCH", "/settings", {"rate_limits": True})
    assert [http.get("/api/v1/test-login").status_code for _ in range(11)] == [200] * 10 + [429]


# -- faults ---------------------------------------------------------------------------------------


def inject(http: httpx.Client, **fault: Any) -> None:
    control(http, "POST", "/faults", fault, status=201)


@pytest.mark.parametrize(
    ("code", "name"),
    [
        (400, "bad_request"),
        (403, "forbidden"),
        (404, "not_found"),
        (429, "too_many_requests"),
        (500, "internal_error"),
        (502, "bad_gateway"),
        (503, "service_unavailable"),
    ],
)
def test_get_scan_status__injected_status_fault_in_soda_envelope(
    http: httpx.Client, code: int, name: str
) -> None:
    scan_id = seed(http, "executing")
    inject(http, kind="status", status=code, retry_after=5)
    response = http.get(f"/api/v1/scans/{scan_id}")
    assert_soda_error(response, code, name)
    assert "retry-after" not in response.headers  # Soda documents none (vendor-notes §5)
    assert control(http, "GET", f"/scans/{scan_id}")["reads"] == 0
    assert status(http, scan_id)["state"] == "started"


@pytest.mark.parametrize(("method", "path", "form"), OPERATIONS)
def test_every_operation__injected_status_fault_answers_and_changes_nothing(
    http: httpx.Client, method: str, path: str, form: Any
) -> None:
    scan_id = seed(http, "started", progression={"mode": "manual"})
    inject(http, kind="status", status=503)
    assert_soda_error(http.request(method, path.format(id=scan_id), data=form), 503, "service_unavailable")
    assert scan_count(http) == 1
    assert control(http, "GET", f"/scans/{scan_id}")["state"] == "started"  # nothing happened
    assert http.request(method, path.format(id=scan_id), data=form).status_code < 400


def test_get_scan_status__fault_consumes_no_read(http: httpx.Client) -> None:
    scan_id = trigger(http)
    inject(http, kind="status", status=500, count=3)
    assert [http.get(f"/api/v1/scans/{scan_id}").status_code for _ in range(3)] == [500] * 3
    assert status(http, scan_id)["state"] == "executing"


def test_get_scan_status__timeout_fault_is_504(http: httpx.Client) -> None:
    scan_id = trigger(http)
    inject(http, kind="timeout", seconds=0)
    assert_soda_error(http.get(f"/api/v1/scans/{scan_id}"), 504, "gateway_timeout")
    assert control(http, "GET", f"/scans/{scan_id}")["state"] == "queuing"


def test_get_scan_status__delay_fault_answers_late_but_normally(http: httpx.Client) -> None:
    scan_id = trigger(http)
    inject(http, kind="delay", seconds=0.2)
    began = time.monotonic()
    view = status(http, scan_id)
    assert time.monotonic() - began >= 0.2
    assert view["state"] == "executing"


@pytest.mark.parametrize(
    ("variant", "starts", "media"),
    [
        ("truncated", b'{"id":', "application/json"),
        ("html", b"<html>", "text/html"),
        ("empty", b"", "application/json"),
    ],
)
def test_get_scan_status__malformed_fault(
    http: httpx.Client, variant: str, starts: bytes, media: str
) -> None:
    scan_id = trigger(http)
    inject(http, kind="malformed", variant=variant)
    response = http.get(f"/api/v1/scans/{scan_id}")
    assert response.status_code == 200 and response.content.startswith(starts)
    assert response.headers["content-type"].startswith(media)
    with pytest.raises(ValueError):
        response.json()
    assert status(http, scan_id)["state"] == "started"  # the malformed answer was a real read


@pytest.mark.parametrize(("method", "path", "form"), OPERATIONS)
def test_every_operation__expired_auth_fault_is_soda_401(
    http: httpx.Client, method: str, path: str, form: Any
) -> None:
    scan_id = seed(http, "started", progression={"mode": "manual"})
    inject(http, kind="expired_auth")
    assert_soda_error(http.request(method, path.format(id=scan_id), data=form), 401, "unauthorized")
    assert http.request(method, path.format(id=scan_id), data=form).status_code < 400


def test_cancel_scan__fault_targets_one_operation(http: httpx.Client) -> None:
    scan_id = seed(http, "started", progression={"mode": "manual"})
    inject(http, kind="status", status=503, operation="cancelScan", count=2)
    assert status(http, scan_id)["state"] == "started"
    assert [http.delete(f"/api/v1/scans/{scan_id}").status_code for _ in range(3)] == [503, 503, 200]
    assert status(http, scan_id)["state"] == "cancelationRequested"


# -- scenarios, coverage, persistence ---------------------------------------------------------------


def test_scenario__listed(http: httpx.Client) -> None:
    assert control(http, "GET", "/scenarios") == sorted(Plugin.scenarios)
    assert set(Plugin.scenarios) == {
        "one_completed_scan",
        "one_running_scan",
        "long_log",
        "queue_stalled",
        "large_catalogue",
    }


def test_scenario__one_running_scan_waits_for_the_control_api(http: httpx.Client) -> None:
    scan_id = control(http, "POST", "/scenario", {"name": "one_running_scan"}, status=201)["result"]["scanId"]
    assert [status(http, scan_id)["state"] for _ in range(3)] == ["started"] * 3
    control(http, "POST", f"/scans/{scan_id}/advance")
    assert status(http, scan_id)["state"] == "completed"


def test_scenario__queue_stalled_keeps_new_scans_queuing(http: httpx.Client) -> None:
    control(http, "POST", "/scenario", {"name": "queue_stalled"}, status=201)
    scan_id = trigger(http)
    views = [status(http, scan_id) for _ in range(4)]
    assert {v["state"] for v in views} == {"queuing"}
    assert all("agentId" not in v for v in views)
    assert http.delete(f"/api/v1/scans/{scan_id}").status_code == 200
    assert status(http, scan_id)["state"] == "canceled"


def test_coverage__every_spec_operation_is_routed(emu: Emulator, http: httpx.Client) -> None:
    coverage = control(http, "GET", "/coverage")
    assert coverage == {"implemented": sorted(emu.operations), "missing": []}
    assert len(coverage["implemented"]) == 23  # 5 scan + test-login operations, D1-D12, U1-U6


def test_restart__state_survives_on_a_sqlite_file(
    on_file: Callable[[str], tuple[Emulator, httpx.Client]],
) -> None:
    first, http = on_file("soda")
    control(http, "PUT", "/progression", {"mode": "reads", "every": 2})
    running = trigger(http)
    assert [status(http, running)["state"] for _ in range(2)] == ["queuing", "executing"]
    done = seed(http, "completed")
    globex = seed(http, "started", account="globex")
    before = status(http, done)
    http.close()
    first.store.close()

    _, http = on_file("soda")
    assert status(http, done) == before
    assert [status(http, running)["state"] for _ in range(2)] == ["executing", "started"]  # reads kept
    assert_soda_error(http.get(f"/api/v1/scans/{globex}"), 404, "not_found")
    assert control(http, "GET", "/progression") == {"mode": "reads", "every": 2, "outcome": "success"}
    fresh = trigger(http)
    assert fresh not in (running, done, globex)  # the id counter survived too
    assert scan_count(http) == 4
