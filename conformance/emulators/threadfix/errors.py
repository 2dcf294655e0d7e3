"""ThreadFix's RestResponse envelope and its error table.

Every failure is the envelope `{message, success: false, responseCode: -1, object: null}` with HTTP 200
(controllers return `RestResponse.failure(...)` with Spring's default status, vendor-notes §4 FACT from
TF-SRC); only the catch-all `/rest/**` handler answers HTTP 404 (UnknownRestController, FACT).
"""

from __future__ import annotations

from typing import Any

from starlette.responses import Response

from conformance.emulators.core import errors as core
from conformance.emulators.core.http import Call, json_response
from conformance.emulators.core.render import ErrorTable, Failure, Rule
from conformance.emulators.threadfix.models import (
    ApplicationNotFoundError,
    CreationFailedError,
    ImportedScanNotFoundError,
    NoFilesError,
    ScanTypeError,
    TeamNotFoundError,
)

__all__ = [
    "API_KEY_NOT_FOUND",
    "AUTH_FAILED",
    "ERRORS",
    "MEDIA_TYPE",
    "RESTRICTED",
    "UNRECOGNIZED_PATH",
    "UnrecognizedPathError",
    "envelope",
]

# Spring's Jackson converter answers with the charset parameter (INFERENCE: Spring 4 default).
MEDIA_TYPE = "application/json;charset=UTF-8"
AUTH_FAILED = "Authentication failed, check your API Key."  # TFRestController.API_KEY_NOT_FOUND_ERROR
API_KEY_NOT_FOUND = "API Key not found in database."  # vendor-notes §4 FACT (2.x wiki responses)
RESTRICTED = "The requested URL is restricted for your API Key."  # TFRestController.RESTRICTED_URL_ERROR
UNRECOGNIZED_PATH = "Bad rest request due to unrecognized path."  # UnknownRestController
APPLICATION_LOOKUP_FAILED = "Application lookup failed. Check your ID."  # ApplicationRestController (TF-SRC)
# INFERENCE: the pending-scan controller is Pro-only; this follows APPLICATION_LOOKUP_FAILED's wording.
PENDING_SCAN_LOOKUP_FAILED = "Pending scan lookup failed. Check your ID."


class UnrecognizedPathError(core.NotFoundError):
    """A request no 2.x controller maps (unknown version segment, non-JSON Accept): the catch-all's 404."""


def envelope(obj: Any, message: str = "", *, success: bool = True, **extra: Any) -> Response:
    """A RestResponse answer; `extra` adds top-level members (the upload's `links`)."""
    body = {"message": message, "success": success, "responseCode": -1, "object": obj, **extra}
    return json_response(body, media_type=MEDIA_TYPE)


def _envelope(failure: Failure) -> Response:
    body = {"message": failure.message, "success": False, "responseCode": -1, "object": None}
    return json_response(body, failure.status, media_type=MEDIA_TYPE)


def _auth_message(call: Call[Any] | None, exc: core.AuthError) -> str:
    # A missing, blank or malformed key fails authentication; a well-formed key that matches no account
    # (or a revoked one: `expired_auth`) is not in the database (vendor-notes §4 FACT).
    return AUTH_FAILED if exc.kind in ("missing", "invalid") else API_KEY_NOT_FOUND


def _validation_message(call: Call[Any] | None, exc: core.BadRequestError) -> str:
    body_problem = call is not None and any(p.location == "body" for p in exc.problems)
    if body_problem and call is not None and call.operation == "POST /teams/new":
        # TeamRestController reads the form field itself (TF-SRC, vendor-notes-workflow §4 T4).
        return '"name" parameter was not present, new Team creation failed.'
    if body_problem and call is not None and call.operation.startswith("POST /applications/{appId}/upload"):
        # No `file` part, or no multipart body at all: the controller sees an empty file map and
        # UploadScanServiceImpl answers "No files selected." (TF-SRC).
        return "No files selected."
    return "Invalid request: " + "; ".join(p.message for p in exc.problems)


# Controllers return `RestResponse.failure(...)` with Spring's default status, HTTP 200; only the
# catch-all answers 404, and `@RequestMapping("/rest/**")` has no method condition, so a known path with
# the wrong method lands there too (TF-SRC UnknownRestController): 404, never 405.
ERRORS = ErrorTable(
    _envelope,
    [
        (404, Rule(404, UNRECOGNIZED_PATH)),
        (405, Rule(404, UNRECOGNIZED_PATH)),
        (core.HttpError, Rule()),
        (core.AuthError, Rule(200, _auth_message)),
        (UnrecognizedPathError, Rule(404, UNRECOGNIZED_PATH)),
        (core.ForbiddenError, Rule(200, RESTRICTED)),
        (ApplicationNotFoundError, Rule(200, APPLICATION_LOOKUP_FAILED)),
        # The controllers' own failure texts (TeamRestController, ScansRestController, TF-SRC).
        ((TeamNotFoundError, ImportedScanNotFoundError, CreationFailedError), Rule(200)),
        (core.ScanNotFoundError, Rule(200, PENDING_SCAN_LOOKUP_FAILED)),
        ((NoFilesError, ScanTypeError), Rule(200)),
        # Request validation (openapi-core) or a handler's parsing: Spring's binding errors would be
        # Tomcat 400 pages, which the spec cannot express, so the envelope carries them (INFERENCE).
        (core.BadRequestError, Rule(200, _validation_message)),
        (core.EmulatorError, Rule(200)),
    ],
)
