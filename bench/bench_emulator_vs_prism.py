"""Emulator throughput: status polls of many scans mid-lifecycle, `scanwire emulate invicti` vs Prism
vs a trivial endpoint on the emulator's own server stack (the ceiling).

Three servers, each its own process on 127.0.0.1, all quiet (no per-request log line):

- ours: `scanwire emulate invicti` with its defaults (SQLite state in a file, request validation, every
  poll counted and saved), N scans (2,000 by default) seeded through the control API, each with a
  `reads:E` progression (a scan moves one state every E polls; E is chosen so that the scans are still
  mid-lifecycle at the end: the bench prints how many reached a final state);
- Prism: `prism mock <spec> --verboseLevel error` (`@stoplight/prism-cli`, pinned; static examples, no
  state; at its default `info` level Prism writes a log line per request) on the same resolved spec
  (generated/invicti/openapi.resolved.yaml);
- trivial: one Starlette route answering the same bytes as the emulator's first status answer, served by
  `conformance.emulators.core.server.serve` (the emulator's uvicorn + uvloop + httptools stack with its
  coalescing transport), no auth, no state: what this stack can do at most.

The same load generator drives all three: W asyncio workers, each on its own keep-alive connection, each
walking the N scan ids from its own offset (`GET /api/1.0/scans/status/{id}`, Basic credentials), for T
seconds after a warm-up; rounds alternate between the servers. The generator is a few lines of raw
HTTP/1.1 over asyncio streams (no client library) so that it takes as little of the shared CPU as
possible. Besides wall throughput it reads each server's CPU time (utime + stime of the process and its
children, /proc) over each round and reports CPU per 1,000 answers. Prism is installed with npm into
.scanwire/bench/prism (reused next time); when npm or the install fails, the benchmark says so and
measures the other two.

Run: `.venv/bin/python bench/bench_emulator_vs_prism.py [--scans 2000] [--concurrency 16] [--seconds 10]
[--rounds 3]`.
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import json
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import BIN, ROOT, machine, print_ratio, print_table

SPEC = ROOT / "generated" / "invicti" / "openapi.resolved.yaml"
PRISM_DIR = ROOT / ".scanwire" / "bench" / "prism"
# Pinned exactly: 5.16.0 crashes at start under NODE_ENV=production ("reading 'isPrimary'"), and an
# unpinned peer makes the ratio move between runs for reasons of its own.
PRISM_PACKAGE = "@stoplight/prism-cli@5.14.2"
TARGET_PRISM = 3.0
TARGET_TRIVIAL = 0.5
OURS, PRISM, TRIVIAL = "scanwire emulate (SQLite file)", "prism mock (static, log off)", "trivial Starlette"
_TICK = os.sysconf("SC_CLK_TCK") if hasattr(os, "sysconf") else 100


# -- load generator ---------------------------------------------------------------------------------


@dataclass
class Load:
    requests: int = 0
    bytes: int = 0
    errors: dict[str, int] = field(default_factory=dict)
    latencies: list[float] = field(default_factory=list)
    seconds: float = 0.0
    answered: int = 0  # warm-up included: what the server's CPU time over the round paid for
    cpu: float = 0.0  # the server's CPU seconds over the round (warm-up included)

    @property
    def cpu_ms_per_1000(self) -> float:
        return self.cpu * 1e6 / self.answered if self.answered else float("nan")

    @property
    def rps(self) -> float:
        return self.requests / self.seconds if self.seconds else 0.0

    def percentile(self, p: float) -> float:
        if not self.latencies:
            return float("nan")
        ordered = sorted(self.latencies)
        return ordered[min(len(ordered) - 1, int(p / 100 * len(ordered)))] * 1000


async def _read_response(reader: asyncio.StreamReader) -> tuple[int, bytes]:
    head = await reader.readuntil(b"\r\n\r\n")
    lines = head.decode("latin-1").split("\r\n")
    status = int(lines[0].split(" ", 2)[1])
    headers = {k.strip().lower(): v.strip() for k, _, v in (ln.partition(":") for ln in lines[1:] if ln)}
    if "content-length" in headers:
        return status, await reader.readexactly(int(headers["content-length"]))
    if headers.get("transfer-encoding", "").lower() == "chunked":
        body = b""
        while True:
            size = int((await reader.readuntil(b"\r\n")).split(b";")[0], 16)
            chunk = await reader.readexactly(size + 2)
            if size == 0:
                return status, body
            body += chunk[:-2]
    raise ValueError("response without length")


async def _worker(
    port: int, requests: list[bytes], start: int, until: float, record_from: float, load: Load
) -> None:
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    i = start
    try:
        while (now := time.perf_counter()) < until:
            writer.write(requests[i % len(requests)])
            i += 1
            status, body = await _read_response(reader)
            done = time.perf_counter()
            load.answered += 1
            if now < record_from:
                continue
            if status != 200:
                key = f"HTTP {status}"
                load.errors[key] = load.errors.get(key, 0) + 1
                continue
            load.requests += 1
            load.bytes += len(body)
            load.latencies.append(done - now)
    finally:
        writer.close()


async def _drive(
    port: int, paths: list[str], auth: str, concurrency: int, warmup: float, seconds: float
) -> Load:
    requests = [
        (
            f"GET {path} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nAuthorization: {auth}\r\n"
            "Accept: application/json\r\nConnection: keep-alive\r\n\r\n"
        ).encode()
        for path in paths
    ]
    load = Load(seconds=seconds)
    start = time.perf_counter()
    record_from, until = start + warmup, start + warmup + seconds
    step = max(1, len(requests) // concurrency)  # each worker starts on its own stretch of the scans
    await asyncio.gather(
        *(_worker(port, requests, w * step, until, record_from, load) for w in range(concurrency))
    )
    return load


def cpu_seconds(pid: int) -> float:
    """utime + stime of a process and its descendants (Linux /proc; 0.0 elsewhere)."""
    total, pending = 0, [pid]
    while pending:
        p = pending.pop()
        try:
            fields = Path(f"/proc/{p}/stat").read_text().rsplit(")", 1)[1].split()
            children = Path(f"/proc/{p}/task/{p}/children").read_text().split()
        except OSError:
            continue
        total += int(fields[11]) + int(fields[12])  # utime, stime (fields 14, 15 of stat)
        pending += [int(c) for c in children]
    return total / _TICK


def drive(
    pid: int, port: int, paths: list[str], auth: str, concurrency: int, warmup: float, seconds: float
) -> Load:
    before = cpu_seconds(pid)
    load = asyncio.run(_drive(port, paths, auth, concurrency, warmup, seconds))
    load.cpu = cpu_seconds(pid) - before
    return load


# -- servers ----------------------------------------------------------------------------------------


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def http_json(method: str, url: str, body: Any = None, auth: str | None = None) -> tuple[int, Any]:
    data = None if body is None else json.dumps(body).encode()
    request = urllib.request.Request(url, data=data, method=method)
    request.add_header("Content-Type", "application/json")
    if auth:
        request.add_header("Authorization", auth)
    try:
        with urllib.request.urlopen(request, timeout=10) as answer:
            return answer.status, json.loads(answer.read() or b"null")
    except urllib.error.HTTPError as exc:
        return exc.code, None


def wait_until_up(url: str, process: subprocess.Popen[bytes], what: str, timeout: float = 60.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"{what} exited with {process.returncode}")
        try:
            urllib.request.urlopen(url, timeout=2).close()
            return
        except urllib.error.HTTPError:
            return  # it answers
        except OSError:
            time.sleep(0.2)
    raise RuntimeError(f"{what} did not answer within {timeout:.0f} s")


@contextmanager
def running(cmd: list[str], log: Path, **kwargs: Any) -> Iterator[subprocess.Popen[bytes]]:
    with log.open("wb") as out:
        process = subprocess.Popen(cmd, stdout=out, stderr=subprocess.STDOUT, **kwargs)
        try:
            yield process
        finally:
            process.terminate()
            try:
                process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()


def install_prism() -> tuple[Path | None, str]:
    """(the prism executable, a note); None when npm is missing or the install fails."""
    npm = shutil.which("npm")
    if npm is None:
        return None, "npm not found"
    PRISM_DIR.mkdir(parents=True, exist_ok=True)
    done = subprocess.run(
        [npm, "install", "--prefix", str(PRISM_DIR), "--no-audit", "--no-fund", "--silent", PRISM_PACKAGE],
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )
    prism = PRISM_DIR / "node_modules" / ".bin" / "prism"
    if done.returncode != 0 or not prism.exists():
        return None, f"npm install {PRISM_PACKAGE} failed: {(done.stderr or done.stdout).strip()[-500:]}"
    version = subprocess.run([str(prism), "--version"], capture_output=True, text=True, check=False)
    return prism, f"prism {version.stdout.strip()} (node {_node_version()})"


def _node_version() -> str:
    node = shutil.which("node")
    if node is None:
        return "?"
    return subprocess.run([node, "--version"], capture_output=True, text=True, check=False).stdout.strip()


# -- the trivial side -------------------------------------------------------------------------------


def serve_trivial(port: int, body_file: Path) -> None:
    """The ceiling, in this process: one route, fixed bytes, the emulator's own server stack."""
    from starlette.applications import Starlette
    from starlette.requests import Request
    from starlette.responses import Response
    from starlette.routing import Route

    from conformance.emulators.core.server import serve

    body = body_file.read_bytes()

    async def status(request: Request) -> Response:
        return Response(body, media_type="application/json")

    serve(Starlette(routes=[Route("/api/1.0/scans/status/{id}", status)]), host="127.0.0.1", port=port)


@contextmanager
def trivial_server(tmp: str, body: bytes) -> Iterator[tuple[int, int]]:
    """(port, pid) of the trivial server while the block runs."""
    body_file = Path(tmp) / "trivial-body.json"
    body_file.write_bytes(body)
    port = free_port()
    cmd = [sys.executable, __file__, "--trivial-port", str(port), "--trivial-body", str(body_file)]
    with running(cmd, Path(tmp) / "trivial.log", cwd=ROOT) as process:
        wait_until_up(f"http://127.0.0.1:{port}/", process, "trivial server")
        yield port, process.pid


# -- the benchmark ----------------------------------------------------------------------------------


def seed_scans(base: str, count: int, every: int) -> list[str]:
    """`count` scans through the control API, each moving one state every `every` polls."""
    ids = []
    progression = {"mode": "reads", "every": every}
    for _ in range(count):
        status, scan = http_json("POST", f"{base}/_emulator/scans", {"progression": progression})
        if status != 201:
            raise SystemExit(f"seeding a scan failed: HTTP {status}")
        ids.append(scan["id"])
    return ids


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--scans", type=int, default=2000, help="scans seeded and polled in turn")
    parser.add_argument(
        "--every", type=int, default=0, help="polls per state step (default: from the expected polls)"
    )
    parser.add_argument("--concurrency", type=int, default=16, help="workers, one connection each")
    parser.add_argument("--seconds", type=float, default=10.0, help="measured seconds per round")
    parser.add_argument("--warmup", type=float, default=2.0, help="unmeasured seconds before each round")
    parser.add_argument("--rounds", type=int, default=3, help="rounds per server, alternating")
    parser.add_argument("--skip-prism", action="store_true", help="measure the emulator and trivial side")
    # Internal: serve the trivial side in this process.
    parser.add_argument("--trivial-port", type=int, help=argparse.SUPPRESS)
    parser.add_argument("--trivial-body", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.trivial_port is not None:
        serve_trivial(args.trivial_port, args.trivial_body)
        return
    if args.scans < 1:
        raise SystemExit("--scans must be >= 1")
    # Polls per scan over the whole run if the emulator answered 20,000 req/s (above what it does on 2
    # cores; 10,000 until the emulator reached 8,500 and its scans finished within the run); a scan steps
    # every quarter of that, so it needs 3/4 of that many polls (three steps from Queued to a final
    # state) to finish: the scans stay mid-lifecycle, and polls move states when the server is fast. The
    # end of the run says how many steps were taken and how many scans finished.
    expected = 20_000 * (args.warmup + args.seconds) * args.rounds / args.scans
    every = args.every or max(1, int(expected / 4))
    print(f"machine: {machine()}")
    prism, prism_note = (None, "skipped (--skip-prism)") if args.skip_prism else install_prism()
    print(f"prism: {prism_note}")

    with tempfile.TemporaryDirectory(prefix="scanwire-bench-emulate-") as tmp:
        ours_port = free_port()
        ours_cmd = [str(BIN / "scanwire"), "emulate", "invicti", "--port", str(ours_port)]
        ours_cmd += ["--db", str(Path(tmp) / "invicti.sqlite3")]
        with running(ours_cmd, Path(tmp) / "emulator.log", cwd=ROOT) as ours:
            base = f"http://127.0.0.1:{ours_port}"
            wait_until_up(f"{base}/_emulator/accounts", ours, "scanwire emulate")
            _, accounts = http_json("GET", f"{base}/_emulator/accounts")
            account = next(iter(accounts.values()))
            credentials = f"{account['user_id']}:{account['token']}".encode()
            auth = "Basic " + base64.b64encode(credentials).decode()
            started = time.perf_counter()
            ids = seed_scans(base, args.scans, every)
            print(
                f"seeded {len(ids)} scans through the control API in {time.perf_counter() - started:.1f} s, "
                f"progression reads:{every}"
            )
            paths = [f"/api/1.0/scans/status/{i}" for i in ids]
            request = urllib.request.Request(base + paths[0], headers={"Authorization": auth})
            with urllib.request.urlopen(request, timeout=10) as answer:
                first = answer.read()
            print(f"workload: GET /api/1.0/scans/status/{{one of {len(ids)}}}; first answer {first.decode()}")

            servers: dict[str, tuple[int, int]] = {OURS: (ours_port, ours.pid)}
            with prism_server(prism, tmp) as prism_side, trivial_server(tmp, first) as trivial_side:
                if prism_side is not None:
                    code, answer_body = http_json(
                        "GET", f"http://127.0.0.1:{prism_side[0]}{paths[0]}", auth=auth
                    )
                    print(f"prism: first answer HTTP {code} {answer_body}")
                    servers[PRISM] = prism_side
                servers[TRIVIAL] = trivial_side
                loads: dict[str, list[Load]] = {name: [] for name in servers}
                for i in range(args.rounds):
                    for name, (port, pid) in servers.items():
                        load = drive(pid, port, paths, auth, args.concurrency, args.warmup, args.seconds)
                        loads[name].append(load)
                        print(
                            f"round {i + 1}: {name}: {load.rps:.0f} req/s, "
                            f"CPU {load.cpu_ms_per_1000:.0f} ms per 1,000 answers",
                            flush=True,
                        )
            _, scans = http_json("GET", f"{base}/_emulator/scans")
            final = sum(1 for scan in scans if scan["terminal"])
            steps = sum(len(scan["history"]) - 1 for scan in scans)
            reads = sorted(scan["reads"] for scan in scans)
            kept = (
                f"{steps} state steps taken by polls, {final} of {len(scans)} scans reached a final "
                "state; reads since the last step: "
                f"median {reads[len(reads) // 2]}, max {reads[-1]}"
            )

    merged = {name: _merge(runs) for name, runs in loads.items()}
    rows = [
        [
            name,
            f"{m.rps:.0f}",
            f"{m.percentile(50):.1f}",
            f"{m.percentile(99):.1f}",
            f"{m.cpu_ms_per_1000:.0f}",
            m.requests,
            m.bytes // max(1, m.requests),
            sum(m.errors.values()),
        ]
        for name, m in merged.items()
    ]
    print_table(
        f"status poll of {len(ids)} scans, {args.concurrency} connections, {args.rounds} x "
        f"{args.seconds:.0f} s per server (+{args.warmup:.0f} s warm-up each), loopback",
        ["server", "req/s", "p50 ms", "p99 ms", "CPU ms/1k", "answers", "bytes/answer", "errors"],
        rows,
    )
    print(f"\nstate kept by the emulator: {kept}")
    for name, m in merged.items():
        if m.errors:
            print(f"{name}: non-200 answers {m.errors}")
    ours_m, trivial_m = merged[OURS], merged[TRIVIAL]
    print(
        f"\nratio emulator/trivial CPU per answer = "
        f"{trivial_m.cpu_ms_per_1000 / ours_m.cpu_ms_per_1000:.2f}x (trivial's CPU over ours)"
    )
    if PRISM in merged:
        prism_m = merged[PRISM]
        print(
            f"ratio emulator/prism CPU per answer = "
            f"{prism_m.cpu_ms_per_1000 / ours_m.cpu_ms_per_1000:.2f}x (Prism's CPU over ours)"
        )
        print_ratio("emulator/prism req/s", ours_m.rps / prism_m.rps, f">= {TARGET_PRISM:.1f}x")
    else:
        print(f"\nprism not measured ({prism_note})")
    print_ratio("emulator/trivial req/s", ours_m.rps / trivial_m.rps, f">= {TARGET_TRIVIAL:.1f}x")


def _merge(runs: list[Load]) -> Load:
    out = Load(seconds=sum(r.seconds for r in runs))
    for r in runs:
        out.requests += r.requests
        out.answered += r.answered
        out.cpu += r.cpu
        out.bytes += r.bytes
        out.latencies += r.latencies
        for k, v in r.errors.items():
            out.errors[k] = out.errors.get(k, 0) + v
    return out


@contextmanager
def prism_server(prism: Path | None, tmp: str) -> Iterator[tuple[int, int] | None]:
    """(port, pid) of Prism mocking the spec while the block runs; None when it is not installed."""
    if prism is None:
        yield None
        return
    port = free_port()
    # `--verboseLevel error`: at its default (info) Prism logs every request, which costs it CPU the
    # emulator (uvicorn at warning, no access log) does not spend.
    cmd = [str(prism), "mock", str(SPEC), "-p", str(port), "-h", "127.0.0.1", "--verboseLevel", "error"]
    env = {**os.environ, "NODE_ENV": "production"}
    with running(cmd, Path(tmp) / "prism.log", env=env) as process:
        wait_until_up(f"http://127.0.0.1:{port}/", process, "prism")
        yield port, process.pid


if __name__ == "__main__":
    main()
