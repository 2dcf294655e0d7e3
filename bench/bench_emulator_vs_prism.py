"""Emulator throughput: a status-poll workload against `scanwire emulate invicti` vs Stoplight Prism.

Both servers run as their own processes on 127.0.0.1 and serve the same resolved spec
(generated/invicti/openapi.resolved.yaml): ours with its default settings (SQLite state in a file,
request validation, the default `reads:1` progression: every poll is counted and saved), Prism as
`prism mock <spec>` (static examples, no state). The same load generator drives both: N asyncio workers,
each on its own keep-alive connection, polling `GET /api/1.0/scans/status/{id}` of a seeded scan with
Basic credentials for T seconds after a warm-up; rounds alternate between the servers. The generator is
a few lines of raw HTTP/1.1 over asyncio streams (no client library) so that it takes as little of the
shared CPU as possible. Prism is installed with npm into .scanwire/bench/prism (reused next time); when
npm or the install fails, the benchmark says so and measures our server alone.

Run: `.venv/bin/python bench/bench_emulator_vs_prism.py [--concurrency 16] [--seconds 10] [--rounds 3]`.
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
TARGET = 2.0


# -- load generator ---------------------------------------------------------------------------------


@dataclass
class Load:
    requests: int = 0
    bytes: int = 0
    errors: dict[str, int] = field(default_factory=dict)
    latencies: list[float] = field(default_factory=list)
    seconds: float = 0.0

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


async def _worker(port: int, request: bytes, until: float, record_from: float, load: Load) -> None:
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    try:
        while (now := time.perf_counter()) < until:
            writer.write(request)
            status, body = await _read_response(reader)
            done = time.perf_counter()
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


async def _drive(port: int, path: str, auth: str, concurrency: int, warmup: float, seconds: float) -> Load:
    request = (
        f"GET {path} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nAuthorization: {auth}\r\n"
        "Accept: application/json\r\nConnection: keep-alive\r\n\r\n"
    ).encode()
    load = Load(seconds=seconds)
    start = time.perf_counter()
    record_from, until = start + warmup, start + warmup + seconds
    await asyncio.gather(*(_worker(port, request, until, record_from, load) for _ in range(concurrency)))
    return load


def drive(port: int, path: str, auth: str, concurrency: int, warmup: float, seconds: float) -> Load:
    return asyncio.run(_drive(port, path, auth, concurrency, warmup, seconds))


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


# -- the benchmark ----------------------------------------------------------------------------------


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--concurrency", type=int, default=16, help="workers, one connection each")
    parser.add_argument("--seconds", type=float, default=10.0, help="measured seconds per round")
    parser.add_argument("--warmup", type=float, default=2.0, help="unmeasured seconds before each round")
    parser.add_argument("--rounds", type=int, default=3, help="rounds per server, alternating")
    parser.add_argument("--skip-prism", action="store_true", help="measure the emulator alone")
    args = parser.parse_args()
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
            status, scan = http_json("POST", f"{base}/_emulator/scans", {})
            if status != 201:
                raise SystemExit(f"seeding a scan failed: HTTP {status}")
            path = f"/api/1.0/scans/status/{scan['id']}"
            code, first = http_json("GET", base + path, auth=auth)
            print(f"workload: GET {path}; first answer HTTP {code} {first}")

            servers: dict[str, int] = {"scanwire emulate (uvicorn, SQLite file)": ours_port}
            with contextmanager_or_none(prism, tmp) as prism_port:
                if prism_port is not None:
                    code, first = http_json("GET", f"http://127.0.0.1:{prism_port}{path}", auth=auth)
                    print(f"prism: first answer HTTP {code} {first}")
                    servers["prism mock (static examples)"] = prism_port
                loads: dict[str, list[Load]] = {name: [] for name in servers}
                for i in range(args.rounds):
                    for name, port in servers.items():
                        load = drive(port, path, auth, args.concurrency, args.warmup, args.seconds)
                        loads[name].append(load)
                        print(f"round {i + 1}: {name}: {load.rps:.0f} req/s", flush=True)
            _, state = http_json("GET", f"{base}/_emulator/scans/{scan['id']}")
            kept = f"seeded scan read {state['reads']} times since its last step, now {state['state']!r}"

    merged = {name: _merge(runs) for name, runs in loads.items()}
    rows = [
        [
            name,
            f"{m.rps:.0f}",
            f"{m.percentile(50):.1f}",
            f"{m.percentile(99):.1f}",
            m.requests,
            m.bytes // max(1, m.requests),
            sum(m.errors.values()),
        ]
        for name, m in merged.items()
    ]
    print_table(
        f"status poll, {args.concurrency} connections, {args.rounds} x {args.seconds:.0f} s per server "
        f"(+{args.warmup:.0f} s warm-up each), loopback",
        ["server", "req/s", "p50 ms", "p99 ms", "answers", "bytes/answer", "errors"],
        rows,
    )
    print(f"\nstate kept by the emulator: {kept}")
    for name, m in merged.items():
        if m.errors:
            print(f"{name}: non-200 answers {m.errors}")
    ours_rps = merged["scanwire emulate (uvicorn, SQLite file)"].rps
    if len(merged) < 2:
        print(f"\nprism not measured ({prism_note}); emulator alone: {ours_rps:.0f} req/s")
        return
    prism_rps = merged["prism mock (static examples)"].rps
    print_ratio("emulator/prism req/s", ours_rps / prism_rps, f">= {TARGET:.1f}x")


def _merge(runs: list[Load]) -> Load:
    out = Load(seconds=sum(r.seconds for r in runs))
    for r in runs:
        out.requests += r.requests
        out.bytes += r.bytes
        out.latencies += r.latencies
        for k, v in r.errors.items():
            out.errors[k] = out.errors.get(k, 0) + v
    return out


@contextmanager
def contextmanager_or_none(prism: Path | None, tmp: str) -> Iterator[int | None]:
    """Prism mocking the spec on a free port while the block runs; None when it is not installed."""
    if prism is None:
        yield None
        return
    port = free_port()
    cmd = [str(prism), "mock", str(SPEC), "-p", str(port), "-h", "127.0.0.1"]
    env = {**os.environ, "NODE_ENV": "production"}
    with running(cmd, Path(tmp) / "prism.log", env=env) as process:
        wait_until_up(f"http://127.0.0.1:{port}/", process, "prism")
        yield port


if __name__ == "__main__":
    main()
