"""The emulator core shared by every vendor: the SQLite store, the lifecycle engine, rate limits, faults,
the request pipeline and the control API. Pure units are tested directly, the rest through the Soda
emulator (the smallest vendor)."""

from __future__ import annotations

import itertools
import re
import sqlite3
import threading
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
import yaml
from starlette.responses import Response

from conformance.emulators.core import (
    BadRequestError,
    Call,
    Emulator,
    EmulatorSettings,
    IllegalTransitionError,
    ManualClock,
    Progression,
    ScanNotFoundError,
    Store,
    build_emulator,
)
from conformance.emulators.core.auth import Authenticator
from conformance.emulators.core.control import CONTROL_OPENAPI, control_routes
from conformance.emulators.core.faults import Fault, FaultQueue
from conformance.emulators.core.plugin import plugin_for
from conformance.emulators.core.ratelimit import RateLimiter, Verdict
from conformance.emulators.core.transport import SyncASGITransport
from conformance.emulators.soda import Plugin as SodaPlugin
from scanwire.paths import layout

from .conftest import control, control_error
from .test_soda_emulator import STATES as SODA_STATES

ACME = (SodaPlugin.accounts["acme"]["key_id"], SodaPlugin.accounts["acme"]["secret"])
T0 = 1_711_137_381.0  # ManualClock's start
HTTP_METHODS = {"get", "put", "post", "delete", "options", "head", "patch", "trace"}


@pytest.fixture
def emu(soda_emulator: Emulator) -> Emulator:
    return soda_emulator


def trigger(http: httpx.Client) -> str:
    response = http.post("/api/v1/scans", data={"scanDefinition": "nightly"})
    assert response.status_code == 201, response.text
    return str(response.headers["x-soda-scan-id"])


def seed(http: httpx.Client, **body: Any) -> str:
    return str(control(http, "POST", "/scans", body, status=201)["id"])


def status_code_of(send: Callable[[], httpx.Response]) -> int:
    """The status a client sees; the in-process transport re-raises what a real server sends as a 500."""
    try:
        return send().status_code
    except Exception:  # any crash of the app is a server error, whatever its type
        return 500


# -- Store ----------------------------------------------------------------------------------------


@pytest.fixture
def store() -> Iterator[Store]:
    s = Store()
    yield s
    s.close()


def test_store_put__records_are_listed_in_insertion_order(store: Store) -> None:
    for name in ("c", "a", "b"):
        store.put("scan", name, "acme", {"name": name})
    assert [(r.id, r.seq) for r in store.list("scan")] == [("c", 1), ("a", 2), ("b", 3)]
    record = store.get("scan", "a")
    assert record is not None and (record.kind, record.account, record.data) == (
        "scan",
        "acme",
        {"name": "a"},
    )


def test_store_put__replacing_keeps_the_position_and_takes_the_new_data(store: Store) -> None:
    for name in ("x", "y", "z"):
        store.put("scan", name, "acme", {"v": 1})
    replaced = store.put("scan", "x", "globex", {"v": 2})
    assert replaced.seq == 1
    assert [(r.id, r.account, r.data) for r in store.list("scan")] == [
        ("x", "globex", {"v": 2}),
        ("y", "acme", {"v": 1}),
        ("z", "acme", {"v": 1}),
    ]
    assert store.count("scan") == 3


def test_store_list__filters_by_kind_and_account_and_pages(store: Store) -> None:
    for i in range(6):
        store.put("scan", f"s{i}", "acme" if i % 2 == 0 else "globex", {"i": i})
    store.put("config", "s0", "acme", {"other": "kind"})
    assert [r.id for r in store.list("scan", "acme")] == ["s0", "s2", "s4"]
    assert [r.id for r in store.list("scan", limit=2, offset=3)] == ["s3", "s4"]
    assert (store.count("scan"), store.count("scan", "globex"), store.count("config")) == (6, 3, 1)
    record = store.get("scan", "s0")
    assert record is not None and record.data == {"i": 0}
    assert store.get("scan", "nope") is None


def test_store_delete__one_record_or_a_whole_kind(store: Store) -> None:
    for i in range(3):
        store.put("scan", f"s{i}", "acme", {})
    store.put("config", "c", "acme", {})
    store.delete("scan", "s1")
    assert [r.id for r in store.list("scan")] == ["s0", "s2"]
    store.delete("scan")
    assert store.list("scan") == [] and store.count("config") == 1


def test_store_next_id__counts_per_name(store: Store) -> None:
    assert [store.next_id("a"), store.next_id("a"), store.next_id("b"), store.next_id("a")] == [1, 2, 1, 3]


def test_store_meta__default_and_round_trip(store: Store) -> None:
    assert store.meta_get("progression", {"mode": "reads"}) == {"mode": "reads"}
    store.meta_set("progression", {"mode": "manual", "every": 2})
    assert store.meta_get("progression") == {"every": 2, "mode": "manual"}


def test_store_transaction__an_error_rolls_back_every_write(store: Store) -> None:
    store.put("scan", "kept", "acme", {"v": 1})
    with pytest.raises(RuntimeError), store.transaction():
        store.put("scan", "new", "acme", {})
        store.put("scan", "kept", "acme", {"v": 2})
        store.next_id("ids")
        store.meta_set("k", 1)
        store.delete("scan", "kept")
        raise RuntimeError("boom")
    assert [(r.id, r.data) for r in store.list("scan")] == [("kept", {"v": 1})]
    assert store.meta_get("k") is None
    assert store.next_id("ids") == 1


def test_store_transaction__nested_blocks_join_the_outer_one(store: Store) -> None:
    with pytest.raises(ValueError), store.transaction():
        store.put("scan", "outer", "acme", {})
        with store.transaction():
            store.put("scan", "inner", "acme", {})
        raise ValueError("after the inner block finished")
    assert store.list("scan") == []
    with store.transaction():
        with store.transaction():
            store.put("scan", "inner", "acme", {})
        store.put("scan", "outer", "acme", {})
    assert [r.id for r in store.list("scan")] == ["inner", "outer"]


def test_store_transaction__usable_again_after_a_rollback(store: Store) -> None:
    for _ in range(3):
        with pytest.raises(KeyError), store.transaction():
            store.put("scan", "x", "acme", {})
            raise KeyError("x")
    store.put("scan", "y", "acme", {})
    assert [r.id for r in store.list("scan")] == ["y"]


def test_store_clear__forgets_records_counters_and_meta(store: Store) -> None:
    store.put("scan", "x", "acme", {})
    store.next_id("ids")
    store.meta_set("k", True)
    store.clear()
    assert (store.count("scan"), store.meta_get("k"), store.next_id("ids")) == (0, None, 1)
    assert store.put("scan", "y", "acme", {}).seq == 1


def test_store_file__survives_reopen(tmp_path: Path) -> None:
    path = tmp_path / "deep" / "er" / "state.sqlite3"  # parent folders are created
    first = Store(path)
    first.put("scan", "x", "acme", {"state": "queuing", "nested": {"list": [1, 2]}})
    first.next_id("ids")
    first.meta_set("progression", {"mode": "manual"})
    first.close()
    second = Store(path)
    try:
        record = second.get("scan", "x")
        assert record is not None and (record.account, record.seq) == ("acme", 1)
        assert record.data == {"state": "queuing", "nested": {"list": [1, 2]}}
        assert second.meta_get("progression") == {"mode": "manual"}
        assert second.next_id("ids") == 2
        assert second.put("scan", "y", "acme", {}).seq == 2
    finally:
        second.close()


def test_store_file__two_stores_on_one_file_see_each_others_writes(tmp_path: Path) -> None:
    a, b = Store(tmp_path / "s.sqlite3"), Store(tmp_path / "s.sqlite3")
    try:
        a.put("scan", "from-a", "acme", {"v": 1})
        assert b.get("scan", "from-a") is not None
        b.put("scan", "from-a", "acme", {"v": 2})
        b.put("scan", "from-b", "globex", {})
        assert [(r.id, r.data) for r in a.list("scan")] == [("from-a", {"v": 2}), ("from-b", {})]
        assert [a.next_id("ids"), b.next_id("ids"), a.next_id("ids")] == [1, 2, 3]
        with pytest.raises(RuntimeError), a.transaction():
            a.put("scan", "rolled-back", "acme", {})
            raise RuntimeError
        assert b.get("scan", "rolled-back") is None
    finally:
        a.close()
        b.close()


def test_store_file__concurrent_writers_on_two_stores_lose_nothing(tmp_path: Path) -> None:
    stores = [Store(tmp_path / "s.sqlite3"), Store(tmp_path / "s.sqlite3")]
    ids: list[int] = []
    lock = threading.Lock()

    def work(store: Store, worker: int) -> None:
        for i in range(40):
            n = store.next_id("scan-ids")
            store.put("scan", f"w{worker}-{i}", "acme", {"n": n})
            with lock:
                ids.append(n)

    threads = [threading.Thread(target=work, args=(stores[w % 2], w)) for w in range(6)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    try:
        assert sorted(ids) == list(range(1, 241))
        assert stores[0].count("scan") == stores[1].count("scan") == 240
        assert sorted(r.seq for r in stores[1].list("scan")) == list(range(1, 241))
    finally:
        for s in stores:
            s.close()


def test_store_file__is_in_wal_mode(tmp_path: Path) -> None:
    Store(tmp_path / "s.sqlite3").close()
    with sqlite3.connect(tmp_path / "s.sqlite3") as db:
        assert db.execute("PRAGMA journal_mode").fetchone()[0] == "wal"


# -- engine, progression, clock, limits, faults (units) -------------------------------------------


@pytest.mark.parametrize(
    ("raw", "fragment"),
    [
        ({"mode": "sometimes"}, "progression.mode"),
        ({"every": 0}, "progression.every"),
        ({"every": True}, "progression.every"),
        ({"every": "2"}, "progression.every"),
        ({"outcome": "explode"}, "progression.outcome"),
        ({"final": "bogus"}, "'bogus' is not a state"),
        ({"final": "canceled"}, "not reachable without a client action"),
        ({"speed": 2}, "speed"),
        ("fast", "must be an object"),
    ],
)
def test_progression_parse__bad_values_name_the_field(emu: Emulator, raw: Any, fragment: str) -> None:
    with pytest.raises(BadRequestError) as caught:
        Progression.parse(raw, emu.lifecycle)
    assert fragment in caught.value.message


def test_progression_parse__defaults_and_round_trip(emu: Emulator) -> None:
    assert Progression.parse(None) == Progression("reads", 1.0, "success", None)
    parsed = Progression.parse(
        {"mode": "seconds", "every": 2.5, "final": "completedWithWarnings"}, emu.lifecycle
    )
    assert Progression.parse(parsed.to_dict(), emu.lifecycle) == parsed
    assert parsed.to_dict() == {
        "mode": "seconds",
        "every": 2.5,
        "outcome": "success",
        "final": "completedWithWarnings",
    }


def test_engine__rules_raise_domain_errors(emu: Emulator) -> None:
    scan = emu.engine.create("s1", "acme", {"logs": []}, progression={"mode": "manual"})
    assert scan.state == emu.lifecycle.initial == "queuing"
    with pytest.raises(BadRequestError, match="already exists"):
        emu.engine.create("s1", "acme", {})
    with pytest.raises(ScanNotFoundError):
        emu.engine.get("s1", "globex")
    with pytest.raises(ScanNotFoundError):
        emu.engine.read("nope")
    emu.engine.set_state("s1", "completed")
    with pytest.raises(IllegalTransitionError) as caught:
        emu.engine.act("s1", "acme", "cancel")
    assert (caught.value.state, caught.value.action) == ("completed", "cancel")
    with pytest.raises(BadRequestError, match="'done' is not a state"):
        emu.engine.set_state("s1", "done")
    assert emu.engine.get("s1").state == "completed"


def test_engine__road_follows_the_lifecycle(emu: Emulator) -> None:
    for state in ("queuing", "executing", "started"):
        scan = emu.engine.create(f"s-{state}", "acme", {"logs": []}, state=state)
        road = emu.engine.road(scan)
        assert road[-1] == "completed"
        assert all(emu.lifecycle.is_direct(a, b) for a, b in itertools.pairwise([state, *road]))


def test_engine_read__counts_reads_and_persists_them(emu: Emulator) -> None:
    emu.engine.create("s1", "acme", {"logs": []}, progression={"mode": "reads", "every": 3})
    assert [emu.engine.read("s1").state for _ in range(3)] == ["queuing", "queuing", "executing"]
    assert emu.engine.get("s1").reads == 0
    emu.engine.read("s1")
    assert emu.engine.get("s1").reads == 1


def test_engine_seconds_mode__catch_up_steps_are_stamped_when_due(emu: Emulator) -> None:
    emu.engine.create("s1", "acme", {"logs": []}, progression={"mode": "seconds", "every": 30})
    clock = emu.clock
    assert isinstance(clock, ManualClock)
    clock.advance(95)
    scan = emu.engine.read("s1")
    assert [h[:2] for h in scan.history] == [
        ["queuing", T0],
        ["executing", T0 + 30],
        ["started", T0 + 60],
        ["completed", T0 + 90],
    ]


def test_manual_clock__only_moves_forward() -> None:
    clock = ManualClock(start=100.0)
    assert (clock.now(), clock.advance(2.5), clock.now()) == (100.0, 102.5, 102.5)
    with pytest.raises(ValueError):
        clock.advance(-1)


def test_rate_limiter__per_operation_per_account_and_refilled(emu: Emulator) -> None:
    limiter = RateLimiter.from_spec(emu.spec, emu.operations)
    cancel, login = "DELETE /api/v1/scans/{scanId}", "GET /api/v1/test-login"

    def check(op: str, account: str, now: float) -> Verdict:
        verdict = limiter.check(op, account, "1.2.3.4", now, scope="account")
        assert verdict is not None
        return verdict

    verdicts = [check(cancel, "acme", 1000.0) for _ in range(11)]
    assert [v.allowed for v in verdicts] == [True] * 10 + [False]
    assert [v.remaining for v in verdicts[:10]] == list(range(9, -1, -1))
    assert verdicts[-1].retry_after is not None and verdicts[-1].retry_after > 0
    assert check(cancel, "globex", 1000.0).allowed and check(login, "acme", 1000.0).allowed
    assert limiter.check(cancel, "acme", "1.2.3.4", 1000.0, scope="ip") is None  # Soda has no IP bucket
    assert check(cancel, "acme", 1060.0).allowed
    limiter.reset()
    assert [check(cancel, "acme", 1000.0).allowed for _ in range(10)] == [True] * 10


def test_fault_queue__count_and_operation_matching() -> None:
    queue = FaultQueue()
    queue.add(Fault.parse({"kind": "status", "status": 503, "count": 2, "operation": "getScanStatus"}))
    queue.add(Fault.parse({"kind": "expired_auth"}))
    assert queue.pending() == [
        {"kind": "status", "count": 2, "status": 503, "variant": "truncated", "operation": "getScanStatus"},
        {"kind": "expired_auth", "count": 1, "variant": "truncated"},
    ]
    taken = [queue.take("GET /api/v1/scans/{scanId}", "getScanStatus") for _ in range(3)]
    assert [f.kind if f else None for f in taken] == ["status", "status", "expired_auth"]
    assert queue.take("GET /api/v1/scans/{scanId}", "getScanStatus") is None
    assert queue.pending() == []


@pytest.mark.parametrize(
    ("raw", "fragment"),
    [
        ({"kind": "explode"}, "fault.kind"),
        ({"kind": "status"}, "fault.status"),
        ({"kind": "status", "status": 200}, "fault.status"),
        ({"kind": "delay", "count": 0}, "fault.count"),
        ({"kind": "delay", "count": True}, "fault.count"),
        ({"kind": "delay", "seconds": -1}, "fault.seconds"),
        ({"kind": "malformed", "variant": "gzip"}, "fault.variant"),
        ({"kind": "delay", "colour": "red"}, "colour"),
        ([{"kind": "delay"}], "JSON object"),
    ],
)
def test_fault_parse__bad_faults_name_the_field(raw: Any, fragment: str) -> None:
    with pytest.raises(BadRequestError) as caught:
        Fault.parse(raw)
    assert fragment in caught.value.message


# -- the request pipeline (through Soda) ----------------------------------------------------------


def _boom(call: Call) -> Response:
    raise ZeroDivisionError("handler bug")


# Plugins whose routing table differs from Soda's in one entry (copies: Soda's own table stays intact).
_BROKEN_ROUTES = dict(SodaPlugin.routes)
_BROKEN_ROUTES["GET /api/v1/test-login"] = _boom


class _BrokenLoginPlugin(SodaPlugin):
    routes = _BROKEN_ROUTES


_SHORT_ROUTES = dict(SodaPlugin.routes)
del _SHORT_ROUTES["DELETE /api/v1/scans/{scanId}"]


class _MissingRoutePlugin(SodaPlugin):
    routes = _SHORT_ROUTES


def test_pipeline__handler_crash_is_a_vendor_500_and_is_recorded() -> None:
    emu = build_emulator(_BrokenLoginPlugin(), clock=ManualClock())
    try:
        with httpx.Client(transport=SyncASGITransport(emu), base_url="http://127.0.0.1", auth=ACME) as http:
            response = http.get("/api/v1/test-login")
            assert (response.status_code, response.json()) == (
                500,
                {"code": "internal_error", "message": "internal error"},
            )
            assert "handler bug" not in response.text and "Traceback" not in response.text
            assert trigger(http)  # the emulator goes on serving
            assert control(http, "GET", "/state")["errors"] == [
                "GET /api/v1/test-login: ZeroDivisionError: handler bug"
            ]
    finally:
        emu.store.close()


def test_pipeline__routes_must_match_the_spec() -> None:
    with pytest.raises(RuntimeError, match=r"missing \['DELETE /api/v1/scans/\{scanId\}'\]"):
        build_emulator(_MissingRoutePlugin())


def test_pipeline__response_validation_records_a_violation() -> None:
    emu = build_emulator("soda", clock=ManualClock(), settings=EmulatorSettings(validate_responses=True))
    try:
        with httpx.Client(transport=SyncASGITransport(emu), base_url="http://127.0.0.1", auth=ACME) as http:
            scan_id = trigger(http)
            scan = emu.engine.get(scan_id)
            scan.data["created"] = "yesterday"  # not a date-time: the spec's schema says otherwise
            emu.engine.save(scan)
            assert http.get(f"/api/v1/scans/{scan_id}").status_code == 200  # served all the same
            violations = control(http, "GET", "/state")["violations"]
            assert [(v["operation"], v["status"]) for v in violations] == [
                ("GET /api/v1/scans/{scanId}", 200)
            ]
            assert "created" in " ".join(violations[0]["problems"])
            control(http, "PATCH", "/settings", {"validate_responses": False})
            http.get(f"/api/v1/scans/{scan_id}")
            assert len(emu.violations) == 1
    finally:
        emu.store.close()


def test_pipeline__in_process_transport_serves_threads_concurrently(
    emu: Emulator, http: httpx.Client
) -> None:
    control(http, "PATCH", "/settings", {"rate_limits": False})
    ids: list[str] = []
    lock = threading.Lock()

    def work() -> None:
        mine = [trigger(http) for _ in range(10)]
        with lock:
            ids.extend(mine)

    threads = [threading.Thread(target=work) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(ids) == len(set(ids)) == 80
    assert sorted(s["id"] for s in control(http, "GET", "/scans")) == sorted(ids)


# -- control API ----------------------------------------------------------------------------------


def test_reset__forgets_scans_faults_progression_and_counters(
    emu: Emulator, http: httpx.Client, emu_client: Callable[..., httpx.Client]
) -> None:
    first_id = trigger(http)
    trigger(http)
    control(http, "POST", "/faults", {"kind": "status", "status": 500, "operation": "testLogin"}, status=201)
    control(http, "PUT", "/progression", {"mode": "manual"})
    for _ in range(10):
        http.get(f"/api/v1/scans/{first_id}")  # spend a rate-limited operation's budget
    assert control(http, "POST", "/reset") == {"reset": True}
    state = control(http, "GET", "/state")
    assert (state["scans"], state["faults"]) == ([], [])
    assert state["progression"] == {"mode": "reads", "every": 1, "outcome": "success"}
    assert http.get("/api/v1/test-login").status_code == 200  # the fault is gone
    assert trigger(http) == first_id  # ids start over
    assert [http.get(f"/api/v1/scans/{first_id}").status_code for _ in range(60)] == [200] * 60


def test_reset__restores_the_start_up_settings(http: httpx.Client) -> None:
    before = control(http, "GET", "/settings")
    control(http, "PATCH", "/settings", {"rate_limits": False, "validate_requests": False})
    control(http, "POST", "/reset")
    assert control(http, "GET", "/settings") == before


@pytest.mark.parametrize("state", SODA_STATES)
def test_seed_scan__in_any_state(emu: Emulator, http: httpx.Client, state: str) -> None:
    seeded = control(http, "POST", "/scans", {"state": state, "progression": {"mode": "manual"}}, status=201)
    assert (seeded["state"], seeded["account"], seeded["terminal"]) == (
        state,
        "acme",
        state in emu.lifecycle.terminal,
    )
    assert seeded["normalized"] == emu.lifecycle.normalize(state).value
    assert seeded["vendor"]["state"] == state
    assert http.get(f"/api/v1/scans/{seeded['id']}").json()["state"] == state
    assert control(http, "GET", f"/scans/{seeded['id']}")["history"][-1][0] == state


def test_seed_scan__for_another_account_and_listed_per_account(http: httpx.Client) -> None:
    mine, theirs = seed(http), seed(http, account="globex")
    assert [s["id"] for s in control(http, "GET", "/scans")] == [mine, theirs]
    assert [s["id"] for s in http.get("/_emulator/scans", params={"account": "globex"}).json()] == [theirs]
    assert http.get(f"/api/v1/scans/{theirs}").status_code == 404


def test_seed_scan__unknown_account_refused_naming_the_known_ones(http: httpx.Client) -> None:
    message = control_error(http.post("/_emulator/scans", json={"account": "initech"}))
    assert "initech" in message and "acme" in message and "globex" in message
    assert control(http, "GET", "/scans") == []


def test_seed_scan__unknown_state_refused_and_nothing_created(http: httpx.Client) -> None:
    assert "'bogus'" in control_error(http.post("/_emulator/scans", json={"state": "bogus"}))
    assert control(http, "GET", "/scans") == []


def test_patch_scan__unknown_state_refused_naming_it(http: httpx.Client) -> None:
    scan_id = seed(http, state="started")
    for bad in ("bogus", "Completed", ""):
        message = control_error(http.patch(f"/_emulator/scans/{scan_id}", json={"state": bad}))
        assert f"{bad!r} is not a state" in message
    # Not a string at all: refused by the control table's schema, naming the field and the type.
    assert control_error(http.patch(f"/_emulator/scans/{scan_id}", json={"state": 5})) == (
        "state: 5 is not of type 'string'"
    )
    assert control(http, "GET", f"/scans/{scan_id}")["state"] == "started"


def test_patch_scan__forces_state_and_progression(http: httpx.Client) -> None:
    scan_id = seed(http)
    patched = control(
        http, "PATCH", f"/scans/{scan_id}", {"state": "started", "progression": {"mode": "manual"}}
    )
    assert (patched["state"], patched["progression"]["mode"]) == ("started", "manual")
    assert [http.get(f"/api/v1/scans/{scan_id}").json()["state"] for _ in range(2)] == ["started"] * 2


@pytest.mark.parametrize(
    ("body", "fragment"),
    [
        ({"colour": "red"}, "colour"),
        ({"progression": {"mode": "warp"}}, "progression.mode"),
        (None, "JSON object body is required"),
    ],
)
def test_patch_scan__bad_body_refused(http: httpx.Client, body: Any, fragment: str) -> None:
    scan_id = seed(http, state="executing")
    assert fragment in control_error(http.patch(f"/_emulator/scans/{scan_id}", json=body))
    assert control(http, "GET", f"/scans/{scan_id}")["state"] == "executing"


@pytest.mark.parametrize(
    ("method", "path", "body"),
    [
        ("GET", "/scans/nope", None),
        ("PATCH", "/scans/nope", {"state": "started"}),
        ("POST", "/scans/nope/advance", {}),
    ],
)
def test_control__unknown_scan_is_404(http: httpx.Client, method: str, path: str, body: Any) -> None:
    assert "nope" in control_error(http.request(method, f"/_emulator{path}", json=body), 404)


CONTROL_BODIES = [
    ("POST", "/scans"),
    ("PATCH", "/scans/{id}"),
    ("POST", "/scans/{id}/advance"),
    ("PUT", "/progression"),
    ("POST", "/faults"),
    ("PATCH", "/settings"),
    ("POST", "/clock"),
    ("POST", "/scenario"),
]


@pytest.mark.parametrize(("method", "path"), CONTROL_BODIES)
@pytest.mark.parametrize(
    ("content", "fragment"),
    [
        (b"{not json", "not valid JSON"),
        (b'{"a": 1', "not valid JSON"),
        (b"\xff\xfe", "not valid JSON"),
        (b"[1, 2]", "JSON object"),
        (b'"text"', "JSON object"),
        (b"null", "JSON object"),
    ],
    ids=["garbage", "unterminated", "not-utf8", "array", "string", "null"],
)
def test_control__malformed_json_is_400_with_a_message(
    http: httpx.Client, method: str, path: str, content: bytes, fragment: str
) -> None:
    scan_id = seed(http, progression={"mode": "manual"})
    before = control(http, "GET", "/state")
    response = http.request(
        method,
        "/_emulator" + path.format(id=scan_id),
        content=content,
        headers={"Content-Type": "application/json"},
    )
    assert fragment in control_error(response)
    after = control(http, "GET", "/state")
    assert {k: after[k] for k in ("scans", "faults", "settings", "progression", "clock")} == {
        k: before[k] for k in ("scans", "faults", "settings", "progression", "clock")
    }


@pytest.mark.parametrize(
    ("method", "path", "body"),
    [
        ("POST", "/scans", {"account": ["acme"]}),
        ("POST", "/scans", {"state": ["queuing"]}),
        ("POST", "/scans", {"progression": {"final": ["completed"]}}),
        ("POST", "/scans", {"data": {"logs": "not a list"}}),
        ("PUT", "/progression", {"final": ["completed"]}),
    ],
    ids=["account-list", "state-list", "final-list", "logs-string", "default-final-list"],
)
def test_control__wrongly_typed_json_is_4xx_not_500(
    http: httpx.Client, method: str, path: str, body: Any
) -> None:
    assert status_code_of(lambda: http.request(method, f"/_emulator{path}", json=body)) == 400


@pytest.mark.parametrize("steps", [0, -1, 1.5, "2", True])
def test_advance__bad_steps_refused(http: httpx.Client, steps: Any) -> None:
    scan_id = seed(http, progression={"mode": "manual"})
    assert "steps" in control_error(http.post(f"/_emulator/scans/{scan_id}/advance", json={"steps": steps}))
    assert control(http, "GET", f"/scans/{scan_id}")["state"] == "queuing"


@pytest.mark.parametrize("body", [{"advance": -1}, {"advance": "10"}, {"advance": True}, {}])
def test_clock__bad_advance_refused(http: httpx.Client, body: dict[str, Any]) -> None:
    now = control(http, "GET", "/state")["clock"]
    assert "advance" in control_error(http.post("/_emulator/clock", json=body))
    assert control(http, "GET", "/state")["clock"] == now
    assert control(http, "POST", "/clock", {"advance": 1.5}) == {"now": now + 1.5}


def test_clock__refused_on_the_system_clock() -> None:
    emu = build_emulator("soda")
    try:
        with httpx.Client(transport=SyncASGITransport(emu), base_url="http://127.0.0.1") as http:
            assert "system clock" in control_error(http.post("/_emulator/clock", json={"advance": 1}))
    finally:
        emu.store.close()


@pytest.mark.parametrize(
    "body",
    [
        {"rate_limits": "no"},
        {"token_ttl": 0},
        {"token_ttl": True},
        {"colour": "red"},
        {"validate_requests": 1},
    ],
)
def test_settings__bad_values_refused_and_nothing_changed(http: httpx.Client, body: dict[str, Any]) -> None:
    before = control(http, "GET", "/settings")
    control_error(http.patch("/_emulator/settings", json=body))
    assert control(http, "GET", "/settings") == before


def test_progression__put_default_moves_every_scan_without_its_own(http: httpx.Client) -> None:
    early = trigger(http)
    assert control(http, "PUT", "/progression", {"mode": "manual"}) == {
        "mode": "manual",
        "every": 1,
        "outcome": "success",
    }
    late = seed(http, progression={"mode": "immediate"})
    manual = trigger(http)
    assert http.get(f"/api/v1/scans/{early}").json()["state"] == "queuing"  # created before the PUT
    assert http.get(f"/api/v1/scans/{late}").json()["state"] == "completed"
    assert http.get(f"/api/v1/scans/{manual}").json()["state"] == "queuing"


def test_scenario__unknown_name_refused_naming_the_known_ones(http: httpx.Client) -> None:
    assert control(http, "GET", "/scenarios") == sorted(SodaPlugin.scenarios)
    message = control_error(http.post("/_emulator/scenario", json={"name": "nope"}))
    assert "nope" in message and all(name in message for name in SodaPlugin.scenarios)
    assert control(http, "GET", "/scans") == []


def test_accounts__lists_the_plugins_credentials(http: httpx.Client) -> None:
    assert control(http, "GET", "/accounts") == {k: dict(v) for k, v in SodaPlugin.accounts.items()}


def test_state__shows_scans_settings_faults_and_clock(emu: Emulator, http: httpx.Client) -> None:
    scan_id = trigger(http)
    control(http, "POST", "/faults", {"kind": "delay", "seconds": 0, "count": 2}, status=201)
    state = control(http, "GET", "/state")
    assert state["vendor"] == "soda" and state["clock"] == T0
    (scan,) = state["scans"]
    assert (scan["id"], scan["account"], scan["state"], scan["reads"]) == (scan_id, "acme", "queuing", 0)
    assert scan["road"] == ["executing", "started", "completed"]
    assert scan["vendor"]["id"] == scan_id
    assert state["faults"] == [{"kind": "delay", "count": 2, "seconds": 0, "variant": "truncated"}]
    assert state["settings"]["rate_limits"] is True
    assert (state["violations"], state["errors"]) == ([], [])


# -- faults through the pipeline -------------------------------------------------------------------


@pytest.mark.parametrize("count", [1, 2, 5])
def test_faults__count_n_applies_to_exactly_n_requests(http: httpx.Client, count: int) -> None:
    control(http, "POST", "/faults", {"kind": "status", "status": 503, "count": count}, status=201)
    remaining = []
    codes = []
    for _ in range(count + 2):
        codes.append(http.get("/api/v1/test-login").status_code)
        remaining.append([f["count"] for f in control(http, "GET", "/faults")])
    assert codes == [503] * count + [200, 200]
    assert remaining == [[count - i] for i in range(1, count)] + [[], [], []]


@pytest.mark.parametrize("operation", ["getScanStatus", "GET /api/v1/scans/{scanId}"])
def test_faults__targeted_at_one_operation(http: httpx.Client, operation: str) -> None:
    scan_id = trigger(http)
    control(http, "POST", "/faults", {"kind": "status", "status": 500, "operation": operation}, status=201)
    assert http.get("/api/v1/test-login").status_code == 200
    assert http.get(f"/api/v1/scans/{scan_id}/logs").status_code == 200
    assert http.delete(f"/api/v1/scans/{scan_id}").status_code == 200
    assert control(http, "GET", "/faults") != []
    assert http.get(f"/api/v1/scans/{scan_id}").status_code == 500
    assert http.get(f"/api/v1/scans/{scan_id}").status_code == 200
    assert control(http, "GET", "/faults") == []


def test_faults__queued_faults_apply_in_order(http: httpx.Client) -> None:
    control(http, "POST", "/faults", {"kind": "status", "status": 502}, status=201)
    control(http, "POST", "/faults", {"kind": "status", "status": 503}, status=201)
    assert [http.get("/api/v1/test-login").status_code for _ in range(3)] == [502, 503, 200]


def test_faults__delete_clears_them(http: httpx.Client) -> None:
    control(http, "POST", "/faults", {"kind": "status", "status": 500, "count": 9}, status=201)
    assert control(http, "DELETE", "/faults") == []
    assert http.get("/api/v1/test-login").status_code == 200


def test_faults__bad_fault_refused_and_nothing_queued(http: httpx.Client) -> None:
    assert "fault.status" in control_error(http.post("/_emulator/faults", json={"kind": "status"}))
    assert "JSON object body" in control_error(http.post("/_emulator/faults"))
    assert control(http, "GET", "/faults") == []


def test_faults__control_api_is_never_faulted(http: httpx.Client) -> None:
    control(http, "POST", "/faults", {"kind": "status", "status": 500, "count": 3}, status=201)
    for _ in range(3):
        control(http, "GET", "/state")
    assert len(control(http, "GET", "/faults")) == 1


# -- docs and specs -------------------------------------------------------------------------------


def test_openapi__serves_the_resolved_vendor_spec(http: httpx.Client) -> None:
    served = control(http, "GET", "/openapi.json")
    on_disk = yaml.safe_load(layout().resolved("soda").read_text(encoding="utf-8"))
    assert served["servers"] == [{"url": "http://127.0.0.1", "description": "scanwire soda emulator"}]
    assert {k: v for k, v in served.items() if k != "servers"} == {
        k: v for k, v in on_disk.items() if k != "servers"
    }
    ids = {op["operationId"] for item in served["paths"].values() for op in item.values()}
    assert {"triggerScan", "getScanStatus", "cancelScan", "getScanLogs", "testLogin"} <= ids
    assert {"listChecks", "listDatasets", "createUserGroup", "deleteUserGroup"} <= ids and len(ids) == 23


def test_openapi__servers_follow_the_host_asked_for(emu: Emulator) -> None:
    with httpx.Client(transport=SyncASGITransport(emu), base_url="http://emulator.test:8080") as other:
        served = other.get("/_emulator/openapi.json").json()
    assert served["servers"][0]["url"] == "http://emulator.test:8080"


def test_docs__interactive_page_loads_both_specs(http: httpx.Client) -> None:
    response = http.get("/_emulator/docs")
    assert response.status_code == 200 and response.headers["content-type"].startswith("text/html")
    assert "<title>scanwire soda emulator</title>" in response.text
    assert '"/_emulator/openapi.json"' in response.text
    assert '"/_emulator/control/openapi.json"' in response.text
    assert "{vendor}" not in response.text


def test_control_openapi__documents_every_control_route(emu: Emulator, http: httpx.Client) -> None:
    served = control(http, "GET", "/control/openapi.json")
    assert served == CONTROL_OPENAPI
    documented = {
        (path.removeprefix("/_emulator"), method.upper())
        for path, item in served["paths"].items()
        for method in item
        if method != "parameters"
    }
    routed = {
        (route.path, method)
        for route in control_routes(emu)
        for method in (route.methods or set()) - {"HEAD"}
    }
    assert routed == documented


def test_coverage__compares_spec_operations_with_routes(emu: Emulator, http: httpx.Client) -> None:
    assert control(http, "GET", "/coverage") == {
        "implemented": sorted(
            f"{m.upper()} {p}" for p, item in emu.spec["paths"].items() for m in item if m in HTTP_METHODS
        ),
        "missing": [],
    }


# -- the spec-driven authenticator -------------------------------------------------------------------


@pytest.mark.parametrize(
    ("spec", "accounts", "fragment"),
    [
        ({"kind": "oauth2"}, {}, "x-scanwire-auth.kind must be one of basic, api-key-header"),
        ({"kind": "basic", "credentials": ["key_id", "secret"]}, {"acme": {"key_id": "k"}}, "'acme' lacks"),
        (
            {
                "kind": "prefixed-header",
                "credentials": ["api_key"],
                "header": {"name": "X", "value": "{api_key} x"},
            },
            {},
            "must end with one {credential}",
        ),
    ],
    ids=["unknown-kind", "account-lacks-credential", "template-without-placeholder-at-end"],
)
def test_authenticator__bad_configuration_named(spec: dict[str, Any], accounts: Any, fragment: str) -> None:
    with pytest.raises(ValueError, match=re.escape(fragment)):
        Authenticator(spec, accounts)


# -- scenarios shared by name across vendors ----------------------------------------------------------

COMMON_SCENARIOS = {
    "one_completed_scan": "succeeded",
    "one_running_scan": "running",
    "one_queued_scan": "queued",
    "one_failed_scan": "failed",
    "one_paused_scan": "paused",
}


@pytest.mark.parametrize("vendor", ["advalidation", "invicti", "appspider", "threadfix", "soda"])
def test_scenarios__one_name_per_setup_across_vendors(
    vendor: str, emulator: Callable[..., Emulator], emu_client: Callable[..., httpx.Client]
) -> None:
    http = emu_client(emulator(vendor))
    names = set(control(http, "GET", "/scenarios"))
    assert {"one_completed_scan", "queue_stalled"} <= names
    for name in sorted(names & set(COMMON_SCENARIOS)):
        before = {s["id"] for s in control(http, "GET", "/scans")}
        control(http, "POST", "/scenario", {"name": name})
        made = [s for s in control(http, "GET", "/scans") if s["id"] not in before]
        assert [s["normalized"] for s in made] == [COMMON_SCENARIOS[name]], name


def test_plugin_for__a_vendor_package_missing_a_piece_is_named(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    package = tmp_path / "fakevendor"
    package.mkdir()
    (package / "__init__.py").write_text('"""A vendor without an error table."""\n')
    (package / "models.py").write_text(
        "from conformance.emulators.core.plugin import Backend\n"
        "ACCOUNTS = {}\n"
        "class FakeBackend(Backend):\n    pass\n"
    )
    (package / "routes.py").write_text("")
    (package / "errors.py").write_text("")
    monkeypatch.syspath_prepend(str(tmp_path))
    with pytest.raises(RuntimeError, match=r"fakevendor\.errors must define ERRORS"):
        plugin_for("fakevendor")
