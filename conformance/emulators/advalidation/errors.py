"""Advalidation's error envelope `{"error": {"responseCode", "issues": [...]}}` and domain-error mapping."""

from __future__ import annotations

import re
from typing import Any

from starlette.responses import Response

from conformance.emulators.core import (
    AuthError,
    BadRequestError,
    Call,
    EmulatorError,
    ForbiddenError,
    IllegalTransitionError,
    NotFoundError,
)
from conformance.emulators.core.http import json_response

__all__ = ["error", "for_domain_error", "issues_for"]

# openapi-core names the parameter in its messages ("Path parameter error: scanId", "Invalid query
# parameter: include_checks", "Missing required parameter: x"); core passes the messages on as text.
_PARAMETER = re.compile(r"parameter(?: error)?: ([A-Za-z_][\w.\-\[\]]*)", re.IGNORECASE)
_ARTICLE = {"integer": "an integer", "boolean": "a boolean", "string": "a string", "number": "a number"}


def error(status: int, issues: list[dict[str, Any]] | None = None) -> Response:
    """The envelope; `issues` is empty unless a field is at fault (the vendor's own 401 fixture has
    `"issues": []`, vendor-notes §1 FACT). No Retry-After, even on 429: the vendor sends none and its
    SDK reads none (vendor-notes §1 FACT)."""
    return json_response({"error": {"responseCode": status, "issues": issues or []}}, status)


def for_domain_error(call: Call, exc: EmulatorError) -> Response:
    if isinstance(exc, AuthError):
        return error(401)
    if isinstance(exc, ForbiddenError):
        return error(403)
    if isinstance(exc, NotFoundError):
        return error(404)
    if isinstance(exc, BadRequestError):
        return error(422, issues_for(call, exc))
    if isinstance(exc, IllegalTransitionError):
        # Unreachable through the API (it has no action operations); kept so no domain error is a 500.
        return error(422, [{"type": "invalid_state", "message": exc.message, "relatedField": None}])
    return error(422, [{"type": "invalid_request", "message": exc.message, "relatedField": None}])


def issues_for(call: Call, exc: BadRequestError) -> list[dict[str, Any]]:
    """One issue per problem, naming the offending parameter in `relatedField` where it can be told."""
    issues: list[dict[str, Any]] = []
    seen: set[str] = set()
    for problem in exc.problems:
        field = exc.details.get("field")
        if field is None and (match := _PARAMETER.search(problem)):
            field = match.group(1)
        if field is not None:
            if field in seen:
                continue
            seen.add(field)
            issues.append(
                {
                    "type": "invalid_field_value",
                    "message": _message(call, field, problem),
                    "relatedField": field,
                }
            )
        else:
            issues.append({"type": "invalid_request", "message": problem, "relatedField": None})
    return issues


def _message(call: Call, field: str, problem: str) -> str:
    """`include_checks must be a boolean`, as in the spec's 422 example, from the parameter's schema."""
    operation = call.emulator.operations.get(call.operation, {})
    for param in operation.get("parameters") or []:
        if param.get("name") == field:
            kind = (param.get("schema") or {}).get("type")
            if isinstance(kind, str) and kind in _ARTICLE:
                return f"{field} must be {_ARTICLE[kind]}"
    return problem
