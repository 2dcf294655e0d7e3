"""Retries with exponential backoff and jitter, as httpx transports driven by tenacity.

The transport wraps whatever transport the client was given (a real connection pool, an in-process
emulator, a respx mock), so retries sit below authentication and every request the client sends —
including the generated endpoint functions called through `ScanClient.raw` — is covered. Rules:

- 429 and 5xx answers (`RetryPolicy.statuses`) and transport failures are retried, waiting
  `initial * 2**(n-1) + uniform(0, jitter)` seconds, at most `max_wait`;
- a `Retry-After` header is honoured (seconds or HTTP date, or as the vendor's spec says it reads:
  `errors.RetryAfter`, e.g. a bucket size that means "wait one token"); one asking for more than
  `max_retry_after` is not waited for — the answer goes back to the caller, who gets a
  `RateLimitedError` carrying `retry_after`;
- a 429 is retried for every method (the server did not process the request);
- a non-idempotent request (POST, PATCH) is otherwise never retried unless the policy says
  `retry_non_idempotent=True` or the request carries the extension `scanwire.retry: True`; the one
  exception is a failure to connect (`httpx.ConnectError`/`ConnectTimeout`): nothing reached the server,
  so it is retried for every method unless `retry_connect_errors=False`.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Coroutine
from dataclasses import dataclass, field
from typing import Any

import httpx
import tenacity
from tenacity.wait import wait_base

from .errors import RetryAfter
from .timing import SystemTimer, Timer

__all__ = [
    "IDEMPOTENT",
    "RETRY_EXTENSION",
    "RETRY_POLICY_EXTENSION",
    "AsyncRetryTransport",
    "RetryPolicy",
    "RetryTransport",
]

log = logging.getLogger("scanwire.client")
_SECONDS = RetryAfter()  # RFC 9110: Retry-After is the wait

IDEMPOTENT = frozenset({"GET", "HEAD", "OPTIONS", "PUT", "DELETE", "TRACE"})
# A request extension: True forces retries for this request, False forbids them.
RETRY_EXTENSION = "scanwire.retry"
# A request extension: the RetryPolicy of this one request (`client.with_options(retry=...)`).
RETRY_POLICY_EXTENSION = "scanwire.retry-policy"
_CONNECT_ERRORS = (httpx.ConnectError, httpx.ConnectTimeout)


@dataclass(frozen=True, kw_only=True)
class RetryPolicy:
    """When and how long to retry; `RetryPolicy.disabled()` sends every request once."""

    max_attempts: int = 5
    initial: float = 0.5
    max_wait: float = 30.0
    jitter: float = 0.5
    statuses: frozenset[int] = field(default_factory=lambda: frozenset({429, 500, 502, 503, 504}))
    retry_non_idempotent: bool = False
    retry_connect_errors: bool = True
    respect_retry_after: bool = True
    max_retry_after: float = 120.0

    def __post_init__(self) -> None:
        if self.max_attempts < 1:
            raise ValueError("RetryPolicy.max_attempts must be at least 1")
        if min(self.initial, self.max_wait, self.jitter, self.max_retry_after) < 0:
            raise ValueError("RetryPolicy waits must not be negative")

    @classmethod
    def disabled(cls) -> RetryPolicy:
        return cls(max_attempts=1)

    def may_retry(self, request: httpx.Request) -> bool:
        """Whether the request may be sent twice (idempotent, or the caller said so)."""
        override = request.extensions.get(RETRY_EXTENSION)
        if isinstance(override, bool):
            return override
        return self.retry_non_idempotent or request.method.upper() in IDEMPOTENT

    def retry_after(self, response: httpx.Response, reading: RetryAfter | None = None) -> float | None:
        """The wait the answer's Retry-After asks for, read as `reading` says (default: seconds)."""
        if not self.respect_retry_after:
            return None
        return (reading or _SECONDS).seconds(response)

    def should_retry(
        self, request: httpx.Request, state: tenacity.RetryCallState, reading: RetryAfter | None = None
    ) -> bool:
        outcome = state.outcome
        if outcome is None:
            return False
        if outcome.failed:
            error = outcome.exception()
            if isinstance(error, _CONNECT_ERRORS) and self.retry_connect_errors:
                return True
            return isinstance(error, httpx.TransportError) and self.may_retry(request)
        response: httpx.Response = outcome.result()
        if response.status_code not in self.statuses:
            return False
        # 429: the server refused to process the request, so sending it again is safe for every method.
        if response.status_code != 429 and not self.may_retry(request):
            return False
        wait = self.retry_after(response, reading)
        return wait is None or wait <= self.max_retry_after


class _Wait(wait_base):
    """Exponential backoff with jitter, or the server's Retry-After when it sent one."""

    def __init__(self, policy: RetryPolicy, reading: RetryAfter | None = None) -> None:
        self.policy = policy
        self.reading = reading
        # wait_exponential + wait_random rather than wait_exponential_jitter, whose arguments changed
        # between tenacity 8 and 9 (the generated packages accept both).
        self.exponential = tenacity.wait_exponential(multiplier=policy.initial, max=policy.max_wait)
        self.jitter = tenacity.wait_random(0, policy.jitter)

    def __call__(self, retry_state: tenacity.RetryCallState) -> float:
        outcome = retry_state.outcome
        if outcome is not None and not outcome.failed:
            asked = self.policy.retry_after(outcome.result(), self.reading)
            if asked is not None:
                return asked
        backoff = float(self.exponential(retry_state)) + float(self.jitter(retry_state))
        return min(self.policy.max_wait, backoff)


def _log_retry(request: httpx.Request, policy: RetryPolicy) -> Callable[[tenacity.RetryCallState], None]:
    def before_sleep(state: tenacity.RetryCallState) -> None:
        outcome = state.outcome
        what = "?"
        if outcome is not None:
            what = repr(outcome.exception()) if outcome.failed else f"HTTP {outcome.result().status_code}"
        wait = state.next_action.sleep if state.next_action else 0.0
        log.info(
            "retrying %s %s after %s in %.2fs (attempt %d of %d)",
            request.method,
            request.url,
            what,
            wait,
            state.attempt_number + 1,
            policy.max_attempts,
        )

    return before_sleep


def _last_outcome(state: tenacity.RetryCallState) -> Any:
    """When attempts run out: the last answer (or raise the last exception), never a RetryError."""
    assert state.outcome is not None
    return state.outcome.result()


def _options(policy: RetryPolicy, request: httpx.Request, reading: RetryAfter | None) -> dict[str, Any]:
    return {
        "stop": tenacity.stop_after_attempt(policy.max_attempts),
        "wait": _Wait(policy, reading),
        "retry": lambda state: policy.should_retry(request, state, reading),
        "before_sleep": _log_retry(request, policy),
        "retry_error_callback": _last_outcome,
    }


class RetryTransport(httpx.BaseTransport):
    """Sends each request through `transport` (default: a new httpx.HTTPTransport), retrying per `policy`;
    `retry_after` says how the vendor's Retry-After reads (from its spec; default: seconds)."""

    def __init__(
        self,
        transport: httpx.BaseTransport | None = None,
        policy: RetryPolicy | None = None,
        timer: Timer | None = None,
        retry_after: RetryAfter | None = None,
    ) -> None:
        self.transport = transport or httpx.HTTPTransport()
        self.policy = policy or RetryPolicy()
        self.timer: Timer = timer or SystemTimer()
        self.retry_after = retry_after

    def _attempt(self, request: httpx.Request) -> httpx.Response:
        response = self.transport.handle_request(request)
        if response.status_code in self.policy.statuses:
            # Read it now: it is either dropped for a retry or handed back already complete.
            response.read()
            response.close()
        return response

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        policy: RetryPolicy = request.extensions.get(RETRY_POLICY_EXTENSION) or self.policy
        # The first attempt runs outside tenacity, whose machinery costs ~40 us a request
        # (bench/bench_client_overhead.py): an answer whose status is not retried is what tenacity would
        # hand back at once. Anything else enters tenacity as its attempt 1, so waits, stops and logs are
        # the same.
        first: httpx.Response | BaseException
        try:
            first = self._attempt(request)
        except BaseException as exc:  # tenacity sees it below and decides
            first = exc
        else:
            if first.status_code not in policy.statuses:
                return first
        pending = [first]

        def attempt(request: httpx.Request) -> httpx.Response:
            if not pending:
                return self._attempt(request)
            outcome = pending.pop()
            if isinstance(outcome, BaseException):
                raise outcome
            return outcome

        retrying = tenacity.Retrying(sleep=self.timer.sleep, **_options(policy, request, self.retry_after))
        response: httpx.Response = retrying(attempt, request)
        return response

    def close(self) -> None:
        self.transport.close()


class AsyncRetryTransport(httpx.AsyncBaseTransport):
    """The async twin of RetryTransport (default inner transport: httpx.AsyncHTTPTransport)."""

    def __init__(
        self,
        transport: httpx.AsyncBaseTransport | None = None,
        policy: RetryPolicy | None = None,
        timer: Timer | None = None,
        retry_after: RetryAfter | None = None,
    ) -> None:
        self.transport = transport or httpx.AsyncHTTPTransport()
        self.policy = policy or RetryPolicy()
        self.timer: Timer = timer or SystemTimer()
        self.retry_after = retry_after

    async def _attempt(self, request: httpx.Request) -> httpx.Response:
        response = await self.transport.handle_async_request(request)
        if response.status_code in self.policy.statuses:
            await response.aread()
            await response.aclose()
        return response

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        policy: RetryPolicy = request.extensions.get(RETRY_POLICY_EXTENSION) or self.policy
        # As RetryTransport.handle_request: the first attempt outside tenacity.
        first: httpx.Response | BaseException
        try:
            first = await self._attempt(request)
        except BaseException as exc:  # tenacity sees it below and decides
            first = exc
        else:
            if first.status_code not in policy.statuses:
                return first
        pending = [first]

        async def attempt(request: httpx.Request) -> httpx.Response:
            if not pending:
                return await self._attempt(request)
            outcome = pending.pop()
            if isinstance(outcome, BaseException):
                raise outcome
            return outcome

        sleep: Callable[[float], Coroutine[Any, Any, None]] = self.timer.asleep
        retrying = tenacity.AsyncRetrying(sleep=sleep, **_options(policy, request, self.retry_after))
        response: httpx.Response = await retrying(attempt, request)
        return response

    async def aclose(self) -> None:
        await self.transport.aclose()
