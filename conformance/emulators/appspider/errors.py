"""AppSpider's error envelope `{IsSuccess: false, ErrorMessage, Reason}` and the domain-error mapping.

Failures are HTTP 400 with a `Reason` code, credential failures HTTP 401 `InvalidCredentials` (vendor-notes
§3 Responses, FACT). Login answers carry `Token: null` as well (LoginResponse requires it).
"""

from __future__ import annotations

from typing import Any

from starlette.responses import Response

from conformance.emulators.appspider.models import (
    ConfigNotFoundError,
    InvalidClientIdError,
    ScanNotAllowedError,
    ScanStartFailedError,
)
from conformance.emulators.core import (
    AuthError,
    BadRequestError,
    Call,
    EmulatorError,
    IllegalTransitionError,
    NotFoundError,
    ScanNotFoundError,
)
from conformance.emulators.core.http import json_response

__all__ = ["LOGIN", "describe", "error", "for_domain_error", "missing_parameters", "status_error"]

LOGIN = "POST /Authentication/Login"
_REASON_BY_STATUS = {400: "InvalidJsonSchema", 401: "InvalidCredentials"}
_REQUIRED = "Required parameters not provided"


def error(call: Call | None, status: int, message: str, reason: str | None = None, **extra: Any) -> Response:
    body: dict[str, Any] = {"IsSuccess": False, "ErrorMessage": message, "Reason": reason}
    if call is not None and call.operation == LOGIN:
        body = {"IsSuccess": False, "Token": None, "ErrorMessage": message, "Reason": reason}
    body.update(extra)
    # AppSpider documents no rate limits and no Retry-After header; none is sent.
    return json_response(body, status)


def status_error(call: Call | None, status: int, message: str) -> Response:
    """HTTP-level failures (faults, unknown route, 405, 500): the envelope, Reason by status when known."""
    return error(call, status, message, _REASON_BY_STATUS.get(status))


def missing_parameters(problems: list[str]) -> bool:
    return any(
        m in p.lower()
        for p in problems
        for m in ("missing required", "is a required property", _REQUIRED.lower())
    )


def describe(problems: list[str]) -> str:
    """A short ErrorMessage from openapi-core's findings: where, then the most specific finding."""
    if missing_parameters(problems):
        return _REQUIRED
    out = []
    for problem in problems:
        parts = problem.split(" — ")
        if len(parts) == 1:
            out.append(problem)
            continue
        head = parts[0] if len(parts[0]) <= 60 else parts[0].split(":")[0]
        out.append(f"{head}: {parts[-1].rsplit(',): ', 1)[-1]}")
    return "; ".join(out)


def for_domain_error(call: Call, exc: EmulatorError) -> Response:
    if isinstance(exc, InvalidClientIdError):
        return error(call, 401, "Invalid clientId", "Invalid clientId", Clients=exc.clients)
    if isinstance(exc, AuthError):
        message = "Authorization token is invalid or expired" if exc.kind == "expired" else exc.message
        return error(call, 401, message, "InvalidCredentials")
    if isinstance(exc, ScanNotFoundError):
        return error(call, 400, "Scan not found", "ScanNotFound")
    if isinstance(exc, ScanNotAllowedError):
        return error(call, 400, exc.message, "ScanIsNotAllowed")
    if isinstance(exc, ConfigNotFoundError):
        # The document gives this GetScans error no Reason code (seed "Config Id does not exist in client").
        return error(call, 400, exc.message)
    if isinstance(exc, ScanStartFailedError):
        return error(call, 400, exc.message, "ScanStartFailed")
    if isinstance(exc, IllegalTransitionError):
        # The document lists no Reason for an action the scan's status forbids: 400, Reason null (INFERENCE).
        return error(call, 400, call.backend.action_refusal(exc))
    if isinstance(exc, BadRequestError):
        return error(call, 400, describe(exc.problems), "InvalidJsonSchema")
    if isinstance(exc, NotFoundError):
        return error(call, 400, exc.message)
    return error(call, 400, exc.message)
