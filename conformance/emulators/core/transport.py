"""httpx transports that call an emulator in-process (no sockets), for sync and async clients.

`httpx.ASGITransport` is async-only; `SyncASGITransport` runs it on a private event loop in a daemon
thread, so the generated clients' sync functions (and any `httpx.Client`) can talk to an emulator
directly without keeping the interpreter alive at exit.
"""

from __future__ import annotations

import asyncio
import threading
from typing import Any

import httpx

__all__ = ["SyncASGITransport", "async_transport", "sync_transport"]

CLIENT = ("127.0.0.1", 50000)


class SyncASGITransport(httpx.BaseTransport):
    def __init__(self, app: Any, client: tuple[str, int] = CLIENT) -> None:
        self._inner = httpx.ASGITransport(app=app, client=client)
        self._loop: asyncio.AbstractEventLoop | None = None
        self._lock = threading.Lock()

    def _ensure_loop(self) -> asyncio.AbstractEventLoop:
        with self._lock:
            if self._loop is None:
                self._loop = asyncio.new_event_loop()
                threading.Thread(target=self._loop.run_forever, name="scanwire-asgi", daemon=True).start()
            return self._loop

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        loop = self._ensure_loop()
        body = request.read()
        replay = httpx.Request(
            request.method, request.url, headers=request.headers, content=body, extensions=request.extensions
        )

        async def roundtrip() -> tuple[int, list[tuple[bytes, bytes]], bytes]:
            response = await self._inner.handle_async_request(replay)
            content = await response.aread()
            return response.status_code, response.headers.raw, content

        status, headers, content = asyncio.run_coroutine_threadsafe(roundtrip(), loop).result()
        return httpx.Response(status, headers=headers, content=content, request=request)

    def close(self) -> None:
        with self._lock:
            if self._loop is not None:
                self._loop.call_soon_threadsafe(self._loop.stop)
                self._loop = None


def sync_transport(app: Any) -> SyncASGITransport:
    return SyncASGITransport(app)


def async_transport(app: Any) -> httpx.ASGITransport:
    return httpx.ASGITransport(app=app, client=CLIENT)
