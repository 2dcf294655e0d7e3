"""Server mode: one emulator app on a real socket, under uvicorn with its C event loop and HTTP parser.

uvloop and httptools are dependencies of the project and are asked for by name rather than through
uvicorn's "auto", which falls back without a word: uvicorn's pure-Python h11 protocol costs more than
the emulator's own work on a status poll (bench/bench_emulator_vs_prism.py). Where one of them cannot be
imported (uvloop has no Windows build) the server still starts, on asyncio's loop or on h11.

One process serves: the emulator's faults, settings, rate-limit buckets and clock live in memory, and
worker processes would each keep their own, so the control API would script one worker at random.
"""

from __future__ import annotations

import asyncio
import importlib.util
from typing import Any

__all__ = ["CoalescingTransport", "serve", "server_options"]


def server_options() -> dict[str, str]:
    """uvicorn's `loop` and `http`: uvloop and httptools when importable, else asyncio's loop and h11."""
    return {
        "loop": "uvloop" if _importable("uvloop") else "asyncio",
        "http": "httptools" if _importable("httptools") else "h11",
    }


def serve(app: Any, *, host: str, port: int, log_level: str = "warning") -> None:
    """Serve `app` on host:port until interrupted."""
    import uvicorn

    options = server_options()
    http: Any = _coalescing_httptools() if options["http"] == "httptools" else options["http"]
    uvicorn.run(app, host=host, port=port, log_level=log_level, loop=options["loop"], http=http)


class CoalescingTransport:
    """A transport that sends what is written to it during one turn of the event loop in one write.

    uvicorn writes a response's head and its body separately, each a system call (on loopback, a TCP
    segment the client wakes up for); the two were about a third of the server's samples under the
    benchmark's status polls. Joined, a small answer goes out in one segment. The order of the bytes
    never changes, closing sends what is pending first, and everything else is the wrapped transport's.
    """

    def __init__(self, transport: asyncio.Transport, loop: asyncio.AbstractEventLoop) -> None:
        self._transport = transport
        self._loop = loop
        self._pending: list[bytes] = []

    def write(self, data: bytes | bytearray | memoryview) -> None:
        if not self._pending:
            self._loop.call_soon(self.flush)
        self._pending.append(bytes(data))

    def flush(self) -> None:
        if not self._pending:
            return
        data = b"".join(self._pending)
        self._pending.clear()
        if not self._transport.is_closing():  # the peer went away meanwhile: nothing to send it
            self._transport.write(data)

    def close(self) -> None:
        self.flush()
        self._transport.close()

    def __getattr__(self, name: str) -> Any:
        return getattr(self._transport, name)


def _coalescing_httptools() -> type[asyncio.Protocol]:
    """uvicorn's httptools protocol writing through a CoalescingTransport (a connection keeps the plain
    transport if the protocol does not hold it as `transport`, beside its `loop`, as uvicorn 0.30-0.54 do)."""
    from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol

    class CoalescingHttpToolsProtocol(HttpToolsProtocol):
        def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
            super().connection_made(transport)
            loop = getattr(self, "loop", None)
            if loop is not None and getattr(self, "transport", None) is transport:
                self.transport = CoalescingTransport(transport, loop)  # type: ignore[assignment]

    return CoalescingHttpToolsProtocol


def _importable(module: str) -> bool:
    return importlib.util.find_spec(module) is not None
