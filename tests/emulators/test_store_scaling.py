"""The store's additions for issue 18: tallies kept by triggers, patch_where/plus, none_of, missing keys,
indexes across accounts; and the engine's one-time upgrade of scans stored before they kept list keys."""

from __future__ import annotations

import sqlite3
from collections.abc import Callable
from pathlib import Path

import httpx
import pytest

from conformance.emulators.core import Emulator, ManualClock, build_emulator
from conformance.emulators.core.store import Store, between, none_of, plus
from conformance.emulators.core.transport import SyncASGITransport

from .conftest import basic_auth, seed


def test_tallies__follow_puts_deletes_moves_and_clear(tmp_path: Path) -> None:
    store = Store(tmp_path / "s.sqlite3")
    for n in range(5):
        store.put("scan", str(n), "a" if n < 3 else "b", {"n": n})
    store.put("scan", "1", "a", {"n": 10})  # replaced: not counted twice
    assert (store.count("scan"), store.count("scan", "a"), store.count("scan", "b")) == (5, 3, 2)
    store.put("scan", "0", "b", {"n": 0})  # moved to another account
    assert (store.count("scan", "a"), store.count("scan", "b")) == (2, 3)
    store.delete("scan", "4")
    assert store.count("scan", "b") == 2 and store.count("other") == 0
    # Rows written straight into the table (a bulk seed) are counted by the triggers too.
    with sqlite3.connect(store.path) as con:
        con.execute("INSERT INTO records (kind, id, account, seq, data) VALUES ('scan', 'x', 'a', 99, '{}')")
    assert store.count("scan", "a") == 3
    store.delete("scan")
    assert store.count("scan") == 0
    store.put("scan", "y", "a", {})
    store.clear()
    assert store.count("scan") == 0
    store.close()


def test_tallies__counted_once_for_a_store_written_before_them(tmp_path: Path) -> None:
    path = tmp_path / "old.sqlite3"
    Store(path).close()
    with sqlite3.connect(path) as con:
        con.executescript("DROP TRIGGER tally_insert; DROP TRIGGER tally_delete; DROP TRIGGER tally_move;")
        con.execute("DROP TABLE tallies")
        con.executemany(
            "INSERT INTO records (kind, id, account, seq, data) VALUES ('scan', ?, 'a', ?, '{}')",
            [(str(n), n) for n in range(4)],
        )
    store = Store(path)
    assert store.count("scan", "a") == 4 == len(store.list("scan", "a"))
    store.close()


def test_patch_where_plus_and_none_of() -> None:
    store = Store()
    for n, state in enumerate(["run", "done", "run", "wait"]):
        store.put("scan", str(n), "a", {"state": state, "entered": 10.0 * n, "due": None})
    changed = store.patch_where("scan", {"due": plus("entered", 5)}, where={"state": none_of("done")})
    assert changed == 3
    assert [r.data["due"] for r in store.list("scan")] == [5.0, None, 25.0, 35.0]
    assert [r.id for r in store.list("scan", where={"due": between(None, 30)})] == ["0", "2"]
    assert store.patch_where("scan", {"due": None}) == 4
    assert store.count("scan", where={"due": None}) == 4
    assert [r.id for r in store.list("scan", where={"state": none_of()})] == ["0", "1", "2", "3"]
    with pytest.raises(ValueError, match="cannot patch key"):
        store.patch_where("scan", {"bad key": 1})


def test_missing_keys_and_index_across_accounts() -> None:
    store = Store()
    store.put("scan", "old", "a", {"state": "x"})
    store.put("scan", "new", "b", {"state": "x", "due": None})
    assert store.missing("scan", "due") == ["old"]
    store.index("scan", "due", by_account=False)
    plan = store._db.execute(
        "EXPLAIN QUERY PLAN SELECT id FROM records WHERE kind='scan' AND json_extract(data, '$.\"due\"') <= 1"
    ).fetchall()
    assert "ix_scan_due_all" in str(plan)


def test_page__reads_newest_first_windows_by_seq() -> None:
    store = Store()
    store.index("scan", "state", "when")
    for n in range(10):
        store.put("scan", str(n), "a", {"state": "s" if n % 2 else "t", "when": 100 - n})
    window = {"state": "s", "when": between(92, 98)}
    assert [r.id for r in store.list("scan", "a", where=window, newest_first=True, limit=2)] == ["7", "5"]
    assert [r.id for r in store.list("scan", "a", where=window, newest_first=True, limit=2, offset=2)] == [
        "3"
    ]
    assert store.count("scan", "a", where=window) == 3


def test_engine_upgrade__scans_of_an_older_state_file_get_their_list_keys(tmp_path: Path) -> None:
    db, clock = tmp_path / "invicti.sqlite3", ManualClock()

    def start() -> tuple[Emulator, httpx.Client]:
        emu = build_emulator("invicti", db=db, clock=clock)
        return emu, httpx.Client(
            transport=SyncASGITransport(emu), base_url="http://emulator", auth=basic_auth(emu)
        )

    emu, http = start()
    done = seed(http, "Complete")
    timed = seed(http, "Queued", progression={"mode": "seconds", "every": 10})
    emu.store.close()
    # As a state file written before issue 18: no due, when or target keys, no record of them.
    with sqlite3.connect(db) as con:
        con.execute(
            "UPDATE records SET data = json_remove(data, '$.due', '$.when', '$.target') WHERE kind = 'scan'"
        )
        con.execute("DELETE FROM meta WHERE key = 'scan-keys'")
    emu, http = start()
    clock.advance(10)
    url = "/api/1.0/scans/listbystate"

    def listed(**params: str) -> list[str]:
        answer = http.get(url, params={"page": "1", "pageSize": "10", **params})
        assert answer.status_code == 200, answer.text
        return [s["Id"] for s in answer.json()["List"]]

    assert listed(scanTaskState="Scanning") == [timed]  # due again, so caught up
    assert listed(scanTaskState="Complete", targetUrlCriteria="invicti", startDate="01/01/2000") == [done]
    emu.store.close()


def test_catch_up__seconds_steps_keep_their_due_times(
    emulator: Callable[..., Emulator], emu_client: Callable[..., httpx.Client]
) -> None:
    emu = emulator("invicti")
    http = emu_client(emu, auth=basic_auth(emu))
    scan_id = seed(http, "Queued", progression={"mode": "seconds", "every": 10})
    assert emu.store.get("scan", scan_id).data["due"] == emu.clock.now() + 10  # type: ignore[union-attr]
    emu.clock.advance(25)  # type: ignore[attr-defined]
    assert emu.engine.catch_up() == 1
    record = emu.store.get("scan", scan_id)
    assert record is not None
    history = [entry[1] for entry in record.data["history"]]
    # Each step stamped when it fell due (every 10 s); the next due 10 s after the last.
    assert history[-1] == history[0] + 20 and record.data["due"] == history[-1] + 10


def test_index__partial_to_its_kind_and_replaces_an_index_over_every_row(tmp_path: Path) -> None:
    path = tmp_path / "s.sqlite3"
    Store(path).close()
    with sqlite3.connect(path) as con:  # as an older store made it: over every row
        con.execute(
            "CREATE INDEX ix_scan_state ON records (kind, account, json_extract(data, '$.\"state\"'), seq)"
        )
    store = Store(path)
    store.index("scan", "state")
    sql = store._db.execute("SELECT sql FROM sqlite_master WHERE name = 'ix_scan_state'").fetchone()[0]
    assert sql.endswith("WHERE kind = 'scan'")
    store.put("scan", "1", "a", {"state": "x"})
    store.put("other", "2", "a", {"state": "x"})
    assert [r.id for r in store.list("scan", "a", where={"state": "x"})] == ["1"]
    with pytest.raises(ValueError, match="cannot query kind"):
        store.list("scan' OR 1=1 --")
    store.close()
