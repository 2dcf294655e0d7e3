"""Rate limits declared in the spec (`x-rate-limit`), enforced with pyrate-limiter's token bucket.

Two shapes occur: per operation `{requests, per-seconds}` (Soda: 60/60 s, cancel 10/60 s, per account)
and document-level `{capacity, refill-per-second, scope: ip}` (Advalidation's IP bucket). The policy
is pyrate-limiter's `TokenBucket` (a maintained GCRA implementation used as a pure function over a
small state tuple); the state lives here, keyed by scope, and time comes from the emulator's clock so
tests are deterministic.

`retry-after` says what the server puts in a refusal's `Retry-After`: `seconds` (the wait, the default)
or `bucket-size` (the bucket's capacity whatever the wait: Advalidation always sends 15, its SDK
changelog says). A verdict carries that value and the bucket's size (`limit`) for the vendor's headers.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass
from typing import Any

from pyrate_limiter import Rate, TokenBucket
from scanwire_runtime.errors import RETRY_AFTER_MEANINGS as RETRY_AFTER  # one vocabulary with the clients

__all__ = ["Limit", "RateLimiter", "Verdict"]

_ALGORITHM = TokenBucket()


@dataclass(frozen=True)
class Limit:
    rate: Rate
    scope: str  # "ip" | "account"
    retry_after: str = "seconds"  # one of RETRY_AFTER

    @classmethod
    def parse(cls, raw: dict[str, Any]) -> Limit:
        retry_after = raw.get("retry-after", "seconds")
        if retry_after not in RETRY_AFTER:
            raise ValueError(f"x-rate-limit.retry-after must be one of {RETRY_AFTER}, not {retry_after!r}")
        if "requests" in raw:
            limit, seconds = int(raw["requests"]), float(raw["per-seconds"])
            return cls(Rate(limit, int(seconds * 1000)), raw.get("scope", "account"), retry_after)
        capacity, refill = int(raw["capacity"]), float(raw["refill-per-second"])
        # capacity tokens, refilled one per 1/refill s: `capacity` units per capacity/refill seconds.
        return cls(Rate(capacity, int(capacity / refill * 1000)), raw.get("scope", "ip"), retry_after)


@dataclass(frozen=True)
class Verdict:
    allowed: bool
    remaining: int
    retry_after: float | None  # what a refusal's Retry-After says (the wait, or the bucket size)
    limit: int | None = None  # the bucket's size (X-RateLimit-IPLimit)


class RateLimiter:
    def __init__(self, operation_limits: dict[str, Limit], global_limit: Limit | None) -> None:
        self.operation_limits = operation_limits
        self.global_limit = global_limit
        self._state: dict[tuple[Any, ...], tuple[float, ...]] = {}
        self._lock = threading.Lock()

    @classmethod
    def from_spec(cls, spec: dict[str, Any], operations: dict[str, dict[str, Any]]) -> RateLimiter:
        per_op = {
            key: Limit.parse(op["x-rate-limit"]) for key, op in operations.items() if "x-rate-limit" in op
        }
        doc = spec.get("x-rate-limit")
        return cls(per_op, Limit.parse(doc) if isinstance(doc, dict) else None)

    def reset(self) -> None:
        with self._lock:
            self._state.clear()

    def check(self, operation: str, account: str | None, ip: str, now: float, scope: str) -> Verdict | None:
        """Spend one unit of every limit of `scope` ("ip" | "account"); None when none applies."""
        if self.global_limit is None and operation not in self.operation_limits:
            return None
        checks = []
        if operation in self.operation_limits:
            checks.append(("op", operation, self.operation_limits[operation]))
        if self.global_limit is not None:
            checks.append(("global", "", self.global_limit))
        checks = [c for c in checks if c[2].scope == scope]
        if not checks:
            return None
        now_ms = int(now * 1000)
        verdict = Verdict(True, 0, None, None)
        with self._lock:
            for tag, op, limit in checks:
                key = (tag, op, ip if limit.scope == "ip" else account)
                state = self._state.get(key, _ALGORITHM.initial([limit.rate]))
                new_state, decision = _ALGORITHM.step([limit.rate], state, now_ms, 1)
                if not decision.allowed:
                    retry = (decision.retry_after_ms or 1000) / 1000
                    if limit.retry_after == "bucket-size":
                        retry = float(limit.rate.burst)
                    return Verdict(False, 0, retry, limit.rate.burst)
                self._state[key] = new_state
                remaining = limit.rate.burst - _ALGORITHM.consumed([limit.rate], new_state, now_ms)
                verdict = Verdict(True, max(0, remaining), None, limit.rate.burst)
        return verdict
