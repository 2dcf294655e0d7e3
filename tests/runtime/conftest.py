"""Shared setup of the runtime tests: the generated packages, credentials of the emulators' accounts,
clients wired to an in-process emulator or a respx router, and a timer that never sleeps."""

from __future__ import annotations

import importlib
from collections.abc import Callable, Iterator
from types import ModuleType
from typing import Any

import httpx
import pytest
import respx

from conformance.emulators.core.app import Emulator
from conformance.emulators.core.transport import SyncASGITransport
from scanwire import VENDORS

BASE = "http://127.0.0.1"


def package(vendor: str) -> ModuleType:
    return importlib.import_module(f"{vendor}_client")


def credentials(emu: Emulator, account: str | None = None) -> tuple[str, ...]:
    """The required credentials of one of the emulator's accounts, in the order of the vendor's
    x-scanwire-auth (the canonical names; AppSpider accounts may still say `name` for `username`)."""
    accounts = emu.plugin.accounts
    acct = accounts[account or next(iter(accounts))]
    auth = emu.spec["x-scanwire-auth"]
    optional = set(auth.get("optional") or [])
    return tuple(str(acct[k]) for k in auth["credentials"] if k not in optional)


@pytest.fixture
def timer() -> Any:
    return package("soda").ManualTimer()


@pytest.fixture
def connect_emulator() -> Iterator[Callable[..., Any]]:
    """A vendor's ScanClient on an in-process emulator. Its timer (`client.timer`, a ManualTimer) never
    sleeps: it records each wait and advances the emulator's manual clock by as much."""
    clients: list[Any] = []

    def make(emu: Emulator, *, account: str | None = None, **kwargs: Any) -> Any:
        kwargs.setdefault("auth", credentials(emu, account))
        kwargs.setdefault("timer", package(emu.vendor).ManualTimer(on_sleep=emu.clock.advance))
        client = package(emu.vendor).connect(BASE, transport=SyncASGITransport(emu), **kwargs)
        clients.append(client)
        return client

    yield make
    for client in clients:
        client.close()


@pytest.fixture
def control() -> Callable[[Emulator], httpx.Client]:
    """An httpx client on the emulator's control API (`/_emulator/...`)."""

    def make(emu: Emulator) -> httpx.Client:
        return httpx.Client(transport=SyncASGITransport(emu), base_url=BASE)

    return make


@pytest.fixture
def mocked(timer: Any) -> Callable[..., tuple[Any, respx.Router]]:
    """(client, router): a vendor's ScanClient whose transport is a respx router (no network)."""

    def make(vendor: str, base_url: str = "https://vendor.test", **kwargs: Any) -> tuple[Any, respx.Router]:
        router = respx.Router(base_url=package(vendor).VENDOR.base_url(base_url), assert_all_called=False)
        kwargs.setdefault("timer", timer)
        client = package(vendor).connect(base_url, transport=httpx.MockTransport(router.handler), **kwargs)
        return client, router

    return make


@pytest.fixture
def mocked_async(timer: Any) -> Callable[..., tuple[Any, respx.Router]]:
    def make(vendor: str, base_url: str = "https://vendor.test", **kwargs: Any) -> tuple[Any, respx.Router]:
        router = respx.Router(base_url=package(vendor).VENDOR.base_url(base_url), assert_all_called=False)
        kwargs.setdefault("timer", timer)
        client = package(vendor).connect_async(
            base_url, transport=httpx.MockTransport(router.async_handler), **kwargs
        )
        return client, router

    return make


def example(example_id: str) -> Any:
    """A deep copy of a named response example of the resolved specs (`<vendor>-<operationId>-<name>`)."""
    import copy

    from helpers.generation import response_examples

    vendor = example_id.split("-", 1)[0]
    for ex in response_examples((vendor,)):
        if ex.id == example_id:
            return copy.deepcopy(ex.value)
    raise KeyError(example_id)


@pytest.fixture
def connect_emulator_async() -> Callable[..., Any]:
    """The async twin of connect_emulator (httpx.ASGITransport); close it with `async with`."""

    def make(emu: Emulator, *, account: str | None = None, **kwargs: Any) -> Any:
        kwargs.setdefault("auth", credentials(emu, account))
        kwargs.setdefault("timer", package(emu.vendor).ManualTimer(on_sleep=emu.clock.advance))
        return package(emu.vendor).connect_async(BASE, transport=httpx.ASGITransport(app=emu), **kwargs)

    return make


__all__ = ["BASE", "VENDORS", "credentials", "example", "package"]
