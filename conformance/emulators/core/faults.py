"""Faults injected through the control API for the next N matching requests (moto-style scripting).

kinds: `status` (answer with the vendor's error envelope for that status, e.g. 429 with Retry-After,
500, 503), `delay` (sleep, then answer normally), `timeout` (sleep, then 504: a client with a shorter
timeout sees a timeout), `malformed` (answer normally but corrupt the body: truncated JSON, HTML or
empty), `expired_auth` (reject the credentials as the vendor does for an expired token/key).
"""

from __future__ import annotations

import threading
from dataclasses import asdict, dataclass
from typing import Any

from starlette.responses import Response

from conformance.emulators.core.errors import BadRequestError

__all__ = ["KINDS", "Fault", "FaultQueue", "corrupt"]

KINDS = ("status", "delay", "timeout", "malformed", "expired_auth")
MALFORMED = ("truncated", "html", "empty")
# A delay or timeout holds a request (and a server's shutdown, up to its graceful timeout) this long at most.
MAX_SECONDS = 60.0


@dataclass
class Fault:
    kind: str
    count: int = 1
    status: int | None = None
    seconds: float | None = None
    retry_after: float | None = None
    variant: str = "truncated"
    operation: str | None = None  # operationId or "METHOD /path"; None matches every vendor request

    @classmethod
    def parse(cls, raw: Any) -> Fault:
        if not isinstance(raw, dict):
            raise BadRequestError("a fault must be a JSON object")
        unknown = set(raw) - {f for f in cls.__dataclass_fields__}
        if unknown:
            raise BadRequestError(f"fault: unknown field(s) {', '.join(sorted(unknown))}")
        kind = raw.get("kind")
        if kind not in KINDS:
            raise BadRequestError(f"fault.kind must be one of {', '.join(KINDS)}, not {kind!r}")
        count = raw.get("count", 1)
        if not isinstance(count, int) or isinstance(count, bool) or count < 1:
            raise BadRequestError("fault.count must be a positive integer")
        status = raw.get("status")
        if kind == "status" and (not isinstance(status, int) or not 400 <= status <= 599):
            raise BadRequestError("fault.status must be an HTTP error status (400-599) for kind=status")
        seconds = raw.get("seconds")
        if seconds is not None and (
            not isinstance(seconds, int | float)
            or isinstance(seconds, bool)
            or not 0 <= seconds <= MAX_SECONDS
        ):
            raise BadRequestError(f"fault.seconds must be a number from 0 to {MAX_SECONDS}")
        retry_after = raw.get("retry_after")
        if retry_after is not None and (
            not isinstance(retry_after, int | float)
            or isinstance(retry_after, bool)
            or not 0 <= retry_after <= 86_400
        ):
            raise BadRequestError("fault.retry_after must be a number of seconds from 0 to 86400")
        variant = raw.get("variant", "truncated")
        if variant not in MALFORMED:
            raise BadRequestError(f"fault.variant must be one of {', '.join(MALFORMED)}")
        operation = raw.get("operation")
        if operation is not None and not isinstance(operation, str):
            raise BadRequestError("fault.operation must be an operationId or 'METHOD /path' string")
        return cls(kind, count, status, seconds, retry_after, variant, operation)

    def to_dict(self) -> dict[str, Any]:
        return {k: v for k, v in asdict(self).items() if v is not None}


class FaultQueue:
    def __init__(self) -> None:
        self._faults: list[Fault] = []
        self._lock = threading.Lock()

    def add(self, fault: Fault) -> None:
        with self._lock:
            self._faults.append(fault)

    def clear(self) -> None:
        with self._lock:
            self._faults.clear()

    def pending(self) -> list[dict[str, Any]]:
        with self._lock:
            return [f.to_dict() for f in self._faults]

    def take(self, operation: str, operation_id: str) -> Fault | None:
        """The first fault matching this request, consuming one of its uses."""
        if not self._faults:  # the usual case, answered without the lock
            return None
        with self._lock:
            for fault in self._faults:
                if fault.operation in (None, operation, operation_id):
                    fault.count -= 1
                    if fault.count == 0:
                        self._faults.remove(fault)
                    return fault
        return None


def corrupt(response: Response, variant: str) -> Response:
    body = bytes(response.body)
    if variant == "html":
        new, media = b"<html><body><h1>502 Bad Gateway</h1></body></html>", "text/html"
    elif variant == "empty":
        new, media = b"", response.media_type or "application/json"
    else:
        new, media = body[: max(1, len(body) // 2)], response.media_type or "application/json"
    headers = {
        k: v for k, v in response.headers.items() if k.lower() not in ("content-length", "content-type")
    }
    return Response(
        new,
        status_code=200 if response.status_code < 400 else response.status_code,
        headers=headers,
        media_type=media,
    )
