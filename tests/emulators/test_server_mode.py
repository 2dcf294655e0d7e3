"""`scanwire emulate soda` as a real server process: many clients at once, then a restart on the same
SQLite file. Nothing is lost, duplicated or moved along an illegal transition."""

from __future__ import annotations

import itertools
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
from scanwire_runtime.lifecycle import Lifecycle

from conformance.emulators.soda import Plugin
from tests.helpers.servers import emulator_server

ACCOUNTS = {name: (keys["key_id"], keys["secret"]) for name, keys in Plugin.accounts.items()}
CLIENTS, SCANS_PER_CLIENT = 16, 10
POLL_LIMIT = 10  # reads:1 needs three polls to end (queuing -> executing -> started -> completed)
CANCELED = [n for n in range(SCANS_PER_CLIENT) if n % 4 == 3]  # each client cancels these while they run


@contextmanager
def emulate_soda(db: Path, log: Path) -> Iterator[str]:
    with emulator_server("soda", db, log, "--no-rate-limits", "--progression", "reads") as base:
        yield base


@dataclass
class ScanRun:
    account: str
    start_status: int
    scan_id: str | None = None
    states: list[str] = field(default_factory=list)
    statuses: list[int] = field(default_factory=list)  # every answer this scan's client got


def _client_work(base: str, client: int, terminal: frozenset[str]) -> list[ScanRun]:
    account = "acme" if client % 2 == 0 else "globex"
    runs = []
    with httpx.Client(base_url=base, auth=ACCOUNTS[account], timeout=15) as http:
        for n in range(SCANS_PER_CLIENT):
            started = http.post("/api/v1/scans", data={"scanDefinition": f"client_{client}"})
            run = ScanRun(account, started.status_code, started.headers.get("x-soda-scan-id"))
            runs.append(run)
            if run.scan_id is None:
                continue
            for poll in range(POLL_LIMIT):
                response = http.get(f"/api/v1/scans/{run.scan_id}")
                run.statuses.append(response.status_code)
                if response.status_code != 200:
                    break
                run.states.append(response.json()["state"])
                if run.states[-1] in terminal:
                    break
                if poll == 0 and n in CANCELED:
                    run.statuses.append(http.delete(f"/api/v1/scans/{run.scan_id}").status_code)
    return runs


def test_emulate__concurrent_clients_lose_nothing_and_a_restart_keeps_every_scan(tmp_path: Path) -> None:
    db, log = tmp_path / "soda.sqlite3", tmp_path / "server.log"
    with emulate_soda(db, log) as base:
        lifecycle = Lifecycle.from_spec(httpx.get(f"{base}/_emulator/openapi.json").json())
        began = time.monotonic()
        with ThreadPoolExecutor(CLIENTS) as pool:
            runs = [
                run
                for batch in pool.map(lambda c: _client_work(base, c, lifecycle.terminal), range(CLIENTS))
                for run in batch
            ]
        elapsed = time.monotonic() - began
        state = httpx.get(f"{base}/_emulator/state").json()

    total = CLIENTS * SCANS_PER_CLIENT
    assert len(runs) == total
    assert [r.start_status for r in runs] == [201] * total, log.read_text()
    ids = [r.scan_id for r in runs]
    assert len(set(ids)) == total and None not in ids
    answers = [s for r in runs for s in r.statuses]
    assert [s for s in answers if s >= 500] == [], log.read_text()
    assert set(answers) == {200}
    for run in runs:
        assert run.states and run.states[-1] in lifecycle.terminal, run
        assert all(lifecycle.is_legal(a, b) for a, b in itertools.pairwise(["queuing", *run.states])), run
    assert {r.states[-1] for r in runs} == {"completed", "canceled"}
    assert sum(r.states[-1] == "canceled" for r in runs) == CLIENTS * len(CANCELED)

    # The server's own record: every scan started is there once, with the account that started it, in
    # the state its client last saw, after a history of direct transitions only.
    scans = {s["id"]: s for s in state["scans"]}
    assert len(state["scans"]) == len(scans) == total
    assert set(scans) == set(ids)
    for run in runs:
        assert run.scan_id is not None
        scan = scans[run.scan_id]
        assert (scan["account"], scan["state"]) == (run.account, run.states[-1])
        steps = [h[0] for h in scan["history"]]
        assert all(lifecycle.is_direct(a, b) for a, b in itertools.pairwise(steps)), steps
    assert (state["errors"], state["settings"]["rate_limits"]) == ([], False)
    assert elapsed < 20, f"{total} scans by {CLIENTS} clients took {elapsed:.1f}s"

    with emulate_soda(db, log) as base:
        again = httpx.get(f"{base}/_emulator/state").json()
        restored = {s["id"]: s for s in again["scans"]}
        assert {k: _persisted(v) for k, v in restored.items()} == {k: _persisted(v) for k, v in scans.items()}
        acme_scan = next(r for r in runs if r.account == "acme" and r.scan_id)
        with httpx.Client(base_url=base, auth=ACCOUNTS["acme"], timeout=15) as http:
            view = http.get(f"/api/v1/scans/{acme_scan.scan_id}").json()
            assert (view["id"], view["state"], "ended" in view) == (
                acme_scan.scan_id,
                acme_scan.states[-1],
                True,
            )
            globex_scan = next(r for r in runs if r.account == "globex")
            assert http.get(f"/api/v1/scans/{globex_scan.scan_id}").status_code == 404
            fresh = http.post("/api/v1/scans", data={"scanDefinition": "after_restart"})
            assert fresh.status_code == 201
            assert fresh.headers["x-soda-scan-id"] not in restored  # the id counter survived as well
        assert len(httpx.get(f"{base}/_emulator/state").json()["scans"]) == total + 1


def _persisted(scan: dict[str, Any]) -> dict[str, Any]:
    return {k: scan[k] for k in ("account", "state", "history", "vendor")}
