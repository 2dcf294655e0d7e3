"""Soda Cloud HTTP layer: parse, call one backend method, serialise. Keyed by the spec's paths."""

from __future__ import annotations

from typing import Any

from starlette.responses import Response

from conformance.emulators.core import AuthError, BadRequestError, Call, json_response
from conformance.emulators.core.auth import basic_credentials
from conformance.emulators.soda.models import MAX_PAGE_SIZE

__all__ = ["ROUTES", "authenticate"]


def authenticate(call: Call) -> str:
    """HTTP Basic with API key id / secret (vendor-notes §5 FACT)."""
    creds = basic_credentials(call)
    for account, keys in call.emulator.plugin.accounts.items():
        if creds == (keys["key_id"], keys["secret"]):
            return account
    raise AuthError("unknown API key id or wrong secret")


def trigger_scan(call: Call) -> Response:
    if not isinstance(call.body, dict):
        raise BadRequestError(
            "a form body (application/x-www-form-urlencoded) with scanDefinition is required",
            fields=[("body", "")],
        )
    scan = call.backend.trigger_scan(
        call.account, call.body.get("scanDefinition"), call.body.get("dataTimestamp")
    )
    location = f"{call.base_url}/api/v1/scans/{scan.id}"
    return Response(status_code=201, headers={"Location": location, "X-Soda-Scan-Id": scan.id})


def get_scan_status(call: Call) -> Response:
    return json_response(call.backend.status(call.account, call.path_params["scanId"]))


def cancel_scan(call: Call) -> Response:
    scan = call.backend.cancel(call.account, call.path_params["scanId"])
    return Response(status_code=200, headers={"Location": f"{call.base_url}/api/v1/scans/{scan.id}"})


def get_scan_logs(call: Call) -> Response:
    page = _integer(call, "page", 0)
    size = _integer(call, "size", MAX_PAGE_SIZE)
    return json_response(call.backend.logs(call.account, call.path_params["scanId"], page, size))


def _integer(call: Call, name: str, default: int) -> Any:
    """A query parameter as an int (already one when the request was validated); BadRequestError if not."""
    value = call.query.get(name, default)
    if isinstance(value, str):
        try:
            return int(value)
        except ValueError:
            raise BadRequestError(
                f"{name} must be an integer, not {value!r}", fields=[("query", name)]
            ) from None
    return value


def test_login(call: Call) -> Response:
    return json_response(call.backend.test_login(call.account))


ROUTES = {
    "POST /api/v1/scans": trigger_scan,
    "GET /api/v1/scans/{scanId}": get_scan_status,
    "DELETE /api/v1/scans/{scanId}": cancel_scan,
    "GET /api/v1/scans/{scanId}/logs": get_scan_logs,
    "GET /api/v1/test-login": test_login,
}
