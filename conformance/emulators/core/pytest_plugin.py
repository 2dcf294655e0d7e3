"""pytest fixtures for in-process emulators: a fresh emulator (own in-memory store) per test.

    def test_something(emulator):
        emu = emulator("soda")                # build_emulator with a ManualClock, responses validated
        http = emu_client(emu)                # httpx.Client on a SyncASGITransport

Per-vendor shortcuts: `soda_emulator`, `invicti_emulator`, ... Every emulator built through these
fixtures validates its own responses against the resolved spec, and the test fails at teardown if
any response violated it or an emulator handler crashed.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import httpx
import pytest

from conformance.emulators.core.app import Emulator, EmulatorSettings, build_emulator
from conformance.emulators.core.clock import ManualClock
from conformance.emulators.core.transport import SyncASGITransport

VENDORS = ("advalidation", "invicti", "appspider", "threadfix", "soda")


@pytest.fixture
def emulator() -> Iterator[Callable[..., Emulator]]:
    built: list[Emulator] = []

    def make(vendor: str, *, validate_responses: bool = True, **settings: Any) -> Emulator:
        emu = build_emulator(
            vendor,
            clock=ManualClock(),
            settings=EmulatorSettings(validate_responses=validate_responses, **settings),
        )
        built.append(emu)
        return emu

    yield make
    problems = [f"{e.vendor}: {v}" for e in built for v in e.violations] + [
        f"{e.vendor}: handler crashed: {err}" for e in built for err in e.errors
    ]
    for emu in built:
        emu.store.close()
    if problems:
        pytest.fail("emulator responses violated the spec or crashed:\n" + "\n".join(problems), pytrace=False)


@pytest.fixture
def emu_client() -> Iterator[Callable[[Emulator], httpx.Client]]:
    clients: list[httpx.Client] = []

    def make(emu: Emulator, **kwargs: Any) -> httpx.Client:
        client = httpx.Client(transport=SyncASGITransport(emu), base_url="http://127.0.0.1", **kwargs)
        clients.append(client)
        return client

    yield make
    for client in clients:
        client.close()


def _vendor_fixture(vendor: str) -> Any:
    @pytest.fixture(name=f"{vendor}_emulator")
    def fixture(emulator: Callable[..., Emulator]) -> Emulator:
        return emulator(vendor)

    return fixture


for _vendor in VENDORS:
    globals()[f"{_vendor}_emulator"] = _vendor_fixture(_vendor)
