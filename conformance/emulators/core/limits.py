"""Bounds on what one request may cost the emulator: body size, JSON depth, non-finite numbers, echoes.

- Body size: a request body is read only after the route is known and the caller authenticated, and at
  most `max_body` bytes of it (`Content-Length` above the limit is refused before any byte is read; a
  chunked body is refused as soon as it passes the limit). None of the five vendors documents a limit
  (vendor notes, seeds), so every vendor gets `DEFAULT_MAX_BODY`, configurable per emulator
  (`scanwire emulate --max-body`).
- JSON depth: Python's parser (and openapi-core's validation after it) recurse once per level; a body
  nested 100,000 deep raised RecursionError. Bodies deeper than `MAX_JSON_DEPTH` are refused first.
- Non-finite numbers: `NaN`, `Infinity` and numbers that overflow a float are not JSON (RFC 8259 §6)
  though Python's parser takes them; once stored they make every later answer invalid JSON.
- Echoes: error messages quote what the client sent (openapi-core's findings quote the value); each
  quoted run is cut to `ECHO_LIMIT` characters with an ellipsis, a message to `MESSAGE_LIMIT`, so a
  10 MB bad field gets a short answer. Python reprs (`<ValidationError: '...'>`) become their text.
"""

from __future__ import annotations

import json
import math
import re
from itertools import accumulate
from typing import Any

from starlette.requests import ClientDisconnect, Request

from conformance.emulators.core.echo import ECHO_LIMIT, MESSAGE_LIMIT, PROBLEMS_LIMIT, cap
from conformance.emulators.core.errors import BadRequestError

__all__ = [
    "DEFAULT_MAX_BODY",
    "ECHO_LIMIT",
    "MAX_JSON_DEPTH",
    "MESSAGE_LIMIT",
    "PROBLEMS_LIMIT",
    "BodyTooLargeError",
    "NonFiniteNumberError",
    "cap",
    "check_json",
    "loads_json",
    "read_body",
]

DEFAULT_MAX_BODY = 4 * 1024 * 1024  # bytes; the largest body the specs describe is a few KB of JSON
MAX_JSON_DEPTH = 64  # the deepest vendor schema nests 6 levels


class BodyTooLargeError(Exception):
    """The request body is longer than the emulator's limit (answered 413 in the vendor's envelope)."""

    def __init__(self, limit: int) -> None:
        super().__init__(f"request body larger than {limit} bytes")
        self.limit = limit


class NonFiniteNumberError(BadRequestError):
    """A JSON body holding NaN, Infinity or a number beyond a float (the control API answers 422)."""


async def read_body(request: Request, limit: int) -> bytes:
    """The request's body, at most `limit` bytes of it, kept on the request (`request.body()` gives it).

    BodyTooLargeError without reading when `Content-Length` says more; as soon as more arrived otherwise.
    """
    declared = request.headers.get("content-length")
    if declared is not None and declared.strip().isdigit() and int(declared) > limit:
        raise BodyTooLargeError(limit)
    chunks: list[bytes] = []
    size = 0
    while True:
        message = await request.receive()
        if message["type"] == "http.request":
            chunk = message.get("body", b"")
            size += len(chunk)
            if size > limit:
                raise BodyTooLargeError(limit)
            chunks.append(chunk)
            if not message.get("more_body", False):
                break
        elif message["type"] == "http.disconnect":
            raise ClientDisconnect()
    body = b"".join(chunks)
    request._body = body  # what Request.body() returns from now on (the stream is consumed)
    return body


_STRING = re.compile(rb'"[^"\\]*(?:\\.[^"\\]*)*"')
_BRACKETS = bytes(range(256)).translate(None, b"[]{}")  # every byte except brackets: deleted
_STEP = bytes.maketrans(b"[{]}", b"\x01\x01\xff\xff")


def json_depth(raw: bytes) -> int:
    """How deep the arrays and objects of a JSON text nest (strings skipped), without parsing it."""
    outside = _STRING.sub(b"", raw).translate(_STEP, _BRACKETS)
    if not outside:
        return 0
    # Opening brackets are +1, closing ones -1 (signed bytes); the deepest point is the largest sum.
    return max(accumulate(memoryview(outside).cast("b")))


def _refuse_constant(name: str) -> Any:
    raise NonFiniteNumberError(f"{name} is not a JSON number (RFC 8259 allows finite numbers only)")


def _finite_float(text: str) -> float:
    value = float(text)
    if not math.isfinite(value):
        raise NonFiniteNumberError(f"{cap(text)} is beyond the range of a number")
    return value


def loads_json(raw: bytes) -> Any:
    """Parse a JSON body within the bounds above; BadRequestError (or NonFiniteNumberError) when not."""
    depth = json_depth(raw)
    if depth > MAX_JSON_DEPTH:
        raise BadRequestError(
            f"body nests {depth} levels deep; at most {MAX_JSON_DEPTH} are accepted",
            location="body",
            rule="depth",
        )
    try:
        return json.loads(raw, parse_constant=_refuse_constant, parse_float=_finite_float)
    except (ValueError, RecursionError) as exc:
        if isinstance(exc, BadRequestError):
            raise
        raise BadRequestError(
            f"body is not valid JSON: {cap(str(exc))}", location="body", rule="decode"
        ) from None


def check_json(raw: bytes) -> None:
    """Refuse (BadRequestError) a JSON body that is too deep or holds non-finite numbers; a body that is
    merely invalid JSON is left to the spec validation, which words that in its own way."""
    if not raw:
        return
    try:
        loads_json(raw)
    except NonFiniteNumberError:
        raise
    except BadRequestError as exc:
        if exc.message.startswith("body nests"):
            raise
