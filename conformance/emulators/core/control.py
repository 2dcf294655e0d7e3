"""The control API under `/_emulator/` (moto's `/moto-api/` idea) and the interactive docs pages.

Endpoints (also served as an OpenAPI document at `/_emulator/control/openapi.json`):

- `POST /_emulator/reset`                       forget every scan, fault, counter and setting
- `GET  /_emulator/state`                       scans (engine view + vendor view), settings, faults
- `GET  /_emulator/scans` / `POST` {account?, state?, progression?, data?}   list / seed a scan in any state
- `GET  /_emulator/scans/{id}` / `PATCH` {state?, progression?}              read / force state or progression
- `POST /_emulator/scans/{id}/advance` {steps?}  move a scan along its road (manual mode)
- `GET|PUT /_emulator/progression`              default progression {mode, every, outcome, final?}
- `GET|POST|DELETE /_emulator/faults`           inject {kind, count, status?, seconds?, operation?, ...}
- `GET|PATCH /_emulator/settings`               {rate_limits, validate_requests, validate_responses,
                                                 token_ttl}
- `POST /_emulator/clock` {advance}             move a manual clock (tests)
- `GET  /_emulator/scenarios` / `POST /_emulator/scenario` {name}            named setups
- `GET  /_emulator/accounts`                    the credentials this emulator accepts
- `GET  /_emulator/coverage`                    spec operations vs emulator routes
- `GET  /_emulator/openapi.json`                the vendor spec, servers pointing at this emulator
- `GET  /_emulator/docs`                        interactive docs (vendor API + control API)
- `GET|POST|DELETE /_emulator/drift`            answer like a drifting server {kind, operation, ...}
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from starlette.requests import Request
from starlette.responses import HTMLResponse, JSONResponse, Response
from starlette.routing import Route

from conformance.emulators.core.clock import ManualClock
from conformance.emulators.core.drift import DRIFT_CONTROL_OPENAPI, drift_route
from conformance.emulators.core.engine import Progression
from conformance.emulators.core.errors import BadRequestError, EmulatorError, NotFoundError
from conformance.emulators.core.limits import (
    DEFAULT_MAX_BODY,
    BodyTooLargeError,
    NonFiniteNumberError,
    loads_json,
    read_body,
)

if TYPE_CHECKING:
    from conformance.emulators.core.app import Emulator

__all__ = ["CONTROL_OPENAPI", "control_routes"]


def _error(status: int, message: str) -> JSONResponse:
    return JSONResponse({"error": message}, status_code=status)


async def _json(request: Request, required: bool = False) -> dict[str, Any]:
    raw = await read_body(request, DEFAULT_MAX_BODY)
    if not raw:
        if required:
            raise BadRequestError("a JSON object body is required")
        return {}
    data = loads_json(raw)  # bounded depth, finite numbers only (limits.py)
    if not isinstance(data, dict):
        raise BadRequestError("body must be a JSON object")
    return data


def control_routes(emu: Emulator) -> list[Route]:
    def guarded(fn: Any) -> Any:
        async def endpoint(request: Request) -> Response:
            try:
                result: Response = await fn(request)
                return result
            except NotFoundError as exc:
                return _error(404, exc.message)
            except NonFiniteNumberError as exc:
                return _error(422, exc.message)
            except BodyTooLargeError as exc:
                return _error(413, str(exc))
            except EmulatorError as exc:
                return _error(400, exc.message)

        return endpoint

    def scan_json(scan: Any) -> dict[str, Any]:
        return {
            "id": scan.id,
            "account": scan.account,
            "state": scan.state,
            "normalized": emu.lifecycle.states[scan.state].value,
            "terminal": scan.state in emu.lifecycle.terminal,
            "reads": scan.reads,
            "progression": emu.engine.progression_of(scan).to_dict(),
            "road": emu.engine.road(scan),
            "history": scan.history,
            "vendor": emu.backend.view(scan),
        }

    async def reset(request: Request) -> Response:
        emu.reset()
        return JSONResponse({"reset": True})

    async def state(request: Request) -> Response:
        return JSONResponse(
            {
                "vendor": emu.vendor,
                "scans": [scan_json(s) for s in emu.engine.all()],
                "settings": emu.settings.to_dict(),
                "progression": emu.engine.default_progression.to_dict(),
                "faults": emu.faults.pending(),
                "clock": emu.clock.now(),
                "violations": [v.__dict__ for v in emu.violations],
                "errors": emu.errors,
            }
        )

    async def scans(request: Request) -> Response:
        if request.method == "GET":
            return JSONResponse([scan_json(s) for s in emu.engine.all(request.query_params.get("account"))])
        body = await _json(request)
        accounts = list(emu.plugin.accounts)
        account = body.get("account", accounts[0] if accounts else "default")
        if not isinstance(account, str) or account not in emu.plugin.accounts:
            raise BadRequestError(f"unknown account {account!r}; known: {', '.join(accounts)}")
        state = body.get("state")
        if state is not None and (not isinstance(state, str) or state not in emu.lifecycle.states):
            raise BadRequestError(
                f"state: {state!r} is not a state of this vendor; known: {sorted(emu.lifecycle.states)}"
            )
        progression = body.get("progression")
        if progression is not None:
            Progression.parse(progression, emu.lifecycle)
        data = body.get("data") or {}
        if not isinstance(data, dict):
            raise BadRequestError("data must be an object of vendor fields")
        # Validated first, and seeded in one transaction: a refused seed leaves nothing behind.
        with emu.store.transaction():
            scan = emu.backend.seed_scan(account, state, data, progression)
        return JSONResponse(scan_json(scan), status_code=201)

    async def one_scan(request: Request) -> Response:
        scan_id = request.path_params["scan_id"]
        if request.method == "PATCH":
            body = await _json(request, required=True)
            unknown = set(body) - {"state", "progression"}
            if unknown:
                raise BadRequestError(f"unknown field(s) {', '.join(sorted(unknown))}")
            if "progression" in body:
                emu.engine.set_progression(scan_id, body["progression"])
            if "state" in body:
                emu.engine.set_state(scan_id, str(body["state"]))
        return JSONResponse(scan_json(emu.engine.get(scan_id)))

    async def advance(request: Request) -> Response:
        body = await _json(request)
        steps = body.get("steps", 1)
        if not isinstance(steps, int) or isinstance(steps, bool) or steps < 1:
            raise BadRequestError("steps must be a positive integer")
        return JSONResponse(scan_json(emu.engine.advance(request.path_params["scan_id"], steps)))

    async def progression(request: Request) -> Response:
        if request.method == "PUT":
            emu.engine.set_default_progression(Progression.parse(await _json(request, True), emu.lifecycle))
        return JSONResponse(emu.engine.default_progression.to_dict())

    async def faults(request: Request) -> Response:
        if request.method == "POST":
            body = await _json(request, required=True)
            emu.inject(body)
        elif request.method == "DELETE":
            emu.faults.clear()
        return JSONResponse(emu.faults.pending(), status_code=201 if request.method == "POST" else 200)

    async def settings(request: Request) -> Response:
        if request.method == "PATCH":
            emu.settings.update(await _json(request, True))
        return JSONResponse(emu.settings.to_dict())

    async def clock(request: Request) -> Response:
        body = await _json(request, True)
        if not isinstance(emu.clock, ManualClock):
            raise BadRequestError(
                "this emulator runs on the system clock; start it with a manual clock to move time"
            )
        seconds = body.get("advance")
        if not isinstance(seconds, int | float) or isinstance(seconds, bool) or seconds < 0:
            raise BadRequestError("advance must be a non-negative number of seconds")
        return JSONResponse({"now": emu.clock.advance(float(seconds))})

    async def scenarios(request: Request) -> Response:
        return JSONResponse(sorted(emu.plugin.scenarios))

    async def scenario(request: Request) -> Response:
        body = await _json(request, True)
        name = body.get("name")
        if not isinstance(name, str) or name not in emu.plugin.scenarios:
            raise BadRequestError(
                f"unknown scenario {name!r}; known: {', '.join(sorted(emu.plugin.scenarios))}"
            )
        result = emu.plugin.scenarios[name](emu.backend)
        return JSONResponse({"scenario": name, "result": result}, status_code=201)

    async def accounts(request: Request) -> Response:
        return JSONResponse(emu.plugin.accounts)

    async def coverage(request: Request) -> Response:
        return JSONResponse(emu.coverage())

    async def openapi(request: Request) -> Response:
        spec = dict(emu.spec)
        base = str(request.base_url).rstrip("/")
        spec["servers"] = [
            {"url": base + prefix, "description": f"scanwire {emu.vendor} emulator"}
            for prefix in emu.prefixes[:1]
        ]
        return JSONResponse(spec)

    async def control_openapi(request: Request) -> Response:
        return JSONResponse(CONTROL_OPENAPI)

    async def docs(request: Request) -> Response:
        return HTMLResponse(_DOCS_PAGE.replace("{vendor}", emu.vendor))

    def route(path: str, fn: Any, methods: list[str]) -> Route:
        return Route(path, guarded(fn), methods=methods)

    return [
        route("/reset", reset, ["POST"]),
        route("/state", state, ["GET"]),
        route("/scans", scans, ["GET", "POST"]),
        route("/scans/{scan_id}", one_scan, ["GET", "PATCH"]),
        route("/scans/{scan_id}/advance", advance, ["POST"]),
        route("/progression", progression, ["GET", "PUT"]),
        route("/faults", faults, ["GET", "POST", "DELETE"]),
        route("/settings", settings, ["GET", "PATCH"]),
        route("/clock", clock, ["POST"]),
        route("/scenarios", scenarios, ["GET"]),
        route("/scenario", scenario, ["POST"]),
        route("/accounts", accounts, ["GET"]),
        route("/coverage", coverage, ["GET"]),
        route("/openapi.json", openapi, ["GET"]),
        route("/control/openapi.json", control_openapi, ["GET"]),
        route("/docs", docs, ["GET"]),
        drift_route(emu),
    ]


_DOCS_PAGE = """<!doctype html>
<html><head><meta charset="utf-8"><title>scanwire {vendor} emulator</title>
<link rel="stylesheet" href="https://unpkg.com/swagger-ui-dist@5/swagger-ui.css"></head>
<body><div id="ui"></div>
<script src="https://unpkg.com/swagger-ui-dist@5/swagger-ui-bundle.js"></script>
<script src="https://unpkg.com/swagger-ui-dist@5/swagger-ui-standalone-preset.js"></script>
<script>
SwaggerUIBundle({dom_id: "#ui", layout: "StandaloneLayout",
  presets: [SwaggerUIBundle.presets.apis, SwaggerUIStandalonePreset],
  urls: [{url: "/_emulator/openapi.json", name: "{vendor} API (emulated)"},
         {url: "/_emulator/control/openapi.json", name: "emulator control API"}]});
</script>
<noscript>Specs: /_emulator/openapi.json, /_emulator/control/openapi.json</noscript>
</body></html>
"""

_PROGRESSION = {
    "type": "object",
    "properties": {
        "mode": {"enum": ["immediate", "reads", "seconds", "manual"]},
        "every": {"type": "number", "exclusiveMinimum": 0, "description": "reads or seconds per step"},
        "outcome": {"enum": ["success", "failure", "timeout", "hang"]},
        "final": {"type": "string", "description": "a named end state, e.g. Soda completedWithWarnings"},
    },
    "additionalProperties": False,
}
_FAULT = {
    "type": "object",
    "required": ["kind"],
    "properties": {
        "kind": {"enum": ["status", "delay", "timeout", "malformed", "expired_auth"]},
        "count": {"type": "integer", "minimum": 1, "default": 1},
        "status": {"type": "integer", "minimum": 400, "maximum": 599},
        "seconds": {"type": "number", "minimum": 0, "maximum": 60},
        "retry_after": {"type": "number", "minimum": 0, "maximum": 86400},
        "variant": {"enum": ["truncated", "html", "empty"]},
        "operation": {
            "type": "string",
            "description": "operationId or 'METHOD /path'; all requests when absent",
        },
    },
    "additionalProperties": False,
}


def _op(summary: str, body: dict[str, Any] | None = None) -> dict[str, Any]:
    op: dict[str, Any] = {
        "summary": summary,
        "responses": {"200": {"description": "OK"}, "400": {"description": "bad control request"}},
    }
    if body is not None:
        op["requestBody"] = {"content": {"application/json": {"schema": body}}}
    return op


CONTROL_OPENAPI: dict[str, Any] = {
    "openapi": "3.1.0",
    "info": {"title": "scanwire emulator control API", "version": "1"},
    "paths": {
        "/_emulator/reset": {"post": _op("Forget all state")},
        "/_emulator/state": {"get": _op("Scans, settings, faults, violations")},
        "/_emulator/scans": {
            "get": _op("List scans (engine + vendor view)"),
            "post": _op(
                "Seed a scan in any state",
                {
                    "type": "object",
                    "properties": {
                        "account": {"type": "string"},
                        "state": {"type": "string"},
                        "progression": _PROGRESSION,
                        "data": {"type": "object", "description": "vendor fields to set"},
                    },
                },
            ),
        },
        "/_emulator/scans/{scan_id}": {
            "parameters": [{"name": "scan_id", "in": "path", "required": True, "schema": {"type": "string"}}],
            "get": _op("Read one scan"),
            "patch": _op(
                "Force a state and/or a progression",
                {"type": "object", "properties": {"state": {"type": "string"}, "progression": _PROGRESSION}},
            ),
        },
        "/_emulator/scans/{scan_id}/advance": {
            "parameters": [{"name": "scan_id", "in": "path", "required": True, "schema": {"type": "string"}}],
            "post": _op(
                "Move a scan along its road",
                {"type": "object", "properties": {"steps": {"type": "integer", "minimum": 1}}},
            ),
        },
        "/_emulator/progression": {
            "get": _op("Default progression"),
            "put": _op("Set the default progression", _PROGRESSION),
        },
        "/_emulator/faults": {
            "get": _op("Pending faults"),
            "post": _op("Inject a fault for the next N matching requests", _FAULT),
            "delete": _op("Clear faults"),
        },
        "/_emulator/settings": {
            "get": _op("Settings"),
            "patch": _op(
                "Change settings",
                {
                    "type": "object",
                    "properties": {
                        "rate_limits": {"type": "boolean"},
                        "validate_requests": {"type": "boolean"},
                        "validate_responses": {"type": "boolean"},
                        "token_ttl": {"type": "number"},
                    },
                },
            ),
        },
        "/_emulator/clock": {
            "post": _op(
                "Advance a manual clock", {"type": "object", "properties": {"advance": {"type": "number"}}}
            )
        },
        "/_emulator/scenarios": {"get": _op("Named scenarios")},
        "/_emulator/scenario": {
            "post": _op(
                "Run a named scenario", {"type": "object", "properties": {"name": {"type": "string"}}}
            )
        },
        "/_emulator/accounts": {"get": _op("Accepted credentials")},
        "/_emulator/coverage": {"get": _op("Spec operations vs emulator routes")},
        "/_emulator/openapi.json": {"get": _op("The emulated vendor API's spec")},
        "/_emulator/docs": {"get": _op("Interactive docs")},
        "/_emulator/drift": DRIFT_CONTROL_OPENAPI,
    },
}
