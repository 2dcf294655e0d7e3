"""Injectable clocks: wall time for servers, a hand-driven clock for deterministic tests."""

from __future__ import annotations

import time
from typing import Protocol

__all__ = ["Clock", "ManualClock", "SystemClock"]


class Clock(Protocol):
    def now(self) -> float:
        """Seconds since the epoch."""
        ...


class SystemClock:
    def now(self) -> float:
        return time.time()


class ManualClock:
    """Time stands still until a test (or `POST /_emulator/clock`) moves it."""

    def __init__(self, start: float = 1_711_137_381.0) -> None:  # 2024-03-22T19:56:21Z, the Invicti seed scan
        self._now = start

    def now(self) -> float:
        return self._now

    def advance(self, seconds: float) -> float:
        if seconds < 0:
            raise ValueError("a clock only moves forward")
        self._now += seconds
        return self._now
