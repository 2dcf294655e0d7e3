"""`scanwire emulate VENDOR` as its own server process, as a user starts it, for tests of server mode."""

from __future__ import annotations

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
    port = free_port()
    with log.open("a") as err:
        proc = subprocess.Popen(
            [*SCANWIRE, "emulate", vendor, "--port", str(port), "--db", str(db), *options],
            stdout=subprocess.DEVNULL,
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
        yield base
    finally:
        proc.terminate()
        proc.wait(timeout=10)
