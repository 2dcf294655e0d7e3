"""Soda's error envelope: `ErrorResponse {code, message}` with the documented status codes."""

from __future__ import annotations

from starlette.responses import Response

from conformance.emulators.core import (
    AuthError,
    BadRequestError,
    EmulatorError,
    IllegalTransitionError,
    NotFoundError,
)
from conformance.emulators.core.http import json_response

__all__ = ["error", "for_domain_error"]

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


def error(status: int, message: str, retry_after: float | None = None) -> Response:
    # Soda documents no Retry-After header (vendor-notes §5); the body carries the message only.
    return json_response({"code": _CODES.get(status, "error"), "message": message}, status)


def for_domain_error(exc: EmulatorError) -> Response:
    if isinstance(exc, AuthError):
        return error(
            401, "Unauthorized: provide a valid API key id and secret with HTTP Basic authentication"
        )
    if isinstance(exc, NotFoundError):
        return error(404, exc.message)
    if isinstance(exc, IllegalTransitionError):
        return error(400, f"Scan '{exc.scan_id}' in state '{exc.state}' cannot be canceled")
    if isinstance(exc, BadRequestError):
        return error(400, "; ".join(exc.problems))
    return error(400, exc.message)
