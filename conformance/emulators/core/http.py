"""The request object handlers receive, and response helpers."""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from starlette.responses import Response

if TYPE_CHECKING:
    from conformance.emulators.core.app import Emulator

__all__ = ["Call", "header_of", "json_response", "param", "set_headers"]

_COMPACT = json.JSONEncoder(ensure_ascii=False, separators=(",", ":"))  # built once, not per answer


@dataclass
class Call:
    """One vendor API request, parsed and validated against the resolved spec before the handler runs."""

    emulator: Emulator
    method: str
    operation: str  # "METHOD /path" as in the spec
    operation_id: str
    path_params: dict[str, Any]
    query: dict[str, Any]
    headers: dict[str, str]  # lower-case names
    body: Any
    raw_body: bytes
    content_type: str
    raw_query: dict[str, Any]  # as sent, also parameters the spec does not declare (AppSpider ids)
    client_ip: str
    base_url: str = "http://127.0.0.1"
    account: str | None = None
    extras: dict[str, Any] = field(default_factory=dict)

    @property
    def backend(self) -> Any:
        return self.emulator.backend

    def header(self, name: str) -> str | None:
        return self.headers.get(name.lower())


def param(call: Call, name: str) -> Any:
    """A parameter wherever the vendor accepts it: path, query, then body (form or JSON object)."""
    for source in (call.path_params, call.query):
        if name in source:
            return source[name]
    if isinstance(call.body, dict) and name in call.body:
        return call.body[name]
    return call.raw_query.get(name)


def set_headers(response: Response, headers: Mapping[str, str]) -> None:
    """`response.headers[name] = value` for each one (a name already there is replaced), without building
    Starlette's header view and scanning the list once per header: vendors add theirs to every answer."""
    raw = response.raw_headers
    present = {name for name, _ in raw}
    for name, value in headers.items():
        key = name.lower().encode("latin-1")
        if key in present:
            response.headers[name] = value
        else:
            raw.append((key, value.encode("latin-1")))
            present.add(key)


def header_of(response: Response, name: str) -> str | None:
    """The first value of a response header (`name` lower-case), as `response.headers.get` gives it."""
    key = name.encode("latin-1")
    for raw_name, value in response.raw_headers:
        if raw_name == key:
            return value.decode("latin-1")
    return None


def json_response(
    body: Any,
    status: int = 200,
    headers: dict[str, str] | None = None,
    media_type: str = "application/json",
) -> Response:
    """Compact JSON with the vendor's content type; `body` may be any JSON value (Invicti bare strings)."""
    payload = _COMPACT.encode(body).encode()
    return Response(payload, status_code=status, headers=headers, media_type=media_type)
