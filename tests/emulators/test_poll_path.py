"""A status poll of a running Invicti scan writes its progress with SQLite's json_set (models.py
`_busy_status`), never decoding the 96-field document: what it leaves stored and answers must be what
the full path (`_keep_progress` + save) gives, poll after poll, in every progression mode."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import httpx
import pytest

from conformance.emulators.core import Emulator
from conformance.emulators.core.engine import DATA_KIND, KIND, READS_KIND

from .conftest import basic_auth, clock, seed


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
