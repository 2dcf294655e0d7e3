"""Issue 18: emulator lists are O(page) and creates are flat, shown without timing anything.

Cost is counted, not timed: the documents the store decodes (`store._decode`: every stored record a list
decodes) and the rows SQLite hands back (a trace of the SQL the store runs). With hundreds of scans
stored, a page of a few must decode and fetch about that page, not every scan; the old code decoded
every stored scan and document for one page, and every create reloaded them all (the queue position of
a new Queued scan).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import httpx
import pytest

from conformance.emulators.core import Emulator
from conformance.emulators.core import store as store_module

from .conftest import basic_auth, clock, control, seed

STORED = 120  # scans stored; pages are of PAGE
PAGE = 5


@pytest.fixture
def decodes(monkeypatch: pytest.MonkeyPatch) -> Iterator[Callable[[], int]]:
    """How many records the store decoded since the last call (its `_decode`, counted)."""
    seen = [0]
    real = store_module._decode

    def counting(text: str) -> Any:
        seen[0] += 1
        return real(text)

    monkeypatch.setattr(store_module, "_decode", counting)

    def taken() -> int:
        n, seen[0] = seen[0], 0
        return n

    yield taken


def _invicti(
    emulator: Callable[..., Emulator], emu_client: Callable[..., httpx.Client]
) -> tuple[Emulator, httpx.Client]:
    emu = emulator("invicti")
    return emu, emu_client(emu, auth=basic_auth(emu))


def _fill(http: httpx.Client, n: int, **body: Any) -> list[str]:
    return [seed(http, "Complete", **body) for _ in range(n)]


def test_invicti_lists__decode_only_the_page(
    emulator: Callable[..., Emulator], emu_client: Callable[..., httpx.Client], decodes: Callable[[], int]
) -> None:
    _emu, http = _invicti(emulator, emu_client)
    ids = _fill(http, STORED)
    decodes()
    listed = http.get("/api/1.0/scans/list", params={"page": 2, "pageSize": PAGE}).json()
    list_cost = decodes()
    assert [s["Id"] for s in listed["List"]] == list(reversed(ids))[PAGE : 2 * PAGE]
    assert listed["TotalItemCount"] == STORED
    by_state = http.get(
        "/api/1.0/scans/listbystate",
        params={"scanTaskState": "Complete", "targetUrlCriteria": "invicti", "page": 1, "pageSize": PAGE},
    ).json()
    state_cost = decodes()
    assert by_state["TotalItemCount"] == STORED and len(by_state["List"]) == PAGE
    # A page of PAGE scans: its engine records and documents, and a few settings; never the STORED.
    assert PAGE <= list_cost <= 4 * PAGE, list_cost  # at least the page: the counter counts
    assert PAGE <= state_cost <= 4 * PAGE, state_cost


def test_invicti_list__sql_reads_one_page_of_rows(
    emulator: Callable[..., Emulator], emu_client: Callable[..., httpx.Client]
) -> None:
    emu, http = _invicti(emulator, emu_client)
    _fill(http, STORED)
    rows = [0]
    real = emu.store._db

    class Counting:
        """The store's connection, counting the rows each query hands back."""

        def execute(self, sql: str, args: Any = ()) -> Any:
            cursor = real.execute(sql, args)
            if sql.lstrip().upper().startswith("SELECT"):
                fetched = cursor.fetchall()
                rows[0] += len(fetched)
                return _Fetched(fetched)
            return cursor

        def __getattr__(self, name: str) -> Any:
            return getattr(real, name)

    emu.store._db = Counting()  # type: ignore[assignment]
    try:
        answer = http.get("/api/1.0/scans/list", params={"page": 3, "pageSize": PAGE})
    finally:
        emu.store._db = real
    assert answer.status_code == 200 and len(answer.json()["List"]) == PAGE
    assert rows[0] <= 4 * PAGE, rows[0]


class _Fetched:  # stands in for a sqlite3 cursor already fetched
    def __init__(self, rows: list[Any]) -> None:
        self.rows = rows

    def fetchone(self) -> Any:
        return self.rows[0] if self.rows else None

    def fetchall(self) -> list[Any]:
        return self.rows

    def __iter__(self) -> Iterator[Any]:
        return iter(self.rows)


def test_invicti_create__does_not_reload_stored_scans(
    emulator: Callable[..., Emulator], emu_client: Callable[..., httpx.Client], decodes: Callable[[], int]
) -> None:
    _emu, http = _invicti(emulator, emu_client)
    _fill(http, STORED, progression={"mode": "manual"})
    decodes()
    first = seed(http, "Queued", progression={"mode": "manual"})
    cost = decodes()
    second = seed(http, "Queued", progression={"mode": "manual"})
    assert decodes() <= cost < STORED
    # The queue position still counts the other Queued scans (three minutes each), by index.
    queued = [control(http, "GET", f"/scans/{i}")["vendor"]["EstimatedLaunchTime"] for i in (first, second)]
    assert queued == [3, 6]


def test_invicti_lists__catch_up_moves_only_due_scans(
    emulator: Callable[..., Emulator], emu_client: Callable[..., httpx.Client]
) -> None:
    emu, http = _invicti(emulator, emu_client)
    timed = [seed(http, "Queued", progression={"mode": "seconds", "every": 10}) for _ in range(3)]
    _fill(http, 40, progression={"mode": "manual"})
    seed(http, "Queued", progression={"mode": "manual"})
    url, params = "/api/1.0/scans/listbystate", {"scanTaskState": "Queued", "page": 1, "pageSize": 50}
    assert emu.engine.catch_up() == 0  # nothing due yet: not one scan looked at
    assert http.get(url, params=params).json()["TotalItemCount"] == 4
    clock(emu).advance(10)
    assert emu.engine.catch_up() == 3  # the three due, not the 44 stored
    moved = http.get(url, params={**params, "scanTaskState": "Scanning"}).json()
    assert sorted(s["Id"] for s in moved["List"]) == sorted(timed)
    assert http.get(url, params=params).json()["TotalItemCount"] == 1


def test_invicti_lists__default_progression_change_reaches_listed_states(
    emulator: Callable[..., Emulator], emu_client: Callable[..., httpx.Client]
) -> None:
    emu, http = _invicti(emulator, emu_client)
    queued = [seed(http, "Queued") for _ in range(2)]  # under the default progression (reads)
    done = seed(http, "Complete")
    control(http, "PUT", "/progression", {"mode": "seconds", "every": 5})
    clock(emu).advance(5)
    url = "/api/1.0/scans/listbystate"
    scanning = http.get(url, params={"scanTaskState": "Scanning", "page": 1, "pageSize": 10}).json()
    assert sorted(s["Id"] for s in scanning["List"]) == sorted(queued)
    assert control(http, "GET", f"/scans/{done}")["state"] == "Complete"
    assert emu.engine.catch_up() == 0  # the finished scan is never due; the two moved, not yet again
    clock(emu).advance(5)
    assert emu.engine.catch_up() == 2


def test_control_listing__pages_and_filters(
    emulator: Callable[..., Emulator], emu_client: Callable[..., httpx.Client], decodes: Callable[[], int]
) -> None:
    _emu, http = _invicti(emulator, emu_client)
    ids = _fill(http, 30)
    paused = seed(http, "Paused")
    decodes()
    answer = http.get("/_emulator/scans", params={"limit": 3, "offset": 2})
    assert [s["id"] for s in answer.json()] == ids[2:5]
    assert answer.headers["x-total-count"] == "31"
    assert decodes() <= 4 * 3
    assert [s["id"] for s in http.get("/_emulator/scans", params={"state": "Paused"}).json()] == [paused]
    for params, name in (
        ({"limit": "0"}, "limit"),
        ({"offset": "x"}, "offset"),
        ({"state": "Nope"}, "state"),
    ):
        bad = http.get("/_emulator/scans", params=params)
        assert bad.status_code == 400 and name in bad.json()["error"], bad.text


def test_appspider_get_scans__decodes_only_the_page(
    emulator: Callable[..., Emulator], decodes: Callable[[], int]
) -> None:
    emu = emulator("appspider")
    backend: Any = emu.backend
    account = next(iter(emu.accounts))
    configs = backend.configs(account)
    for n in range(STORED):
        name = configs[n % len(configs)]["Name"]
        backend.seed_scan(account, "Completed", {"configName": name}, {"mode": "manual"})
    decodes()
    total, fetch = backend.list_scans(account, [configs[0]["Id"]])
    page = fetch(PAGE, PAGE)
    cost = decodes()
    assert total == len(range(0, STORED, len(configs)))
    assert len(page) == PAGE and all(s["ConfigId"] == configs[0]["Id"] for s in page)
    assert PAGE <= cost <= 4 * PAGE + len(configs) + 2, cost
