"""Moves scans through a vendor's lifecycle, as declared by the spec's `x-scanwire-lifecycle`.

The engine never re-declares a state machine: it reads `scanwire.runtime.lifecycle.Lifecycle` (the same
code the generated clients ship) and applies one progression rule per scan, moto style:

- `immediate`: the first read moves the scan all the way to where its outcome leads;
- `reads` (every N): each N reads of the scan move it one step;
- `seconds` (every T): one step per T seconds of the injectable clock;
- `manual`: only the control API moves it.

`outcome` picks the road: `success` (happy path), `failure`, `timeout`, `hang`, or `final: <state>` for
a named end such as Soda's `completedWithWarnings` (a non-terminal `final` is a side road taken once,
then the happy path). After an action (cancel/pause/...) the scan
follows the happy path from wherever the action left it.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import asdict, dataclass, field, fields
from typing import Any

from conformance.emulators.core.clock import Clock
from conformance.emulators.core.errors import BadRequestError, IllegalTransitionError, ScanNotFoundError
from conformance.emulators.core.store import Store
from scanwire.runtime.lifecycle import Lifecycle

__all__ = ["MODES", "OUTCOMES", "Progression", "Scan", "ScanEngine"]

MODES = ("immediate", "reads", "seconds", "manual")
OUTCOMES = ("success", "failure", "timeout", "hang")
KIND = "scan"


@dataclass(frozen=True)
class Progression:
    mode: str = "reads"
    every: float = 1
    outcome: str = "success"
    final: str | None = None

    @classmethod
    def parse(cls, raw: dict[str, Any] | None, lifecycle: Lifecycle | None = None) -> Progression:
        """From a control-API body; BadRequestError names the bad field."""
        if raw is None:
            return cls()
        if not isinstance(raw, dict):
            raise BadRequestError("progression must be an object")
        unknown = set(raw) - {"mode", "every", "outcome", "final"}
        if unknown:
            raise BadRequestError(f"progression: unknown field(s) {', '.join(sorted(unknown))}")
        mode = raw.get("mode", "reads")
        if mode not in MODES:
            raise BadRequestError(f"progression.mode must be one of {', '.join(MODES)}, not {mode!r}")
        every = raw.get("every", 1)
        if not isinstance(every, int | float) or isinstance(every, bool) or every <= 0:
            raise BadRequestError("progression.every must be a positive number")
        outcome = raw.get("outcome", "success")
        if outcome not in OUTCOMES:
            raise BadRequestError(
                f"progression.outcome must be one of {', '.join(OUTCOMES)}, not {outcome!r}"
            )
        final = raw.get("final")
        if lifecycle is not None:
            if final is not None and final not in lifecycle.states:
                raise BadRequestError(f"progression.final {final!r} is not a state of this vendor")
            # An end the server cannot reach by itself would silently become the happy path.
            if final is not None and not lifecycle.path_to(lifecycle.initial, final=final):
                raise BadRequestError(f"progression.final {final!r} is not reachable without a client action")
            if (
                final is None
                and outcome in ("failure", "timeout")
                and not lifecycle.path_to(lifecycle.initial, outcome)
            ):
                raise BadRequestError(f"this vendor's lifecycle has no {outcome} road")
        return cls(mode, float(every), outcome, final)

    def to_dict(self) -> dict[str, Any]:
        return {k: v for k, v in asdict(self).items() if v is not None}


@dataclass
class Scan:
    """A scan as the engine sees it; `data` holds the vendor's own fields (models.py owns them)."""

    id: str
    account: str
    state: str
    created: float
    entered: float
    reads: int = 0
    progression: dict[str, Any] | None = None
    history: list[list[Any]] = field(default_factory=list)
    data: dict[str, Any] = field(default_factory=dict)

    def to_record(self) -> dict[str, Any]:
        # Shallow on purpose: the record is serialised to JSON at once (asdict's deep copy of the
        # vendor data cost more than the rest of a status poll).
        return {f.name: getattr(self, f.name) for f in fields(self)}

    @classmethod
    def from_record(cls, raw: dict[str, Any]) -> Scan:
        return cls(**raw)


TransitionHook = Callable[[Scan, str, str, str], None]


class ScanEngine:
    """Create, read, act on and progress scans; persistence goes through the Store."""

    def __init__(
        self,
        lifecycle: Lifecycle,
        store: Store,
        clock: Clock,
        on_transition: TransitionHook | None = None,
        default: Progression | None = None,
    ) -> None:
        self.lifecycle = lifecycle
        self.store = store
        self.clock = clock
        self.on_transition = on_transition or (lambda scan, old, new, cause: None)
        self._default = default or Progression()

    # -- settings ---------------------------------------------------------------------------------

    @property
    def default_progression(self) -> Progression:
        raw = self.store.meta_get("progression")
        return Progression.parse(raw) if raw else self._default

    def set_default_progression(self, progression: Progression) -> None:
        self.store.meta_set("progression", progression.to_dict())

    def progression_of(self, scan: Scan) -> Progression:
        return Progression.parse(scan.progression) if scan.progression else self.default_progression

    # -- persistence ------------------------------------------------------------------------------

    def save(self, scan: Scan) -> Scan:
        self.store.put(KIND, scan.id, scan.account, scan.to_record())
        return scan

    def find(self, scan_id: str) -> Scan | None:
        record = self.store.get(KIND, scan_id)
        return Scan.from_record(record.data) if record else None

    def get(self, scan_id: str, account: str | None = None) -> Scan:
        """The scan, without counting a read; ScanNotFoundError for unknown ids and other accounts' scans."""
        scan = self.find(scan_id)
        if scan is None or (account is not None and scan.account != account):
            raise ScanNotFoundError(scan_id)
        return scan

    def all(self, account: str | None = None) -> list[Scan]:
        return [Scan.from_record(r.data) for r in self.store.list(KIND, account)]

    # -- lifecycle --------------------------------------------------------------------------------

    def create(
        self,
        scan_id: str,
        account: str,
        data: dict[str, Any],
        *,
        state: str | None = None,
        progression: dict[str, Any] | None = None,
    ) -> Scan:
        state = state or self.lifecycle.initial
        if state not in self.lifecycle.states:
            raise BadRequestError(f"{state!r} is not a state of this vendor")
        if progression is not None:
            Progression.parse(progression, self.lifecycle)
        now = self.clock.now()
        scan = Scan(scan_id, account, state, now, now, 0, progression, [[state, now, "create"]], data)
        with self.store.transaction():
            if self.find(scan_id) is not None:
                raise BadRequestError(f"scan {scan_id!r} already exists")
            self.on_transition(scan, "", state, "create")
            return self.save(scan)

    def read(self, scan_id: str, account: str | None = None) -> Scan:
        """A client looked at the scan: count the read, apply due steps, persist."""
        with self.store.transaction():
            scan = self.get(scan_id, account)
            scan.reads += 1
            self._progress(scan, read=True)
            return self.save(scan)

    def observe(self, scan: Scan) -> Scan:
        """Apply time-based steps without counting a read (listings)."""
        with self.store.transaction():
            if self._progress(scan, read=False):
                self.save(scan)
        return scan

    def act(self, scan_id: str, account: str | None, action: str) -> Scan:
        """cancel / pause / resume / stop: legal per the lifecycle, else IllegalTransitionError."""
        with self.store.transaction():
            scan = self.get(scan_id, account)
            self._progress(scan, read=False)
            target = self.lifecycle.after_action(scan.state, action)
            if target is None:
                self.save(scan)
                raise IllegalTransitionError(scan_id, action, scan.state)
            self._move(scan, target, action)
            return self.save(scan)

    def set_state(self, scan_id: str, state: str) -> Scan:
        """Control API: put a scan in any declared state (no legality check: seeding)."""
        if state not in self.lifecycle.states:
            raise BadRequestError(f"{state!r} is not a state of this vendor")
        with self.store.transaction():
            scan = self.get(scan_id)
            self._move(scan, state, "control")
            return self.save(scan)

    def set_progression(self, scan_id: str, progression: dict[str, Any] | None) -> Scan:
        if progression is not None:
            Progression.parse(progression, self.lifecycle)
        with self.store.transaction():
            scan = self.get(scan_id)
            scan.progression = progression
            scan.reads = 0
            scan.entered = self.clock.now()
            return self.save(scan)

    def advance(self, scan_id: str, steps: int = 1) -> Scan:
        """Control API: move a scan `steps` steps along its road (manual mode's only mover)."""
        with self.store.transaction():
            scan = self.get(scan_id)
            for _ in range(steps):
                if not self._step(scan, "control"):
                    break
            return self.save(scan)

    def road(self, scan: Scan) -> list[str]:
        """The states still ahead of the scan under its progression."""
        prog = self.progression_of(scan)
        if prog.final is not None and any(entry[0] == prog.final for entry in scan.history):
            # Been there: a terminal `final` ends the road; a side road (Invicti Delayed, AppSpider
            # blackout) is passed once and the scan goes on along the happy path, never looping back.
            return self.lifecycle.path_to(scan.state)
        path = self.lifecycle.path_to(scan.state, prog.outcome, prog.final)
        if not path and prog.outcome != "hang" and scan.state not in self.lifecycle.terminal:
            path = self.lifecycle.path_to(scan.state)
        return path

    def _step(self, scan: Scan, cause: str) -> bool:
        road = self.road(scan)
        if not road:
            return False
        self._move(scan, road[0], cause)
        return True

    def _move(self, scan: Scan, target: str, cause: str) -> None:
        old = scan.state
        now = self.clock.now()
        scan.state = target
        scan.entered = now
        scan.reads = 0
        scan.history.append([target, now, cause])
        self.on_transition(scan, old, target, cause)

    def _progress(self, scan: Scan, *, read: bool) -> bool:
        prog = self.progression_of(scan)
        moved = False
        if prog.mode == "immediate" and read:
            # Bounded: a road never needs more steps than there are states.
            for _ in range(len(self.lifecycle.states)):
                if not self._step(scan, "immediate"):
                    break
                moved = True
        elif prog.mode == "reads" and read and scan.reads >= prog.every:
            moved = self._step(scan, "reads")
        elif prog.mode == "seconds":
            due = math.floor((self.clock.now() - scan.entered) / prog.every)
            for _ in range(max(0, due)):
                entered = scan.entered
                if not self._step(scan, "seconds"):
                    break
                moved = True
                scan.entered = entered + prog.every
        return moved
