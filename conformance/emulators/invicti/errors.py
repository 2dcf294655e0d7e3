"""Invicti's error table: `BaseResponseApiModel {Message}` envelopes, and the bare result codes of actions."""

from __future__ import annotations

from typing import Any

from starlette.responses import Response

from conformance.emulators.core import errors as core
from conformance.emulators.core.http import Call, json_response
from conformance.emulators.core.render import ErrorTable, Failure, Rule

__all__ = ["CONTENT_TYPE", "ERRORS", "HEADERS", "action_of"]

CONTENT_TYPE = "application/json; charset=utf-8"
# Sent on every answer (seed response headers; vendor-notes §2 FACT).
HEADERS = {"Cache-Control": "no-cache", "Pragma": "no-cache", "Expires": "-1"}
# ASP.NET Web API's own texts where the vendor's are unknown (vendor-notes §2 INFERENCE for 401/404).
_MESSAGES = {
    400: "The request is invalid.",
    401: "Authorization has been denied for this request.",
    403: "Access is denied.",
    404: "No HTTP resource was found that matches the request URI.",
    405: "The requested resource does not support this http method.",
    415: "The request entity's media type is not supported for this resource.",
    429: "Too many requests. Please try again later.",
    500: "An error has occurred.",
    502: "Bad gateway.",
    503: "The service is unavailable.",
    504: "The gateway timed out.",
}
SCAN_NOT_FOUND = "Scan not found."
_NO_CONTENT_TYPE = (
    "The request contains an entity body but no Content-Type header. "
    "The inferred media type 'application/octet-stream' is not supported for this resource."
)


def _envelope(failure: Failure) -> Response:
    headers = dict(HEADERS)
    if failure.retry_after is not None:
        headers["Retry-After"] = str(max(1, round(failure.retry_after)))
    return json_response({"Message": failure.message}, failure.status, headers, media_type=CONTENT_TYPE)


def _bare(failure: Failure) -> Response:
    """cancel/pause/resume answer HTTP 200 with a bare result code (vendor-notes §2 FACT)."""
    return json_response(failure.message, 200, dict(HEADERS), media_type=CONTENT_TYPE)


def action_of(call: Call[Any]) -> str | None:
    """cancel / pause / resume when the call is that action's operation in the spec's lifecycle."""
    for action, ref in call.emulator.lifecycle.operations.items():
        if ref is not None and ref.key == call.operation and action in ("cancel", "pause", "resume"):
            return action
    return None


def _is_action(call: Call[Any]) -> bool:
    return action_of(call) is not None


def _refusal(call: Call[Any], exc: core.IllegalTransitionError) -> str:
    """The result code for an action the lifecycle refused, worded from the scan's state."""
    terminal = {"Complete": "ScanCompleted", "Cancelled": "ScanCancelled", "Failed": "ScanFailed"}
    if exc.state in terminal:
        return terminal[exc.state]
    if exc.state in ("Queued", "Delayed"):
        return "ScanQueued"
    return "ScanNotRunning" if action_of(call) == "pause" else "ScanNotPaused"


def _unsupported_media(call: Call[Any]) -> bool:
    # ASP.NET Web API has no formatter for the media type: 415 with its own wording (INFERENCE).
    return call.method == "POST" and bool(call.raw_body) and call.content_type != "application/json"


def _media_message(call: Call[Any], exc: core.EmulatorError) -> str:
    if not call.content_type:
        return _NO_CONTENT_TYPE
    return f"The request entity's media type '{call.content_type}' is not supported for this resource."


def _invalid(call: Call[Any], exc: core.BadRequestError) -> str:
    # Name the field when the finding's own text does not (a body member: `TargetUri: 5 is not ...`).
    texts = [p.short if not p.field or p.field in p.short else f"{p.field}: {p.short}" for p in exc.problems]
    return f"{_MESSAGES[400]} " + "; ".join(texts)[:500]


def _http_text(call: Call[Any] | None, exc: core.HttpError) -> str:
    if exc.status == 405 and "method" in exc.details:
        return f"The requested resource does not support http method '{exc.details['method']}'."
    if exc.status == 404 and "path" in exc.details:
        return f"No HTTP resource was found that matches the request URI '{exc.details['path']}'."
    return _MESSAGES.get(exc.status, "An error has occurred.")


ERRORS = ErrorTable(
    _envelope,
    [
        (core.AuthError, Rule(401, _MESSAGES[401])),
        (core.ScanNotFoundError, Rule(200, "ScanNotFound", when=_is_action, envelope=_bare)),
        (core.IllegalTransitionError, Rule(200, _refusal, when=_is_action, envelope=_bare)),
        (core.ScanNotFoundError, Rule(404, SCAN_NOT_FOUND)),
        (core.NotFoundError, Rule(404)),
        (core.BadRequestError, Rule(415, _media_message, when=_unsupported_media)),
        (core.BadRequestError, Rule(400, _invalid)),
        (core.HttpError, Rule(message=_http_text)),
        (core.EmulatorError, Rule(400)),
    ],
)
