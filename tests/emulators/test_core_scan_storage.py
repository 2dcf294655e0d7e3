"""How the engine stores scans: engine fields and vendor document apart, a poll that moves nothing
rewrites only its count, the backend's summary answers a poll, and older state files still load."""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from conformance.emulators.core import Emulator, Store
from conformance.emulators.core.engine import DATA_KIND, KIND, READS_KIND
from conformance.emulators.invicti.models import ACCOUNTS

from .conftest import seed


def rows(db: Path, kind: str) -> dict[str, str]:
    """id -> stored JSON text of every record of `kind`, read past the emulator."""
    with sqlite3.connect(db) as raw:
        return dict(raw.execute("SELECT id, data FROM records WHERE kind=?", (kind,)).fetchall())


def status(http: httpx.Client, scan_id: str) -> dict[str, Any]:
    response = http.get(f"/api/1.0/scans/status/{scan_id}")
    assert response.status_code == 200, response.text
    answer: dict[str, Any] = response.json()
    return answer


def test_status_poll__that_moves_nothing_rewrites_only_the_count(
    on_file: Callable[[str], tuple[Emulator, httpx.Client]], tmp_path: Path
) -> None:
    _, http = on_file("invicti")
    scan_id = seed(http, state="Complete")
    db = tmp_path / "invicti.sqlite3"
    document = rows(db, DATA_KIND)[scan_id]
    fields = json.loads(rows(db, KIND)[scan_id])

    answers = [status(http, scan_id) for _ in range(3)]

    assert (
        answers
        == [
            {
                "CompletedSteps": 21310,
                "EstimatedLaunchTime": None,
                "EstimatedSteps": 21310,
                "State": "Complete",
            }
        ]
        * 3
    )
    assert rows(db, DATA_KIND)[scan_id] == document  # the 96-field document was not written again
    # Nor the engine's record (whose JSON keys are indexed): the count has a small record of its own.
    assert json.loads(rows(db, KIND)[scan_id]) == fields
    # ... written behind (store.py): not yet committed, written before anything reads it.
    assert json.loads(rows(db, READS_KIND)[scan_id]) == {"n": 0}
    assert http.get(f"/_emulator/scans/{scan_id}").json()["reads"] == 3
    assert json.loads(rows(db, READS_KIND)[scan_id]) == {"n": 3}


def test_status_poll__that_moves_the_scan_saves_its_document_and_summary(
    on_file: Callable[[str], tuple[Emulator, httpx.Client]], tmp_path: Path
) -> None:
    _, http = on_file("invicti")
    scan_id = seed(http)
    db = tmp_path / "invicti.sqlite3"

    states = [status(http, scan_id) for _ in range(4)]

    assert [s["State"] for s in states] == ["Scanning", "Archiving", "Complete", "Complete"]
    document = json.loads(rows(db, DATA_KIND)[scan_id])
    summary = json.loads(rows(db, KIND)[scan_id])["summary"]
    assert summary == {
        k: document["fields"][k] for k in ("CompletedSteps", "EstimatedLaunchTime", "EstimatedSteps")
    }
    assert states[-1] == {**summary, "State": "Complete"}
    detail = http.get(f"/api/1.0/scans/detail/{scan_id}").json()
    assert {k: detail[k] for k in summary} == summary


def test_status_poll__answers_what_the_detail_shows_also_after_a_restart(
    on_file: Callable[[str], tuple[Emulator, httpx.Client]],
) -> None:
    _, http = on_file("invicti")
    scans = [seed(http, state="Scanning", progression={"mode": "manual"}), seed(http), seed(http)]
    status(http, scans[2])

    for _ in range(2):  # before and after the restart
        _, http = on_file("invicti")
        for scan_id in scans:
            answer = status(http, scan_id)
            detail = http.get(f"/api/1.0/scans/detail/{scan_id}").json()
            assert answer == {k: detail[k] for k in answer}


def test_state_file__written_before_the_split_is_read_and_rewritten_split(
    on_file: Callable[[str], tuple[Emulator, httpx.Client]], tmp_path: Path
) -> None:
    emu, http = on_file("invicti")
    scan_id = seed(http, state="Complete")
    expected_detail = http.get(f"/api/1.0/scans/detail/{scan_id}").json()
    db = tmp_path / "invicti.sqlite3"
    http.close()
    emu.store.close()
    # The old layout: one record per scan, the vendor document inside it and no summary.
    with sqlite3.connect(db) as raw:
        fields = json.loads(rows(db, KIND)[scan_id])
        del fields["summary"]
        fields["data"] = json.loads(rows(db, DATA_KIND)[scan_id])
        raw.execute("UPDATE records SET data=? WHERE kind=? AND id=?", (json.dumps(fields), KIND, scan_id))
        raw.execute("DELETE FROM records WHERE kind=?", (DATA_KIND,))

    emu, http = on_file("invicti")

    assert status(http, scan_id)["State"] == "Complete"
    assert http.get(f"/api/1.0/scans/detail/{scan_id}").json() == expected_detail
    assert "data" not in json.loads(rows(db, KIND)[scan_id])  # saved in the new layout on that poll
    assert json.loads(rows(db, DATA_KIND)[scan_id]) == fields["data"]


def test_engine_find__decodes_the_document_only_when_used(invicti_emulator: Emulator) -> None:
    scan = invicti_emulator.backend.seed_scan("acme", "Complete", {}, None)

    found = invicti_emulator.engine.find(scan.id)

    assert found is not None and not found.data_touched
    assert "<not loaded>" in repr(found)  # looking at it does not load it either
    assert found.data["fields"]["UserId"] == ACCOUNTS["acme"]["user_id"]
    assert found.data_touched


# -- Store ----------------------------------------------------------------------------------------


@pytest.fixture
def store() -> Iterator[Store]:
    s = Store()
    yield s
    s.close()


def test_store_patch__sets_top_level_keys_and_keeps_the_rest(store: Store) -> None:
    store.put("scan", "a", "acme", {"reads": 1, "history": [["Queued", 1.5, "create"]], "note": "é"})

    assert store.patch("scan", "a", {"reads": 2, "extra": {"deep": [1, 0.1 + 0.2]}})

    assert store.get("scan", "a").data == {  # type: ignore[union-attr]
        "reads": 2,
        "history": [["Queued", 1.5, "create"]],
        "note": "é",
        "extra": {"deep": [1, 0.30000000000000004]},
    }
    assert [r.seq for r in store.list("scan")] == [1]


def test_store_patch__missing_record_is_false_and_odd_keys_are_refused(store: Store) -> None:
    assert store.patch("scan", "nope", {"reads": 1}) is False
    assert store.get("scan", "nope") is None
    store.put("scan", "a", "acme", {})
    with pytest.raises(ValueError, match="cannot patch key"):
        store.patch("scan", "a", {'x" , "$.y': 1})


def test_store_transaction__nested_units_commit_together_or_not_at_all(store: Store) -> None:
    with store.transaction():
        store.put("scan", "a", "acme", {"v": 1})
        with store.transaction():
            store.put("scan", "b", "acme", {"v": 1})
    assert store.count("scan") == 2

    with pytest.raises(RuntimeError), store.transaction():
        store.put("scan", "c", "acme", {"v": 1})
        with store.transaction():
            store.patch("scan", "a", {"v": 2})
        raise RuntimeError("abort")

    assert store.count("scan") == 2 and store.get("scan", "a").data == {"v": 1}  # type: ignore[union-attr]
    with store.transaction():  # the store is usable after a rollback
        store.put("scan", "c", "acme", {"v": 3})
    assert store.count("scan") == 3


def test_store_record__compares_by_value_and_decodes_once(store: Store) -> None:
    store.put("scan", "a", "acme", {"v": [1]})
    first, second = store.get("scan", "a"), store.get("scan", "a")

    assert first == second and first is not second
    assert first is not None and first.data is first.data  # one decoded object per record
