"""Domain errors raised by emulator models and the pipeline; each vendor's error table renders them."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import Any

from conformance.emulators.core.echo import PROBLEMS_LIMIT, cap

__all__ = [
    "AuthError",
    "BadRequestError",
    "EmulatorError",
    "ForbiddenError",
    "HttpError",
    "IllegalTransitionError",
    "NotFoundError",
    "Problem",
    "ScanNotFoundError",
]


@dataclass(frozen=True)
class Problem:
    """One finding about a request, structured so an envelope never re-parses text.

    `location`: path | query | header | body | request; `field`: the parameter name or the body member's
    JSON path ('' for the whole body); `rule`: the violated rule (`required`, `type`, `maximum`, `enum`,
    `decode`, ... or `invalid`); `value`: the offending value where known; `message`: the full finding;
    `summary`: where, then the most specific finding (`Invalid query parameter: pageSize: 500 is greater
    than the maximum of 200`).
    """

    location: str
    field: str
    rule: str
    message: str
    value: Any = None
    summary: str = ""

    def __str__(self) -> str:
        return self.message

    @property
    def short(self) -> str:
        return self.summary or self.message


class EmulatorError(Exception):
    """Base of the errors a backend raises; `reason` is a vendor-neutral code."""

    reason = "error"

    def __init__(self, message: str, **details: Any) -> None:
        message = cap(message)  # messages quote client input: never echo it whole (echo.py)
        super().__init__(message)
        self.message = message
        self.details = details


class NotFoundError(EmulatorError):
    reason = "not_found"


class ScanNotFoundError(NotFoundError):
    """No scan with that id for this account (another account's scan is not found either)."""

    reason = "scan_not_found"

    def __init__(self, scan_id: str) -> None:
        super().__init__(f"scan {scan_id!r} not found", scan_id=scan_id)
        self.scan_id = scan_id


class IllegalTransitionError(EmulatorError):
    """An action (cancel/pause/resume/stop) that the lifecycle does not allow from the current state."""

    reason = "illegal_transition"

    def __init__(self, scan_id: str, action: str, state: str) -> None:
        super().__init__(f"cannot {action} scan {scan_id!r} in state {state!r}", action=action, state=state)
        self.scan_id = scan_id
        self.action = action
        self.state = state


class AuthError(EmulatorError):
    """Missing, wrong or expired credentials; `kind` is missing | invalid | expired | other."""

    reason = "unauthorized"

    def __init__(self, message: str, kind: str = "invalid", **details: Any) -> None:
        super().__init__(message, **details)
        self.kind = kind


class ForbiddenError(EmulatorError):
    reason = "forbidden"


class BadRequestError(EmulatorError):
    """The request does not match the spec or the vendor's rules; `problems` lists each finding."""

    reason = "bad_request"

    def __init__(
        self,
        message: str,
        problems: list[Problem] | None = None,
        *,
        field: str = "",
        location: str = "request",
        rule: str = "invalid",
        value: Any = None,
        **details: Any,
    ) -> None:
        super().__init__(message, **details)
        # Messages quote client input: each is capped, and so is the number of findings (echo.py).
        self.problems = [
            dataclasses.replace(p, message=cap(p.message), summary=cap(p.summary))
            for p in (problems or [Problem(location, field, rule, self.message, value)])[:PROBLEMS_LIMIT]
        ]


class HttpError(EmulatorError):
    """A failure of the HTTP layer itself (no route, wrong method, rate limit, injected fault, crash).

    `details` carry what an envelope may quote: `method` and `allowed` for 405, `path` for 404.
    """

    reason = "http"

    def __init__(
        self, status: int, message: str, *, retry_after: float | None = None, **details: Any
    ) -> None:
        super().__init__(message, **details)
        self.status = status
        self.retry_after = retry_after
