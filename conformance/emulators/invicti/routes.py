"""Invicti HTTP layer: parse, call one backend method, serialise. Keyed by the spec's own paths."""

from __future__ import annotations

from starlette.responses import Response

from conformance.emulators.core import AuthError, Call, json_response
from conformance.emulators.core.auth import basic_credentials
from conformance.emulators.invicti.errors import CONTENT_TYPE, action_of

__all__ = ["ROUTES", "authenticate"]


def authenticate(call: Call) -> str:
    """HTTP Basic `USERID:API-TOKEN` (vendor-notes §2 FACT); the user id is a GUID, compared case-blind."""
    user, token = basic_credentials(call)
    for account, creds in call.emulator.plugin.accounts.items():
        if user.lower() == creds["user_id"].lower() and token == creds["token"]:
            return account
    raise AuthError("unknown user id or wrong API token")


def _json(body: object) -> Response:
    return json_response(body, media_type=CONTENT_TYPE)


def get_scan_detail(call: Call) -> Response:
    return _json(call.backend.detail(call.account, call.path_params["id"]))


def get_scan_status(call: Call) -> Response:
    return _json(call.backend.status(call.account, call.path_params["id"]))


def list_scans(call: Call) -> Response:
    return _json(
        call.backend.list_scans(call.account, call.query.get("page", 1), call.query.get("pageSize", 20))
    )


def list_scans_by_state(call: Call) -> Response:
    q = call.query
    page = call.backend.list_scans(
        call.account,
        q.get("page", 1),
        q.get("pageSize", 20),
        state=q["scanTaskState"],
        start=q.get("startDate"),
        end=q.get("endDate"),
        target=q.get("targetUrlCriteria"),
    )
    return _json(page)


def scan_action(call: Call) -> Response:
    """cancel / pause / resume: the body is the bare scan id; the answer a bare result code."""
    action = action_of(call)
    assert action is not None  # routed only for the lifecycle's action operations
    return _json(call.backend.act(call.account, call.body, action))


ROUTES = {
    "GET /api/1.0/scans/detail/{id}": get_scan_detail,
    "GET /api/1.0/scans/status/{id}": get_scan_status,
    "GET /api/1.0/scans/list": list_scans,
    "GET /api/1.0/scans/listbystate": list_scans_by_state,
    "POST /api/1.0/scans/cancel": scan_action,
    "POST /api/1.0/scans/pause": scan_action,
    "POST /api/1.0/scans/resume": scan_action,
}
