"""AppSpider's error table: `{IsSuccess: false, ErrorMessage, Reason}`, HTTP 400 with a `Reason` code,
credential failures HTTP 401 `InvalidCredentials` (vendor-notes §3 Responses, FACT). Login answers carry
`Token: null` as well (LoginResponse requires it). No Retry-After: AppSpider documents no rate limits.
"""

from __future__ import annotations

from typing import Any

from starlette.responses import Response

from conformance.emulators.appspider.configs import (
    AttachmentNotFoundError,
    ConfigNameNotUniqueError,
    NoConfigError,
)
from conformance.emulators.appspider.models import (
    ClientNotFoundError,
    ConfigNotFoundError,
    InvalidClientIdError,
    ReportNotReadyError,
    ScanNotAllowedError,
    ScanStartFailedError,
)
from conformance.emulators.core import errors as core
from conformance.emulators.core.http import Call, json_response
from conformance.emulators.core.render import ErrorTable, Failure, Rule

__all__ = ["ERRORS", "LOGIN"]

LOGIN = "POST /Authentication/Login"
_REQUIRED = "Required parameters not provided"


def _envelope(failure: Failure) -> Response:
    body: dict[str, Any] = {"IsSuccess": False, "ErrorMessage": failure.message, "Reason": failure.code}
    if failure.call is not None and failure.call.operation == LOGIN:
        body = {"IsSuccess": False, "Token": None, "ErrorMessage": failure.message, "Reason": failure.code}
    if isinstance(failure.error, InvalidClientIdError):
        body["Clients"] = failure.error.clients
    return json_response(body, failure.status)


def _auth_message(call: Call[Any] | None, exc: core.AuthError) -> str:
    return "Authorization token is invalid or expired" if exc.kind in ("expired", "unknown") else exc.message


def _describe(call: Call[Any] | None, exc: core.BadRequestError) -> str:
    """A short ErrorMessage: the documented one when something required is missing, else each finding."""
    if any(p.rule == "required" for p in exc.problems):
        return _REQUIRED
    # Name the field when the validator's finding does not ("5 is not one of [0, 1, 24, 168, 720]").
    return "; ".join(
        p.short if not p.field or p.field in p.short else f"{p.field}: {p.short}" for p in exc.problems
    )


ERRORS = ErrorTable(
    _envelope,
    [
        (InvalidClientIdError, Rule(401, "Invalid clientId", code="Invalid clientId")),
        (core.AuthError, Rule(401, _auth_message, code="InvalidCredentials")),
        (core.ScanNotFoundError, Rule(400, "Scan not found", code="ScanNotFound")),
        (ScanNotAllowedError, Rule(400, code="ScanIsNotAllowed")),
        # The document gives this GetScans error no Reason code (seed "Config Id does not exist in client").
        (ConfigNotFoundError, Rule(400)),
        (ScanStartFailedError, Rule(400, code="ScanStartFailed")),
        # vendor-notes-workflow §3: SaveConfig's documented Reasons; GetClient's "No Client Found".
        (NoConfigError, Rule(400, code="ConfigNotFound")),
        (ConfigNameNotUniqueError, Rule(400, code="ConfigNameIsNotUnique")),
        (ClientNotFoundError, Rule(400, code="NotFound")),
        # No public Reason for a missing report or attachment (vendor-notes-workflow Gaps): INFERENCE.
        (ReportNotReadyError, Rule(400, code="ReportNotReady")),
        (AttachmentNotFoundError, Rule(400, code="AttachmentNotFound")),
        # The document lists no Reason for an action the scan's status forbids: 400, Reason null (INFERENCE).
        (core.IllegalTransitionError, Rule(400, lambda call, e: call.backend.action_refusal(e))),
        (core.BadRequestError, Rule(400, _describe, code="InvalidJsonSchema")),
        (core.NotFoundError, Rule(400)),
        (400, Rule(code="InvalidJsonSchema")),
        (401, Rule(code="InvalidCredentials")),
        (core.HttpError, Rule()),
        (core.EmulatorError, Rule(400)),
    ],
)
