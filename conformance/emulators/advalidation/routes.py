"""Advalidation HTTP layer: one handler per operation (named by its operationId); `X-API-Key` auth, errors
and parameter parsing are core's."""

from __future__ import annotations

from starlette.responses import Response

from conformance.emulators.advalidation.models import AdvalidationBackend
from conformance.emulators.core.http import Call, boolean_param, json_response, path_int
from conformance.emulators.core.ratelimit import Verdict

Advalidation = Call[AdvalidationBackend]


def get_scan(call: Advalidation) -> Response:
    scan = call.backend.get_scan(
        call.account, path_int(call, "scanId"), boolean_param(call, "include_checks")
    )
    return json_response({"data": scan})


def get_current_user(call: Advalidation) -> Response:
    return json_response({"data": call.backend.current_user(call.account)})


def rescan_creative(call: Advalidation) -> Response:
    return json_response({"data": call.backend.rescan(call.account, path_int(call, "creativeId"))})


def decorate(call: Advalidation, response: Response, verdict: Verdict | None) -> Response:
    # Successful answers only carry the bucket's level (vendor-notes §1 FACT, SDK request-gate.ts).
    if verdict is not None and verdict.allowed and response.status_code < 400:
        response.headers["X-RateLimit-IPRemaining"] = str(verdict.remaining)
    return response
