"""Soda Cloud HTTP layer: parse, call one backend method, serialise. Keyed by the spec's paths."""

from __future__ import annotations

from starlette.responses import Response

from conformance.emulators.core import AuthError, Call, json_response
from conformance.emulators.core.auth import basic_credentials

__all__ = ["ROUTES", "authenticate"]


def authenticate(call: Call) -> str:
    """HTTP Basic with API key id / secret (vendor-notes §5 FACT)."""
    creds = basic_credentials(call)
    for account, keys in call.emulator.plugin.accounts.items():
        if creds == (keys["key_id"], keys["secret"]):
            return account
    raise AuthError("unknown API key id or wrong secret")


def trigger_scan(call: Call) -> Response:
    scan = call.backend.trigger_scan(
        call.account, call.body["scanDefinition"], call.body.get("dataTimestamp")
    )
    location = f"{call.base_url}/api/v1/scans/{scan.id}"
    return Response(status_code=201, headers={"Location": location, "X-Soda-Scan-Id": scan.id})


def get_scan_status(call: Call) -> Response:
    return json_response(call.backend.status(call.account, call.path_params["scanId"]))


def cancel_scan(call: Call) -> Response:
    scan = call.backend.cancel(call.account, call.path_params["scanId"])
    return Response(status_code=200, headers={"Location": f"{call.base_url}/api/v1/scans/{scan.id}"})


def get_scan_logs(call: Call) -> Response:
    page = call.query.get("page", 0)
    size = call.query.get("size", 1000)
    return json_response(call.backend.logs(call.account, call.path_params["scanId"], page, size))


def test_login(call: Call) -> Response:
    return json_response(call.backend.test_login(call.account))


ROUTES = {
    "POST /api/v1/scans": trigger_scan,
    "GET /api/v1/scans/{scanId}": get_scan_status,
    "DELETE /api/v1/scans/{scanId}": cancel_scan,
    "GET /api/v1/scans/{scanId}/logs": get_scan_logs,
    "GET /api/v1/test-login": test_login,
}
