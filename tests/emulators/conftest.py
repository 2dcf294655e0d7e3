"""What the emulator tests share: a client on the test's `emu`, the control API, restarts on a SQLite file.

Each test module provides `emu` (its vendor's emulator fixture); `http` is a client on it, authenticated
as the first account where the spec's `x-scanwire-auth` is HTTP Basic (header schemes are sent per request
by the tests, which also check what happens without them).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from conformance.emulators.core import Emulator, EmulatorSettings, ManualClock, build_emulator
from conformance.emulators.core.control import ENDPOINTS
from conformance.emulators.core.transport import SyncASGITransport

__all__ = ["basic_auth", "clock", "control", "control_error", "seed"]


def basic_auth(emu: Emulator, account: str | None = None) -> tuple[str, str] | None:
    """(user, password) of an account (default: the first) when the vendor's scheme is HTTP Basic."""
    auth = emu.spec.get("x-scanwire-auth") or {}
    if auth.get("kind") != "basic":
        return None
    creds = emu.accounts[account or next(iter(emu.accounts))]
    user, password = auth["credentials"][:2]
    return str(creds[user]), str(creds[password])


@pytest.fixture
def http(emu: Emulator, emu_client: Callable[..., httpx.Client]) -> httpx.Client:
    return emu_client(emu, auth=basic_auth(emu))


def clock(emu: Emulator) -> ManualClock:
    assert isinstance(emu.clock, ManualClock)
    return emu.clock


def _success_status(method: str, path: str) -> int:
    """The control table's own success status for the endpoint."""
    for endpoint in ENDPOINTS:
        pattern = re.sub(r"\\{\w+\\}", "[^/]+", re.escape(endpoint.path))
        if endpoint.method == method and re.fullmatch(pattern, path.split("?")[0]):
            return endpoint.status
    return 200


def control(http: httpx.Client, method: str, path: str, body: Any = None, status: int | None = None) -> Any:
    """A control API call (under `/_emulator`, whatever the client's base path) that must succeed."""
    response = http.request(method, http.base_url.join(f"/_emulator{path}"), json=body)
    assert response.status_code == (status or _success_status(method, path)), response.text
    return response.json()


def control_error(response: httpx.Response, status: int = 400) -> str:
    """A refused control request: `{"error": message}` with a 4xx status."""
    assert response.status_code == status, response.text
    body = response.json()
    assert set(body) == {"error"} and isinstance(body["error"], str) and body["error"]
    return str(body["error"])


def seed(http: httpx.Client, state: str | None = None, **body: Any) -> str:
    """A scan seeded through the control API (`account` defaults to the emulator's first); its id."""
    return str(control(http, "POST", "/scans", {**({"state": state} if state else {}), **body})["id"])


@pytest.fixture
def on_file(tmp_path: Path) -> Iterator[Callable[[str], tuple[Emulator, httpx.Client]]]:
    """`start(vendor)`: an emulator on one SQLite file and one manual clock, as often as called (restarts);
    each is closed at teardown, which fails if any answer violated the spec or a handler crashed."""
    shared_clock, opened = ManualClock(), []

    def start(vendor: str) -> tuple[Emulator, httpx.Client]:
        emu = build_emulator(
            vendor,
            db=tmp_path / f"{vendor}.sqlite3",
            clock=shared_clock,
            settings=EmulatorSettings(validate_responses=True),
        )
        http = httpx.Client(
            transport=SyncASGITransport(emu), base_url="http://127.0.0.1", auth=basic_auth(emu)
        )
        opened.append((emu, http))
        return emu, http

    yield start
    for emu, http in opened:
        http.close()
        emu.store.close()
    assert [v for emu, _ in opened for v in emu.violations] == []
    assert [e for emu, _ in opened for e in emu.errors] == []
