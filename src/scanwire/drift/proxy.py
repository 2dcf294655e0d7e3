"""`scanwire proxy`: a reverse proxy that forwards to the real server unchanged and watches the traffic.

Stack: an ASGI app served by uvicorn (the emulators' server, `conformance.emulators.core.server`)
forwarding with httpx's async client (already the project's HTTP library). Both stream: the upstream
answer is passed on chunk by chunk as it arrives (`aiter_raw`: bytes exactly as sent, compressed ones
included), while up to `inspect_limit` bytes of it are kept aside for the comparison, which runs after
the last chunk went to the client, on the event loop (one exchange at a time: the comparison keeps
caches that are not shared across threads). mitmproxy would add a large dependency for TLS interception we do
not need: clients point their base URL at the proxy. Request bodies are read whole (at most 64 MiB)
before they are forwarded: the comparison needs them, and scanner API requests are small.
"""

from __future__ import annotations

import logging
import time
from typing import Any

import httpx

from scanwire.drift.compare import Exchange
from scanwire.drift.observe import Observer, decoded_body

__all__ = ["DriftProxy"]

log = logging.getLogger("scanwire.drift")

# RFC 9110 §7.6.1 hop-by-hop headers, plus Host (httpx sets the upstream's own).
_HOP = {
    "connection",
    "keep-alive",
    "proxy-authenticate",
    "proxy-authorization",
    "te",
    "trailer",
    "transfer-encoding",
    "upgrade",
    "host",
}
_MAX_REQUEST = 64 * 1024 * 1024


class DriftProxy:
    """ASGI app: every HTTP request goes to `upstream` + its path; answers stream back untouched."""

    def __init__(
        self,
        upstream: str,
        observer: Observer,
        *,
        client: httpx.AsyncClient | None = None,
        inspect_limit: int = 4 * 1024 * 1024,
        timeout: float = 60.0,
    ) -> None:
        self.upstream = upstream.rstrip("/")
        self.observer = observer
        self.inspect_limit = inspect_limit
        self.client = client or httpx.AsyncClient(timeout=timeout, follow_redirects=False)
        # httpx logs every request's full URL at INFO: a query-string credential would reach the log.
        logging.getLogger("httpx").setLevel(logging.WARNING)

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        if scope["type"] == "lifespan":
            while True:
                message = await receive()
                if message["type"] == "lifespan.startup":
                    await send({"type": "lifespan.startup.complete"})
                elif message["type"] == "lifespan.shutdown":
                    await self.client.aclose()
                    await send({"type": "lifespan.shutdown.complete"})
                    return
        if scope["type"] != "http":
            return
        body = bytearray()
        while True:
            message = await receive()
            if message["type"] == "http.disconnect":
                return
            body.extend(message.get("body", b""))
            if len(body) > _MAX_REQUEST:
                await _plain(send, 413, b"request body larger than the proxy forwards (64 MiB)")
                return
            if not message.get("more_body", False):
                break
        path = scope.get("raw_path", scope["path"].encode()).decode("latin-1").split("?", 1)[0]
        query = scope.get("query_string", b"").decode("latin-1")
        headers = [
            (k.decode("latin-1"), v.decode("latin-1"))
            for k, v in scope["headers"]
            if k.decode("latin-1").lower() not in _HOP
        ]
        url = self.upstream + path + (f"?{query}" if query else "")
        started = time.time()
        request = self.client.build_request(scope["method"], url, headers=headers, content=bytes(body))
        try:
            upstream = await self.client.send(request, stream=True)
        except httpx.HTTPError as exc:
            await _plain(
                send, 502, f"scanwire proxy: upstream {self.upstream} failed: {type(exc).__name__}".encode()
            )
            return
        kept = bytearray()
        complete = True
        try:
            out_headers = [
                (k.encode("latin-1"), v.encode("latin-1"))
                for k, v in upstream.headers.multi_items()
                if k.lower() not in _HOP
            ]
            await send(
                {"type": "http.response.start", "status": upstream.status_code, "headers": out_headers}
            )
            async for chunk in upstream.aiter_raw():
                if len(kept) + len(chunk) <= self.inspect_limit:
                    kept.extend(chunk)
                else:
                    complete = False
                await send({"type": "http.response.body", "body": chunk, "more_body": True})
            await send({"type": "http.response.body", "body": b"", "more_body": False})
        finally:
            await upstream.aclose()
        answer = decoded_body(bytes(kept), upstream.headers.get("content-encoding")) if complete else None
        exchange = Exchange(
            method=scope["method"],
            path=path,
            query=query,
            request_headers=headers,
            request_body=bytes(body),
            status=upstream.status_code,
            response_headers=list(upstream.headers.multi_items()),
            response_body=answer,
            time=started,
        )
        try:
            self.observer.observe(exchange)
        except Exception as exc:  # the client has its answer; a comparison bug must not cost more
            log.error("drift proxy: %s %s not compared: %s", scope["method"], path, type(exc).__name__)


async def _plain(send: Any, status: int, text: bytes) -> None:
    await send(
        {"type": "http.response.start", "status": status, "headers": [(b"content-type", b"text/plain")]}
    )
    await send({"type": "http.response.body", "body": text, "more_body": False})
