"""The request object handlers receive, and response helpers."""

from __future__ import annotations

import contextlib
import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Generic, Protocol, TypeVar

from openapi_core.util import forcebool
from starlette.responses import Response

from conformance.emulators.core.errors import BadRequestError
from scanwire.runtime.lifecycle import Lifecycle

__all__ = [
    "Call",
    "Site",
    "boolean_param",
    "header_of",
    "int_param",
    "json_response",
    "param",
    "path_int",
    "set_headers",
]

B = TypeVar("B")


class Site(Protocol):
    """What a handler may read of the emulator serving it (the app itself sits above this module)."""

    @property
    def spec(self) -> dict[str, Any]: ...

    @property
    def operations(self) -> dict[str, dict[str, Any]]: ...

    @property
    def prefixes(self) -> list[str]: ...

    @property
    def lifecycle(self) -> Lifecycle: ...

    @property
    def paging(self) -> Mapping[str, Any]: ...  # operation -> core.paging.PageRule


_COMPACT = json.JSONEncoder(ensure_ascii=False, separators=(",", ":"))  # built once, not per answer


@dataclass
class Call(Generic[B]):
    """One vendor API request, parsed and validated against the resolved spec before the handler runs.

    Generic in the vendor's backend: a handler declared `call: Call[SodaBackend]` has its backend calls
    checked by mypy.
    """

    emulator: Site
    backend: B
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
    account: str = ""  # the authenticated account ("" on public operations)
    extras: dict[str, Any] = field(default_factory=dict)

    def header(self, name: str) -> str | None:
        return self.headers.get(name.lower())


def param(call: Call[Any], name: str) -> Any:
    """A parameter wherever the vendor accepts it: path, query, then body (form or JSON object)."""
    for source in (call.path_params, call.query):
        if name in source:
            return source[name]
    if isinstance(call.body, dict) and name in call.body:
        return call.body[name]
    return call.raw_query.get(name)


def int_param(call: Call[Any], name: str, default: int | None = None) -> int | None:
    """A path or query parameter as an int: openapi-core has typed it already, unless request validation
    is switched off (then it is still the string sent). BadRequestError names the parameter otherwise."""
    location = "path" if name in call.path_params else "query"
    value = call.path_params.get(name, call.query.get(name, default))
    if value is None or (isinstance(value, int) and not isinstance(value, bool)):
        return value
    if isinstance(value, str):
        with contextlib.suppress(ValueError):
            return int(value.strip())
    raise BadRequestError(
        f"{name} must be an integer, not {value!r}", field=name, location=location, rule="type", value=value
    )


def path_int(call: Call[Any], name: str) -> int:
    """A path parameter as an int (`int_param` for a parameter that is always there)."""
    value = int_param(call, name)
    if value is None:
        raise BadRequestError(f"{name} is required", field=name, location="path", rule="required")
    return value


def boolean_param(call: Call[Any], name: str, default: bool = False) -> bool:
    """A query parameter as a bool, with the truth values openapi-core accepts (true/false, 1/0, yes/no)."""
    value: Any = call.query.get(name, default)
    if isinstance(value, bool):
        return value
    if isinstance(value, str):
        with contextlib.suppress(ValueError):
            return forcebool(value)
    raise BadRequestError(f"{name} must be a boolean", field=name, location="query", rule="type", value=value)


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
