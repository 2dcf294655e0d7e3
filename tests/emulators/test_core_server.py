"""Server mode's plumbing: uvloop and httptools asked for by name, and an answer sent in one write."""

from __future__ import annotations

import asyncio
import base64
from typing import Any

import pytest
import uvicorn

from conformance.emulators.core import Emulator
from conformance.emulators.core import server as server_module
from conformance.emulators.core.server import CoalescingTransport, server_options
from conformance.emulators.invicti.models import ACCOUNTS

ACME = (ACCOUNTS["acme"]["user_id"], ACCOUNTS["acme"]["token"])


class FakeTransport(asyncio.Transport):
    """Records each write (each would be one system call on a socket)."""

    def __init__(self) -> None:
        super().__init__()
        self.writes: list[bytes] = []
        self.closed = False

    def write(self, data: Any) -> None:
        assert not self.closed, "write after close"
        self.writes.append(bytes(data))

    def is_closing(self) -> bool:
        return self.closed

    def close(self) -> None:
        self.closed = True

    def get_extra_info(self, name: str, default: Any = None) -> Any:
        return {"peername": ("127.0.0.1", 50000), "sockname": ("127.0.0.1", 8080)}.get(name, default)

    def pause_reading(self) -> None:
        pass

    def resume_reading(self) -> None:
        pass


def test_server_options__uvloop_and_httptools_when_importable(monkeypatch: pytest.MonkeyPatch) -> None:
    assert server_options() == {"loop": "uvloop", "http": "httptools"}  # both are project dependencies
    monkeypatch.setattr(server_module, "_importable", lambda module: False)
    assert server_options() == {"loop": "asyncio", "http": "h11"}


def test_coalescing_transport__joins_the_writes_of_one_loop_turn_in_order() -> None:
    async def scenario() -> list[bytes]:
        inner = FakeTransport()
        transport = CoalescingTransport(inner, asyncio.get_running_loop())
        transport.write(b"HTTP/1.1 200 OK\r\n\r\n")
        transport.write(memoryview(b"first"))
        assert inner.writes == []
        await asyncio.sleep(0)
        transport.write(b"second")
        await asyncio.sleep(0)
        return inner.writes

    assert asyncio.run(scenario()) == [b"HTTP/1.1 200 OK\r\n\r\nfirst", b"second"]


def test_coalescing_transport__close_sends_what_is_pending_and_nothing_after() -> None:
    async def scenario() -> FakeTransport:
        inner = FakeTransport()
        transport = CoalescingTransport(inner, asyncio.get_running_loop())
        transport.write(b"last words")
        transport.close()
        await asyncio.sleep(0)  # the scheduled flush finds nothing left to send
        assert transport.is_closing() and transport.get_extra_info("peername") == ("127.0.0.1", 50000)
        return inner

    inner = asyncio.run(scenario())
    assert inner.writes == [b"last words"] and inner.closed


def test_coalescing_transport__drops_what_is_pending_when_the_peer_is_gone() -> None:
    async def scenario() -> FakeTransport:
        inner = FakeTransport()
        transport = CoalescingTransport(inner, asyncio.get_running_loop())
        transport.write(b"too late")
        inner.closed = True  # the connection was lost before the loop came round
        await asyncio.sleep(0)
        return inner

    assert asyncio.run(scenario()).writes == []


def test_server_protocol__answers_a_status_poll_in_one_write(invicti_emulator: Emulator) -> None:
    scan = invicti_emulator.backend.seed_scan("acme", "Complete", {}, None)
    auth = base64.b64encode(":".join(ACME).encode()).decode()
    request = (
        f"GET /api/1.0/scans/status/{scan.id} HTTP/1.1\r\nHost: 127.0.0.1:8080\r\n"
        f"Authorization: Basic {auth}\r\n\r\n"
    ).encode()
    protocol_class = server_module._coalescing_httptools()

    async def scenario() -> tuple[Any, FakeTransport]:
        config = uvicorn.Config(invicti_emulator, http=protocol_class, log_level="warning")
        config.load()
        server_state = uvicorn.Server(config).server_state
        protocol = protocol_class(config, server_state, {}, asyncio.get_running_loop())  # type: ignore[call-arg]
        transport = FakeTransport()
        protocol.connection_made(transport)
        for _ in range(2):  # two polls on one keep-alive connection
            protocol.data_received(request)
            for _ in range(50):
                await asyncio.sleep(0)
                if protocol.cycle is None or protocol.cycle.response_complete:
                    break
        await asyncio.sleep(0)
        protocol.connection_lost(None)
        return protocol, transport

    protocol, transport = asyncio.run(scenario())

    assert isinstance(protocol.transport, CoalescingTransport)
    assert len(transport.writes) == 2, transport.writes  # head and body together, once per answer
    for answer in transport.writes:
        head, _, body = answer.partition(b"\r\n\r\n")
        assert head.startswith(b"HTTP/1.1 200 OK") and b"cache-control: no-cache" in head
        assert body == (
            b'{"CompletedSteps":21310,"EstimatedLaunchTime":null,"EstimatedSteps":21310,"State":"Complete"}'
        )


def test_lifespan__runs_the_periodic_task_while_serving_and_the_shutdown_task_at_the_end() -> None:
    """`serve(every=...)`: the emulator writes what it keeps behind while it idles (core/store.py)."""
    ticks: list[str] = []

    async def app(scope: Any, receive: Any, send: Any) -> None:  # never called: lifespan only
        raise AssertionError("not a lifespan message")

    wrapped = server_module._with_shutdown(
        app, lambda: ticks.append("shutdown"), (0.01, lambda: ticks.append("tick"))
    )

    async def run() -> None:
        inbox: asyncio.Queue[dict[str, str]] = asyncio.Queue()
        sent: list[str] = []

        async def send(message: dict[str, str]) -> None:
            sent.append(message["type"])

        task = asyncio.create_task(wrapped({"type": "lifespan"}, inbox.get, send))
        await inbox.put({"type": "lifespan.startup"})
        await asyncio.sleep(0.1)
        await inbox.put({"type": "lifespan.shutdown"})
        await task
        count = len(ticks)
        await asyncio.sleep(0.05)
        assert len(ticks) == count  # the timer stopped with the server
        assert sent == ["lifespan.startup.complete", "lifespan.shutdown.complete"]

    asyncio.run(run())
    assert ticks[-1] == "shutdown" and ticks.count("tick") >= 2
