"""Domain errors raised by emulator models; each vendor's routes map them to its own envelope."""

from __future__ import annotations

from typing import Any

__all__ = [
    "AuthError",
    "BadRequestError",
    "EmulatorError",
    "ForbiddenError",
    "IllegalTransitionError",
    "NotFoundError",
    "ScanNotFoundError",
]


class EmulatorError(Exception):
    """Base of the errors a backend raises; `reason` is a vendor-neutral code."""

    reason = "error"

    def __init__(self, message: str, **details: Any) -> None:
        from conformance.emulators.core.limits import cap  # limits raises these errors itself

        message = cap(message)  # messages quote client input: never echo it whole (limits.py)
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
        problems: list[str] | None = None,
        fields: list[tuple[str, str]] | None = None,
        **details: Any,
    ) -> None:
        super().__init__(message, **details)
        from conformance.emulators.core.limits import PROBLEMS_LIMIT, cap

        self.problems = [cap(p) for p in (problems or [self.message])[:PROBLEMS_LIMIT]]
        # (location, name) per problem where known, e.g. ("query", "include_checks"); vendors that name
        # the offending field in their envelope (Advalidation relatedField) read it from here.
        self.fields = fields or []
