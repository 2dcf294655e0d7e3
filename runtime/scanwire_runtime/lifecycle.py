"""A vendor's scan state machine, read from the spec's `x-scanwire-lifecycle` extension.

Standard library only: this module is shipped inside every generated client package as well as
used by the emulators and the conformance lifecycle check, so the three agree by construction.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

__all__ = [
    "ACTIONS",
    "EXTENSION",
    "Lifecycle",
    "LifecycleError",
    "Location",
    "NormalizedStatus",
    "OperationRef",
    "Transition",
]

EXTENSION = "x-scanwire-lifecycle"
ACTIONS = ("cancel", "pause", "resume", "stop", "delete")


class NormalizedStatus(StrEnum):
    """One cross-vendor view of a scan's state; the vendor's raw value is always kept beside it."""

    QUEUED = "queued"
    RUNNING = "running"
    PAUSED = "paused"
    SUCCEEDED = "succeeded"
    FAILED = "failed"
    CANCELLED = "cancelled"
    TIMED_OUT = "timed_out"
    UNKNOWN = "unknown"


class LifecycleError(ValueError):
    """The lifecycle extension is inconsistent (unknown state, unreachable state, ...)."""


@dataclass(frozen=True)
class Transition:
    source: str
    target: str
    trigger: str
    outcome: str | None = None


@dataclass(frozen=True)
class Location:
    """Where a value travels: a path/query/header/form parameter, or a JSON pointer into the body."""

    where: str
    name: str | None = None
    pointer: str | None = None
    pattern: str | None = None

    @classmethod
    def parse(cls, raw: Mapping[str, Any] | None) -> Location | None:
        if raw is None:
            return None
        return cls(raw["in"], raw.get("name"), raw.get("pointer"), raw.get("pattern"))

    def extract(self, body: Any = None, headers: Mapping[str, str] | None = None) -> Any:
        """Read the value from a decoded JSON body or from response headers; None when absent."""
        value: Any
        if self.where == "body":
            value = resolve_pointer(body, self.pointer or "")
        elif self.where == "header":
            value = None
            for key, val in (headers or {}).items():
                if key.lower() == (self.name or "").lower():
                    value = val
                    break
        else:
            raise LifecycleError(f"cannot extract a value from a {self.where!r} location in a response")
        if value is not None and self.pattern:
            match = re.search(self.pattern, str(value))
            value = match.group("id") if match else None
        return value


@dataclass(frozen=True)
class OperationRef:
    """An API operation named as `METHOD /path` (the spec's own path template), and where its values go:
    `id` (the scan id), `state` (the raw state in the answer); for `findings` optionally `items` (where
    the findings are in an answer the operation's own `x-scanwire-paging` does not describe); for
    `report` optionally `format` (the parameter that picks the file format); for both `params` (fixed
    values sent every time, e.g. Invicti's report type, Advalidation's include_checks)."""

    method: str
    path: str
    id: Location | None = None
    state: Location | None = None
    items: Location | None = None
    format: Location | None = None
    params: tuple[tuple[str, Any], ...] = ()
    # poll: values each answer adds to the scan's context (ThreadFix's imported `scanId`, set once DONE);
    # any action: `source` names the context value sent as the id instead of the scan id.
    context: tuple[tuple[str, Location], ...] = ()
    source: str | None = None

    @property
    def key(self) -> str:
        return f"{self.method} {self.path}"

    @classmethod
    def parse(cls, raw: Mapping[str, Any] | None) -> OperationRef | None:
        if raw is None:
            return None
        method, _, path = str(raw["operation"]).partition(" ")
        return cls(
            method.upper(),
            path,
            Location.parse(raw.get("id")),
            Location.parse(raw.get("state")),
            Location.parse(raw.get("items")),
            Location.parse(raw.get("format")),
            tuple((raw.get("params") or {}).items()),
            tuple(
                (name, loc)
                for name, where in (raw.get("context") or {}).items()
                if (loc := Location.parse(where)) is not None
            ),
            raw.get("source"),
        )


def resolve_pointer(doc: Any, pointer: str) -> Any:
    """RFC 6901 JSON pointer lookup that answers None instead of raising when a step is missing."""
    if pointer == "":
        return doc
    node = doc
    for raw in pointer.lstrip("/").split("/"):
        token = raw.replace("~1", "/").replace("~0", "~")
        if isinstance(node, Mapping):
            if token not in node:
                return None
            node = node[token]
        elif isinstance(node, list) and token.isdigit() and int(token) < len(node):
            node = node[int(token)]
        else:
            return None
    return node


def _as_list(value: str | Iterable[str]) -> list[str]:
    return [value] if isinstance(value, str) else list(value)


@dataclass
class Lifecycle:
    """The parsed extension plus the questions everybody asks of it."""

    resource: str
    states: dict[str, NormalizedStatus]
    initial: str
    terminal: frozenset[str]
    transitions: tuple[Transition, ...]
    operations: dict[str, OperationRef | None]
    aliases: dict[str, str] = field(default_factory=dict)
    codes: dict[int, str] = field(default_factory=dict)
    post_terminal: frozenset[str] = frozenset()

    @classmethod
    def from_spec(cls, spec: Mapping[str, Any]) -> Lifecycle:
        raw = spec.get(EXTENSION)
        if not isinstance(raw, Mapping):
            raise LifecycleError(f"the spec has no {EXTENSION} extension")
        return cls.from_extension(raw)

    @classmethod
    def from_extension(cls, raw: Mapping[str, Any]) -> Lifecycle:
        states = {name: NormalizedStatus(body["normalized"]) for name, body in raw["states"].items()}
        transitions = tuple(
            Transition(source, t["to"], t["trigger"], t.get("outcome"))
            for t in raw["transitions"]
            for source in _as_list(t["from"])
        )
        lifecycle = cls(
            resource=raw["resource"],
            states=states,
            initial=raw["initial"],
            terminal=frozenset(raw["terminal"]),
            transitions=transitions,
            operations={k: OperationRef.parse(v) for k, v in raw["operations"].items()},
            aliases=dict(raw.get("aliases") or {}),
            codes={int(k): v for k, v in (raw.get("codes") or {}).items()},
            post_terminal=frozenset(raw.get("post-terminal") or ()),
        )
        problems = lifecycle.problems()
        if problems:
            raise LifecycleError("; ".join(problems))
        return lifecycle

    # -- reading vendor values -------------------------------------------------------------------

    def canonical(self, raw: Any) -> str | None:
        """The canonical state name for a vendor value (state name, alias or integer code)."""
        if isinstance(raw, bool) or raw is None:
            return None
        if isinstance(raw, int):
            return self.codes.get(raw)
        text = str(raw)
        if text in self.states:
            return text
        if text in self.aliases:
            return self.aliases[text]
        if text.lstrip("-").isdigit():
            return self.codes.get(int(text))
        return None

    def normalize(self, raw: Any) -> NormalizedStatus:
        state = self.canonical(raw)
        return self.states[state] if state is not None else NormalizedStatus.UNKNOWN

    def is_terminal(self, raw: Any) -> bool:
        state = self.canonical(raw)
        return state is not None and state in self.terminal

    # -- moving between states -------------------------------------------------------------------

    def outgoing(self, state: str) -> list[Transition]:
        return [t for t in self.transitions if t.source == state]

    def is_legal(self, source: Any, target: Any) -> bool:
        """Whether one observed value may follow another (equal states are always legal)."""
        a, b = self.canonical(source), self.canonical(target)
        if a is None or b is None:
            return False
        return a == b or b in self.reachable_from(a)

    def is_direct(self, source: str, target: str) -> bool:
        return any(t.source == source and t.target == target for t in self.transitions)

    def next_auto(self, state: str) -> str | None:
        """The next state of the happy path (the `auto`/`success` edge leaving `state`), if any."""
        for t in self.outgoing(state):
            if t.trigger == "auto" and t.outcome == "success":
                return t.target
        return None

    def path_to(self, start: str, outcome: str = "success", final: str | None = None) -> list[str]:
        """The states a scan passes through by itself from `start` (excluded) to its end.

        With `final`, the shortest road of `auto` edges to that state. Otherwise the shortest road to a
        terminal state entered through an edge of `outcome` (the happy path for `success`). A `hang`
        outcome with no `hang` edge is the happy path stopping short of its terminal state. Breadth-first
        in declaration order, so side roads that loop back (Invicti Delayed <-> Queued) cannot trap it.
        An empty list means the scan stays where it is.
        """
        if outcome == "success" and final is None:
            path = self.success_path_from(start)
            return path[1:]
        previous: dict[str, str | None] = {start: None}
        queue = [start]
        goal: str | None = None
        while queue and goal is None:
            state = queue.pop(0)
            for t in self.outgoing(state):
                if t.trigger != "auto" or t.target in previous:
                    continue
                previous[t.target] = state
                hit = (
                    t.target == final
                    if final is not None
                    else (t.target in self.terminal and t.outcome == outcome)
                )
                if hit:
                    goal = t.target
                    break
                # Terminal states end a road, except post-terminal ones the server leaves by itself.
                if t.target not in self.terminal or t.target in self.post_terminal:
                    queue.append(t.target)
        if goal is None:
            if outcome == "hang" and final is None:
                return [s for s in self.success_path_from(start)[1:] if s not in self.terminal]
            return []
        road = [goal]
        while (step := previous[road[-1]]) is not None and step != start:
            road.append(step)
        return list(reversed(road))

    def success_path_from(self, start: str) -> list[str]:
        path = [start]
        while (nxt := self.next_auto(path[-1])) is not None and nxt not in path:
            path.append(nxt)
        return path

    def after_action(self, state: str, action: str) -> str | None:
        """The state an action (cancel/pause/...) moves a scan to, or None when illegal from here."""
        for t in self.outgoing(state):
            if t.trigger == action:
                return t.target
        return None

    def reachable_from(self, state: str) -> set[str]:
        seen: set[str] = set()
        todo = [state]
        while todo:
            for t in self.outgoing(todo.pop()):
                if t.target not in seen:
                    seen.add(t.target)
                    todo.append(t.target)
        return seen

    def success_path(self) -> list[str]:
        return self.success_path_from(self.initial)

    def problems(self) -> list[str]:
        """Consistency rules of docs/spec-conventions.md; an empty list means the machine is sound."""
        out: list[str] = []
        known = set(self.states)
        if self.initial not in known:
            out.append(f"initial state {self.initial!r} is not declared under states")
        for name in sorted(self.terminal - known):
            out.append(f"terminal state {name!r} is not declared under states")
        for t in self.transitions:
            for end in (t.source, t.target):
                if end not in known:
                    out.append(f"transition {t.source} -> {t.target} names undeclared state {end!r}")
            # A terminal state may only be left by housekeeping (delete) or, when listed under
            # post-terminal, by the server's own side roads (auto/other: AppSpider Completed -> ReportError).
            allowed = t.trigger == "delete" or (
                t.source in self.post_terminal and t.trigger == "auto" and t.outcome == "other"
            )
            if t.source in self.terminal and not allowed:
                out.append(f"terminal state {t.source!r} has an outgoing transition to {t.target!r}")
        for name in sorted(self.post_terminal - self.terminal):
            out.append(f"post-terminal state {name!r} is not a terminal state")
        for alias, target in {**self.aliases, **{str(k): v for k, v in self.codes.items()}}.items():
            if target not in known:
                out.append(f"alias/code {alias!r} points at undeclared state {target!r}")
        for state in known:
            happy = [t for t in self.outgoing(state) if t.trigger == "auto" and t.outcome == "success"]
            if len(happy) > 1:
                out.append(f"state {state!r} has {len(happy)} auto/success transitions (at most one)")
        if self.initial in known:
            unreachable = known - self.reachable_from(self.initial) - {self.initial}
            if unreachable:
                out.append(f"states unreachable from {self.initial!r}: {', '.join(sorted(unreachable))}")
            end = self.success_path()[-1]
            if end not in self.terminal or self.states.get(end) is not NormalizedStatus.SUCCEEDED:
                out.append(
                    f"the auto/success path from {self.initial!r} ends in {end!r}, not a succeeded terminal"
                )
        for action in {t.trigger for t in self.transitions} - {"auto"}:
            if action not in self.operations:
                out.append(f"transitions use trigger {action!r} but operations has no {action!r} entry")
        return out
