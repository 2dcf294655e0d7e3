"""Advalidation HTTP layer: parse, call one backend method, serialise. Keyed by the spec's paths."""

from __future__ import annotations

import contextlib
import hmac
from typing import Any

from openapi_core.util import forcebool
from starlette.responses import Response

from conformance.emulators.core import AuthError, BadRequestError, Call, json_response
from conformance.emulators.core.auth import header_value

__all__ = ["ROUTES", "authenticate"]


def authenticate(call: Call) -> str:
    """`X-API-Key: <key>`, no Authorization header and no login step (vendor-notes §1 FACT)."""
    key = header_value(call, "X-API-Key")
    for account, creds in call.emulator.plugin.accounts.items():
        if hmac.compare_digest(key.encode(), creds["api_key"].encode()):
            return account
    raise AuthError("unknown API key")


def _integer(call: Call, name: str) -> int:
    """openapi-core has typed it already; with request validation switched off it is still a string."""
    raw = call.path_params.get(name)
    if isinstance(raw, int) and not isinstance(raw, bool):
        return raw
    if isinstance(raw, str) and raw.strip().lstrip("-").isdigit():
        return int(raw)
    raise BadRequestError(f"{name} must be an integer", field=name)


def _boolean(call: Call, name: str) -> bool:
    # The same truth values openapi-core accepts when it validates (true/false, 1/0, yes/no, on/off).
    raw: Any = call.query.get(name, False)
    if isinstance(raw, bool):
        return raw
    if isinstance(raw, str):
        with contextlib.suppress(ValueError):
            return forcebool(raw)
    raise BadRequestError(f"{name} must be a boolean", field=name)


def get_scan(call: Call) -> Response:
    scan = call.backend.get_scan(call.account, _integer(call, "scanId"), _boolean(call, "include_checks"))
    return json_response({"data": scan})


def get_current_user(call: Call) -> Response:
    return json_response({"data": call.backend.current_user(call.account)})


def rescan_creative(call: Call) -> Response:
    return json_response({"data": call.backend.rescan(call.account, _integer(call, "creativeId"))})


ROUTES = {
    "GET /scans/{scanId}": get_scan,
    "GET /users/me": get_current_user,
    "POST /creatives/{creativeId}/rescan": rescan_creative,
}
