"""Typed errors: vendor failure answers become exceptions that carry the parsed envelope.

What an envelope looks like is data (`x-scanwire-errors`, see
`overlays/<vendor>/30-codegen-runtime-errors.yaml`): JSON pointers to the message, code and issues;
the success flag some vendors send even on HTTP 200 (ThreadFix `success`, AppSpider `IsSuccess`);
result codes answered as a bare JSON string (Invicti `"ScanNotFound"`); and which codes or messages
mean which kind of failure. The exception class follows that category, else the HTTP status.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from email.utils import parsedate_to_datetime
from http import HTTPStatus
from typing import TYPE_CHECKING, Any

import httpx
import msgspec

from .lifecycle import resolve_pointer

if TYPE_CHECKING:
    from .client import Scan

__all__ = [
    "APIConnectionError",
    "APITimeoutError",
    "ApiError",
    "AuthenticationError",
    "BadRequestError",
    "ConflictError",
    "ErrorSpec",
    "MalformedResponseError",
    "NotFoundError",
    "PermissionDeniedError",
    "RateLimitedError",
    "RetryAfter",
    "ScanTimeoutError",
    "ScanwireError",
    "ServerError",
    "UnsupportedOperationError",
    "body_excerpt",
    "decode_json",
    "parse_retry_after",
    "raise_for_response",
]

EXCERPT = 240


class ScanwireError(Exception):
    """Base of every error the client runtime raises."""


class UnsupportedOperationError(ScanwireError):
    """The vendor's API has no operation for this (e.g. Invicti cannot start scans, Advalidation cancel)."""


class APIConnectionError(ScanwireError):
    """No answer: the connection was refused, dropped or failed after the retries; the httpx error is
    chained (`__cause__`) and kept in `cause`."""

    def __init__(
        self, message: str, *, vendor: str, operation: str, method: str, url: str, cause: BaseException
    ):
        self.vendor = vendor
        self.operation = operation
        self.method = method
        self.url = url
        self.status: int | None = None
        self.request_id: str | None = None
        self.response: httpx.Response | None = None
        self.cause = cause
        super().__init__(f"{vendor} {operation}: {method} {url} failed: {message}")


class APITimeoutError(APIConnectionError):
    """The server did not answer in time (connect, read, write or pool timeout), after the retries."""


class ApiError(ScanwireError):
    """The server answered a failure; `envelope` is the decoded error body (None when it was not JSON)."""

    def __init__(
        self,
        message: str,
        *,
        vendor: str,
        operation: str,
        method: str,
        url: str,
        status: int,
        code: Any = None,
        issues: Sequence[Any] = (),
        envelope: Any = None,
        excerpt: str = "",
        retry_after: float | None = None,
        request_id: str | None = None,
        response: httpx.Response | None = None,
    ) -> None:
        self.message = message
        self.request_id = request_id
        self.response = response
        self.vendor = vendor
        self.operation = operation
        self.method = method
        self.url = url
        self.status = status
        self.code = code
        self.issues = list(issues)
        self.envelope = envelope
        self.excerpt = excerpt
        self.retry_after = retry_after
        super().__init__(self._text())

    def _text(self) -> str:
        text = f"{self.vendor} {self.operation}: {self.method} {self.url} answered HTTP {self.status}"
        text += f": {self.message}"
        if self.code is not None and str(self.code) not in self.message:
            text += f" [{self.code}]"
        if self.envelope is None and self.excerpt:
            text += f"; body starts: {self.excerpt!r}"
        if self.request_id:
            text += f" (request id {self.request_id})"
        return text


class BadRequestError(ApiError):
    """The server refused the request as invalid (400/422, AppSpider `InvalidJsonSchema`)."""


class AuthenticationError(ApiError):
    """Credentials missing, wrong or expired (401, ThreadFix "API Key not found", AppSpider login)."""


class PermissionDeniedError(ApiError):
    """Authenticated, but not allowed (403, ThreadFix "restricted for your API Key")."""


class NotFoundError(ApiError):
    """No such scan or resource (404, Invicti `ScanNotFound`, AppSpider `ScanNotFound`)."""


class ConflictError(ApiError):
    """The scan's state does not allow the action (Invicti `ScanCompleted`, AppSpider `ScanIsNotAllowed`)."""


class RateLimitedError(ApiError):
    """429 after the retries gave up; `retry_after` holds the seconds its `Retry-After` asks to wait, if sent
    (read as the spec's `x-rate-limit.retry-after` says: a bucket-size header means one token's wait)."""


class ServerError(ApiError):
    """5xx after the retries gave up."""


class MalformedResponseError(ApiError):
    """The body is not what the spec documents: not JSON, truncated, an HTML page, or the wrong shape."""

    def _text(self) -> str:
        return (
            f"{self.vendor} {self.operation}: {self.method} {self.url} answered HTTP {self.status} with a "
            f"malformed body ({self.message}); body starts: {self.excerpt!r}"
        )


class ScanTimeoutError(ScanwireError):
    """`wait_for_scan` ran out of time; `last` is the last state read (None if no poll succeeded),
    `errors` the transient failures (429, 5xx, connection errors, timeouts) met and retried on the way."""

    def __init__(
        self,
        scan_id: str,
        *,
        timeout: float,
        elapsed: float,
        polls: int,
        last: Scan[Any] | None,
        last_error: BaseException | None = None,
        errors: int = 0,
    ) -> None:
        self.scan_id = scan_id
        self.timeout = timeout
        self.elapsed = elapsed
        self.polls = polls
        self.last = last
        self.last_error = last_error
        self.errors = errors
        state = "no state read" if last is None else f"last state {last.status}"
        text = (
            f"scan {scan_id} not finished after {elapsed:g}s (timeout {timeout:g}s, {polls} polls, "
            f"{errors} transient errors retried, {state})"
        )
        if last_error is not None:
            text += f"; last error: {last_error}"
        super().__init__(text)


CATEGORIES: dict[str, type[ApiError]] = {
    "bad-request": BadRequestError,
    "authentication": AuthenticationError,
    "permission": PermissionDeniedError,
    "not-found": NotFoundError,
    "conflict": ConflictError,
    "rate-limit": RateLimitedError,
    "server": ServerError,
}


def _by_status(status: int) -> type[ApiError]:
    if status == 401:
        return AuthenticationError
    if status == 403:
        return PermissionDeniedError
    if status in (404, 410):
        return NotFoundError
    if status == 409:
        return ConflictError
    if status == 429:
        return RateLimitedError
    if status >= 500:
        return ServerError
    if status in (400, 422):
        return BadRequestError
    return ApiError


@dataclass(frozen=True)
class ErrorSpec:
    """One operation's view of `x-scanwire-errors` (document level, overridden by the operation's own)."""

    message: str | None = None
    code: str | None = None
    issues: str | None = None
    issue_message: str = "/message"
    success_pointer: str | None = None
    success_value: Any = True
    result_pointer: str | None = None
    result_success: frozenset[str] = frozenset()
    categories: Mapping[str, str] = field(default_factory=dict)
    request_id_headers: tuple[str, ...] = ()
    # HTTP status -> category, when neither code nor message names one (Soda's 400 on a refused cancel).
    statuses: Mapping[str, str] = field(default_factory=dict)
    # How the vendor's Retry-After reads (`x-rate-limit.retry-after`), for `ApiError.retry_after`.
    retry_after: RetryAfter = field(default_factory=lambda: RetryAfter())

    def request_id(self, response: httpx.Response) -> str | None:
        """The vendor's request id header of an answer (`x-scanwire-errors.request-id`), if sent."""
        for name in self.request_id_headers:
            value: str | None = response.headers.get(name)
            if value:
                return value[:200]
        return None

    @classmethod
    def from_extensions(
        cls, *layers: Mapping[str, Any] | None, retry_after: RetryAfter | None = None
    ) -> ErrorSpec:
        merged: dict[str, Any] = {}
        categories: dict[str, str] = {}
        statuses: dict[str, str] = {}
        for layer in layers:
            if layer:
                categories.update(layer.get("categories") or {})
                statuses.update({str(k): v for k, v in (layer.get("statuses") or {}).items()})
                merged.update({k: v for k, v in layer.items() if k not in ("categories", "statuses")})
        unknown = sorted((set(categories.values()) | set(statuses.values())) - set(CATEGORIES))
        if unknown:
            raise ValueError(f"x-scanwire-errors: unknown categories {unknown}; known: {sorted(CATEGORIES)}")
        success = merged.get("success") or {}
        result = merged.get("result") or {}
        return cls(
            message=merged.get("message"),
            code=merged.get("code"),
            issues=merged.get("issues"),
            issue_message=merged.get("issue-message", "/message"),
            success_pointer=success.get("pointer"),
            success_value=success.get("value", True),
            result_pointer=result.get("pointer"),
            result_success=frozenset(result.get("success") or ()),
            categories=categories,
            statuses=statuses,
            request_id_headers=tuple(
                [merged["request-id"]]
                if isinstance(merged.get("request-id"), str)
                else merged.get("request-id") or ()
            ),
            retry_after=retry_after or RetryAfter(),
        )


_decode = msgspec.json.Decoder().decode


def body_excerpt(response: httpx.Response, limit: int = EXCERPT) -> str:
    text = response.content.decode(response.encoding or "utf-8", errors="replace")
    return text if len(text) <= limit else text[:limit] + "…"


def decode_json(response: httpx.Response) -> tuple[bool, Any]:
    """(True, value) when the body is JSON, (False, None) when it is empty or anything else."""
    content = response.content
    if not content or content.isspace():
        return False, None
    media = response.headers.get("content-type", "").partition(";")[0].strip().lower()
    if media and not (media.endswith("json") or media == "text/plain"):
        return False, None
    try:
        # msgspec decodes to the same dict/list/str/int/float/bool/None as json.loads, 2-3x faster
        # (bench/bench_client_overhead.py); what it refuses and json.loads accepts (NaN, 1e400, a BOM,
        # lone surrogates) goes to json.loads, so the accepted input is json.loads' own.
        return True, _decode(content)
    except msgspec.MsgspecError:
        pass
    try:
        return True, json.loads(content)
    except ValueError:
        return False, None


#: Where the runtime leaves the body it decoded (`response.extensions`), for the generated parser.
DECODED_BODY = "scanwire.decoded_body"


def response_json(response: httpx.Response) -> Any:
    """`response.json()` for the generated parsers: the body the runtime decoded already, else the body
    decoded with msgspec, falling back to json.loads (whose errors it raises) for what msgspec refuses."""
    extensions = response.extensions
    if DECODED_BODY in extensions:
        return extensions[DECODED_BODY]
    content = response.content
    try:
        return _decode(content)
    except msgspec.MsgspecError:
        return json.loads(content)


def parse_retry_after(value: str | None) -> float | None:
    """Seconds to wait from a `Retry-After` header: delta-seconds or an HTTP date (RFC 9110 §10.2.3)."""
    if value is None or not value.strip():
        return None
    text = value.strip()
    try:
        return max(0.0, float(text))
    except ValueError:
        pass
    try:
        when = parsedate_to_datetime(text)
    except (TypeError, ValueError):
        return None
    from datetime import UTC, datetime

    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return max(0.0, (when - datetime.now(UTC)).total_seconds())


RETRY_AFTER_MEANINGS = ("seconds", "bucket-size")


@dataclass(frozen=True)
class RetryAfter:
    """How a vendor's `Retry-After` reads: the spec's document-level `x-rate-limit.retry-after`.

    `seconds` (the default, RFC 9110): the header is the wait, delta-seconds or an HTTP date.
    `bucket-size`: the header repeats the rate limit's bucket size whatever the wait (Advalidation always
    sends 15, its SDK's changelog says), so a 429 that carries it waits for one token instead:
    `1 / refill-per-second` seconds. Other statuses' Retry-After still read as seconds.
    """

    token_wait: float | None = None

    @classmethod
    def from_rate_limit(cls, raw: Any) -> RetryAfter:
        if not isinstance(raw, Mapping):
            return cls()
        meaning = raw.get("retry-after", "seconds")
        if meaning not in RETRY_AFTER_MEANINGS:
            raise ValueError(
                f"x-rate-limit.retry-after must be one of {', '.join(RETRY_AFTER_MEANINGS)}, not {meaning!r}"
            )
        if meaning == "seconds":
            return cls()
        refill = raw.get("refill-per-second")
        if isinstance(refill, bool) or not isinstance(refill, int | float) or not refill > 0:
            raise ValueError(
                f"x-rate-limit.retry-after: bucket-size needs a positive refill-per-second, not {refill!r}"
            )
        return cls(token_wait=1.0 / float(refill))

    def seconds(self, response: httpx.Response) -> float | None:
        """Seconds the answer asks the client to wait; None when it sends no (readable) Retry-After."""
        value = response.headers.get("retry-after")
        if value is not None and self.token_wait is not None and response.status_code == 429:
            return self.token_wait
        return parse_retry_after(value)


def _text(value: Any) -> str | None:
    if value is None:
        return None
    return value if isinstance(value, str) else json.dumps(value)


def _error(
    spec: ErrorSpec,
    response: httpx.Response,
    *,
    vendor: str,
    operation: str,
    envelope: Any,
    decoded: bool,
    code: Any = None,
    message: str | None = None,
) -> ApiError:
    status = response.status_code
    issues: list[Any] = []
    if decoded:
        if spec.code and code is None:
            code = resolve_pointer(envelope, spec.code)
        if spec.message and message is None:
            message = _text(resolve_pointer(envelope, spec.message))
        if spec.issues:
            found = resolve_pointer(envelope, spec.issues)
            issues = list(found) if isinstance(found, list) else []
    if not message and issues:
        parts = [
            _text(resolve_pointer(i, spec.issue_message)) if isinstance(i, Mapping) else _text(i)
            for i in issues
        ]
        message = "; ".join(p for p in parts if p)
    if not message:
        try:
            message = HTTPStatus(status).phrase
        except ValueError:
            message = "error"
        if not decoded and response.content.strip():
            message += " (the body is not JSON)"
    category = spec.categories.get(str(code)) if code is not None else None
    category = category or spec.categories.get(message) or spec.statuses.get(str(status))
    kind = CATEGORIES[category] if category else _by_status(status)
    return kind(
        message,
        vendor=vendor,
        operation=operation,
        method=response.request.method,
        url=str(response.request.url),
        status=status,
        code=code,
        issues=issues,
        envelope=envelope if decoded else None,
        excerpt=body_excerpt(response),
        retry_after=spec.retry_after.seconds(response),
        request_id=spec.request_id(response),
        response=response,
    )


def raise_for_response(
    response: httpx.Response,
    spec: ErrorSpec,
    *,
    vendor: str,
    operation: str,
    expects_json: bool | None,
) -> Any:
    """The decoded JSON body of a successful answer; a typed ApiError for anything else.

    `expects_json`: True when the spec documents a JSON body for this status, False when it documents
    none (Soda's 201), None when the status is not documented (then JSON is used if it is there).
    """
    decoded, body = decode_json(response)
    if response.status_code >= 400:
        raise _error(spec, response, vendor=vendor, operation=operation, envelope=body, decoded=decoded)
    if expects_json and not decoded:
        reason = "empty" if not response.content.strip() else "not JSON"
        media = response.headers.get("content-type", "")
        if media and not media.split(";")[0].strip().endswith("json"):
            reason += f", content-type {media}"
        raise MalformedResponseError(
            reason,
            vendor=vendor,
            operation=operation,
            method=response.request.method,
            url=str(response.request.url),
            status=response.status_code,
            excerpt=body_excerpt(response),
            request_id=spec.request_id(response),
            response=response,
        )
    if not decoded:
        return None
    if spec.success_pointer is not None:
        flag = resolve_pointer(body, spec.success_pointer)
        if flag is not None and flag != spec.success_value:
            raise _error(spec, response, vendor=vendor, operation=operation, envelope=body, decoded=True)
    if spec.result_pointer is not None:
        result = resolve_pointer(body, spec.result_pointer)
        if isinstance(result, str) and result not in spec.result_success:
            raise _error(
                spec,
                response,
                vendor=vendor,
                operation=operation,
                envelope=body,
                decoded=True,
                code=result,
                message=f"the server refused the action: {result}",
            )
    return body
