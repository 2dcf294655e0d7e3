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

Lists are O(page) (issue 18): a scan's engine record keeps, as top-level keys the store can filter and
index on, its `state`, its `due` time (when its next `seconds` step falls due; null when no step ever
will by time alone) and the backend's `list_keys(scan)` (target, dates, config...). Before a list
answers, `catch_up()` moves only the scans that are due (an indexed range query: O(due), not O(stored)),
so a state filter sees what a read of each scan would; `page()` then reads one page from the store.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping
from dataclasses import asdict, dataclass
from typing import Any

from conformance.emulators.core.clock import Clock
from conformance.emulators.core.errors import BadRequestError, IllegalTransitionError, ScanNotFoundError
from conformance.emulators.core.store import Record, Store, between, none_of, plus
from scanwire.runtime.lifecycle import Lifecycle

__all__ = ["MODES", "OUTCOMES", "Progression", "Scan", "ScanEngine", "TransitionClock"]

MODES = ("immediate", "reads", "seconds", "manual")
OUTCOMES = ("success", "failure", "timeout", "hang")
KIND = "scan"
DATA_KIND = "scan.data"  # the vendor's document of each scan, stored apart from the engine's fields
# Each scan's read count, in a small record of its own: a poll that moves nothing updates only this
# row, which no index over the scans' JSON keys covers (updating the scan record itself rewrote every
# such index: half of a poll's SQL time). Where it exists it is the count; the scan record's `reads` is
# the count as of the last save (records written before it existed have none: theirs is the count).
READS_KIND = "scan.reads"
# A `seconds` step falls due at entered + every; the float division in `_progress` may see it a hair
# later or sooner than the stored sum, so catch-up looks this far ahead (a scan not yet due is left as is).
_SLACK = 1e-6
_KEYS_META = "scan-keys"


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
        if (
            not isinstance(every, int | float)
            or isinstance(every, bool)
            or not 0 < every < math.inf  # NaN fails both comparisons
        ):
            raise BadRequestError("progression.every must be a positive (finite) number")
        outcome = raw.get("outcome", "success")
        if outcome not in OUTCOMES:
            raise BadRequestError(
                f"progression.outcome must be one of {', '.join(OUTCOMES)}, not {outcome!r}"
            )
        final = raw.get("final")
        if final is not None and not isinstance(final, str):
            raise BadRequestError(f"progression.final must be a state name (a string), not {final!r}")
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


class Scan:
    """A scan as the engine sees it; `data` holds the vendor's own fields (models.py owns them).

    The engine's fields and the vendor's document are stored apart, and the document is decoded on first
    access: a poll that moves nothing reads and rewrites the engine's few fields only (Invicti's 96-field
    ScanTaskModel was most of a status poll's cost). A document that was accessed is saved again, whether
    or not it was changed; `summary` (the backend's `summary(scan)`, stored with the engine's fields each
    time the document is saved) answers a status poll without it.
    """

    __slots__ = (
        "_data",
        "_load",
        "account",
        "created",
        "due",
        "entered",
        "history",
        "id",
        "keys",
        "progression",
        "reads",
        "state",
        "summary",
    )

    def __init__(
        self,
        id: str,
        account: str,
        state: str,
        created: float,
        entered: float,
        reads: int = 0,
        progression: dict[str, Any] | None = None,
        history: list[list[Any]] | None = None,
        data: dict[str, Any] | None = None,
        summary: dict[str, Any] | None = None,
    ) -> None:
        self.id, self.account, self.state = id, account, state
        self.created, self.entered, self.reads = created, entered, reads
        self.progression = progression
        self.history: list[list[Any]] = [] if history is None else history
        self._data: dict[str, Any] | None = {} if data is None else data
        self._load: Callable[[], dict[str, Any]] | None = None
        self.summary = summary
        self.due: float | None = None  # when the next `seconds` step falls due (the engine sets it)
        self.keys: dict[str, Any] = {}  # the backend's list keys, stored as top-level keys of the record

    @property
    def data(self) -> dict[str, Any]:
        if self._data is None:
            assert self._load is not None
            self._data, self._load = self._load(), None
        return self._data

    @data.setter
    def data(self, value: dict[str, Any]) -> None:
        self._data = value

    @property
    def data_touched(self) -> bool:
        """Whether `data` was accessed (or given) since the scan was read: only then is it saved again."""
        return self._data is not None

    def fields(self) -> dict[str, Any]:
        """The engine's own fields, as stored (the vendor document apart), with `due` and the list keys
        beside them at the top level (what the store filters and indexes on)."""
        out = {**self.keys, **{name: getattr(self, name) for name in _FIELDS}}
        out["due"] = self.due
        return out

    @classmethod
    def from_records(cls, stored: dict[str, Any], data: Record | Callable[[], dict[str, Any]] | None) -> Scan:
        """A scan from its engine fields and its document: a record, or how to fetch it when first used."""
        stored = dict(stored)
        # State files written before the split keep the document inside the engine's record.
        legacy = stored.pop("data", None)
        due = stored.pop("due", None)
        keys = {k: stored.pop(k) for k in list(stored) if k not in _FIELD_SET}
        scan = cls(**stored, data=legacy)
        scan.due, scan.keys = due, keys
        if legacy is None and data is not None:
            scan._data = None
            scan._load = (lambda: data.data) if isinstance(data, Record) else data
        return scan

    def __repr__(self) -> str:
        data = "<not loaded>" if self._data is None else repr(self._data)  # looking must not load it
        return f"Scan({', '.join(f'{k}={v!r}' for k, v in self.fields().items())}, data={data})"


_FIELDS = ("id", "account", "state", "created", "entered", "reads", "progression", "history", "summary")
_FIELD_SET = frozenset(_FIELDS)
_RESERVED = _FIELD_SET | {"due", "data"}


class TransitionClock:
    """The clock a backend reads: inside `on_transition`, the time of that transition (a step `seconds`
    mode catches up on happened when it fell due, not when a read noticed it); elsewhere, the engine's."""

    def __init__(self, engine: ScanEngine) -> None:
        self._engine = engine

    def now(self) -> float:
        at = self._engine._at
        return self._engine.clock.now() if at is None else at


TransitionHook = Callable[[Scan, str, str, str], None]
SummaryHook = Callable[[Scan], dict[str, Any] | None]
KeysHook = Callable[[Scan], Mapping[str, Any]]


class ScanEngine:
    """Create, read, act on and progress scans; persistence goes through the Store."""

    def __init__(
        self,
        lifecycle: Lifecycle,
        store: Store,
        clock: Clock,
        on_transition: TransitionHook | None = None,
        default: Progression | None = None,
        summarize: SummaryHook | None = None,
        list_keys: KeysHook | None = None,
    ) -> None:
        self.lifecycle = lifecycle
        self.store = store
        self.clock = clock
        self.on_transition = on_transition or (lambda scan, old, new, cause: None)
        self.summarize = summarize or (lambda scan: None)
        self.list_keys = list_keys or (lambda scan: {})
        self._roads: dict[tuple[str, str, str | None], tuple[str, ...]] = {}
        self._default = default or Progression()
        self._at: float | None = None  # the time of the transition being applied (TransitionClock)
        self.transition_clock = TransitionClock(self)
        self._keyed = {"due"}  # top-level keys every stored scan record must have (see `upgrade`)
        self._default_seen: tuple[int, Progression] | None = None
        self._parsed: dict[tuple[Any, ...], Progression] = {}
        self._last_progression: tuple[dict[str, Any], Progression] | None = None
        # Lists filter on the state, and catch-up finds due scans across accounts, by index.
        store.index(KIND, "state")
        store.index(KIND, "due", by_account=False)

    def index(self, *keys: str) -> None:
        """Declare list keys (backend's `list_keys`) that lists filter on: an index on (account, keys)."""
        self.store.index(KIND, *keys)
        self._keyed.update(keys)

    # -- settings ---------------------------------------------------------------------------------

    @property
    def default_progression(self) -> Progression:
        # Read once per change of the store's settings (every poll of a scan without its own asks).
        version = self.store.settings_version
        if self._default_seen is None or self._default_seen[0] != version:
            raw = self.store.meta_get("progression")
            self._default_seen = (version, Progression.parse(raw) if raw else self._default)
        return self._default_seen[1]

    def set_default_progression(self, progression: Progression) -> None:
        with self.store.transaction():
            self.store.meta_set("progression", progression.to_dict())
            # Scans that follow the default get a due time by its rule (entered + every in `seconds`
            # mode, else none); one where no step is left is set right by the next catch-up.
            every = progression.every if progression.mode == "seconds" else None
            where = {"progression": None, "state": none_of(*self.lifecycle.terminal)}
            self.store.patch_where(
                KIND, {"due": None if every is None else plus("entered", every)}, where=where
            )

    def progression_of(self, scan: Scan) -> Progression:
        if not scan.progression:
            return self.default_progression
        raw = scan.progression
        last = self._last_progression
        if last is not None and last[0] is raw:  # the same scan asked again (a running scan's poll)
            return last[1]
        # Parsed once per distinct progression (a poll asks every time; parsing validates).
        # (exact types: True == 1 as a key, and a bool `every` must still be refused by parse)
        key = tuple(sorted((k, v) for k, v in raw.items() if type(v) in (str, int, float, type(None))))
        known = self._parsed.get(key) if len(key) == len(raw) else None
        if known is None:
            known = Progression.parse(raw)
            if len(key) == len(raw) and len(self._parsed) < 256:
                self._parsed[key] = known
        self._last_progression = (raw, known)  # progressions are replaced, never changed in place
        return known

    # -- persistence ------------------------------------------------------------------------------

    def save(self, scan: Scan) -> Scan:
        with self.store.transaction():
            if scan.data_touched:
                scan.summary = self.summarize(scan)
                scan.keys = dict(self.list_keys(scan))
                if clash := _RESERVED.intersection(scan.keys):
                    raise ValueError(f"list_keys may not set the engine's own field(s) {sorted(clash)}")
                self.store.put(DATA_KIND, scan.id, scan.account, scan.data)
            scan.due = self._due(scan)
            self.store.put(KIND, scan.id, scan.account, scan.fields())
            self.store.put(READS_KIND, scan.id, scan.account, {"n": scan.reads})
        return scan

    def _counted(self, scans: list[Scan]) -> list[Scan]:
        """`scans` with their read counts from READS_KIND (one query for all of them)."""
        if scans:
            counts = self.store.get_many(READS_KIND, [s.id for s in scans])
            for scan in scans:
                record = counts.get(scan.id)
                if record is not None:
                    scan.reads = int(record.data["n"])
        return scans

    def _due(self, scan: Scan, progression: Progression | None = None) -> float | None:
        """When time alone moves the scan next: `seconds` mode with a road ahead; else never (None)."""
        prog = progression or self.progression_of(scan)
        if prog.mode != "seconds" or not self.road(scan, prog):
            return None
        return scan.entered + prog.every

    def summary(self, scan: Scan) -> dict[str, Any] | None:
        """`summarize(scan)`; from what was stored with the scan when its document is not loaded."""
        if scan.data_touched or scan.summary is None:
            return self.summarize(scan)
        return scan.summary

    def find(self, scan_id: str) -> Scan | None:
        record = self.store.get(KIND, scan_id)
        if record is None:
            return None
        # The document is fetched when first used (never, on a poll that moves nothing). Handlers run
        # without yielding to other requests in between, so it is the one stored with these fields.
        return self._counted([Scan.from_records(record.data, lambda: self._document(scan_id))])[0]

    def _document(self, scan_id: str) -> dict[str, Any]:
        record = self.store.get(DATA_KIND, scan_id)
        return record.data if record is not None else {}

    def get(self, scan_id: str, account: str | None = None) -> Scan:
        """The scan, without counting a read; ScanNotFoundError for unknown ids and other accounts' scans."""
        scan = self.find(scan_id)
        if scan is None or (account is not None and scan.account != account):
            raise ScanNotFoundError(scan_id)
        return scan

    def all(self, account: str | None = None) -> list[Scan]:
        """Every scan (the control API's state dump): O(stored). Lists use `page` and `count`."""
        with self.store.transaction():
            records = self.store.list(KIND, account)
            documents = {r.id: r for r in self.store.list(DATA_KIND, account)}
            counts = {r.id: r.data["n"] for r in self.store.list(READS_KIND, account)}
        scans = [Scan.from_records(r.data, documents.get(r.id)) for r in records]
        for scan in scans:
            scan.reads = int(counts.get(scan.id, scan.reads))
        return scans

    def page(
        self,
        account: str | None = None,
        *,
        where: Mapping[str, Any] | None = None,
        offset: int = 0,
        limit: int | None = None,
        newest_first: bool = False,
    ) -> list[Scan]:
        """One page of scans, filtered in SQLite on the record's top-level keys (`state`, the backend's
        list keys): only that page's engine records are read, each document fetched when first used."""
        records = self.store.list(
            KIND, account, where=where, limit=limit, offset=offset, newest_first=newest_first
        )
        return self._counted([Scan.from_records(r.data, self._loader(r.id)) for r in records])

    def count(self, account: str | None = None, *, where: Mapping[str, Any] | None = None) -> int:
        return self.store.count(KIND, account, where=where)

    def catch_up(self) -> int:
        """Apply the `seconds` steps that fell due, to the scans they fell due for (indexed on `due`):
        what `observe` does to one scan, done before a list filters or counts by state. Returns how many
        scans were looked at."""
        self.upgrade()
        now = self.clock.now()
        with self.store.transaction():
            due = self.store.list(KIND, where={"due": between(None, now + _SLACK)})
            for record in due:
                scan = self._counted([Scan.from_records(record.data, self._loader(record.id))])[0]
                if self._progress(scan, read=False) or scan.data_touched:
                    self.save(scan)
                elif (when := self._due(scan)) != scan.due:
                    # Not moved: a stale due time (a default progression changed since) is set right.
                    self.store.patch(KIND, scan.id, {"due": when})
        return len(due)

    def _loader(self, scan_id: str) -> Callable[[], dict[str, Any]]:
        return lambda: self._document(scan_id)

    def upgrade(self) -> None:
        """Scans stored before their records kept `due` and the declared list keys (an older state file)
        are saved again, once, so filters and catch-up see them. The store remembers which keys its
        records have (meta `scan-keys`), so a current store costs one lookup, not a probe of every scan."""
        keys = sorted(self._keyed)
        with self.store.transaction():
            if self.store.meta_get(_KEYS_META) != keys:
                stale = {scan_id for key in keys for scan_id in self.store.missing(KIND, key)}
                for scan_id in sorted(stale):
                    scan = self.find(scan_id)
                    if scan is not None:
                        scan.data  # noqa: B018  # loaded, so save() works the list keys out again
                        self.save(scan)
                self.store.meta_set(_KEYS_META, keys)

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
        """A client looked at the scan: count the read, apply due steps, persist.

        A read that moves nothing (most polls) only counts itself, written behind (store.bump_later: no
        transaction, no commit); one that moves the scan is applied in a transaction, as every write is."""
        found = self.store.get_counted(KIND, scan_id, READS_KIND, "n")
        if found is None or (account is not None and found[0].account != account):
            raise ScanNotFoundError(scan_id)  # and nothing is counted
        record, stored = found
        scan = Scan.from_records(record.data, self._loader(scan_id))
        if stored is not None and not scan.data_touched:
            scan.reads = stored + 1
            if not self._moves(scan):
                self.store.bump_later(READS_KIND, scan_id, "n")
                return scan
        with self.store.transaction():
            again = self.store.get(KIND, scan_id)
            if again is None:  # deleted since (another thread): as if never there
                raise ScanNotFoundError(scan_id)
            scan = Scan.from_records(again.data, self._loader(scan_id))
            # Counted in the scan's own small READS_KIND record (a poll that moves nothing writes only
            # that row); a scan stored before those records existed gets one now.
            counted = self.store.bump(READS_KIND, scan_id, "n")
            if counted is None:
                scan.reads += 1
                self.store.put(READS_KIND, scan_id, scan.account, {"n": scan.reads})
            else:
                scan.reads = int(counted.data["n"])
            if self._progress(scan, read=True) or scan.data_touched:
                return self.save(scan)
            return scan

    def _moves(self, scan: Scan) -> bool:
        """Whether `_progress(scan, read=True)` would move the scan (without moving it)."""
        prog = self.progression_of(scan)
        return self._steps_due(scan, prog, read=True) > 0 and bool(self.road(scan, prog))

    def _steps_due(self, scan: Scan, prog: Progression, *, read: bool) -> int:
        """How many steps the progression owes the scan now, before its road is asked: immediate, on a
        read, as many as there are states (a road is never longer); reads, one once `every` reads are
        counted; seconds, one per whole `every` elapsed since the scan entered its state."""
        if prog.mode == "immediate":
            return len(self.lifecycle.states) if read else 0
        if prog.mode == "reads":
            return 1 if read and scan.reads >= prog.every else 0
        if prog.mode == "seconds":
            return max(0, math.floor((self.clock.now() - scan.entered) / prog.every))
        return 0

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

    def road(self, scan: Scan, progression: Progression | None = None) -> list[str]:
        """The states still ahead of the scan under its progression (`progression_of(scan)` unless given)."""
        prog = progression or self.progression_of(scan)
        if prog.final is not None and any(entry[0] == prog.final for entry in scan.history):
            # Been there: a terminal `final` ends the road; a side road (Invicti Delayed, AppSpider
            # blackout) is passed once and the scan goes on along the happy path, never looping back.
            return self._path_to(scan.state)
        path = self._path_to(scan.state, prog.outcome, prog.final)
        if not path and prog.outcome != "hang" and scan.state not in self.lifecycle.terminal:
            path = self._path_to(scan.state)
        return path

    def _path_to(self, start: str, outcome: str = "success", final: str | None = None) -> list[str]:
        """`lifecycle.path_to`, worked out once per (start, outcome, final): every poll asks for its road."""
        key = (start, outcome, final)
        path = self._roads.get(key)
        if path is None:
            path = self._roads[key] = tuple(self.lifecycle.path_to(start, outcome, final))
        return list(path)

    def _step(
        self, scan: Scan, cause: str, progression: Progression | None = None, at: float | None = None
    ) -> bool:
        road = self.road(scan, progression)
        if not road:
            return False
        self._move(scan, road[0], cause, at)
        return True

    def _move(self, scan: Scan, target: str, cause: str, at: float | None = None) -> None:
        """Enter `target` at time `at` (now unless given), which `on_transition` sees as its clock's time."""
        old = scan.state
        now = self.clock.now() if at is None else at
        scan.state = target
        scan.entered = now
        scan.reads = 0
        scan.history.append([target, now, cause])
        self._at = now
        try:
            self.on_transition(scan, old, target, cause)
        finally:
            self._at = None

    def _progress(self, scan: Scan, *, read: bool) -> bool:
        prog = self.progression_of(scan)
        moved = False
        for _ in range(self._steps_due(scan, prog, read=read)):
            # A `seconds` step is stamped with the time it fell due, not the time of this read.
            at = scan.entered + prog.every if prog.mode == "seconds" else None
            if not self._step(scan, prog.mode, prog, at=at):
                break
            moved = True
        return moved
