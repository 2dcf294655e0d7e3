"""Clock and sleep for retries and polling, injectable so that tests never sleep for real."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from typing import Protocol

__all__ = ["ManualTimer", "SystemTimer", "Timer"]


class Timer(Protocol):
    """What retries and `wait_for_scan` need of time: a monotonic clock and a way to wait."""

    def now(self) -> float: ...

    def sleep(self, seconds: float) -> None: ...

    async def asleep(self, seconds: float) -> None: ...


class SystemTimer:
    """Real time: `time.monotonic`, `time.sleep`, `asyncio.sleep`."""

    def now(self) -> float:
        return time.monotonic()

    def sleep(self, seconds: float) -> None:
        time.sleep(seconds)

    async def asleep(self, seconds: float) -> None:
        await asyncio.sleep(seconds)


class ManualTimer:
    """Time that only moves when something sleeps: every sleep is recorded and returns at once.

    `on_sleep` is called with each duration, e.g. to advance an emulator's manual clock by as much.
    """

    def __init__(self, start: float = 0.0, on_sleep: Callable[[float], object] | None = None) -> None:
        self.current = start
        self.sleeps: list[float] = []
        self._on_sleep = on_sleep

    def now(self) -> float:
        return self.current

    def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        self.current += seconds
        if self._on_sleep is not None:
            self._on_sleep(seconds)

    async def asleep(self, seconds: float) -> None:
        self.sleep(seconds)
