"""Advalidation's error table: `{"error": {"responseCode", "issues": [...]}}`, the failure's status."""

from __future__ import annotations

from typing import Any

from starlette.responses import Response

from conformance.emulators.core import errors as core
from conformance.emulators.core.http import Call, json_response
from conformance.emulators.core.render import ErrorTable, Failure, Rule

__all__ = ["ERRORS"]

_ARTICLE = {"integer": "an integer", "boolean": "a boolean", "string": "a string", "number": "a number"}


def _envelope(failure: Failure) -> Response:
    """`issues` is empty unless a field is at fault (the vendor's own 401 fixture has `"issues": []`,
    vendor-notes §1 FACT). A 429 carries `Retry-After`: for the bucket's own refusal that is the bucket
    size the spec declares (`x-rate-limit.retry-after: bucket-size`, so the limiter's verdict says 15, not
    the wait: vendor-notes-workflow §1 FACT); an injected 429 fault carries the value it was given."""
    issues: list[dict[str, Any]] = []
    if isinstance(failure.error, core.BadRequestError) and failure.call is not None:
        issues = _issues(failure.call, failure.error)
    elif failure.code is not None:
        issues = [{"type": failure.code, "message": failure.message, "relatedField": None}]
    headers = {}
    if failure.status == 429 and failure.retry_after is not None:
        headers["Retry-After"] = str(max(1, round(failure.retry_after)))
    body = {"error": {"responseCode": failure.status, "issues": issues}}
    return json_response(body, failure.status, headers)


def _issues(call: Call[Any], exc: core.BadRequestError) -> list[dict[str, Any]]:
    """One issue per problem, naming the offending parameter in `relatedField` (one issue per field)."""
    issues: list[dict[str, Any]] = []
    seen: set[str] = set()
    for problem in exc.problems:
        if not problem.field:
            issues.append({"type": "invalid_request", "message": problem.message, "relatedField": None})
        elif problem.location == "body":  # a body field (campaign name, adspecId, upload payload)
            issues.append(
                {"type": "invalid_field_value", "message": problem.message, "relatedField": problem.field}
            )
        elif problem.field not in seen:
            seen.add(problem.field)
            message = _message(call, problem.field) or problem.message
            issues.append({"type": "invalid_field_value", "message": message, "relatedField": problem.field})
    return issues


def _message(call: Call[Any], field: str) -> str | None:
    """`include_checks must be a boolean`, as in the spec's 422 example, from the parameter's schema."""
    for param in call.emulator.operations.get(call.operation, {}).get("parameters") or []:
        if param.get("name") == field:
            kind = (param.get("schema") or {}).get("type")
            if isinstance(kind, str) and kind in _ARTICLE:
                return f"{field} must be {_ARTICLE[kind]}"
    return None


ERRORS = ErrorTable(
    _envelope,
    [
        (core.AuthError, Rule(401)),
        (core.ForbiddenError, Rule(403)),
        (core.NotFoundError, Rule(404)),
        (core.BadRequestError, Rule(422)),
        # Unreachable through the API (it has no action operations); kept so no domain error is a 500.
        (core.IllegalTransitionError, Rule(422, code="invalid_state")),
        (core.HttpError, Rule()),
        (core.EmulatorError, Rule(422, code="invalid_request")),
    ],
)
