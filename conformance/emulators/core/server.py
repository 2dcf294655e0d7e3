"""Server mode: one emulator app on a real socket, under uvicorn with its C event loop and HTTP parser.

uvloop and httptools are dependencies of the project and are asked for by name rather than through
uvicorn's "auto", which falls back without a word: uvicorn's pure-Python h11 protocol costs more than
the emulator's own work on a status poll (bench/bench_emulator_vs_prism.py). Where one of them cannot be
imported (uvloop has no Windows build) the server still starts, on asyncio's loop or on h11.

One process serves: the emulator's faults, settings, rate-limit buckets and clock live in memory, and
worker processes would each keep their own, so the control API would script one worker at random.

Slow and hostile clients are bounded here, before the app (conformance/emulators/core/limits.py bounds
what reaches it): a request line and headers must arrive within `HEADER_TIMEOUT` seconds of the first
byte (or of the connection), an idle keep-alive connection is closed after `KEEP_ALIVE` seconds, a URL
longer than `MAX_URL` is answered 414 and headers beyond `MAX_HEADER_BYTES` 431, and malformed requests
400, each in the vendor's error envelope (`error_page`) rather than uvicorn's plain text (httptools
only; on the h11 fallback uvicorn's own limits and plain-text answers apply). A SIGTERM waits
`GRACEFUL_SHUTDOWN` seconds at most for requests in flight.
"""

from __future__ import annotations

import asyncio
import importlib.util
import logging
from collections.abc import Callable
from typing import Any

__all__ = ["CoalescingTransport", "ErrorPage", "serve", "server_options"]

ErrorPage = Callable[[int, str], tuple[str, bytes]]  # (status, message) -> (content type, body)

HEADER_TIMEOUT = 10.0  # seconds for a request line and its headers
KEEP_ALIVE = 5.0  # seconds an idle connection stays open between requests (uvicorn's default, stated)
GRACEFUL_SHUTDOWN = 3.0  # seconds a SIGTERM waits for requests in flight before cancelling them
MAX_URL = 32 * 1024  # bytes of request target; httptools' URL parser fails beyond 65,535
MAX_HEADER_BYTES = 64 * 1024  # bytes of header names and values, 4 more per header


def plain_error_page(status: int, message: str) -> tuple[str, bytes]:
    return "text/plain; charset=utf-8", message.encode()


def server_options() -> dict[str, str]:
    """uvicorn's `loop` and `http`: uvloop and httptools when importable, else asyncio's loop and h11."""
    return {
        "loop": "uvloop" if _importable("uvloop") else "asyncio",
        "http": "httptools" if _importable("httptools") else "h11",
    }


def serve(
    app: Any,
    *,
    host: str,
    port: int,
    log_level: str = "warning",
    error_page: ErrorPage | None = None,
    on_shutdown: Callable[[], None] | None = None,
    every: tuple[float, Callable[[], None]] | None = None,
) -> None:
    """Serve `app` on host:port until interrupted (SIGINT/SIGTERM: within GRACEFUL_SHUTDOWN seconds);
    `on_shutdown` runs once the connections are closed (uvicorn re-raises the signal when `run`
    returns, so code after this call does not run on a SIGTERM). `every` = (seconds, task): the task runs
    on the server's loop that often while it serves (the emulator writes what it keeps behind)."""
    import uvicorn

    options = server_options()
    http: Any = (
        _coalescing_httptools(error_page or plain_error_page)
        if options["http"] == "httptools"
        else options["http"]
    )
    uvicorn.run(
        _with_shutdown(app, on_shutdown, every) if on_shutdown or every else app,
        host=host,
        port=port,
        log_level=log_level,
        loop=options["loop"],
        http=http,
        timeout_keep_alive=int(KEEP_ALIVE),
        timeout_graceful_shutdown=int(GRACEFUL_SHUTDOWN),
        h11_max_incomplete_event_size=MAX_HEADER_BYTES,
    )


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


def _with_shutdown(
    app: Any,
    on_shutdown: Callable[[], None] | None,
    every: tuple[float, Callable[[], None]] | None = None,
) -> Any:
    """`app`, answering the ASGI lifespan itself: `on_shutdown` runs at its shutdown; `every` = (seconds,
    task) runs the task that often from startup to shutdown (an exception is logged, the timer goes on)."""

    async def wrapped(scope: Any, receive: Any, send: Any) -> None:
        if scope["type"] != "lifespan":
            await app(scope, receive, send)
            return
        timer: asyncio.TimerHandle | None = None

        def tick() -> None:
            nonlocal timer
            assert every is not None
            try:
                every[1]()
            except Exception:
                logging.getLogger("scanwire.emulator").exception("periodic task failed")
            timer = asyncio.get_running_loop().call_later(every[0], tick)

        while True:
            message = await receive()
            if message["type"] == "lifespan.startup":
                if every is not None:
                    timer = asyncio.get_running_loop().call_later(every[0], tick)
                await send({"type": "lifespan.startup.complete"})
            elif message["type"] == "lifespan.shutdown":
                if timer is not None:
                    timer.cancel()
                if on_shutdown is not None:
                    on_shutdown()
                await send({"type": "lifespan.shutdown.complete"})
                return

    return wrapped


class _Refused(Exception):
    """Raised in a parser callback: httptools stops and uvicorn calls send_400_response."""


def _coalescing_httptools(error_page: ErrorPage = plain_error_page) -> type[asyncio.Protocol]:
    """uvicorn's httptools protocol writing through a CoalescingTransport (a connection keeps the plain
    transport if the protocol does not hold it as `transport`, beside its `loop`, as uvicorn 0.30-0.54 do),
    with the header deadline and size limits of the module docstring, refusals shaped by `error_page`."""
    from uvicorn.protocols.http.httptools_impl import STATUS_LINE, HttpToolsProtocol

    class CoalescingHttpToolsProtocol(HttpToolsProtocol):
        _refusal: tuple[int, str] | None = None
        _header_bytes = 0
        _deadline: asyncio.TimerHandle | None = None

        def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
            super().connection_made(transport)
            loop = getattr(self, "loop", None)
            if loop is not None and getattr(self, "transport", None) is transport:
                self.transport = CoalescingTransport(transport, loop)  # type: ignore[assignment]
            self._arm()

        def connection_lost(self, exc: Exception | None) -> None:
            self._disarm()
            super().connection_lost(exc)

        def _arm(self) -> None:
            if self._deadline is None:
                self._deadline = self.loop.call_later(HEADER_TIMEOUT, self._too_slow)

        def _disarm(self) -> None:
            if self._deadline is not None:
                self._deadline.cancel()
                self._deadline = None

        def _too_slow(self) -> None:
            self._deadline = None
            if not self.transport.is_closing():
                self._refusal = (408, f"request headers not received within {HEADER_TIMEOUT:g} seconds")
                self.send_400_response("")

        def on_message_begin(self) -> None:
            super().on_message_begin()
            self._header_bytes = 0
            self._arm()

        def on_url(self, url: bytes) -> None:
            super().on_url(url)
            if len(self.url) > MAX_URL:
                self._refusal = (414, f"request URL longer than {MAX_URL} bytes")
                raise _Refused

        def on_header(self, name: bytes, value: bytes) -> None:
            self._header_bytes += len(name) + len(value) + 4
            if self._header_bytes > MAX_HEADER_BYTES:
                self._refusal = (431, f"request headers larger than {MAX_HEADER_BYTES} bytes")
                raise _Refused
            super().on_header(name, value)

        def on_headers_complete(self) -> None:
            self._disarm()
            super().on_headers_complete()

        def send_400_response(self, msg: str) -> None:
            status, message = self._refusal or (400, "malformed HTTP request")
            try:
                media, body = error_page(status, message)
            except Exception:  # the page is best effort: the refusal itself must go out
                media, body = plain_error_page(status, message)
            head = STATUS_LINE.get(status) or f"HTTP/1.1 {status} Error\r\n".encode()
            self.transport.write(
                b"".join(
                    [
                        head,
                        b"content-type: " + media.encode("latin-1") + b"\r\n",
                        b"content-length: " + str(len(body)).encode() + b"\r\n",
                        b"connection: close\r\n\r\n",
                        body,
                    ]
                )
            )
            self.transport.close()

    return CoalescingHttpToolsProtocol


def _importable(module: str) -> bool:
    return importlib.util.find_spec(module) is not None
