"""The error renderer: first matching row of a vendor's table decides status, message and code."""

from __future__ import annotations

import json
from typing import Any

from starlette.responses import Response

from conformance.emulators.core.errors import AuthError, EmulatorError, HttpError, NotFoundError
from conformance.emulators.core.http import json_response
from conformance.emulators.core.render import ErrorTable, Failure, Rule


def _envelope(failure: Failure) -> Response:
    return json_response({"message": failure.message, "code": failure.code}, failure.status)


def _answer(table: ErrorTable, error: EmulatorError, call: Any = None) -> tuple[int, Any]:
    response = table.render(call, error)
    return response.status_code, json.loads(bytes(response.body))


TABLE = ErrorTable(
    _envelope,
    [
        (405, Rule(404, "no such path")),
        (AuthError, Rule(401, lambda call, e: f"denied ({e.kind})", code="auth")),
        (NotFoundError, Rule(200, "refused", when=lambda call: call == "action", code="bare")),
        (NotFoundError, Rule(404)),
        (HttpError, Rule()),
    ],
)


def test_render__a_status_row_matches_http_failures_of_that_status_only() -> None:
    assert _answer(TABLE, HttpError(405, "method GET not allowed")) == (
        404,
        {"message": "no such path", "code": None},
    )
    assert _answer(TABLE, HttpError(503, "down")) == (503, {"message": "down", "code": None})


def test_render__message_may_be_computed_from_the_error() -> None:
    assert _answer(TABLE, AuthError("x", kind="expired")) == (
        401,
        {"message": "denied (expired)", "code": "auth"},
    )


def test_render__a_row_with_when_applies_only_to_matching_calls() -> None:
    assert _answer(TABLE, NotFoundError("gone"), call="action") == (
        200,
        {"message": "refused", "code": "bare"},
    )
    assert _answer(TABLE, NotFoundError("gone"), call="read") == (404, {"message": "gone", "code": None})
    assert _answer(TABLE, NotFoundError("gone"), call=None) == (404, {"message": "gone", "code": None})


def test_render__no_matching_row_is_a_400_with_the_errors_message() -> None:
    assert _answer(TABLE, EmulatorError("odd")) == (400, {"message": "odd", "code": None})
