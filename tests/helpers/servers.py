"""`scanwire emulate VENDOR` as its own server process, as a user starts it, for tests of server mode."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx
import pytest

SCANWIRE = [sys.executable, "-m", "scanwire"]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@contextmanager
def emulator_server(vendor: str, db: Path, log: Path, *options: str) -> Iterator[str]:
    """`scanwire emulate VENDOR` on a free 127.0.0.1 port with state in `db`; yields its base URL once it
    answers, and stops it afterwards. The server's stderr goes to `log` (a file, not a pipe: a chatty
    server must never block on a full pipe) and is shown when it fails to start."""
    with emulator_process(vendor, db, log, *options) as (base, _):
        yield base


@contextmanager
def emulator_process(
    vendor: str, db: Path, log: Path, *options: str, stdout: Path | None = None
) -> Iterator[tuple[str, subprocess.Popen[bytes]]]:
    """emulator_server, also yielding the process (its pid for memory readings, signals); its stdout
    (the start-up banner) goes to `stdout` when given."""
    port = free_port()
    with log.open("a") as err, stdout.open("a") if stdout else open(os.devnull, "w") as out:
        proc = subprocess.Popen(
            [*SCANWIRE, "emulate", vendor, "--port", str(port), "--db", str(db), *options],
            stdout=out,
            stderr=err,
        )
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                if httpx.get(f"{base}/_emulator/state", timeout=1).status_code == 200:
                    break
            except httpx.TransportError:
                pass
            if proc.poll() is not None or time.monotonic() > deadline:
                pytest.fail(f"{vendor} emulator did not start:\n{log.read_text()}")
            time.sleep(0.1)
        yield base, proc
    finally:
        if proc.poll() is None:
            proc.terminate()
        proc.wait(timeout=10)
