"""Invicti's answers to failures: `BaseResponseApiModel {Message}` envelopes and the action result codes."""

from __future__ import annotations

import re
from typing import Any

from starlette.responses import Response

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

__all__ = ["CONTENT_TYPE", "HEADERS", "action_of", "envelope", "error", "for_domain_error", "refusal"]

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


def envelope(status: int, message: str, retry_after: float | None = None) -> Response:
    headers = dict(HEADERS)
    if retry_after is not None:
        headers["Retry-After"] = str(max(1, round(retry_after)))
    return json_response({"Message": message}, status, headers, media_type=CONTENT_TYPE)


def error(call: Call | None, status: int, message: str, retry_after: float | None = None) -> Response:
    """HTTP-level failures (unknown route, 405, 429, injected faults, 500) in the vendor's envelope."""
    text = _MESSAGES.get(status, "An error has occurred.")
    if status == 405 and " not allowed" in message:
        text = f"The requested resource does not support http method '{message.split()[1]}'."
    elif status == 404 and message.startswith("no such endpoint: "):
        text = f"No HTTP resource was found that matches the request URI '{message.split()[-1]}'."
    return envelope(status, text, retry_after)


def action_of(call: Call) -> str | None:
    """cancel / pause / resume when the call is that action's operation in the spec's lifecycle."""
    for action, ref in call.emulator.lifecycle.operations.items():
        if ref is not None and ref.key == call.operation and action in ("cancel", "pause", "resume"):
            return action
    return None


def refusal(action: str, state: str) -> str:
    """The result code for an action the lifecycle refused, worded from the scan's state."""
    terminal = {"Complete": "ScanCompleted", "Cancelled": "ScanCancelled", "Failed": "ScanFailed"}
    if state in terminal:
        return terminal[state]
    if state in ("Queued", "Delayed"):
        return "ScanQueued"
    return "ScanNotRunning" if action == "pause" else "ScanNotPaused"


def _bare(code: str) -> Response:
    return json_response(code, 200, dict(HEADERS), media_type=CONTENT_TYPE)


def for_domain_error(call: Call, exc: EmulatorError) -> Response:
    if isinstance(exc, AuthError):
        return envelope(401, _MESSAGES[401])
    action = action_of(call)
    # cancel/pause/resume answer HTTP 200 with a result code, even for an unknown scan (vendor-notes §2 FACT).
    if action is not None and isinstance(exc, ScanNotFoundError):
        return _bare("ScanNotFound")
    if action is not None and isinstance(exc, IllegalTransitionError):
        return _bare(refusal(action, exc.state))
    if isinstance(exc, ScanNotFoundError):
        return envelope(404, SCAN_NOT_FOUND)
    if isinstance(exc, NotFoundError):
        return envelope(404, exc.message)
    if isinstance(exc, BadRequestError):
        return _bad_request(call, exc)
    return envelope(400, exc.message)


def _bad_request(call: Call, exc: BadRequestError) -> Response:
    if call.method == "POST" and call.raw_body and call.content_type != "application/json":
        # ASP.NET Web API has no formatter for the media type: 415 with its own wording (INFERENCE).
        if not call.content_type:
            return envelope(415, _NO_CONTENT_TYPE)
        media = call.content_type
        return envelope(415, f"The request entity's media type '{media}' is not supported for this resource.")
    return envelope(400, f"{_MESSAGES[400]} {_summary(exc.problems)}")


def _summary(problems: list[Any]) -> str:
    """openapi-core's findings without its reprs: `Invalid query parameter: pageSize: 500 is greater ...`."""
    out = []
    for problem in problems:
        parts = str(problem).split(" — ")
        detail = re.search(r"\): (?:\(root\)|[\w/]+): (.*)$", parts[-1]) if len(parts) > 1 else None
        head = re.sub(r":? Value .*$", "", parts[0]) if detail else parts[0]
        out.append(f"{head}: {detail.group(1)}" if detail else head)
    return "; ".join(out)[:500]
