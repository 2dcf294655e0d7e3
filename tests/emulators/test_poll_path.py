"""A status poll of a running Invicti scan writes its progress with SQLite's json_set (models.py
`_busy_status`), never decoding the 96-field document: what it leaves stored and answers must be what
the full path (`_keep_progress` + save) gives, poll after poll, in every progression mode."""

from __future__ import annotations

import sqlite3
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx
import pytest

from conformance.emulators.core import Emulator, Store
from conformance.emulators.core import store as store_module
from conformance.emulators.core.engine import DATA_KIND, KIND, READS_KIND

from .conftest import basic_auth, clock, control, seed


@pytest.mark.parametrize(
    "progression",
    [{"mode": "reads", "every": 6}, {"mode": "seconds", "every": 50}, {"mode": "manual"}],
)
def test_running_scan_poll__stores_and_answers_what_the_full_path_does(
    emulator: Callable[..., Emulator],
    emu_client: Callable[..., httpx.Client],
    monkeypatch: pytest.MonkeyPatch,
    progression: dict[str, Any],
) -> None:
    quick, full = emulator("invicti"), emulator("invicti")
    # The full path: the busy shortcut turned off on one of the two.
    monkeypatch.setattr(
        full.backend, "_busy_status", lambda scan: full.backend._status_of(full.backend._keep_progress(scan))
    )
    runs = []
    for emu in (quick, full):
        http = emu_client(emu, auth=basic_auth(emu))
        scan_id = seed(http, "Scanning", progression=progression)
        answers = []
        for _ in range(9):
            clock(emu).advance(7)
            answer = http.get(f"/api/1.0/scans/status/{scan_id}")
            assert answer.status_code == 200, answer.text
            record = emu.store.get(DATA_KIND, scan_id)  # as stored after each poll
            assert record is not None
            answers.append((answer.json(), record.data))
        detail = http.get(f"/api/1.0/scans/detail/{scan_id}").json()
        runs.append((answers, detail))
    (quick_answers, quick_detail), (full_answers, full_detail) = runs
    assert quick_answers == full_answers
    assert quick_detail == full_detail
    # Progress moved (or, manual, held) and the answers show it.
    steps = [a["CompletedSteps"] for a, _ in quick_answers if a["State"] == "Scanning"]
    assert steps == sorted(steps)
    if progression["mode"] != "manual":
        assert len(set(steps)) > 1


def test_reads__counted_in_their_own_record_and_from_an_older_store(
    emulator: Callable[..., Emulator], emu_client: Callable[..., httpx.Client]
) -> None:
    emu = emulator("invicti")
    http = emu_client(emu, auth=basic_auth(emu))
    other = emu_client(emu, auth=basic_auth(emu, "globex"))
    scan_id = seed(http, "Complete")
    for _ in range(2):
        assert http.get(f"/api/1.0/scans/status/{scan_id}").status_code == 200
    assert other.get(f"/api/1.0/scans/status/{scan_id}").status_code == 404  # not counted
    assert emu.engine.get(scan_id).reads == 2
    # As a store written before read counts had their own record: the scan record's count goes on.
    emu.store.delete(READS_KIND, scan_id)
    emu.store.patch(KIND, scan_id, {"reads": 5})
    assert http.get(f"/api/1.0/scans/status/{scan_id}").status_code == 200
    assert emu.engine.get(scan_id).reads == 6
    assert [s.reads for s in emu.engine.page("acme")] == [6] == [s.reads for s in emu.engine.all("acme")]


# -- written behind (core/store.py) -------------------------------------------------------------------


def _committed_reads(emu: Emulator, scan_id: str) -> int | None:
    """The read count as another connection to the state file sees it (what is committed)."""
    with sqlite3.connect(emu.store.path) as other:
        row = other.execute(
            "SELECT json_extract(data, '$.n') FROM records WHERE kind=? AND id=?", (READS_KIND, scan_id)
        ).fetchone()
    return None if row is None else int(row[0])


def test_reads__written_behind_seen_by_the_emulator_and_kept_at_close(
    on_file: Callable[[str], tuple[Emulator, httpx.Client]],
) -> None:
    emu, http = on_file("invicti")
    scan_id = seed(http, "Queued", progression={"mode": "reads", "every": 100})
    for _ in range(3):
        assert http.get(f"/api/1.0/scans/status/{scan_id}").status_code == 200
    assert _committed_reads(emu, scan_id) == 0  # no commit per poll
    assert emu.engine.get(scan_id).reads == 3  # the emulator itself sees them (written first)
    assert _committed_reads(emu, scan_id) == 3
    for _ in range(2):
        assert http.get(f"/api/1.0/scans/status/{scan_id}").status_code == 200
    emu.store.close()  # a stop writes what is kept behind
    assert _committed_reads(emu, scan_id) == 5
    again, _ = on_file("invicti")
    assert again.engine.get(scan_id).reads == 5


def test_reads__written_behind_within_later_seconds(
    on_file: Callable[[str], tuple[Emulator, httpx.Client]], monkeypatch: pytest.MonkeyPatch
) -> None:
    emu, http = on_file("invicti")
    scan_id = seed(http, "Queued", progression={"mode": "reads", "every": 100})
    monkeypatch.setattr(store_module, "LATER_SECONDS", 0.0)  # every deferral is already due
    for n in (1, 2):
        assert http.get(f"/api/1.0/scans/status/{scan_id}").status_code == 200
        assert _committed_reads(emu, scan_id) == n


def test_reads__kept_behind_land_before_a_later_write_and_still_move_the_scan(
    on_file: Callable[[str], tuple[Emulator, httpx.Client]],
) -> None:
    emu, http = on_file("invicti")
    scan_id = seed(http, "Queued", progression={"mode": "reads", "every": 3})
    states = [http.get(f"/api/1.0/scans/status/{scan_id}").json()["State"] for _ in range(4)]
    # Reads 1 and 2 kept behind, the third moves the scan (its count restarts), the fourth is counted.
    assert states == ["Queued", "Queued", "Scanning", "Scanning"]
    assert emu.engine.get(scan_id).reads == 1
    # A state change made after reads kept behind: they land first, so the change's count (0) stays.
    assert http.get(f"/api/1.0/scans/status/{scan_id}").status_code == 200
    control(http, "PATCH", f"/scans/{scan_id}", {"state": "Queued"})
    emu.store.close()
    assert _committed_reads(emu, scan_id) == 0


def test_running_scan_progress__written_behind_and_read_back_before_it_is_written(
    emulator: Callable[..., Emulator], emu_client: Callable[..., httpx.Client]
) -> None:
    emu = emulator("invicti")
    http = emu_client(emu, auth=basic_auth(emu))
    scan_id = seed(http, "Scanning", progression={"mode": "reads", "every": 50})
    steps = [http.get(f"/api/1.0/scans/status/{scan_id}").json()["CompletedSteps"] for _ in range(3)]
    assert steps == sorted(steps) and len(set(steps)) == 3
    kept = emu.store.pluck(DATA_KIND, scan_id, ("progress",), ("fields", "CompletedSteps"))
    assert kept is not None and kept[1] == steps[-1]  # the value kept behind, before it is written
    emu.store.flush()
    assert emu.store.pluck(DATA_KIND, scan_id, ("progress",), ("fields", "CompletedSteps")) == kept


# -- what get_counted keeps (core/store.py) -----------------------------------------------------------


def test_kept_scan_record__another_connection_s_commit_is_seen_at_the_next_poll(
    on_file: Callable[[str], tuple[Emulator, httpx.Client]],
) -> None:
    emu, http = on_file("invicti")
    scan_id = seed(http, "Queued", progression={"mode": "manual"})
    for _ in range(2):  # the second answer comes from what the first read kept
        assert http.get(f"/api/1.0/scans/status/{scan_id}").json()["State"] == "Queued"
    other = Store(emu.store.path)  # e.g. a second emulator process on the same state file
    try:
        other.patch(KIND, scan_id, {"state": "Cancelled"})
    finally:
        other.close()
    assert http.get(f"/api/1.0/scans/status/{scan_id}").json()["State"] == "Cancelled"


def test_kept_scan_record__a_write_undone_is_never_kept(tmp_path: Path) -> None:
    store = Store(tmp_path / "x.sqlite3")
    store.put("thing", "1", "acme", {"v": 1})
    store.put("thing.n", "1", "acme", {"n": 4})
    found = store.get_counted("thing", "1", "thing.n", "n")
    assert found is not None and found[0].data == {"v": 1} and found[1] == 4
    with pytest.raises(RuntimeError), store.transaction():
        store.put("thing", "1", "acme", {"v": 2})
        inside = store.get_counted("thing", "1", "thing.n", "n")  # its own write, not committed
        assert inside is not None and inside[0].data == {"v": 2}
        raise RuntimeError("undone")
    again = store.get_counted("thing", "1", "thing.n", "n")
    assert again is not None and again[0].data == {"v": 1} and again[1] == 4
    store.bump_later("thing.n", "1", "n")
    store.put("thing", "1", "acme", {"v": 3})  # a write: what was kept behind lands first
    after = store.get_counted("thing", "1", "thing.n", "n")
    assert after is not None and after[0].data == {"v": 3} and after[1] == 5
    store.close()


def test_kept_scan_record__brought_up_to_date_by_a_flush_so_reads_still_move_the_scan_on_time(
    on_file: Callable[[str], tuple[Emulator, httpx.Client]], monkeypatch: pytest.MonkeyPatch
) -> None:
    emu, http = on_file("invicti")
    monkeypatch.setattr(store_module, "LATER_SECONDS", 0.0)  # a flush after every poll
    scan_id = seed(http, "Queued", progression={"mode": "reads", "every": 3})
    states = [http.get(f"/api/1.0/scans/status/{scan_id}").json()["State"] for _ in range(7)]
    assert states == ["Queued", "Queued", "Scanning", "Scanning", "Scanning", "Archiving", "Archiving"]
    steps = [http.get(f"/api/1.0/scans/status/{scan_id}").json() for _ in range(2)]
    assert [s["State"] for s in steps] == ["Archiving", "Complete"]
    assert _committed_reads(emu, scan_id) == 0


def test_pluck__a_value_kept_behind_answers_its_path_and_one_above_it_is_written_first(
    tmp_path: Path,
) -> None:
    store = Store(tmp_path / "x.sqlite3")
    store.put("doc", "1", "acme", {"f": {"a": 1, "b": 2}, "p": 0})
    assert store.pluck("doc", "1", ("f", "a"), ("p",)) == (1, 0)  # kept from here on
    store.patch_paths_later("doc", "1", {("f", "a"): 5})
    assert store.pluck("doc", "1", ("f", "a"), ("p",)) == (5, 0)  # the same path: the pending value
    assert store.pluck("doc", "1", ("f",)) == ('{"a":5,"b":2}',)  # above it: written first, then read
    store.flush()
    assert store.pluck("doc", "1", ("f", "a"), ("p",)) == (5, 0)
    store.close()


def test_written_behind__a_flush_that_fails_keeps_its_writes_for_the_next_one(tmp_path: Path) -> None:
    store = Store(tmp_path / "x.sqlite3")
    store.put("thing", "1", "acme", {"v": 1})
    store.put("thing.n", "1", "acme", {"n": 0})
    real = store._db

    class Failing:
        """The connection, but the flush's batched UPDATE fails once (a full disk, a lock held too long)."""

        def __getattr__(self, name: str) -> Any:
            return getattr(real, name)

        def executemany(self, sql: str, rows: Any) -> Any:
            raise sqlite3.OperationalError("database or disk is full")

    store.bump_later("thing.n", "1", "n")
    store.bump_later("thing.n", "1", "n")
    store._db = Failing()  # type: ignore[assignment]
    with pytest.raises(sqlite3.OperationalError, match="disk is full"):
        store.flush()
    store._db = real
    assert store.pending_count("thing.n", "1", "n") == 2  # nothing lost
    store.flush()
    record = store.get("thing.n", "1")
    assert record is not None and record.data == {"n": 2}
    store.close()
