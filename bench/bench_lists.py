"""Every paged list of every emulator, page 1 at 1,000 / 10,000 / 100,000 stored records (issue 18).

The list operations are found in the specs, not listed here: every GET of
`generated/<vendor>/openapi.resolved.yaml` with `x-scanwire-paging` or a page/size/pageSize/limit
parameter. Each has a row in `OPERATIONS` saying what it reads; an operation found without a row stops
the bench (a new list must say how it is filled).

For each vendor a template store is written by a real `scanwire emulate <vendor>`: its own catalogue,
scans seeded through the control API (`bench_scaling.seed_template`, in several states), and a few
records made through the vendor's API (a campaign, a VAST creative with media files, a website, a team,
a user group). For each size the store is then filled in one transaction: scans cloned as
`bench_scaling.seed_clones` does, then `size` clones of the template record of each kind a list reads
(fresh ids, unique names, the one parent of a nested list set, so page 1 really has `size` siblings).
`scanwire emulate <vendor>` serves that file; one keep-alive httpx client times page 1 and the middle
page of each list (the store's OFFSET walk shows there), one request at a time, and the RSS of the
process after the requests.

Where "records stored" does not apply, the row says so and the list is timed anyway with every other
kind at `size` (a fixed catalogue the API cannot add to, a list inside one record that the lifecycle
bounds, a kind the emulator never stores).

Run: `.venv/bin/python bench/bench_lists.py [--sizes 1000,10000,100000] [--vendors soda,...]
[--requests 20] [--budget 5]`; a quick run: `--sizes 1000,10000` or `--quick`.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import sqlite3
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import yaml

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from _common import BIN, ROOT, VENDORS, machine, median, print_table
from bench_emulator_vs_prism import free_port, running, wait_until_up
from bench_scaling import VENDORS as SCAN_VENDORS
from bench_scaling import rss_kib, seed_clones, seed_template, timed

from conformance.emulators.core.ids import stable_guid
from conformance.emulators.core.store import Store

TARGET_MS = 20.0
SIZE_NAMES = ("page", "size", "pageSize", "limit")


@dataclass(frozen=True)
class Clones:
    """`size` copies of one template record of `kind` (the first that `pick` accepts): its id key set to a
    fresh id (`int_ids`: numbers from a base no emulator counter reaches), `unique` text keys suffixed
    with the clone's number, `parent` keys set to the one parent (named by the template's context)."""

    kind: str
    pick: Callable[[dict[str, Any], dict[str, Any]], bool]
    id_key: str | None  # None: the id is the record's only (not in its data)
    int_ids: bool = False
    unique: tuple[str, ...] = ()
    parent: dict[str, str] = field(default_factory=dict)  # data key -> context key
    # (parent kind, context key, data key): a count the parent's record keeps of these children
    count_key: tuple[str, str, str] | None = None


@dataclass(frozen=True)
class Operation:
    path: str  # as in the spec
    params: dict[str, str] = field(default_factory=dict)  # query values, `{key}` from the context
    fill: Clones | None = None  # None: lists scans (cloned by bench_scaling) or `note` says why nothing
    note: str = ""  # why "records stored" does not apply (or how the records are made)


def _is(key: str, context_key: str | None = None, value: Any = None) -> Callable[..., bool]:
    return lambda data, ctx: data.get(key) == (ctx[context_key] if context_key else value)


# -- what each list reads ------------------------------------------------------------------------------

OPERATIONS: dict[str, list[Operation]] = {
    "advalidation": [
        Operation(
            "/ad-specifications",
            note="catalogue: one default spec per media type, no create operation",
        ),
        Operation(
            "/campaigns",
            fill=Clones("campaign", _is("name", value="bench"), "id", int_ids=True, unique=("name",)),
        ),
        Operation(
            "/campaigns/{campaignId}/creatives",
            {"campaignId": "{campaign}"},
            fill=Clones(
                "creative",
                _is("id", "creative"),
                "id",
                int_ids=True,
                unique=("name",),
                parent={"campaignId": "campaign"},
            ),
        ),
        Operation(
            "/creatives/{creativeId}/media-files",
            {"creativeId": "{creative}"},
            fill=Clones(
                "creative",
                _is("parentId", "creative"),
                "id",
                int_ids=True,
                unique=("name",),
                parent={"parentId": "creative"},
            ),
        ),
        Operation(
            "/creatives/{creativeId}/variations",
            {"creativeId": "{creative}"},
            note="never stored: the emulator's creatives have no variations (always empty)",
        ),
    ],
    "invicti": [
        Operation("/api/1.0/scans/list"),
        Operation("/api/1.0/scans/listbystate", {"scanTaskState": "Scanning"}),
        Operation("/api/1.0/scans/listbywebsite", {"websiteUrl": "{target}"}, note="every scan: one website"),
        Operation(
            "/api/1.0/websites/list",
            fill=Clones("website", _is("Name", value="bench"), "Id", unique=("Name", "RootUrl")),
        ),
        Operation(
            "/api/1.0/scanprofiles/list",
            fill=Clones("scanprofile", lambda d, c: True, "ProfileId", unique=("ProfileName",)),
            note="catalogue (no create operation): clones of the built-in profile",
        ),
        Operation(
            "/api/1.0/scanpolicies/list",
            fill=Clones("scanpolicy", lambda d, c: True, "Id", unique=("Name",)),
            note="catalogue (no create operation): clones of the built-in policy",
        ),
    ],
    "appspider": [
        Operation("/Scan/GetScans"),
        Operation(
            "/Scan/GetScanErrors",
            {"scanId": "{scan}"},
            note="not paged; events inside one scan's record, bounded by its lifecycle",
        ),
        Operation(
            "/Finding/GetVulnerabilities",
            {"scanId": "{done_scan}"},
            fill=Clones(
                "finding",
                _is("scan", "done_scan"),
                "Id",
                parent={"scan": "done_scan"},
                count_key=("scan.data", "done_scan", "findings"),
            ),
        ),
    ],
    "threadfix": [
        Operation(
            "/teams",
            fill=Clones("team", _is("name", value="bench"), "id", int_ids=True, unique=("name",)),
        ),
    ],
    "soda": [
        Operation(
            "/api/v1/scans/{scanId}/logs",
            {"scanId": "{log_scan}"},
            note="one scan with `size` log lines, seeded through the control API (data.logLines)",
        ),
        Operation(
            "/api/v1/checks",
            fill=Clones("soda_check", _is("hidden", value=False), "id", unique=("name",)),
        ),
        Operation(
            "/api/v1/datasets",
            fill=Clones("soda_dataset", _is("hidden", value=False), "id", unique=("name",)),
        ),
        Operation(
            "/api/v1/datasets/attributes",
            fill=Clones("soda_dataset_attribute", lambda d, c: True, "id", unique=("name",)),
            note="catalogue (no create operation): clones of a built-in attribute",
        ),
        Operation(
            "/api/v1/datasets/roles",
            fill=Clones("soda_dataset_role", lambda d, c: True, "id", unique=("name",)),
            note="catalogue (no create operation): clones of a built-in role",
        ),
        Operation(
            "/api/v1/datasets/{datasetId}/responsibilities",
            {"datasetId": "{dataset}"},
            fill=Clones(
                "soda_dataset_responsibility",
                _is("dataset", "dataset"),
                None,
                parent={"dataset": "dataset"},
                count_key=("soda_dataset", "dataset", "responsibilityCount"),
            ),
            note="one dataset's responsibilities (the API's 4 MB body limit allows ~50,000)",
        ),
        Operation(
            "/api/v1/users",
            fill=Clones("soda_user", lambda d, c: True, "userId", unique=("email", "searchText")),
            note="no create operation: clones of a catalogue user",
        ),
        Operation(
            "/api/v1/userGroups",
            fill=Clones("soda_user_group", _is("name", value="bench"), "userGroupId", unique=("name",)),
        ),
    ],
}
# Where each vendor's list answer says how many items match (ThreadFix's /teams says nothing).
TOTALS = {
    "advalidation": ("meta", "pagination", "totalCount"),
    "invicti": ("TotalItemCount",),
    "appspider": ("TotalCount",),
    "soda": ("totalElements",),
}
INT_BASE = 1_500_000_000  # above every emulator's own ids, below int32's limit


def list_operations(vendor: str) -> dict[str, dict[str, Any]]:
    """The paged GET operations of a vendor's spec, by path."""
    spec = yaml.safe_load((ROOT / "generated" / vendor / "openapi.resolved.yaml").read_text())
    out = {}
    for path, item in spec["paths"].items():
        op = item.get("get")
        if not op:
            continue
        names = {p.get("name") for p in op.get("parameters") or [] if isinstance(p, dict)}
        if op.get("x-scanwire-paging") or names & set(SIZE_NAMES):
            out[path] = op
    return out


# -- templates ---------------------------------------------------------------------------------------


class Session:
    """A keep-alive client on a running emulator, authenticated as its first account."""

    def __init__(self, vendor: str, port: int) -> None:
        self.vendor = vendor
        self.http = httpx.Client(base_url=f"http://127.0.0.1:{port}", timeout=600)
        self.account = next(iter(self.http.get("/_emulator/accounts").json().values()))
        base = self.http.get("/_emulator/openapi.json").json()["servers"][0]["url"]
        # A server variable the emulator leaves in its URL (ThreadFix's {version}): the spec's default.
        spec = yaml.safe_load((ROOT / "generated" / vendor / "openapi.resolved.yaml").read_text())
        defaults = {k: v["default"] for k, v in (spec["servers"][0].get("variables") or {}).items()}
        self.base = re.sub(r"\{(\w+)\}", lambda m: str(defaults.get(m[1], m[0])), base)
        a = self.account
        if vendor == "advalidation":
            self.http.headers["X-API-Key"] = a["api_key"]
        elif vendor == "invicti":
            self.http.auth = httpx.BasicAuth(a["user_id"], a["token"])
        elif vendor == "soda":
            self.http.auth = httpx.BasicAuth(a["key_id"], a["secret"])
        elif vendor == "threadfix":
            self.http.headers["Authorization"] = f"APIKEY {a['api_key']}"
            self.http.headers["Accept"] = "application/json"  # a required header of every operation
        else:
            login = {"name": a["username"], "password": a["password"]}
            if a.get("client_id"):
                login["clientId"] = a["client_id"]
            token = self.call("POST", "/Authentication/Login", json=login)["Token"]
            self.http.headers["Authorization"] = f"Basic {token}"

    def call(self, method: str, path: str, **kwargs: Any) -> Any:
        answer = self.http.request(method, self.base + path, **kwargs)
        if answer.status_code >= 300:
            raise SystemExit(f"{self.vendor} {method} {path}: HTTP {answer.status_code} {answer.text[:300]}")
        body = answer.json() if answer.content else None
        if isinstance(body, dict) and body.get("success") is False:  # ThreadFix's 200 refusals
            raise SystemExit(f"{self.vendor} {method} {path}: {answer.text[:300]}")
        return body

    def close(self) -> None:
        self.http.close()


@contextmanager
def _serve(vendor: str, db: Path, log: Path) -> Iterator[Session]:
    port = free_port()
    cmd = [str(BIN / "scanwire"), "emulate", vendor, "--port", str(port), "--db", str(db)]
    with running([*cmd, "--no-rate-limits"], log, cwd=ROOT) as process:
        wait_until_up(f"http://127.0.0.1:{port}/_emulator/accounts", process, "scanwire emulate", timeout=600)
        session = Session(vendor, port)
        session.pid = process.pid  # type: ignore[attr-defined]
        try:
            yield session
        finally:
            session.close()


def make_templates(vendor: str, db: Path, log: Path) -> dict[str, Any]:
    """Records made through the vendor's own API on the template store; the context lists refer to."""
    if vendor in SCAN_VENDORS:
        seed_template(vendor, db, log.with_suffix(".scans.log"))
    ctx: dict[str, Any] = {}
    with _serve(vendor, db, log) as s:
        if vendor == "advalidation":
            ctx["campaign"] = s.call("POST", "/campaigns", json={"name": "bench", "type": "display"})["data"][
                "id"
            ]
            vast = (
                "<VAST>"
                + "".join(f"<MediaFile>https://cdn.example/{n}.mp4</MediaFile>" for n in (1, 2))
                + "</VAST>"
            )
            made = s.call("POST", f"/campaigns/{ctx['campaign']}/creatives", json={"payload": vast})["data"]
            ctx["creative"] = made[0]["id"]
        elif vendor == "invicti":
            s.call(
                "POST",
                "/api/1.0/websites/new",
                json={"RootUrl": "https://bench.example/", "Name": "bench", "LicenseType": "Subscription"},
            )
            first = s.call("GET", "/api/1.0/scans/list", params={"page": 1, "pageSize": 1})["List"]
            ctx["target"] = first[0]["TargetUrl"]
        elif vendor == "appspider":
            scans = s.call("GET", "/Scan/GetScans", params={"page": 0, "pageSize": 50})["Scans"]
            ctx["scan"] = scans[0]["Id"]
            done = s.http.get("/_emulator/scans", params={"state": "Completed", "limit": 1}).json()
            ctx["done_scan"] = done[0]["id"]
        elif vendor == "threadfix":
            s.call("POST", "/teams/new", data={"name": "bench"})
        elif vendor == "soda":
            s.call("POST", "/api/v1/userGroups", json={"name": "bench", "userIds": []})
            ctx["dataset"] = s.call("GET", "/api/v1/datasets", params={"page": 0, "size": 10})["content"][0][
                "id"
            ]
    return ctx


# -- filling -----------------------------------------------------------------------------------------


def _rows_of(con: sqlite3.Connection, kind: str) -> list[tuple[str, str, int, str]]:
    return con.execute(
        "SELECT id, account, seq, data FROM records WHERE kind=? ORDER BY seq", (kind,)
    ).fetchall()


def _clones(
    c: Clones, data: dict[str, Any], account: str, n_op: int, seq: int, size: int, ctx: dict[str, Any]
) -> Iterator[tuple[Any, ...]]:
    """The rows of `size` clones of one template record (positions after `seq`)."""
    for n in range(1, size + 1):
        new_id: Any = (
            INT_BASE + n_op * 1_000_000 + n if c.int_ids else stable_guid(f"bench-{c.kind}-{n_op}:{n}")
        )
        clone = dict(data)
        if c.id_key:
            clone[c.id_key] = new_id
        for key in c.unique:
            if isinstance(clone.get(key), str):
                clone[key] = f"{clone[key]}-{n}"
        for key, ctx_key in c.parent.items():
            clone[key] = ctx[ctx_key]
        yield c.kind, str(new_id), account, seq + n, json.dumps(clone, sort_keys=True)


def fill(vendor: str, template: Path, out: Path, size: int, ctx: dict[str, Any]) -> float:
    """The store of one size: scans as bench_scaling clones them (or the template as it is), then `size`
    clones of each list's template record, in one transaction. Returns the seconds it took."""
    start = time.perf_counter()
    if vendor in SCAN_VENDORS:
        seed_clones(vendor, template, out, size)
    else:
        Store(out).close()
        with sqlite3.connect(template) as src, sqlite3.connect(out) as dst:
            src.backup(dst)
    with sqlite3.connect(out, isolation_level=None) as con:
        con.execute("PRAGMA synchronous=OFF")
        con.execute("BEGIN")
        seq = con.execute("SELECT COALESCE(MAX(seq), 0) FROM records").fetchone()[0]
        for n_op, op in enumerate(OPERATIONS[vendor]):
            if op.fill is None:
                continue
            c = op.fill
            template_row = next((r for r in _rows_of(con, c.kind) if c.pick(json.loads(r[3]), ctx)), None)
            if template_row is None:
                raise SystemExit(f"{vendor} {op.path}: no template record of kind {c.kind!r}")
            _id, account, _seq, text = template_row
            data = json.loads(text)

            con.executemany(
                "INSERT INTO records (kind, id, account, seq, data) VALUES (?, ?, ?, ?, ?)",
                _clones(c, data, account, n_op, seq, size, ctx),
            )
            con.execute(
                "INSERT OR REPLACE INTO counters (name, value) VALUES (?, ?)", (f"seq:{c.kind}", seq + size)
            )
            seq += size
            if c.count_key:
                parent_kind, ctx_key, count_key = c.count_key
                child_key = next(iter(c.parent))
                con.execute(
                    f"UPDATE records SET data = json_set(data, '$.{count_key}', (SELECT COUNT(*) "
                    f"FROM records WHERE kind=? AND json_extract(data, '$.{child_key}')=?)) "
                    "WHERE kind=? AND id=?",
                    (c.kind, ctx[ctx_key], parent_kind, ctx[ctx_key]),
                )
        con.execute("COMMIT")
        con.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    return time.perf_counter() - start


# -- measuring -----------------------------------------------------------------------------------------


def _url(op: Operation, ctx: dict[str, Any]) -> tuple[str, dict[str, Any]]:
    values = {k: v.format(**ctx) for k, v in op.params.items()}
    path = op.path
    for key in list(values):
        if "{" + key + "}" in path:
            path = path.replace("{" + key + "}", values.pop(key))
    return path, values


def _paging(spec_op: dict[str, Any]) -> tuple[str | None, str | None, int, int]:
    """(page parameter, size parameter, first page number, page size asked)."""
    rule = spec_op.get("x-scanwire-paging") or {}
    if rule.get("style") != "page-number":
        return None, None, 0, 0
    size_name = rule.get("size")
    if not size_name:
        return rule.get("page", "page"), None, int(rule.get("first", 0)), int(rule.get("default-size") or 20)
    schema = next(
        (p.get("schema") or {} for p in spec_op.get("parameters") or [] if p.get("name") == size_name), {}
    )
    size = max(20, int(schema.get("minimum") or 0))  # 20, or the smallest page the operation allows
    return rule.get("page", "page"), size_name, int(rule.get("first", 0)), size


def _getter(http: httpx.Client, url: str, query: dict[str, Any]) -> Callable[[int], httpx.Response]:
    return lambda _i: http.get(url, params=query)


def measure(
    vendor: str, db: Path, size: int, ctx: dict[str, Any], args: argparse.Namespace, log: Path
) -> dict[str, Any]:
    found = list_operations(vendor)
    result: dict[str, Any] = {"size": size, "ops": {}, "errors": []}
    with _serve(vendor, db, log) as s:
        if vendor == "soda":
            scan = s.http.post("/_emulator/scans", json={"state": "completed", "data": {"logLines": size}})
            if scan.status_code != 201:
                raise SystemExit(f"soda log scan: HTTP {scan.status_code} {scan.text[:300]}")
            ctx = {**ctx, "log_scan": scan.json()["id"]}
        for op in OPERATIONS[vendor]:
            page_name, size_name, first, page_size = _paging(found[op.path])
            path, params = _url(op, ctx)
            if size_name:
                params[size_name] = page_size
            url = s.base + path

            probe = s.http.get(url, params={**params, **({page_name: first} if page_name else {})})
            if probe.status_code >= 300:
                result["errors"].append(f"{op.path}: HTTP {probe.status_code} {probe.text[:200]}")
                continue
            total: Any = probe.json()
            for key in TOTALS.get(vendor, ("-",)):
                total = total.get(key, "-") if isinstance(total, dict) else "-"
            result.setdefault("totals", {})[op.path] = total
            middle = first + (size // 2) // page_size if page_name and page_size else first
            timings: dict[str, list[float]] = {}
            for name, number in (("p1", first), ("mid", middle)):
                query = {**params, **({page_name: number} if page_name else {})}
                latencies, error = timed(_getter(s.http, url, query), args.requests, args.budget)
                timings[name] = latencies
                if error:
                    result["errors"].append(f"{op.path} {name}: {error}")
            result["ops"][op.path] = timings
        result["rss"] = rss_kib(s.pid)[0]  # type: ignore[attr-defined]
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="1000,10000,100000", help="records per list, comma-separated")
    parser.add_argument("--vendors", default=",".join(VENDORS), help="comma-separated vendor slugs")
    parser.add_argument("--requests", type=int, default=20, help="timed requests per page, at most")
    parser.add_argument("--budget", type=float, default=5.0, help="seconds per page and size, at most")
    parser.add_argument("--quick", action="store_true", help="sizes 1000,10000 and 5 requests per page")
    args = parser.parse_args()
    if args.quick:
        args.sizes, args.requests = "1000,10000", 5
    try:
        sizes = sorted({int(s) for s in args.sizes.split(",") if s.strip()})
    except ValueError:
        raise SystemExit(f"--sizes: comma-separated whole numbers, not {args.sizes!r}") from None
    if not sizes or sizes[0] < 2:
        raise SystemExit("--sizes: at least one size, each >= 2")
    vendors = [v.strip() for v in args.vendors.split(",") if v.strip()]
    unknown = [v for v in vendors if v not in OPERATIONS]
    if unknown or not vendors:
        raise SystemExit(f"--vendors: some of {', '.join(OPERATIONS)}, not {args.vendors!r}")
    for vendor in vendors:
        missing = set(list_operations(vendor)) - {op.path for op in OPERATIONS[vendor]}
        if missing:
            raise SystemExit(f"{vendor}: list operations with no row in OPERATIONS: {sorted(missing)}")
    print(f"machine: {machine()}")

    rows: list[list[str]] = []
    worst: tuple[float, str] = (0.0, "")
    with tempfile.TemporaryDirectory(prefix="scanwire-bench-lists-") as tmp:
        for vendor in vendors:
            template = Path(tmp) / vendor / "template" / f"{vendor}.sqlite3"
            ctx = make_templates(vendor, template, Path(tmp) / f"{vendor}-template.log")
            results = []
            for size in sizes:
                db = Path(tmp) / vendor / str(size) / f"{vendor}.sqlite3"
                seconds = fill(vendor, template, db, size, ctx)
                result = measure(vendor, db, size, ctx, args, Path(tmp) / f"{vendor}-{size}.log")
                print(
                    f"{vendor} {size:,}: filled in {seconds:.1f} s, RSS {result['rss'] / 1024:.0f} MiB",
                    flush=True,
                )
                for error in result["errors"]:
                    print(f"  {error}")
                results.append(result)
                shutil.rmtree(db.parent)
            for op in OPERATIONS[vendor]:
                cells = []
                for r in results:
                    t = r["ops"].get(op.path)
                    cells.append(
                        f"{median(t['p1']) * 1000:.1f} / {median(t['mid']) * 1000:.1f}"
                        if t and t["p1"]
                        else "-"
                    )
                first_p1 = results[0]["ops"].get(op.path, {}).get("p1")
                last_p1 = results[-1]["ops"].get(op.path, {}).get("p1")
                ratio = (
                    f"{median(last_p1) / median(first_p1):.2f}x"
                    if first_p1 and last_p1 and len(results) > 1
                    else "-"
                )
                verdict = "-"
                if last_p1:
                    ms = median(last_p1) * 1000
                    verdict = "pass" if ms <= TARGET_MS else "FAIL"
                    if ms > worst[0]:
                        worst = (ms, f"{vendor} {op.path}")
                rss = " / ".join(f"{r['rss'] / 1024:.0f}" for r in results)
                total = results[-1].get("totals", {}).get(op.path, "-")
                rows.append([f"{vendor} {op.path}", *cells, ratio, verdict, rss, str(total), op.note])
    print_table(
        f"page 1 / middle page, median ms of up to {args.requests} requests; ratio and verdict: page 1 at "
        f"{sizes[-1]:,} vs {sizes[0]:,}, target <= {TARGET_MS:g} ms",
        ["operation", *(f"{s:,}" for s in sizes), "ratio", "verdict", "RSS MiB", "listed", "note"],
        rows,
    )
    load = os.getloadavg()[0]
    print(f"\nload at the end: {load:.2f}")
    print(
        f"\nworst page 1 at {sizes[-1]:,}: {worst[0]:.1f} ms ({worst[1]}) (target <= {TARGET_MS:g} ms)",
        flush=True,
    )


if __name__ == "__main__":
    os.environ.setdefault("PYTHONUNBUFFERED", "1")
    main()
