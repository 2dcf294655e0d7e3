"""ThreadFix's RestResponse envelope and the mapping of domain errors to it.

Every failure is the envelope `{message, success: false, responseCode: -1, object: null}` with HTTP 200
(controllers return `RestResponse.failure(...)` with Spring's default status, vendor-notes §4 FACT from
TF-SRC); only the catch-all `/rest/**` handler answers HTTP 404 (UnknownRestController, FACT).
"""

from __future__ import annotations

from typing import Any

from starlette.responses import Response

from conformance.emulators.core import (
    AuthError,
    BadRequestError,
    EmulatorError,
    ForbiddenError,
    NotFoundError,
    ScanNotFoundError,
    json_response,
)
from conformance.emulators.threadfix.models import ApplicationNotFoundError, NoFilesError, ScanTypeError

__all__ = [
    "API_KEY_NOT_FOUND",
    "AUTH_FAILED",
    "MEDIA_TYPE",
    "RESTRICTED",
    "UNRECOGNIZED_PATH",
    "UnrecognizedPathError",
    "envelope",
    "error",
    "for_domain_error",
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


class UnrecognizedPathError(NotFoundError):
    """A request no 2.x controller maps (unknown version segment, non-JSON Accept): the catch-all's 404."""


def envelope(obj: Any, message: str = "", *, success: bool = True, **extra: Any) -> Response:
    """A RestResponse answer; `extra` adds top-level members (the upload's `links`)."""
    body = {"message": message, "success": success, "responseCode": -1, "object": obj, **extra}
    return json_response(body, media_type=MEDIA_TYPE)


def error(status: int, message: str) -> Response:
    """The failure envelope for an HTTP-level failure (route, faults, 500)."""
    if status in (404, 405):
        # `@RequestMapping("/rest/**")` has no method condition, so a known path with the wrong method
        # lands on the catch-all too (TF-SRC UnknownRestController): 404, never 405.
        status, message = 404, UNRECOGNIZED_PATH
    body = {"message": message, "success": False, "responseCode": -1, "object": None}
    return json_response(body, status, media_type=MEDIA_TYPE)


def failure(message: str) -> Response:
    return error(200, message)


def for_domain_error(operation: str, exc: EmulatorError) -> Response:
    if isinstance(exc, AuthError):
        # A missing, blank or malformed key fails authentication; a well-formed key that matches no
        # account (or a revoked one: `expired_auth`) is not in the database (vendor-notes §4 FACT).
        return failure(AUTH_FAILED if exc.kind in ("missing", "invalid") else API_KEY_NOT_FOUND)
    if isinstance(exc, UnrecognizedPathError):
        return error(404, UNRECOGNIZED_PATH)
    if isinstance(exc, ForbiddenError):
        return failure(RESTRICTED)
    if isinstance(exc, ApplicationNotFoundError):
        return failure(APPLICATION_LOOKUP_FAILED)
    if isinstance(exc, ScanNotFoundError):
        return failure(PENDING_SCAN_LOOKUP_FAILED)
    if isinstance(exc, BadRequestError) and not isinstance(exc, NoFilesError | ScanTypeError):
        # Request validation (openapi-core) or a handler's parsing: Spring's binding errors would be
        # Tomcat 400 pages, which the spec cannot express, so the envelope carries them (INFERENCE).
        return failure(_validation_message(operation, exc))
    return failure(exc.message)


def _validation_message(operation: str, exc: BadRequestError) -> str:
    problems = exc.problems
    if operation.startswith("POST ") and any("request body" in p.lower() for p in problems):
        # No `file` part, or no multipart body at all: the controller sees an empty file map and
        # UploadScanServiceImpl answers "No files selected." (TF-SRC).
        return "No files selected."
    return "Invalid request: " + "; ".join(problems)
