"""`scanwire emulate VENDOR --replay DIR`: recorded answers first, the stateful emulator for the rest.

A request whose method, path and query (host ignored, query order ignored) match a recorded one gets
the recorded answers in recorded order, the last one again once they run out (a client polling a scan
sees it move as it did, then stay). Any other request — and every control-API request — goes to the
emulator. Cassettes were redacted when recorded, so replay does not check credentials.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from scanwire.drift.cassette import load_interactions, request_key

__all__ = ["ReplayApp"]

_DROP = {"content-length", "transfer-encoding", "content-encoding", "connection"}


class ReplayApp:
    def __init__(self, app: Any, directory: Path) -> None:
        self.app = app
        self.recorded = load_interactions(directory)
        self._played: dict[tuple[str, str, str], int] = {}
        self.hits = 0

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        if scope["type"] == "http" and not scope["path"].startswith("/_emulator/"):
            query = scope.get("query_string", b"").decode("latin-1")
            key = request_key(scope["method"], scope["path"] + (f"?{query}" if query else ""))
            answers = self.recorded.get(key)
            if answers:
                n = self._played.get(key, 0)
                self._played[key] = n + 1
                self.hits += 1
                await _answer(send, answers[min(n, len(answers) - 1)])
                return
        await self.app(scope, receive, send)


async def _answer(send: Any, response: dict[str, Any]) -> None:
    body = (response.get("body") or {}).get("string", b"")
    data = body.encode() if isinstance(body, str) else bytes(body or b"")
    headers = [
        (str(k).lower().encode("latin-1"), str(v).encode("latin-1"))
        for k, values in (response.get("headers") or {}).items()
        if str(k).lower() not in _DROP
        for v in (values if isinstance(values, list) else [values])
    ]
    headers.append((b"content-length", str(len(data)).encode()))
    await send({"type": "http.response.start", "status": int(response["status"]["code"]), "headers": headers})
    await send({"type": "http.response.body", "body": data, "more_body": False})
