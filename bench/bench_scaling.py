"""Scaling: how the emulators' list, poll and create cost grows with the scans they keep stored.

For each vendor (Invicti and AppSpider, the two with scan lists) and each size (1,000 / 10,000 / 100,000
scans by default) a fresh SQLite file is filled straight through the store's schema
(conformance/emulators/core/store.py: the `records` table, one `scan` engine record and one `scan.data`
vendor document per scan, their `seq:` counters): a few template scans are seeded through the control API
of a real `scanwire emulate <vendor>` (so the records are exactly what the emulator writes, list keys and
all, in several states, with a `reads:3` progression so polls move them), then cloned in one transaction
(executemany) with the ids the emulator itself would have given them (`guid(store, "<vendor>-scan")` is
uuid5 of the counter's value; the counters are set to N so a later create does not collide); records not
of a scan (AppSpider's configs) are copied once. 100,000 scans take seconds.

Then `scanwire emulate <vendor>` serves that file (defaults, rate limits off so the bench does not time
itself against 429s) and one keep-alive httpx client measures, one request at a time:

- Invicti: `GET /api/1.0/scans/list?page=1&pageSize=20`, `listbystate` (one state), `listbystate` with
  a date window and a target search;
- AppSpider: `GET /Scan/GetScans?page=0&pageSize=20`, the same for one `configId`;
- both: the control API's listing `GET /_emulator/scans?limit=20`; a status poll of a different stored
  scan each time (mid-lifecycle); a create, `POST /_emulator/scans`;

each capped both by a count and by a time budget per operation and size (never fewer than 2 timed
requests), plus the RSS of the emulator process after the requests (and its peak) and the database
size. Prints one table per vendor and the 100k/1k ratio (largest size over smallest) of every latency;
the last line is Invicti's list page 1 (goal <= 1.5x; every list page 1 <= 20 ms at 100k).

Run: `.venv/bin/python bench/bench_scaling.py [--sizes 1000,10000,100000] [--vendors invicti,appspider]
[--budget 20]`; a quick run: `--sizes 1000,10000`.
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
TARGET_MS = 20.0
PROGRESSION = {"mode": "reads", "every": 3}
# Template scans seeded through the control API, one per state (those the vendor knows); clones cycle
# through them, so every state is about equally common among the N stored scans. The counters are the
# ones the emulator's own ids come from (ids.guid); a per-scan group id is replaced in each clone.
VENDORS: dict[str, dict[str, Any]] = {
    "invicti": {
        "states": ("Queued", "Scanning", "Archiving", "Complete", "Failed", "Cancelled", "Paused"),
        "counter": "invicti-scan",
        "group": ("invicti-scan-group", '"ScanTaskGroupId": "'),
        "state": "Scanning",
    },
    "appspider": {
        "states": ("Starting", "Running", "Paused", "Completed", "Failed", "Stopped", "Canceling"),
        "counter": "appspider-scan",
        "group": None,
    },
}


# -- seeding ----------------------------------------------------------------------------------------


def seed_template(vendor: str, db: Path, log: Path) -> list[str]:
    """Template scans written by a real emulator through its control API; returns their states."""
    port = free_port()
    cmd = [str(BIN / "scanwire"), "emulate", vendor, "--port", str(port), "--db", str(db)]
    states: list[str] = []
    with running([*cmd, "--no-rate-limits"], log, cwd=ROOT) as process:
        base = f"http://127.0.0.1:{port}"
        wait_until_up(f"{base}/_emulator/accounts", process, "scanwire emulate")
        with httpx.Client(base_url=base, timeout=30) as client:
            for state in VENDORS[vendor]["states"]:
                answer = client.post("/_emulator/scans", json={"state": state, "progression": PROGRESSION})
                if answer.status_code == 201:
                    states.append(state)
    if not states:
        raise SystemExit("the emulator accepted none of the template states; see the control API")
    return states


Row = tuple[str, str, str, int, str]


def _template_rows(
    db: Path,
) -> tuple[list[list[Row]], list[Row], dict[str, int], list[str], list[tuple[str, str]]]:
    """Per template scan its records (kind, id, account, seq, data); the other records (configs...);
    counters; kinds per scan; settings (meta: which list keys the records keep, so the emulator does not
    probe every scan for them)."""
    with sqlite3.connect(db) as con:
        rows = con.execute("SELECT kind, id, account, seq, data FROM records ORDER BY seq, kind").fetchall()
        counters = dict(con.execute("SELECT name, value FROM counters").fetchall())
        meta = con.execute("SELECT key, value FROM meta").fetchall()
    scans = [r[1] for r in rows if r[0] == "scan"]
    by_scan = [[r for r in rows if r[1] == scan_id] for scan_id in scans]
    kinds = sorted({r[0] for group in by_scan for r in group})
    others = [r for r in rows if r[1] not in set(scans)]
    return by_scan, others, counters, kinds, meta


def seed_clones(vendor: str, template: Path, out: Path, size: int) -> float:
    """A fresh store with `size` scans cloned from the template; returns the seconds it took."""
    start = time.perf_counter()
    Store(out).close()  # the store's own schema (tables, index, tally triggers, WAL mode)
    by_scan, others, counters, kinds, meta = _template_rows(template)
    counter, group = VENDORS[vendor]["counter"], VENDORS[vendor]["group"]
    extra = max((r[3] for r in others), default=0)  # configs keep their positions, scans come after

    def rows() -> Iterator[Row]:
        yield from others
        for n in range(1, size + 1):
            records = by_scan[(n - 1) % len(by_scan)]
            old_id, new_id = records[0][1], stable_guid(f"{counter}:{n}")
            for kind, _id, account, _seq, data in records:
                text = data.replace(old_id, new_id)
                at = text.find(group[1]) if group else -1
                if at >= 0:  # the vendor document's scan group: one per scan, like the emulator's
                    at += len(group[1])
                    text = text[:at] + stable_guid(f"{group[0]}:{n}") + text[text.index('"', at) :]
                yield kind, new_id, account, extra + n, text

    counters |= {counter: size, **{f"seq:{k}": extra + size for k in kinds}}
    if group:
        counters[group[0]] = size
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


def _operations(
    vendor: str, client: httpx.Client, size: int, states: list[str], args: argparse.Namespace
) -> dict[str, Callable[[int], httpx.Response]]:
    """The timed requests of one vendor, each a function of the request's number."""
    accounts = client.get("/_emulator/accounts").json()
    account = next(iter(accounts.values()))
    # Polls walk the stored scans with a stride, so each request reads a different scan.
    stride = max(1, size // max(1, args.polls))
    counter = VENDORS[vendor]["counter"]

    def scan_id(i: int) -> str:
        return stable_guid(f"{counter}:{(i * stride) % size + 1}")

    control = {
        "control list": lambda _i: client.get("/_emulator/scans", params={"limit": 20}),
        "create": lambda _i: client.post("/_emulator/scans", json={"progression": PROGRESSION}),
    }
    if vendor == "invicti":
        client.auth = httpx.BasicAuth(account["user_id"], account["token"])
        state = VENDORS[vendor]["state"] if VENDORS[vendor]["state"] in states else states[0]
        url = "/api/1.0/scans/listbystate"
        return {
            "list p1": lambda _i: client.get("/api/1.0/scans/list", params={"page": 1, "pageSize": 20}),
            "listbystate p1": lambda _i: client.get(
                url, params={"scanTaskState": state, "page": 1, "pageSize": 20}
            ),
            "listbystate window+target": lambda _i: client.get(
                url,
                params={
                    "scanTaskState": "Complete",
                    "startDate": "01/01/2000 00:00:00",
                    "targetUrlCriteria": "invicti",
                    "page": 1,
                    "pageSize": 20,
                },
            ),
            **control,
            "poll": lambda i: client.get(f"/api/1.0/scans/status/{scan_id(i)}"),
        }
    base = client.get("/_emulator/openapi.json").json()["servers"][0]["url"]
    login = {"name": account["username"], "password": account["password"]}
    if account.get("client_id"):
        login["clientId"] = account["client_id"]
    token = client.post(f"{base}/Authentication/Login", json=login).json()["Token"]
    client.headers["Authorization"] = f"Basic {token}"
    first = client.get(f"{base}/Scan/GetScans", params={"page": 0, "pageSize": 1}).json()["Scans"]
    config = first[0]["ConfigId"] if first else ""
    return {
        "list p1": lambda _i: client.get(f"{base}/Scan/GetScans", params={"page": 0, "pageSize": 20}),
        "list by config p1": lambda _i: client.get(
            f"{base}/Scan/GetScans", params={"configId": config, "page": 0, "pageSize": 20}
        ),
        **control,
        "poll": lambda i: client.get(f"{base}/Scan/GetScanStatus", params={"scanId": scan_id(i)}),
    }


def measure(
    vendor: str, db: Path, size: int, states: list[str], args: argparse.Namespace, log: Path
) -> dict[str, Any]:
    port = free_port()
    cmd = [str(BIN / "scanwire"), "emulate", vendor, "--port", str(port), "--db", str(db)]
    result: dict[str, Any] = {"size": size, "errors": [], "ops": {}}
    with running([*cmd, "--no-rate-limits"], log, cwd=ROOT) as process:
        base = f"http://127.0.0.1:{port}"
        wait_until_up(f"{base}/_emulator/accounts", process, "scanwire emulate", timeout=600)
        result["rss_start"] = rss_kib(process.pid)[0]
        with httpx.Client(base_url=base, timeout=600) as client:
            ops = _operations(vendor, client, size, states, args)
            for name, request in ops.items():
                count = args.polls if name == "poll" else args.creates if name == "create" else args.lists
                latencies, error = timed(request, count, args.budget)
                result["ops"][name] = latencies
                if error:
                    result["errors"].append(f"{name}: {error}")
            total = client.get("/_emulator/scans", params={"limit": 1}).headers.get("x-total-count")
            if total is None or int(total) < size:
                result["errors"].append(f"the emulator counts {total} scans, not the {size} stored")
        result["rss"], result["rss_peak"] = rss_kib(process.pid)
    result["db_mib"] = sum(f.stat().st_size for f in db.parent.glob(db.name + "*")) / 2**20
    return result


# -- the benchmark ----------------------------------------------------------------------------------


def _ms(values: list[float], fn: Callable[[list[float]], float]) -> str:
    return f"{fn(values) * 1000:.1f}" if values else "-"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="1000,10000,100000", help="stored scans, comma-separated")
    parser.add_argument("--vendors", default="invicti,appspider", help="comma-separated: invicti, appspider")
    parser.add_argument("--lists", type=int, default=20, help="timed requests of each list, at most")
    parser.add_argument("--polls", type=int, default=200, help="timed status polls, at most")
    parser.add_argument("--creates", type=int, default=20, help="timed creates, at most")
    parser.add_argument("--budget", type=float, default=20.0, help="seconds per operation and size, at most")
    args = parser.parse_args()
    try:
        sizes = sorted({int(s) for s in args.sizes.split(",") if s.strip()})
    except ValueError:
        raise SystemExit(f"--sizes: comma-separated whole numbers, not {args.sizes!r}") from None
    if not sizes or sizes[0] < 1:
        raise SystemExit("--sizes: at least one size, each >= 1")
    vendors = [v.strip() for v in args.vendors.split(",") if v.strip()]
    unknown = [v for v in vendors if v not in VENDORS]
    if unknown or not vendors:
        raise SystemExit(f"--vendors: some of {', '.join(VENDORS)}, not {args.vendors!r}")
    print(f"machine: {machine()}")

    by_vendor: dict[str, list[dict[str, Any]]] = {}
    with tempfile.TemporaryDirectory(prefix="scanwire-bench-scaling-") as tmp:
        for vendor in vendors:
            template = Path(tmp) / vendor / "template" / f"{vendor}.sqlite3"
            states = seed_template(vendor, template, Path(tmp) / f"{vendor}-template.log")
            print(
                f"{vendor} template: {len(states)} scans seeded through the control API ({', '.join(states)})"
            )
            results = by_vendor[vendor] = []
            for size in sizes:
                db = Path(tmp) / vendor / str(size) / f"{vendor}.sqlite3"
                seconds = seed_clones(vendor, template, db, size)
                print(f"{vendor} {size} scans: seeded in {seconds:.1f} s", flush=True)
                result = measure(vendor, db, size, states, args, Path(tmp) / f"{vendor}-{size}.log")
                result["seed_s"] = seconds
                results.append(result)
                lists = result["ops"].get("list p1") or []
                print(
                    f"{vendor} {size} scans: list median {_ms(lists, median)} ms ({len(lists)} timed), "
                    f"RSS {result['rss'] / 1024:.0f} MiB",
                    flush=True,
                )
                shutil.rmtree(db.parent)  # 100,000 scans are about 800 MiB on disk

    last_line = None
    for vendor, results in by_vendor.items():
        names = list(results[0]["ops"])
        rows = [
            [
                f"{r['size']:,}",
                *(
                    f"{_ms(r['ops'][op], median)} / {_ms(r['ops'][op], p95)} ({len(r['ops'][op])})"
                    for op in names
                ),
                f"{r['rss_start'] / 1024:.0f} -> {r['rss'] / 1024:.0f} (peak {r['rss_peak'] / 1024:.0f})",
                f"{r['db_mib']:.0f}",
            ]
            for r in results
        ]
        print_table(
            f"{vendor} emulator by scans stored: median / p95 ms (timed requests), one request at a time",
            ["scans", *names, "RSS MiB start -> end", "db MiB"],
            rows,
        )
        for r in results:
            for error in r["errors"]:
                print(f"{vendor} {r['size']}: {error}")
        first, last = results[0], results[-1]
        if len(results) < 2:
            continue
        name = f"{last['size']:,}/{first['size']:,}"
        for op in names:
            if first["ops"][op] and last["ops"][op]:
                ratio = median(last["ops"][op]) / median(first["ops"][op])
                print(f"ratio {vendor} {op} {name} = {ratio:.2f}x")
        print(f"ratio {vendor} RSS {name} = {last['rss'] / first['rss']:.2f}x")
        slow = [
            f"{op} {median(last['ops'][op]) * 1000:.1f} ms"
            for op in names
            if "list" in op and last["ops"][op] and median(last["ops"][op]) * 1000 > TARGET_MS
        ]
        print(f"{vendor} lists over {TARGET_MS:g} ms at {last['size']:,}: {', '.join(slow) or 'none'}")
        if first["ops"].get("list p1") and last["ops"].get("list p1"):
            value = median(last["ops"]["list p1"]) / median(first["ops"]["list p1"])
            if last_line is None or vendor == "invicti":  # the figure ends the output
                last_line = (f"{vendor} list page 1 {name}", value)
    if last_line is None:
        print("\none size only: no ratio")
        return
    print()
    print_ratio(last_line[0], last_line[1], f"<= {TARGET}x")


if __name__ == "__main__":
    os.environ.setdefault("PYTHONUNBUFFERED", "1")
    main()
