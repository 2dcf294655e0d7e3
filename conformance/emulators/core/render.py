"""One error renderer: a vendor's answer to a failure is a row of its table (condition -> status + body).

    ERRORS = ErrorTable(envelope, [
        (AuthError, Rule(401, "Unauthorized")),       # a domain error class (or a tuple of them)
        (405, Rule(404, UNRECOGNIZED_PATH)),          # an HTTP-level failure of that status
        (ScanNotFoundError, Rule(200, when=is_action, envelope=bare_code)),
        (HttpError, Rule()),                          # status and message of the failure itself
    ])

The first row whose condition holds (and whose `when(call)`, if any, is true) decides; a failure no row
matches is a 400 with the error's own message. `envelope(failure) -> Response` builds the vendor's body
from the resolved `Failure` (status, message, code, the error and the call).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from conformance.emulators.core.errors import EmulatorError, HttpError

if TYPE_CHECKING:
    from starlette.responses import Response

    from conformance.emulators.core.http import Call

__all__ = ["ErrorTable", "Failure", "Rule"]

Text = str | Callable[[Any, Any], str]  # a fixed text, or (call, error) -> text
Condition = type[EmulatorError] | tuple[type[EmulatorError], ...] | int


@dataclass(frozen=True)
class Failure:
    call: Call[Any] | None
    error: EmulatorError
    status: int
    message: str
    code: str | None
    retry_after: float | None


@dataclass(frozen=True)
class Rule:
    status: int | None = None  # None: an HttpError's own status, else 400
    message: Text | None = None  # None: the error's own message
    code: str | None = None  # the vendor's error code (AppSpider Reason, Advalidation issue type)
    when: Callable[[Any], bool] | None = None  # an extra condition on the call (Invicti actions)
    envelope: Callable[[Failure], Response] | None = None  # another body shape for this row


class ErrorTable:
    def __init__(
        self, envelope: Callable[[Failure], Response], rows: Sequence[tuple[Condition, Rule]]
    ) -> None:
        self.envelope = envelope
        self.rows = list(rows)

    def rule_for(self, call: Call[Any] | None, error: EmulatorError) -> Rule:
        for condition, rule in self.rows:
            if isinstance(condition, int):
                if not (isinstance(error, HttpError) and error.status == condition):
                    continue
            elif not isinstance(error, condition):
                continue
            if rule.when is None or (call is not None and rule.when(call)):
                return rule
        return Rule()

    def render(self, call: Call[Any] | None, error: EmulatorError) -> Response:
        rule = self.rule_for(call, error)
        status = rule.status
        if status is None:
            status = error.status if isinstance(error, HttpError) else 400
        text = rule.message
        message = error.message if text is None else text if isinstance(text, str) else text(call, error)
        retry_after = error.retry_after if isinstance(error, HttpError) else None
        failure = Failure(call, error, status, message, rule.code, retry_after)
        return (rule.envelope or self.envelope)(failure)
