"""scanwire's own schemathesis checks, shared by all vendors (small named checks, schemathesis style).

`lifecycle_conformance` watches every successful answer of the lifecycle's `poll` operation and fails
when a scan shows a state the spec does not know, moves between two polls along no legal road, or
leaves a terminal state. The state machine is the spec's `x-scanwire-lifecycle`, read through the same
`Lifecycle` class the emulators and the generated clients use.
"""

from __future__ import annotations

import json
import threading
from typing import Any, ClassVar

import schemathesis
from schemathesis.core.failures import Failure

from scanwire.runtime.lifecycle import Lifecycle, LifecycleError, Location, OperationRef

__all__ = [
    "SCANWIRE_CHECKS",
    "IllegalTransition",
    "LeftTerminalState",
    "UnknownState",
    "lifecycle_conformance",
]


class UnknownState(Failure):
    code: ClassVar[str] = "ST951"
    kind_title: ClassVar[str] = "Unknown scan state"
    checks: ClassVar[tuple[str, ...]] = ("lifecycle_conformance",)


class IllegalTransition(Failure):
    code: ClassVar[str] = "ST952"
    kind_title: ClassVar[str] = "Illegal lifecycle transition"
    checks: ClassVar[tuple[str, ...]] = ("lifecycle_conformance",)


class LeftTerminalState(Failure):
    code: ClassVar[str] = "ST953"
    kind_title: ClassVar[str] = "Scan left a terminal state"
    checks: ClassVar[tuple[str, ...]] = ("lifecycle_conformance",)


def _request_value(case: Any, location: Location) -> Any:
    """The scan id a poll request asked about, wherever the lifecycle says it travels."""
    name = location.name or ""
    source: Any = {
        "path": case.path_parameters,
        "query": case.query,
        "header": case.headers,
    }.get(location.where)
    if location.where in ("form", "body"):
        source = case.body if isinstance(case.body, dict) else None
        if location.where == "body" and location.pointer == "":
            return case.body
    if not isinstance(source, dict):
        return None
    value = source.get(name)
    if isinstance(value, list):
        value = value[0] if len(value) == 1 else None
    return None if value is None else str(value)


@schemathesis.check
class lifecycle_conformance:
    """Observed scan states are known, follow legal transitions, and terminal states stay terminal."""

    def __init__(self) -> None:
        self._seen: dict[tuple[int, str], str] = {}
        self._machines: dict[int, tuple[Lifecycle, OperationRef] | None] = {}
        self._lock = threading.Lock()

    def _machine(self, case: Any) -> tuple[Lifecycle, OperationRef] | None:
        schema = case.operation.schema
        key = id(schema)
        if key not in self._machines:
            try:
                lifecycle = Lifecycle.from_spec(schema.raw_schema)
                poll = lifecycle.operations.get("poll")
                self._machines[key] = (
                    (lifecycle, poll) if poll is not None and poll.state is not None else None
                )
            except LifecycleError:
                self._machines[key] = None
        return self._machines[key]

    def after_response(self, ctx: Any, response: Any, case: Any) -> bool | None:
        machine = self._machine(case)
        if machine is None:
            return None
        lifecycle, poll = machine
        if (
            f"{case.operation.method.upper()} {case.operation.path}" != poll.key
            or not 200 <= response.status_code < 300
        ):
            return None
        assert poll.state is not None and poll.id is not None
        try:
            body = json.loads(response.content)
        except ValueError:
            return None  # not JSON: response_schema_conformance reports it
        raw = poll.state.extract(body, dict(response.headers))
        scan_id = _request_value(case, poll.id)
        label = case.operation.label
        if raw is None:
            return None  # a missing state field is a schema failure, reported by response_schema_conformance
        state = lifecycle.canonical(raw)
        if state is None:
            raise UnknownState(
                operation=label,
                message=f"scan {scan_id}: state {raw!r} is not declared in x-scanwire-lifecycle "
                f"(known: {', '.join(sorted(lifecycle.states))})",
            )
        if scan_id is None:
            return True
        key = (id(case.operation.schema), scan_id)
        with self._lock:
            previous = self._seen.get(key)
            self._seen[key] = state
        if previous is None or previous == state:
            return True
        if previous in lifecycle.terminal and state not in lifecycle.reachable_from(previous):
            raise LeftTerminalState(
                operation=label,
                message=f"scan {scan_id} was {previous!r} (terminal) and is now {state!r}",
            )
        if not lifecycle.is_legal(previous, state):
            raise IllegalTransition(
                operation=label,
                message=f"scan {scan_id} went from {previous!r} to {state!r}; "
                f"no road of the lifecycle leads from one to the other",
            )
        return True


SCANWIRE_CHECKS = ("lifecycle_conformance",)
