"""The scan lifecycles of the specs (x-scanwire-lifecycle) and the rules of `scanwire_runtime.lifecycle`."""

from __future__ import annotations

import json
import re
from importlib import resources
from typing import Any

import jsonschema
import pytest
from helpers.seeds import (
    appspider_status_lists,
    notes_text,
    schema_at_pointer,
    schema_enum,
    shared_spec,
    spec_response_schema,
)
from scanwire_runtime.lifecycle import EXTENSION, Lifecycle, LifecycleError, NormalizedStatus

from scanwire import VENDORS
from scanwire.specs import iter_operations

N = NormalizedStatus


def _raw(vendor: str) -> dict[str, Any]:
    raw: dict[str, Any] = shared_spec(vendor).doc[EXTENSION]
    return raw


def _lifecycle(vendor: str) -> Lifecycle:
    return Lifecycle.from_spec(shared_spec(vendor).doc)


# -- every vendor ------------------------------------------------------------------------------------

SUCCESS_PATHS = {
    "advalidation": ["queued", "processing", "finished"],
    "invicti": ["Queued", "Scanning", "Archiving", "Complete"],
    "appspider": ["Starting", "Running", "Completed"],
    "threadfix": [
        "QUEUED",
        "UPLOADED",
        "FINDINGS_GENERATING",
        "CHANNEL_MERGING",
        "APPLICATION_MERGING",
        "APPLICATION_MERGED",
        "DONE",
    ],
    "soda": ["queuing", "executing", "started", "completed"],
}


@pytest.mark.parametrize("vendor", VENDORS)
def test_lifecycle__matches_its_json_schema(vendor: str) -> None:
    text = resources.files("scanwire").joinpath("schemas/lifecycle.schema.json").read_text()
    validator = jsonschema.Draft202012Validator(json.loads(text))
    assert [e.message for e in validator.iter_errors(_raw(vendor))] == []


@pytest.mark.parametrize("vendor", VENDORS)
def test_from_spec__succeeds_with_a_sound_machine(vendor: str) -> None:
    lifecycle = _lifecycle(vendor)
    assert lifecycle.problems() == []
    assert set(lifecycle.states) == set(_raw(vendor)["states"])


@pytest.mark.parametrize("vendor", VENDORS)
def test_success_path__ends_in_a_succeeded_terminal(vendor: str) -> None:
    lifecycle = _lifecycle(vendor)
    path = lifecycle.success_path()
    assert path == SUCCESS_PATHS[vendor]
    assert path[-1] in lifecycle.terminal
    assert lifecycle.states[path[-1]] is N.SUCCEEDED
    assert lifecycle.path_to(lifecycle.initial) == path[1:]


@pytest.mark.parametrize("vendor", VENDORS)
def test_states__are_all_reachable_from_initial(vendor: str) -> None:
    raw = _raw(vendor)
    edges: dict[str, set[str]] = {}
    for t in raw["transitions"]:
        for source in [t["from"]] if isinstance(t["from"], str) else t["from"]:
            edges.setdefault(source, set()).add(t["to"])
    seen, todo = {raw["initial"]}, [raw["initial"]]
    while todo:  # walked here from the raw extension, not with Lifecycle.reachable_from
        for target in edges.get(todo.pop(), ()):
            if target not in seen:
                seen.add(target)
                todo.append(target)
    assert sorted(set(raw["states"]) - seen) == []
    assert sorted(seen - set(raw["states"])) == []


@pytest.mark.parametrize("vendor", VENDORS)
def test_terminal_states__have_no_outgoing_edges_but_delete_or_post_terminal(vendor: str) -> None:
    lifecycle = _lifecycle(vendor)
    leaving = {
        (t.source, t.target, t.trigger)
        for t in lifecycle.transitions
        if t.source in lifecycle.terminal and t.trigger != "delete"
    }
    assert {source for source, _, _ in leaving} <= lifecycle.post_terminal
    assert all(trigger == "auto" for _, _, trigger in leaving)


@pytest.mark.parametrize("vendor", VENDORS)
def test_operations__name_spec_operations_and_their_id_parameters(vendor: str) -> None:
    lifecycle = _lifecycle(vendor)
    doc = shared_spec(vendor).doc
    ops = {f"{m} {p}": op for m, p, op in iter_operations(doc)}
    wrong = []
    for action, ref in lifecycle.operations.items():
        if ref is None:
            continue
        if ref.key not in ops:
            wrong.append(f"{action}: {ref.key} is not an operation of the spec")
            continue
        if ref.id is None or ref.id.where not in ("path", "query", "header") or action == "start":
            continue
        params = [p if "$ref" not in p else _ref(doc, p["$ref"]) for p in ops[ref.key].get("parameters", [])]
        if (ref.id.name, ref.id.where) not in {(p["name"], p["in"]) for p in params}:
            wrong.append(f"{action}: {ref.key} has no {ref.id.where} parameter {ref.id.name!r}")
    assert wrong == []
    for action in {t.trigger for t in lifecycle.transitions} - {"auto"}:
        assert action in lifecycle.operations, f"trigger {action} has no operations entry"
    assert lifecycle.operations["poll"] is not None


def _ref(doc: dict[str, Any], ref: str) -> Any:
    node: Any = doc
    for token in ref[2:].split("/"):
        node = node[token]
    return node


def _poll_state_schema(vendor: str) -> tuple[dict[str, Any], Any]:
    lifecycle = _lifecycle(vendor)
    poll = lifecycle.operations["poll"]
    assert poll is not None and poll.state is not None and poll.state.where == "body"
    doc = shared_spec(vendor).doc
    schema = spec_response_schema(doc, poll.method, poll.path)
    return doc, schema_at_pointer(doc, schema, poll.state.pointer or "")


@pytest.mark.parametrize("vendor", ["advalidation", "invicti", "threadfix", "soda"])
def test_states__equal_the_enum_of_the_polled_state_field(vendor: str) -> None:
    doc, schema = _poll_state_schema(vendor)
    enum = schema_enum(doc, schema)
    assert len(enum) >= 5
    assert sorted(_lifecycle(vendor).states) == sorted(enum)


@pytest.mark.parametrize("vendor", VENDORS)
def test_poll_examples__carry_known_states(vendor: str) -> None:
    lifecycle = _lifecycle(vendor)
    poll = lifecycle.operations["poll"]
    assert poll is not None and poll.state is not None
    doc = shared_spec(vendor).doc
    media = doc["paths"][poll.path][poll.method.lower()]["responses"]["200"]["content"]["application/json"]
    values = [poll.state.extract(ex["value"]) for ex in media["examples"].values()]
    states = [v for v in values if v is not None]
    assert states, f"no {vendor} poll example carries a state"
    assert [v for v in states if lifecycle.canonical(v) is None] == []


START_IDS = {
    "advalidation": 304,
    "appspider": "5d0b3e2a-8c41-4f6e-9a27-1b3c9e4f7a10",
    "threadfix": "716",
}


@pytest.mark.parametrize("vendor", sorted(START_IDS))
def test_start_operation__id_is_read_from_its_example(vendor: str) -> None:
    start = _lifecycle(vendor).operations["start"]
    assert start is not None and start.id is not None
    doc = shared_spec(vendor).doc
    media = doc["paths"][start.path][start.method.lower()]["responses"]["200"]["content"]["application/json"]
    ids = [start.id.extract(ex["value"]) for ex in media["examples"].values()]
    assert START_IDS[vendor] in ids


def test_start_operation__soda_id_in_a_header_invicti_in_the_first_array_element() -> None:
    start = _lifecycle("soda").operations["start"]
    assert start is not None and start.id is not None
    assert start.id.extract(None, {"x-soda-scan-id": "abc", "Location": "/x"}) == "abc"
    invicti = _lifecycle("invicti").operations["start"]
    assert invicti is not None and invicti.id is not None
    assert invicti.id.extract([{"Id": "abc", "State": "Queued"}]) == "abc"


# -- AppSpider: two string vocabularies and integer codes -------------------------------------------


def test_appspider__every_getscanstatus_display_value_maps_to_a_state() -> None:
    lifecycle = _lifecycle("appspider")
    display, _ = appspider_status_lists()
    assert len(display) == 35
    doc, schema = _poll_state_schema("appspider")
    # The field admits the display strings (the seed's list, in order) and then the enum-style names.
    _, names = appspider_status_lists()
    assert schema_enum(doc, schema) == display + [n for n in names if n not in display]
    assert schema_enum(doc, doc["components"]["schemas"]["ScanStatusText"]) == display
    assert {v: lifecycle.canonical(v) for v in display if lifecycle.canonical(v) is None} == {}


def test_appspider__every_getscanstatuses_name_maps_to_a_state() -> None:
    lifecycle = _lifecycle("appspider")
    _, names = appspider_status_lists()
    assert len(names) == 42
    doc = shared_spec("appspider").doc
    schema = spec_response_schema(doc, "GET", "/Scan/GetScanStatuses")
    assert schema_enum(doc, schema_at_pointer(doc, schema, "/Statuses/0")) == names
    assert {v: lifecycle.canonical(v) for v in names if lifecycle.canonical(v) is None} == {}


def test_appspider__getscans_codes_are_the_pyappspider_codes() -> None:
    lifecycle = _lifecycle("appspider")
    assert sorted(lifecycle.codes) == [32, 72, 80, 82, 119, 122]
    doc = shared_spec("appspider").doc
    schema = spec_response_schema(doc, "GET", "/Scan/GetScans")
    assert sorted(schema_enum(doc, schema_at_pointer(doc, schema, "/Scans/0/Status"))) == sorted(
        lifecycle.codes
    )
    # vendor-notes §3: PyAppSpider maps `32 → Completed, 72 → Failed, ... 119 → "Vuln Load Failed", ...`
    mapping = re.search(r"maps `(.*?)`, anything else", notes_text())
    assert mapping is not None
    pairs = dict(re.findall(r"(\d+) → \"?([^,\"]+?)\"?(?:,|$)", mapping.group(1)))
    assert sorted(int(code) for code in pairs) == sorted(lifecycle.codes)
    assert {int(c): lifecycle.canonical(text) for c, text in pairs.items()} == lifecycle.codes


def test_appspider__both_vocabularies_normalize_alike() -> None:
    lifecycle = _lifecycle("appspider")
    assert lifecycle.normalize("Running…") is N.RUNNING
    assert lifecycle.normalize("ValidatingRunning") is N.RUNNING
    assert lifecycle.normalize(82) is N.RUNNING
    assert lifecycle.normalize("32") is N.SUCCEEDED
    assert lifecycle.normalize("Download failed") is lifecycle.normalize("ReportError") is N.FAILED
    assert lifecycle.normalize("Waiting for Cloud") is lifecycle.normalize("StartingCloud") is N.QUEUED
    assert lifecycle.normalize(999) is N.UNKNOWN
    assert lifecycle.normalize("running") is N.UNKNOWN  # case-sensitive, as documented
    assert lifecycle.is_terminal("Vuln Load Failed") and lifecycle.is_terminal(119)


# -- normalize / is_legal / path_to per vendor ------------------------------------------------------


@pytest.mark.parametrize("vendor", VENDORS)
def test_normalize__unknown_value_is_unknown(vendor: str) -> None:
    lifecycle = _lifecycle(vendor)
    for value in ("no-such-state", "", None, True, 12345, ["queued"]):
        assert lifecycle.normalize(value) is N.UNKNOWN, value
    assert lifecycle.is_terminal("no-such-state") is False


NORMALIZED = {
    "advalidation": {
        "queued": N.QUEUED,
        "processing": N.RUNNING,
        "finished": N.SUCCEEDED,
        "cancelled": N.CANCELLED,
    },
    "invicti": {"Delayed": N.QUEUED, "Pausing": N.RUNNING, "Resuming": N.PAUSED, "AsyncArchiving": N.RUNNING},
    "appspider": {"Starting": N.QUEUED, "Stopped": N.CANCELLED, "Hanged": N.FAILED, "Blackouted": N.PAUSED},
    "threadfix": {
        "QUEUED": N.QUEUED,
        "LINKING_DEFECTS": N.RUNNING,
        "DONE": N.SUCCEEDED,
        "SCAN_INTERRUPTED": N.FAILED,
    },
    "soda": {
        "cancelationRequested": N.RUNNING,
        "timedOut": N.TIMED_OUT,
        "completedWithFailures": N.SUCCEEDED,
    },
}


@pytest.mark.parametrize("vendor", VENDORS)
def test_normalize__known_values(vendor: str) -> None:
    lifecycle = _lifecycle(vendor)
    assert {v: lifecycle.normalize(v) for v in NORMALIZED[vendor]} == NORMALIZED[vendor]


LEGAL: dict[str, list[tuple[Any, Any, bool]]] = {
    "advalidation": [
        ("queued", "finished", True),
        ("processing", "processing", True),
        ("queued", "cancelled", True),
        ("finished", "queued", False),
        ("failed", "finished", False),
        ("queued", "bogus", False),
    ],
    "invicti": [
        ("Delayed", "Queued", True),
        ("Queued", "Complete", True),
        ("Paused", "Scanning", True),
        ("Complete", "Scanning", False),
        ("Cancelled", "Queued", False),
        ("Failed", "Complete", False),
    ],
    "appspider": [
        ("Running…", "Completed", True),
        ("Waiting for Cloud", 82, True),
        ("Completed", "ReportError", True),  # post-terminal
        (32, "Running", False),
        ("Stopped", "Running", False),
        ("Running", "no such status", False),
    ],
    "threadfix": [
        ("QUEUED", "DONE", True),
        ("DONE", "SCAN_DELETED", True),  # housekeeping delete edge
        ("SCAN_INTERRUPTED", "DONE", False),
        ("DONE", "QUEUED", False),
        ("SCAN_DELETED", "DONE", False),
    ],
    "soda": [
        ("queuing", "completedWithWarnings", True),
        ("started", "timedOut", True),
        ("executing", "canceled", True),
        ("completed", "started", False),
        ("canceled", "queuing", False),
        ("timedOut", "completed", False),
    ],
}


@pytest.mark.parametrize("vendor", VENDORS)
def test_is_legal__follows_the_transitions(vendor: str) -> None:
    lifecycle = _lifecycle(vendor)
    assert {(a, b): lifecycle.is_legal(a, b) for a, b, _ in LEGAL[vendor]} == {
        (a, b): legal for a, b, legal in LEGAL[vendor]
    }


PATHS: dict[str, dict[tuple[str, str | None], list[str]]] = {
    # vendor: {(outcome, final): states passed from `initial` (excluded)}
    "advalidation": {
        ("failure", None): ["processing", "failed"],
        ("timeout", None): [],
        ("hang", None): ["processing"],
    },
    "invicti": {
        ("failure", None): ["Scanning", "Failed"],
        ("timeout", None): [],
        ("hang", None): ["Scanning", "Archiving"],
        ("other", "Delayed"): ["Delayed"],
        ("other", "AsyncArchiving"): ["Scanning", "AsyncArchiving"],
    },
    "appspider": {
        ("failure", None): ["Running", "Failed"],
        ("hang", None): ["Running", "Hanged"],
        ("timeout", None): [],
        ("other", "PausedByBlackout"): ["Running", "PendingPauseByBlackout", "PausedByBlackout"],
    },
    "threadfix": {
        ("failure", None): ["SCAN_INTERRUPTED"],
        ("timeout", None): [],
        ("hang", None): SUCCESS_PATHS["threadfix"][1:-1],
        ("other", "FINISHED_FINDING_PULLING"): [
            *SUCCESS_PATHS["threadfix"][1:-1],
            "FINISHED_FINDING_PULLING",
        ],
    },
    "soda": {
        ("failure", None): ["failed"],
        ("timeout", None): ["executing", "timeOutRequested", "timedOut"],
        ("hang", None): ["executing", "started"],
    },
}


@pytest.mark.parametrize("vendor", VENDORS)
def test_path_to__failure_timeout_and_hang_roads(vendor: str) -> None:
    lifecycle = _lifecycle(vendor)
    found = {(o, f): lifecycle.path_to(lifecycle.initial, o, f) for o, f in PATHS[vendor]}
    assert found == PATHS[vendor]
    for (outcome, final), road in PATHS[vendor].items():
        if road and final is None and outcome != "hang":
            assert road[-1] in lifecycle.terminal
            assert lifecycle.is_direct(road[-2] if len(road) > 1 else lifecycle.initial, road[-1])


def test_path_to__soda_timeout_ends_in_timed_out() -> None:
    lifecycle = _lifecycle("soda")
    road = lifecycle.path_to("started", "timeout")
    assert road == ["timeOutRequested", "timedOut"]
    assert lifecycle.normalize(road[-1]) is N.TIMED_OUT


def test_path_to__invicti_delayed_side_road_does_not_loop() -> None:
    lifecycle = _lifecycle("invicti")
    assert lifecycle.path_to("Delayed") == ["Queued", "Scanning", "Archiving", "Complete"]
    assert lifecycle.path_to("Delayed", "failure") == ["Queued", "Scanning", "Failed"]
    assert lifecycle.path_to("Delayed", "timeout") == []
    assert lifecycle.success_path_from("Delayed") == [
        "Delayed",
        "Queued",
        "Scanning",
        "Archiving",
        "Complete",
    ]


def test_after_action__follows_the_action_edges() -> None:
    invicti, soda, appspider = _lifecycle("invicti"), _lifecycle("soda"), _lifecycle("appspider")
    assert invicti.after_action("Scanning", "pause") == "Pausing"
    assert invicti.after_action("Queued", "pause") is None
    assert invicti.after_action("Complete", "cancel") is None
    assert soda.after_action("queuing", "cancel") == "canceled"
    assert soda.after_action("started", "cancel") == "cancelationRequested"
    assert soda.after_action("completed", "cancel") is None
    assert appspider.after_action("Running", "cancel") is None  # only Starting / Waiting for Cloud
    assert appspider.after_action("StartingCloud", "cancel") == "Canceling"


# -- problems() on small hand-written machines ------------------------------------------------------


def _machine(**changes: Any) -> dict[str, Any]:
    raw: dict[str, Any] = {
        "resource": "scan",
        "states": {
            "new": {"normalized": "queued"},
            "busy": {"normalized": "running"},
            "done": {"normalized": "succeeded"},
            "broken": {"normalized": "failed"},
        },
        "initial": "new",
        "terminal": ["done", "broken"],
        "transitions": [
            {"from": "new", "to": "busy", "trigger": "auto", "outcome": "success"},
            {"from": "busy", "to": "done", "trigger": "auto", "outcome": "success"},
            {"from": "busy", "to": "broken", "trigger": "auto", "outcome": "failure"},
        ],
        "operations": {"start": None, "poll": {"operation": "GET /scans/{id}"}},
    }
    raw.update(changes)
    return raw


def _problems(raw: dict[str, Any]) -> list[str]:
    with pytest.raises(LifecycleError) as info:
        Lifecycle.from_extension(raw)
    return str(info.value).split("; ")


def test_problems__none_for_a_sound_machine() -> None:
    lifecycle = Lifecycle.from_extension(_machine())
    assert lifecycle.problems() == []
    assert lifecycle.success_path() == ["new", "busy", "done"]


def test_problems__transition_to_an_unknown_state() -> None:
    raw = _machine()
    raw["transitions"][1]["to"] = "finished"
    assert _problems(raw) == [
        "transition busy -> finished names undeclared state 'finished'",
        "states unreachable from 'new': done",
        "the auto/success path from 'new' ends in 'finished', not a succeeded terminal",
    ]


def test_problems__unknown_initial_and_terminal() -> None:
    assert _problems(_machine(initial="start", terminal=["done", "broken", "gone"])) == [
        "initial state 'start' is not declared under states",
        "terminal state 'gone' is not declared under states",
    ]


def test_problems__unreachable_state() -> None:
    raw = _machine()
    raw["states"]["limbo"] = {"normalized": "paused"}
    assert _problems(raw) == ["states unreachable from 'new': limbo"]


def test_problems__two_success_edges_from_one_state() -> None:
    raw = _machine()
    raw["transitions"].append({"from": "busy", "to": "broken", "trigger": "auto", "outcome": "success"})
    assert _problems(raw) == ["state 'busy' has 2 auto/success transitions (at most one)"]


def test_problems__terminal_state_with_an_outgoing_edge() -> None:
    raw = _machine()
    raw["transitions"].append({"from": "done", "to": "busy", "trigger": "auto", "outcome": "other"})
    assert _problems(raw) == ["terminal state 'done' has an outgoing transition to 'busy'"]


def test_problems__terminal_edge_allowed_when_post_terminal_or_delete() -> None:
    raw = _machine(**{"post-terminal": ["done"]})
    raw["states"]["gone"] = {"normalized": "cancelled"}
    raw["terminal"] = ["done", "broken", "gone"]
    raw["transitions"] += [
        {"from": "done", "to": "broken", "trigger": "auto", "outcome": "other"},
        {"from": "broken", "to": "gone", "trigger": "delete"},
    ]
    raw["operations"]["delete"] = None
    assert Lifecycle.from_extension(raw).problems() == []


@pytest.mark.parametrize(
    "edge",
    [
        {"from": "done", "to": "busy", "trigger": "auto", "outcome": "success"},
        {"from": "done", "to": "busy", "trigger": "pause"},
    ],
    ids=["auto-success", "pause"],
)
def test_problems__post_terminal_state_leaving_by_a_non_other_edge(edge: dict[str, Any]) -> None:
    raw = _machine(**{"post-terminal": ["done"]})
    raw["transitions"].append(edge)
    raw["operations"]["pause"] = None
    assert "terminal state 'done' has an outgoing transition to 'busy'" in _problems(raw)


def test_problems__post_terminal_naming_a_non_terminal_state() -> None:
    problems = _problems(_machine(**{"post-terminal": ["busy", "ghost"]}))
    assert any("busy" in p for p in problems) and any("ghost" in p for p in problems)


def test_problems__success_path_ending_in_a_failed_terminal() -> None:
    raw = _machine()
    raw["transitions"][1] = {"from": "busy", "to": "broken", "trigger": "auto", "outcome": "success"}
    raw["transitions"][2] = {"from": "busy", "to": "done", "trigger": "auto", "outcome": "other"}
    assert _problems(raw) == ["the auto/success path from 'new' ends in 'broken', not a succeeded terminal"]


def test_problems__action_trigger_without_an_operations_entry() -> None:
    raw = _machine()
    raw["transitions"].append({"from": "busy", "to": "broken", "trigger": "cancel"})
    assert _problems(raw) == ["transitions use trigger 'cancel' but operations has no 'cancel' entry"]


def test_problems__alias_or_code_pointing_at_an_unknown_state() -> None:
    assert _problems(_machine(aliases={"Busy…": "working"}, codes={"7": "done", "9": "nowhere"})) == [
        "alias/code 'Busy…' points at undeclared state 'working'",
        "alias/code '9' points at undeclared state 'nowhere'",
    ]
