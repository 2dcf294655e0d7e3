"""Tests of scanwire.overlay: Overlay update/remove/copy semantics, strict error reporting (file, line,
action index, target), and the real overlays of every vendor."""

from __future__ import annotations

import copy
import textwrap
from pathlib import Path
from typing import Any

import pytest
from helpers.generation import copy_checkout

from scanwire import VENDORS
from scanwire.overlay import apply_overlays, load_overlay, overlay_files
from scanwire.paths import Layout
from scanwire.resolve import resolve_vendor
from scanwire.specs import load_spec, openapi_errors
from scanwire.yamlio import SourceError

SPEC: dict[str, Any] = {
    "openapi": "3.1.0",
    "info": {"title": "t", "version": "1", "x-keep": {"a": 1, "b": [1]}},
    "tags": [{"name": "a"}, {"name": "b"}, {"name": "c"}, {"name": "d"}],
    "paths": {
        "/scans": {"get": {"operationId": "listScans", "responses": {"200": {"description": "ok"}}}},
        "/scans/{id}": {"get": {"responses": {"200": {"description": "ok"}}}},
    },
    "components": {"schemas": {"Scan": {"type": "object", "properties": {"id": {"type": "string"}}}}},
}


def write(tmp_path: Path, text: str, name: str = "20-test.yaml") -> Path:
    path = tmp_path / name
    path.write_text(textwrap.dedent(text).lstrip("\n"), encoding="utf-8")
    return path


def apply(tmp_path: Path, text: str) -> tuple[dict[str, Any], tuple[int, ...]]:
    doc, applied = apply_overlays(SPEC, [load_overlay(write(tmp_path, text))])
    return doc, applied[0].matches


def problems(exc: pytest.ExceptionInfo[SourceError]) -> list[str]:
    return [str(p) for p in exc.value.problems]


# -- semantics ------------------------------------------------------------------------------------


def test_update__merges_objects_recursively_and_leaves_the_input_alone(tmp_path: Path) -> None:
    before = copy.deepcopy(SPEC)
    doc, matches = apply(
        tmp_path,
        """
        overlay: 1.0.0
        info: {title: t, version: "1"}
        actions:
          - target: "$.info"
            description: merge into an object; lists inside the update replace, scalars replace
            update:
              title: new
              x-keep: {b: [2, 3], c: true}
        """,
    )
    assert doc["info"] == {"title": "new", "version": "1", "x-keep": {"a": 1, "b": [2, 3], "c": True}}
    assert matches == (1,)
    assert before == SPEC


def test_update__on_an_array_appends_one_entry(tmp_path: Path) -> None:
    doc, matches = apply(
        tmp_path,
        """
        overlay: 1.0.0
        info: {title: t, version: "1"}
        actions:
          - target: "$.tags"
            description: append
            update: {name: e}
        """,
    )
    assert doc["tags"] == [{"name": "a"}, {"name": "b"}, {"name": "c"}, {"name": "d"}, {"name": "e"}]
    assert matches == (1,)


def test_update__applies_to_every_node_the_target_selects(tmp_path: Path) -> None:
    doc, matches = apply(
        tmp_path,
        """
        overlay: 1.0.0
        info: {title: t, version: "1"}
        actions:
          - target: "$.paths.*.get"
            description: every GET
            update: {x-seen: true}
        """,
    )
    assert [op["x-seen"] for op in (item["get"] for item in doc["paths"].values())] == [True, True]
    assert matches == (2,)


def test_update__values_are_copies_not_shared(tmp_path: Path) -> None:
    doc, _ = apply(
        tmp_path,
        """
        overlay: 1.0.0
        info: {title: t, version: "1"}
        actions:
          - target: "$.paths.*.get"
            description: the same dict into two places
            update: {x-list: [1]}
        """,
    )
    doc["paths"]["/scans"]["get"]["x-list"].append(2)
    assert doc["paths"]["/scans/{id}"]["get"]["x-list"] == [1]


def test_remove__deletes_keys_and_array_items_in_order(tmp_path: Path) -> None:
    doc, matches = apply(
        tmp_path,
        """
        overlay: 1.0.0
        info: {title: t, version: "1"}
        actions:
          - target: "$.tags[?@.name == 'a' || @.name == 'c']"
            description: two items of one array (indexes must not shift under each other)
            remove: true
          - target: "$.paths['/scans'].get.operationId"
            description: a key
            remove: true
        """,
    )
    assert doc["tags"] == [{"name": "b"}, {"name": "d"}]
    assert "operationId" not in doc["paths"]["/scans"]["get"]
    assert matches == (2, 1)


def test_copy__merges_a_deep_copy_of_the_source_into_the_target(tmp_path: Path) -> None:
    doc, matches = apply(
        tmp_path,
        """
        overlay: 1.1.0
        info: {title: t, version: "1"}
        actions:
          - target: "$.components.schemas"
            description: make room
            update: {ScanCopy: {description: kept unless the source has one}}
          - target: "$.components.schemas.ScanCopy"
            description: copy
            copy: "$.components.schemas.Scan"
        """,
    )
    assert doc["components"]["schemas"]["ScanCopy"] == {
        "description": "kept unless the source has one",
        "type": "object",
        "properties": {"id": {"type": "string"}},
    }
    doc["components"]["schemas"]["ScanCopy"]["properties"]["id"]["type"] = "integer"
    assert doc["components"]["schemas"]["Scan"]["properties"]["id"] == {"type": "string"}
    assert matches == (1, 1)


def test_overlays_apply_in_order(tmp_path: Path) -> None:
    first = write(
        tmp_path,
        """
        overlay: 1.0.0
        info: {title: t, version: "1"}
        actions:
          - {target: "$.info", description: set, update: {x-step: first}}
        """,
        "10-a.yaml",
    )
    second = write(
        tmp_path,
        """
        overlay: 1.0.0
        info: {title: t, version: "1"}
        actions:
          - {target: "$.info", description: overwrite, update: {x-step: second}}
        """,
        "20-b.yaml",
    )
    (tmp_path / "codegen.yaml").write_text("literal_enums: false\n", encoding="utf-8")
    files = overlay_files(tmp_path)
    assert files == [first, second]
    doc, _ = apply_overlays(SPEC, [load_overlay(p) for p in files])
    assert doc["info"]["x-step"] == "second"


# -- errors: each names the file and line, and where it applies the action index and target -------


def test_error__target_matching_nothing(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        """
        overlay: 1.0.0
        info: {title: t, version: "1"}
        actions:
          - target: "$.info"
            description: fine
            update: {x-a: 1}
          - target: "$.paths['/nope'].get"
            description: no such path
            update: {x-b: 1}
        """,
    )
    with pytest.raises(SourceError) as exc:
        apply_overlays(SPEC, [load_overlay(path)])
    assert problems(exc) == [
        f"{path}:7: [no-match] at $['actions'][1]['target']: "
        """action 1: target "$.paths['/nope'].get" matches nothing"""
    ]


def test_error__invalid_jsonpath(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        """
        overlay: 1.0.0
        info: {title: t, version: "1"}
        actions:
          - target: "$.info"
            description: fine
            update: {x-a: 1}
          - target: "$.paths[?(@.x ==]"
            description: broken filter
            update: {x-b: 1}
        """,
    )
    with pytest.raises(SourceError) as exc:
        load_overlay(path)
    [message] = problems(exc)
    prefix = (
        f"{path}:7: [jsonpath] at $['actions'][1]['target']: action 1: invalid JSONPath '$.paths[?(@.x ==]': "
    )
    assert message.startswith(prefix)
    assert len(message) > len(prefix)  # the parser's own explanation follows


def test_error__broken_yaml_names_file_and_line(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        """
        overlay: 1.0.0
        info: {title: t, version: "1"}
        actions:
          - target: "$.info"
            description: a colon too many: here: there
            update: {x-a: 1}
        """,
    )
    with pytest.raises(SourceError) as exc:
        load_overlay(path)
    assert problems(exc) == [
        f"{path}:5: [yaml]: overlay is not valid YAML: mapping values are not allowed here"
    ]


def test_error__duplicate_keys_name_both_lines(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        """
        overlay: 1.0.0
        info: {title: t, version: "1"}
        actions:
          - target: "$.info"
            description: two targets
            target: "$.paths"
            update: {}
        """,
    )
    with pytest.raises(SourceError) as exc:
        load_overlay(path)
    assert problems(exc) == [
        f"{path}:6: [yaml]: overlay is not valid YAML: while constructing a mapping "
        "found duplicate key 'target' (first defined on line 4)"
    ]


@pytest.mark.parametrize(
    ("action", "found"),
    [
        ('{target: "$.info", description: nothing to do}', "none"),
        ('{target: "$.info", description: remove false is no action, remove: false}', "none"),
        ('{target: "$.info", description: two at once, update: {}, remove: true}', "['update', 'remove']"),
    ],
    ids=["neither", "remove-false", "both"],
)
def test_error__action_needs_exactly_one_kind(tmp_path: Path, action: str, found: str) -> None:
    path = write(
        tmp_path,
        f"""
        overlay: 1.0.0
        info: {{title: t, version: "1"}}
        actions:
          - {{target: "$.info", description: fine, update: {{x-a: 1}}}}
          - {action}
        """,
    )
    with pytest.raises(SourceError) as exc:
        load_overlay(path)
    # The message names file, line, action index and the action's target.
    assert problems(exc) == [
        f"{path}:5: [overlay] at $['actions'][1]: "
        f"action 1 (target '$.info') must have exactly one of update / remove: true / copy (found {found})"
    ]


def test_error__update_on_a_primitive(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        """
        overlay: 1.0.0
        info: {title: t, version: "1"}
        actions:
          - target: "$.info.title"
            description: strings cannot be merged into
            update: new title
        """,
    )
    with pytest.raises(SourceError) as exc:
        apply_overlays(SPEC, [load_overlay(path)])
    assert problems(exc) == [
        f"{path}:4: [overlay] at $['actions'][0]['target']: action 0: target '$.info.title' selects a str; "
        "Overlay updates objects and arrays — target the parent object instead"
    ]


def test_error__object_target_needs_an_object_update(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        """
        overlay: 1.0.0
        info: {title: t, version: "1"}
        actions:
          - target: "$.info"
            description: a string into an object
            update: new title
        """,
    )
    with pytest.raises(SourceError) as exc:
        apply_overlays(SPEC, [load_overlay(path)])
    assert problems(exc) == [
        f"{path}:4: [overlay] at $['actions'][0]: "
        "action 0: target '$.info' is an object; update must be one too"
    ]


def test_error__remove_of_the_root(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        """
        overlay: 1.0.0
        info: {title: t, version: "1"}
        actions:
          - {target: "$", description: everything, remove: true}
        """,
    )
    with pytest.raises(SourceError) as exc:
        apply_overlays(SPEC, [load_overlay(path)])
    assert problems(exc) == [
        f"{path}:4: [overlay] at $['actions'][0]['target']: action 0: cannot remove the root"
    ]


def test_error__copy_needs_overlay_1_1(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        """
        overlay: 1.0.0
        info: {title: t, version: "1"}
        actions:
          - target: "$.components.schemas"
            description: copy in a 1.0 document
            copy: "$.components.schemas.Scan"
        """,
    )
    with pytest.raises(SourceError) as exc:
        load_overlay(path)
    assert problems(exc) == [f"{path}:6: [overlay] at $['actions'][0]['copy']: copy needs overlay: 1.1.x"]


@pytest.mark.parametrize(("source", "count"), [("$.components.schemas.Nope", 0), ("$.paths.*.get", 2)])
def test_error__copy_source_must_match_one_node(tmp_path: Path, source: str, count: int) -> None:
    path = write(
        tmp_path,
        f"""
        overlay: 1.1.0
        info: {{title: t, version: "1"}}
        actions:
          - target: "$.info"
            description: copy from an ambiguous or missing source
            copy: "{source}"
        """,
    )
    with pytest.raises(SourceError) as exc:
        apply_overlays(SPEC, [load_overlay(path)])
    assert problems(exc) == [
        f"{path}:6: [no-match] at $['actions'][0]['copy']: "
        f"action 0: copy source {source!r} must match exactly one node, matched {count}"
    ]


def test_error__overlay_leaving_an_invalid_openapi_document_blames_its_action(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, lay: Layout
) -> None:
    monkeypatch.setenv("SCANWIRE_SHARED", str(lay.shared))
    checkout = copy_checkout(tmp_path / "checkout", ("soda",))
    path = write(
        checkout.overlays("soda"),
        """
        overlay: 1.0.0
        info: {title: break the document on purpose, version: "1"}
        actions:
          - target: "$.info"
            description: harmless
            update: {x-harmless: true}
          - target: "$.paths['/api/v1/test-login'].get"
            description: operationId must be a string
            update: {operationId: 5}
        """,
        "25-break.yaml",
    )
    with pytest.raises(SourceError) as exc:
        resolve_vendor(checkout, "soda")
    assert problems(exc) == [
        f"{path}:7: [overlay-result] at $['actions'][1]['target']: action 1 "
        """(target "$.paths['/api/v1/test-login'].get") leaves an invalid OpenAPI document: """
        'paths//api/v1/test-login/get/operationId: 5 is not of type "string"'
    ]


# -- the real overlays ----------------------------------------------------------------------------


@pytest.mark.parametrize("vendor", VENDORS)
def test_real_overlays__apply_and_every_action_matches(lay: Layout, vendor: str) -> None:
    files = overlay_files(lay.overlays(vendor))
    assert files, f"overlays/{vendor}/ holds no NN-*.yaml overlay"
    overlays = [load_overlay(p) for p in files]
    spec = load_spec(lay.spec(vendor), vendor)
    doc, applied = apply_overlays(spec.doc, overlays)
    unmatched = [
        f"{a.path.name} action {i}: {o.actions[i]['target']}"
        for a, o in zip(applied, overlays, strict=True)
        for i, n in enumerate(a.matches)
        if n < 1
    ]
    assert unmatched == []
    assert [len(a.matches) for a in applied] == [len(o.actions) for o in overlays]
    assert list(openapi_errors(doc)) == []
    assert resolve_vendor(lay, vendor).resolved == doc  # and the house checks pass on the result


@pytest.mark.parametrize("vendor", VENDORS)
def test_real_overlays__file_names_follow_the_decades(lay: Layout, vendor: str) -> None:
    names = [p.name for p in overlay_files(lay.overlays(vendor))]
    bad = [n for n in names if not (n[:2] in {"10", "20", "30"} and n[2] == "-" and n[3:-5].islower())]
    codegen = [n for n in names if n.startswith("30-") and not n.startswith("30-codegen-")]
    assert (bad, codegen) == ([], [])
