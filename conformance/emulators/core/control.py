"""The control API under `/_emulator/` (moto's `/moto-api/` idea): one table of endpoints.

Each row of `ENDPOINTS` gives method, path, summary, the JSON schema of its body and its handler; the
Starlette routes, the request validation and the OpenAPI document at `/_emulator/control/openapi.json`
are all made from it (`core/control_table.py`). Add an endpoint by adding a row.
"""

from __future__ import annotations

from typing import Any

from starlette.requests import Request
from starlette.responses import HTMLResponse, JSONResponse, Response
from starlette.routing import Route

from conformance.emulators.core.clock import ManualClock
from conformance.emulators.core.control_table import Endpoint, Target, openapi_document, routes
from conformance.emulators.core.drift import DRIFT_CONTROL_OPENAPI
from conformance.emulators.core.engine import Progression, Scan
from conformance.emulators.core.errors import BadRequestError

__all__ = ["CONTROL_OPENAPI", "ENDPOINTS", "Endpoint", "Target", "control_routes"]


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
        # Upper bounds are Fault.parse's (faults.py), which names them in its message.
        "seconds": {"type": "number", "minimum": 0, "description": "at most 60"},
        "retry_after": {"type": "number", "minimum": 0, "description": "at most 86400"},
        "variant": {"enum": ["truncated", "html", "empty"]},
        "operation": {
            "type": "string",
            "description": "operationId or 'METHOD /path'; all requests when absent",
        },
    },
    "additionalProperties": False,
}


_SEED = {
    "type": "object",
    "properties": {
        "account": {"type": "string"},
        "state": {"type": "string"},
        "progression": _PROGRESSION,
        "data": {"type": "object", "description": "vendor fields to set"},
    },
    "additionalProperties": False,
}
_SEED_RESOURCE = {
    "type": "object",
    "properties": {
        "account": {"type": "string"},
        "data": {
            "type": "object",
            "description": "the resource's fields, as the vendor's backend names them",
        },
    },
    "additionalProperties": False,
}
_PATCH_SCAN = {
    "type": "object",
    "properties": {"state": {"type": "string"}, "progression": _PROGRESSION},
    "additionalProperties": False,
}
_ADVANCE = {
    "type": "object",
    "properties": {"steps": {"type": "integer", "minimum": 1}},
    "additionalProperties": False,
}
_SETTINGS = {
    "type": "object",
    "properties": {
        "rate_limits": {"type": "boolean"},
        "validate_requests": {"type": "boolean"},
        "validate_responses": {"type": "boolean"},
        "token_ttl": {"type": "number", "exclusiveMinimum": 0},
        "progression": {"anyOf": [_PROGRESSION, {"type": "null"}]},
    },
    "additionalProperties": False,
}
_CLOCK = {
    "type": "object",
    "required": ["advance"],
    "properties": {"advance": {"type": "number", "minimum": 0, "description": "seconds"}},
    "additionalProperties": False,
}
# The rule's schema is drift.py's own.
_DRIFT: dict[str, Any] = DRIFT_CONTROL_OPENAPI["post"]["requestBody"]["content"]["application/json"]["schema"]
_SCENARIO = {
    "type": "object",
    "required": ["name"],
    "properties": {"name": {"type": "string"}},
    "additionalProperties": False,
}


def _scan_json(emu: Target, scan: Scan) -> dict[str, Any]:
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


def reset(emu: Target, request: Request, body: dict[str, Any]) -> Response:
    emu.reset()
    return JSONResponse({"reset": True})


def state(emu: Target, request: Request, body: dict[str, Any]) -> Response:
    return JSONResponse(
        {
            "vendor": emu.vendor,
            "scans": [_scan_json(emu, s) for s in emu.engine.all()],
            "settings": emu.settings.to_dict(),
            "progression": emu.engine.default_progression.to_dict(),
            "faults": emu.faults.pending(),
            "clock": emu.clock.now(),
            "violations": [v.__dict__ for v in emu.violations],
            "errors": emu.errors,
        }
    )


def _whole(request: Request, name: str, default: int | None, low: int) -> int | None:
    raw = request.query_params.get(name)
    if raw is None:
        return default
    try:
        value = int(raw)
    except ValueError:
        value = low - 1
    if value < low:
        raise BadRequestError(f"{name} must be an integer >= {low}, not {raw[:40]!r}", field=name)
    return value


def list_scans(emu: Target, request: Request, body: dict[str, Any]) -> Response:
    """Scans oldest first; `account`, `state` filter; `limit`/`offset` page (read from the store, O(page));
    X-Total-Count says how many match."""
    query = request.query_params
    account, state = query.get("account"), query.get("state")
    if state is not None and state not in emu.lifecycle.states:
        raise BadRequestError(
            f"state: {state[:40]!r} is not a state of this vendor; known: {sorted(emu.lifecycle.states)}",
            field="state",
        )
    limit, offset = _whole(request, "limit", None, 1), _whole(request, "offset", 0, 0)
    where = None if state is None else {"state": state}
    with emu.store.transaction():
        total = emu.engine.count(account, where=where)
        scans = emu.engine.page(account, where=where, offset=offset or 0, limit=limit)
        items = [_scan_json(emu, s) for s in scans]
    return JSONResponse(items, headers={"X-Total-Count": str(total)})


def seed_scan(emu: Target, request: Request, body: dict[str, Any]) -> Response:
    accounts = list(emu.accounts)
    account = body.get("account", accounts[0] if accounts else "default")
    if account not in emu.accounts:
        raise BadRequestError(f"unknown account {account!r}; known: {', '.join(accounts)}", field="account")
    state = body.get("state")
    if state is not None and state not in emu.lifecycle.states:
        raise BadRequestError(
            f"state: {state!r} is not a state of this vendor; known: {sorted(emu.lifecycle.states)}",
            field="state",
        )
    progression = body.get("progression")
    if progression is not None:
        Progression.parse(progression, emu.lifecycle)
    # Validated first, and seeded in one transaction: a refused seed leaves nothing behind.
    with emu.store.transaction():
        scan = emu.backend.seed_scan(account, state, body.get("data") or {}, progression)
    return JSONResponse(_scan_json(emu, scan), status_code=201)


def seed_resource(emu: Target, request: Request, body: dict[str, Any]) -> Response:
    """A resource of a vendor kind (AppSpider `config`, ...) for an account, made by the backend's rules."""
    accounts = list(emu.accounts)
    account = body.get("account", accounts[0] if accounts else "default")
    if account not in emu.accounts:
        raise BadRequestError(f"unknown account {account!r}; known: {', '.join(accounts)}", field="account")
    with emu.store.transaction():
        made = emu.backend.seed_resource(request.path_params["kind"], account, body.get("data") or {})
    return JSONResponse(made, status_code=201)


def get_scan(emu: Target, request: Request, body: dict[str, Any]) -> Response:
    return JSONResponse(_scan_json(emu, emu.engine.get(request.path_params["scan_id"])))


def patch_scan(emu: Target, request: Request, body: dict[str, Any]) -> Response:
    scan_id = request.path_params["scan_id"]
    if "progression" in body:
        emu.engine.set_progression(scan_id, body["progression"])
    if "state" in body:
        emu.engine.set_state(scan_id, str(body["state"]))
    return JSONResponse(_scan_json(emu, emu.engine.get(scan_id)))


def advance(emu: Target, request: Request, body: dict[str, Any]) -> Response:
    steps = body.get("steps", 1)
    if not isinstance(steps, int) or isinstance(steps, bool) or steps < 1:
        raise BadRequestError("steps must be a positive integer", field="steps")
    return JSONResponse(_scan_json(emu, emu.engine.advance(request.path_params["scan_id"], steps)))


def get_progression(emu: Target, request: Request, body: dict[str, Any]) -> Response:
    return JSONResponse(emu.engine.default_progression.to_dict())


def put_progression(emu: Target, request: Request, body: dict[str, Any]) -> Response:
    emu.engine.set_default_progression(Progression.parse(body, emu.lifecycle))
    return get_progression(emu, request, body)


def list_faults(emu: Target, request: Request, body: dict[str, Any]) -> Response:
    return JSONResponse(emu.faults.pending())


def add_fault(emu: Target, request: Request, body: dict[str, Any]) -> Response:
    emu.inject(body)
    return JSONResponse(emu.faults.pending(), status_code=201)


def clear_faults(emu: Target, request: Request, body: dict[str, Any]) -> Response:
    emu.faults.clear()
    return JSONResponse(emu.faults.pending())


def get_settings(emu: Target, request: Request, body: dict[str, Any]) -> Response:
    return JSONResponse(emu.settings.to_dict())


def patch_settings(emu: Target, request: Request, body: dict[str, Any]) -> Response:
    emu.settings.update(body)
    return JSONResponse(emu.settings.to_dict())


def clock(emu: Target, request: Request, body: dict[str, Any]) -> Response:
    if not isinstance(emu.clock, ManualClock):
        raise BadRequestError(
            "this emulator runs on the system clock; start it with a manual clock to move time"
        )
    return JSONResponse({"now": emu.clock.advance(float(body["advance"]))})


def list_scenarios(emu: Target, request: Request, body: dict[str, Any]) -> Response:
    return JSONResponse(sorted(emu.scenarios))


def run_scenario(emu: Target, request: Request, body: dict[str, Any]) -> Response:
    name = body["name"]
    if name not in emu.scenarios:
        raise BadRequestError(
            f"unknown scenario {name!r}; known: {', '.join(sorted(emu.scenarios))}", field="name"
        )
    return JSONResponse({"scenario": name, "result": emu.scenarios[name](emu.backend)}, status_code=201)


def accounts(emu: Target, request: Request, body: dict[str, Any]) -> Response:
    return JSONResponse(emu.accounts)


def coverage(emu: Target, request: Request, body: dict[str, Any]) -> Response:
    return JSONResponse(emu.coverage())


def vendor_openapi(emu: Target, request: Request, body: dict[str, Any]) -> Response:
    spec = dict(emu.spec)
    base = str(request.base_url).rstrip("/")
    spec["servers"] = [
        {"url": base + prefix, "description": f"scanwire {emu.vendor} emulator"}
        for prefix in emu.prefixes[:1]
    ]
    return JSONResponse(spec)


def control_openapi(emu: Target, request: Request, body: dict[str, Any]) -> Response:
    return JSONResponse(CONTROL_OPENAPI)


def list_drift(emu: Target, request: Request, body: dict[str, Any]) -> Response:
    return JSONResponse([r.to_dict() for r in emu.drift.rules])


def add_drift(emu: Target, request: Request, body: dict[str, Any]) -> Response:
    emu.drift.add(body)
    return JSONResponse([r.to_dict() for r in emu.drift.rules], status_code=201)


def clear_drift(emu: Target, request: Request, body: dict[str, Any]) -> Response:
    emu.drift.clear()
    return JSONResponse([])


def docs(emu: Target, request: Request, body: dict[str, Any]) -> Response:
    return HTMLResponse(_DOCS_PAGE.replace("{vendor}", emu.vendor))


_SCAN_ID = "/scans/{scan_id}"

ENDPOINTS: list[Endpoint] = [
    Endpoint("POST", "/reset", "Forget all state", reset),
    Endpoint("GET", "/state", "Scans, settings, faults, violations", state),
    Endpoint(
        "GET", "/scans", "List scans (engine + vendor view); ?account, state, limit, offset", list_scans
    ),
    Endpoint("POST", "/scans", "Seed a scan in any state", seed_scan, _SEED, status=201),
    Endpoint("GET", _SCAN_ID, "Read one scan", get_scan),
    Endpoint(
        "POST",
        "/resources/{kind}",
        "Seed a resource of a vendor kind",
        seed_resource,
        _SEED_RESOURCE,
        status=201,
    ),
    Endpoint("PATCH", _SCAN_ID, "Force a state and/or a progression", patch_scan, _PATCH_SCAN, True),
    Endpoint("POST", _SCAN_ID + "/advance", "Move a scan along its road", advance, _ADVANCE),
    Endpoint("GET", "/progression", "Default progression", get_progression),
    Endpoint("PUT", "/progression", "Set the default progression", put_progression, _PROGRESSION, True),
    Endpoint("GET", "/faults", "Pending faults", list_faults),
    Endpoint(
        "POST", "/faults", "Inject a fault for the next N matching requests", add_fault, _FAULT, True, 201
    ),
    Endpoint("DELETE", "/faults", "Clear faults", clear_faults),
    Endpoint("GET", "/settings", "Settings", get_settings),
    Endpoint("PATCH", "/settings", "Change settings", patch_settings, _SETTINGS, True),
    Endpoint("POST", "/clock", "Advance a manual clock", clock, _CLOCK, True),
    Endpoint("GET", "/scenarios", "Named scenarios", list_scenarios),
    Endpoint("POST", "/scenario", "Run a named scenario", run_scenario, _SCENARIO, True, 201),
    Endpoint("GET", "/accounts", "Accepted credentials", accounts),
    Endpoint("GET", "/coverage", "Spec operations vs emulator routes", coverage),
    Endpoint("GET", "/openapi.json", "The emulated vendor API's spec", vendor_openapi),
    Endpoint("GET", "/control/openapi.json", "This document", control_openapi),
    Endpoint("GET", "/docs", "Interactive docs", docs),
    # Answer like a drifting server (core/drift.py): {kind, operation, field?, value?, status?}.
    Endpoint("GET", "/drift", "Drift rules in force", list_drift),
    Endpoint("POST", "/drift", "Add a drift rule", add_drift, _DRIFT, True, 201, name="drift"),
    Endpoint("DELETE", "/drift", "Remove every drift rule", clear_drift),
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


CONTROL_OPENAPI: dict[str, Any] = openapi_document(ENDPOINTS, "scanwire emulator control API")


def control_routes(emu: Target) -> list[Route]:
    return routes(emu, ENDPOINTS)
