"""Scaling: how the Invicti emulator's list, poll and create cost grows with the scans it keeps stored.

For each size (1,000 / 10,000 / 100,000 scans by default) a fresh SQLite file is filled straight through
the store's schema (conformance/emulators/core/store.py: the `records` table, one `scan` engine record and
one `scan.data` vendor document per scan, their `seq:` counters): a few template scans are seeded through
the control API of a real `scanwire emulate invicti` (so the documents are exactly what the emulator
writes, in several states, with a `reads:3` progression so polls move them), then cloned with the ids the
emulator itself would have given them (`guid(store, "invicti-scan")` is uuid5 of the counter's value; the
counters are set to N so a later create does not collide). Seeding 100,000 scans this way takes seconds
(through the control API it would take about a day today: each create reloads every stored scan).

Then `scanwire emulate invicti` serves that file (defaults, rate limits off so the bench does not time
itself against 429s) and one keep-alive httpx client measures, one request at a time:

- `GET /api/1.0/scans/list?page=1&pageSize=20`;
- `GET /api/1.0/scans/listbystate?scanTaskState=<state>&page=1&pageSize=20`;
- a status poll, `GET /api/1.0/scans/status/{id}`, of a different stored scan each time (mid-lifecycle);
- a create, `POST /_emulator/scans` (Invicti's spec has no create operation; the control API is how
  scans come into being);

each capped both by a count and by a time budget per operation and size (today's lists take seconds at
100,000, so a large size gets a few timed requests, never fewer than 2), plus the RSS of the emulator
process after the requests (and its peak) and the database size. Prints one table and the 100k/1k ratio
(largest size over smallest) of every latency; the last line is the list's (goal <= 1.5x).

Run: `.venv/bin/python bench/bench_scaling.py [--sizes 1000,10000,100000] [--budget 20]`; a quick run:
`--sizes 1000,10000`.
"""

from __future__ import annotations

import argparse
import os
import shutil
import sqlite3
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import httpx

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from _common import BIN, ROOT, machine, median, print_ratio, print_table
from bench_emulator_vs_prism import free_port, running, wait_until_up

from conformance.emulators.core.ids import stable_guid
from conformance.emulators.core.store import Store

TARGET = 1.5
# Template scans seeded through the control API, one per state (those this vendor knows); clones cycle
# through them, so every state is about equally common among the N stored scans.
TEMPLATE_STATES = ("Queued", "Scanning", "Archiving", "Complete", "Failed", "Cancelled", "Paused")
PROGRESSION = {"mode": "reads", "every": 3}
# The counters the emulator's own ids and positions come from (ids.guid, Store.put).
SCAN_COUNTER, GROUP_COUNTER = "invicti-scan", "invicti-scan-group"


# -- seeding ----------------------------------------------------------------------------------------


def seed_template(db: Path, log: Path) -> list[str]:
    """Template scans written by a real emulator through its control API; returns their states."""
    port = free_port()
    cmd = [str(BIN / "scanwire"), "emulate", "invicti", "--port", str(port), "--db", str(db)]
    states: list[str] = []
    with running([*cmd, "--no-rate-limits"], log, cwd=ROOT) as process:
        base = f"http://127.0.0.1:{port}"
        wait_until_up(f"{base}/_emulator/accounts", process, "scanwire emulate")
        with httpx.Client(base_url=base, timeout=30) as client:
            for state in TEMPLATE_STATES:
                answer = client.post("/_emulator/scans", json={"state": state, "progression": PROGRESSION})
                if answer.status_code == 201:
                    states.append(state)
    if not states:
        raise SystemExit("the emulator accepted none of the template states; see the control API")
    return states


def _template_rows(
    db: Path,
) -> tuple[list[list[tuple[str, str, str, str]]], dict[str, int], list[str], list[tuple[str, str]]]:
    """Per template scan its records (kind, id, account, data); counters; kinds per scan; settings (meta:
    which list keys the records keep, so the emulator does not probe every scan for them)."""
    with sqlite3.connect(db) as con:
        rows = con.execute("SELECT kind, id, account, data FROM records ORDER BY seq, kind").fetchall()
        counters = dict(con.execute("SELECT name, value FROM counters").fetchall())
        meta = con.execute("SELECT key, value FROM meta").fetchall()
    scans = [r[1] for r in rows if r[0] == "scan"]
    kinds = sorted({r[0] for r in rows})
    by_scan = [[r for r in rows if r[1] == scan_id] for scan_id in scans]
    stray = len(rows) - sum(len(group) for group in by_scan)
    if stray:
        raise SystemExit(f"template has {stray} record(s) not keyed by a scan id; the store changed shape")
    return by_scan, counters, kinds, meta


def seed_clones(template: Path, out: Path, size: int) -> float:
    """A fresh store with `size` scans cloned from the template; returns the seconds it took."""
    start = time.perf_counter()
    Store(out).close()  # the store's own schema (tables, index, WAL mode)
    by_scan, counters, kinds, meta = _template_rows(template)
    group_key = '"ScanTaskGroupId": "'

    def rows() -> Iterator[tuple[str, str, str, int, str]]:
        for n in range(1, size + 1):
            records = by_scan[(n - 1) % len(by_scan)]
            old_id, new_id = records[0][1], stable_guid(f"{SCAN_COUNTER}:{n}")
            new_group = stable_guid(f"{GROUP_COUNTER}:{n}")
            for kind, _id, account, data in records:
                text = data.replace(old_id, new_id)
                at = text.find(group_key)
                if at >= 0:  # the vendor document's scan group: one per scan, like the emulator's
                    at += len(group_key)
                    text = text[:at] + new_group + text[text.index('"', at) :]
                yield kind, new_id, account, n, text

    counters |= {SCAN_COUNTER: size, GROUP_COUNTER: size, **{f"seq:{k}": size for k in kinds}}
    with sqlite3.connect(out, isolation_level=None) as con:
        con.execute("PRAGMA synchronous=OFF")
        con.execute("BEGIN")
        con.executemany("INSERT INTO records (kind, id, account, seq, data) VALUES (?, ?, ?, ?, ?)", rows())
        con.executemany("INSERT OR REPLACE INTO counters (name, value) VALUES (?, ?)", counters.items())
        con.executemany("INSERT OR REPLACE INTO meta (key, value) VALUES (?, ?)", meta)
        con.execute("COMMIT")
        con.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    return time.perf_counter() - start


# -- measuring --------------------------------------------------------------------------------------


def rss_kib(pid: int) -> tuple[int, int]:
    """(VmRSS, VmHWM) in KiB of a process and its descendants, from /proc (Linux)."""
    now = peak = 0
    pending = [pid]
    while pending:
        p = pending.pop()
        try:
            for line in Path(f"/proc/{p}/status").read_text().splitlines():
                if line.startswith("VmRSS:"):
                    now += int(line.split()[1])
                elif line.startswith("VmHWM:"):
                    peak += int(line.split()[1])
            children = Path(f"/proc/{p}/task/{p}/children").read_text().split()
        except OSError:
            continue
        pending += [int(c) for c in children]
    return now, peak


def timed(request: Callable[[int], httpx.Response], count: int, budget: float) -> tuple[list[float], str]:
    """Latencies (s) of up to `count` requests, stopping after `budget` seconds (at least 2 requests)."""
    out: list[float] = []
    spent = 0.0
    for i in range(count):
        if len(out) >= 2 and spent >= budget:
            break
        start = time.perf_counter()
        answer = request(i)
        took = time.perf_counter() - start
        if answer.status_code >= 300:
            return out, f"HTTP {answer.status_code}: {answer.text[:200]}"
        out.append(took)
        spent += took
    return out, ""


def p95(values: list[float]) -> float:
    if not values:
        return float("nan")
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(0.95 * len(ordered)))]


def measure(db: Path, size: int, states: list[str], args: argparse.Namespace, log: Path) -> dict[str, Any]:
    port = free_port()
    cmd = [str(BIN / "scanwire"), "emulate", "invicti", "--port", str(port), "--db", str(db)]
    result: dict[str, Any] = {"size": size, "errors": []}
    with running([*cmd, "--no-rate-limits"], log, cwd=ROOT) as process:
        base = f"http://127.0.0.1:{port}"
        wait_until_up(f"{base}/_emulator/accounts", process, "scanwire emulate", timeout=600)
        result["rss_start"] = rss_kib(process.pid)[0]
        with httpx.Client(base_url=base, timeout=600) as client:
            account = next(iter(client.get("/_emulator/accounts").json().values()))
            client.auth = httpx.BasicAuth(account["user_id"], account["token"])
            state = args.state if args.state in states else states[0]
            # Polls walk the stored scans with a stride, so each request reads a different scan.
            stride = max(1, size // max(1, args.polls))
            ops: dict[str, Callable[[int], httpx.Response]] = {
                "list": lambda _i: client.get("/api/1.0/scans/list", params={"page": 1, "pageSize": 20}),
                "listbystate": lambda _i: client.get(
                    "/api/1.0/scans/listbystate", params={"scanTaskState": state, "page": 1, "pageSize": 20}
                ),
                "poll": lambda i: client.get(
                    f"/api/1.0/scans/status/{stable_guid(f'{SCAN_COUNTER}:{(i * stride) % size + 1}')}"
                ),
                "create": lambda _i: client.post("/_emulator/scans", json={"progression": PROGRESSION}),
            }
            counts = {"list": args.lists, "listbystate": args.lists}
            counts |= {"poll": args.polls, "create": args.creates}
            for name, request in ops.items():
                latencies, error = timed(request, counts[name], args.budget)
                result[name] = latencies
                if error:
                    result["errors"].append(f"{name}: {error}")
            listed = client.get("/api/1.0/scans/list", params={"page": 1, "pageSize": 20}).json()
            result["listed_total"] = listed.get("TotalItemCount") if isinstance(listed, dict) else None
        result["rss"], result["rss_peak"] = rss_kib(process.pid)
    result["db_mib"] = sum(f.stat().st_size for f in db.parent.glob(db.name + "*")) / 2**20
    return result


# -- the benchmark ----------------------------------------------------------------------------------


def _ms(values: list[float], fn: Callable[[list[float]], float]) -> str:
    return f"{fn(values) * 1000:.1f}" if values else "-"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="1000,10000,100000", help="stored scans, comma-separated")
    parser.add_argument("--lists", type=int, default=20, help="timed requests of each list, at most")
    parser.add_argument("--polls", type=int, default=200, help="timed status polls, at most")
    parser.add_argument("--creates", type=int, default=20, help="timed creates, at most")
    parser.add_argument("--budget", type=float, default=20.0, help="seconds per operation and size, at most")
    parser.add_argument("--state", default="Scanning", help="scanTaskState of the listbystate requests")
    args = parser.parse_args()
    try:
        sizes = sorted({int(s) for s in args.sizes.split(",") if s.strip()})
    except ValueError:
        raise SystemExit(f"--sizes: comma-separated whole numbers, not {args.sizes!r}") from None
    if not sizes or sizes[0] < 1:
        raise SystemExit("--sizes: at least one size, each >= 1")
    print(f"machine: {machine()}")

    results = []
    with tempfile.TemporaryDirectory(prefix="scanwire-bench-scaling-") as tmp:
        template = Path(tmp) / "template" / "invicti.sqlite3"
        states = seed_template(template, Path(tmp) / "template.log")
        print(f"template: {len(states)} scans seeded through the control API ({', '.join(states)})")
        for size in sizes:
            db = Path(tmp) / str(size) / "invicti.sqlite3"
            seconds = seed_clones(template, db, size)
            print(f"{size} scans: seeded in {seconds:.1f} s", flush=True)
            result = measure(db, size, states, args, Path(tmp) / f"emulator-{size}.log")
            result["seed_s"] = seconds
            results.append(result)
            print(
                f"{size} scans: list median {_ms(result['list'], median)} ms "
                f"({len(result['list'])} timed), RSS {result['rss'] / 1024:.0f} MiB",
                flush=True,
            )
            shutil.rmtree(db.parent)  # 100,000 scans are about 800 MiB on disk

    rows = []
    for r in results:
        rows.append(
            [
                f"{r['size']:,}",
                *(
                    f"{_ms(r[op], median)} / {_ms(r[op], p95)} ({len(r[op])})"
                    for op in ("list", "listbystate", "poll", "create")
                ),
                f"{r['rss_start'] / 1024:.0f} -> {r['rss'] / 1024:.0f} (peak {r['rss_peak'] / 1024:.0f})",
                f"{r['db_mib']:.0f}",
            ]
        )
    print_table(
        "Invicti emulator by scans stored: median / p95 ms (timed requests), one request at a time",
        ["scans", "list p1", "listbystate p1", "status poll", "create", "RSS MiB start -> end", "db MiB"],
        rows,
    )
    for r in results:
        for error in r["errors"]:
            print(f"{r['size']}: {error}")
        if r.get("listed_total") is not None and r["listed_total"] < r["size"]:
            print(f"{r['size']}: the list counted only {r['listed_total']} scans")
    first, last = results[0], results[-1]
    if len(results) < 2:
        print("\none size only: no ratio")
        return
    name = f"{last['size']:,}/{first['size']:,}"
    for op in ("listbystate", "poll", "create"):
        if first[op] and last[op]:
            print(f"ratio {op} {name} = {median(last[op]) / median(first[op]):.2f}x")
    print(f"ratio RSS {name} = {last['rss'] / first['rss']:.2f}x")
    if first["list"] and last["list"]:
        print_ratio(f"list page 1 {name}", median(last["list"]) / median(first["list"]), f"<= {TARGET}x")


if __name__ == "__main__":
    os.environ.setdefault("PYTHONUNBUFFERED", "1")
    main()
