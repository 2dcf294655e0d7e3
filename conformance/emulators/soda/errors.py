"""Soda's error table: `ErrorResponse {code, message}` with the documented status codes."""

from __future__ import annotations

from starlette.responses import Response

from conformance.emulators.core import errors as core
from conformance.emulators.core.http import json_response
from conformance.emulators.core.render import ErrorTable, Failure, Rule

__all__ = ["ERRORS"]

_CODES = {
    400: "bad_request",
    401: "unauthorized",
    403: "forbidden",
    404: "not_found",
    405: "method_not_allowed",
    429: "too_many_requests",
    500: "internal_error",
    502: "bad_gateway",
    503: "service_unavailable",
    504: "gateway_timeout",
}


def _envelope(failure: Failure) -> Response:
    # Soda documents no Retry-After header (vendor-notes §5); the body carries the message only.
    return json_response(
        {"code": _CODES.get(failure.status, "error"), "message": failure.message}, failure.status
    )


ERRORS = ErrorTable(
    _envelope,
    [
        (
            core.AuthError,
            Rule(401, "Unauthorized: provide a valid API key id and secret with HTTP Basic authentication"),
        ),
        (core.ForbiddenError, Rule(403)),
        (core.NotFoundError, Rule(404)),
        (
            core.IllegalTransitionError,
            Rule(400, lambda call, e: f"Scan '{e.scan_id}' in state '{e.state}' cannot be canceled"),
        ),
        (core.BadRequestError, Rule(400, lambda call, e: "; ".join(p.message for p in e.problems))),
        (core.HttpError, Rule()),
        (core.EmulatorError, Rule(400)),
    ],
)
