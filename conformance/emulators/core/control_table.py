"""How a table of control endpoints becomes an API: Starlette routes, body validation, an OpenAPI document.

The rows themselves (what each endpoint does) are in `core/control.py`; this module knows nothing of them.
A body is read as a JSON object and checked against the row's JSON schema (jsonschema) before the handler
runs, so a refused body changes nothing; failures are `{"error": message}` with 400 (404 for an unknown
scan, 413 for a body over the limit, 422 for non-finite numbers), the message naming the field.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Protocol

from jsonschema import Draft202012Validator
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from conformance.emulators.core.clock import Clock
from conformance.emulators.core.drift import DriftRules
from conformance.emulators.core.engine import ScanEngine
from conformance.emulators.core.errors import BadRequestError, EmulatorError, NotFoundError
from conformance.emulators.core.faults import Fault, FaultQueue
from conformance.emulators.core.limits import (
    DEFAULT_MAX_BODY,
    BodyTooLargeError,
    NonFiniteNumberError,
    loads_json,
    read_body,
)
from conformance.emulators.core.settings import EmulatorSettings
from conformance.emulators.core.store import Store
from scanwire.runtime.lifecycle import Lifecycle

__all__ = ["Endpoint", "Target", "openapi_document", "routes"]


class Target(Protocol):
    """What the control API drives (the Emulator, which sits above this module)."""

    vendor: str
    spec: dict[str, Any]
    prefixes: list[str]
    lifecycle: Lifecycle
    engine: ScanEngine
    store: Store
    settings: EmulatorSettings
    faults: FaultQueue
    clock: Clock
    violations: list[Any]
    errors: list[str]
    accounts: Mapping[str, Mapping[str, Any]]
    scenarios: Mapping[str, Callable[[Any], Any]]
    backend: Any
    drift: DriftRules

    def reset(self) -> None: ...

    def inject(self, raw: dict[str, Any]) -> Fault: ...

    def coverage(self) -> dict[str, list[str]]: ...


Handler = Callable[[Target, Request, dict[str, Any]], Response]


@dataclass(frozen=True)
class Endpoint:
    method: str
    path: str  # under /_emulator
    summary: str
    handler: Handler
    body: dict[str, Any] | None = None  # JSON schema of the body; None: the endpoint reads no body
    body_required: bool = False
    status: int = 200  # the success status, for the document
    name: str = ""  # what refusals call the body (`drift.kind: ...`); none: the field alone


def _read_body(raw: bytes, endpoint: Endpoint, validator: Draft202012Validator | None) -> dict[str, Any]:
    if validator is None:
        return {}
    if not raw:
        if endpoint.body_required:
            raise BadRequestError("a JSON object body is required")
        data: Any = {}
    else:
        data = loads_json(raw)  # bounded depth, finite numbers only (limits.py)
    if not isinstance(data, dict):
        raise BadRequestError("body must be a JSON object")
    error = next(iter(sorted(validator.iter_errors(data), key=lambda e: list(e.absolute_path))), None)
    if error is not None:
        where = ".".join([endpoint.name] * bool(endpoint.name) + [str(p) for p in error.absolute_path])
        raise BadRequestError(
            f"{where or 'body'}: {error.message}", field=where, location="body", rule=str(error.validator)
        )
    return data


def routes(emu: Target, endpoints: Sequence[Endpoint]) -> list[Route]:
    """Starlette routes for ENDPOINTS, one per path; failures are `{"error": message}` with 400 or 404."""
    by_path: dict[str, dict[str, tuple[Endpoint, Draft202012Validator | None]]] = {}
    for endpoint in endpoints:
        validator = Draft202012Validator(endpoint.body) if endpoint.body is not None else None
        by_path.setdefault(endpoint.path, {})[endpoint.method] = (endpoint, validator)

    def serve(methods: dict[str, tuple[Endpoint, Draft202012Validator | None]]) -> Any:
        async def handle(request: Request) -> Response:
            endpoint, validator = methods[request.method]
            try:
                body = _read_body(await read_body(request, DEFAULT_MAX_BODY), endpoint, validator)
                return endpoint.handler(emu, request, body)
            except NotFoundError as exc:
                return JSONResponse({"error": exc.message}, status_code=404)
            except NonFiniteNumberError as exc:
                return JSONResponse({"error": exc.message}, status_code=422)
            except BodyTooLargeError as exc:
                return JSONResponse({"error": str(exc)}, status_code=413)
            except EmulatorError as exc:
                return JSONResponse({"error": exc.message}, status_code=400)

        return handle

    return [Route(path, serve(methods), methods=list(methods)) for path, methods in by_path.items()]


def openapi_document(endpoints: Sequence[Endpoint], title: str) -> dict[str, Any]:
    paths: dict[str, Any] = {}
    for endpoint in endpoints:
        item = paths.setdefault("/_emulator" + endpoint.path, {})
        names = re.findall(r"{(\w+)}", endpoint.path)
        if names:
            item["parameters"] = [
                {"name": name, "in": "path", "required": True, "schema": {"type": "string"}} for name in names
            ]
        op: dict[str, Any] = {
            "summary": endpoint.summary,
            "responses": {
                str(endpoint.status): {"description": "OK"},
                "400": {"description": "bad control request"},
            },
        }
        if endpoint.body is not None:
            op["requestBody"] = {
                "required": endpoint.body_required,
                "content": {"application/json": {"schema": endpoint.body}},
            }
        item[endpoint.method.lower()] = op
    return {
        "openapi": "3.1.0",
        "info": {"title": title, "version": "1"},
        "paths": paths,
    }
