"""OpenAPI Overlay 1.0/1.1 documents applied strictly to a spec, with RFC 9535 JSONPath targets.

JSONPath evaluation is jsonpath-rfc9535 (a maintained RFC 9535 implementation); this module adds the
Overlay semantics (update = recursive merge / append to arrays, remove, 1.1 copy) and scanwire's
strictness: an action whose target matches nothing, a target that is not valid JSONPath, or an
invalid overlay document stops with an error naming the overlay file, action index and target.
"""

from __future__ import annotations

import copy as copy_module
import functools
import hashlib
import json
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from importlib import resources
from importlib.metadata import version
from pathlib import Path
from typing import Any

import jsonpath_rfc9535 as jsonpath

from scanwire import yamlio
from scanwire.yamlio import SourceError, YamlDocument, load_yaml

__all__ = ["AppliedOverlay", "Overlay", "apply_overlays", "load_overlay", "overlay_files"]

_SCHEMA_TEXT = resources.files("scanwire").joinpath("schemas/overlay.schema.json").read_text()
_SCHEMA = json.loads(_SCHEMA_TEXT)


@dataclass(frozen=True)
class Overlay:
    source: YamlDocument

    @property
    def path(self) -> Path:
        return self.source.path

    @property
    def actions(self) -> list[dict[str, Any]]:
        actions: list[dict[str, Any]] = self.source.data["actions"]
        return actions


@dataclass(frozen=True)
class AppliedOverlay:
    """What one overlay did: per action, how many nodes its target selected."""

    path: Path
    matches: tuple[int, ...]


def overlay_files(directory: Path) -> list[Path]:
    """Overlay documents of a vendor in application order (`NN-<quirk>.yaml`; codegen.yaml is config)."""
    if not directory.is_dir():
        return []
    return sorted(p for p in directory.glob("*.yaml") if p.name[:2].isdigit())


@functools.cache
def _checks_identity() -> str:
    code = hashlib.sha256(Path(__file__).read_bytes() + _SCHEMA_TEXT.encode()).hexdigest()
    return f"{code} jsonschema {version('jsonschema')} jsonpath-rfc9535 {version('jsonpath-rfc9535')}"


def _valid_key(text: str) -> str:
    """What "this overlay text is valid" depends on: the text, the schema, this module's checks and the
    validators' versions (for yamlio.known / remember, with yamlio's cache folder)."""
    return f"{_checks_identity()}\n{text}"


def load_overlay(path: Path) -> Overlay:
    """Load and validate one overlay document; problems name the file, line and action.

    An overlay text found valid before is not validated again when yamlio's cache is on (scanwire
    generate); only "valid" is remembered."""
    doc = load_yaml(path, "overlay")
    if yamlio.known("overlay-valid", _valid_key(doc.text)):
        return Overlay(doc)
    import jsonschema  # imported here: an overlay known valid needs no validator

    errors = list(jsonschema.Draft202012Validator(_SCHEMA).iter_errors(doc.data))
    problems = [doc.problem(list(e.absolute_path), e.message, "overlay") for e in errors]
    for i, action in enumerate(doc.data.get("actions") or []):
        if not isinstance(action, dict):
            continue
        kinds = [k for k in ("update", "remove", "copy") if k in action and action[k] is not False]
        if len(kinds) != 1:
            problems.append(
                doc.problem(
                    ["actions", i],
                    f"action {i} (target {action.get('target')!r}) must have exactly one of "
                    f"update / remove: true / copy (found {kinds or 'none'})",
                    "overlay",
                )
            )
        if "copy" in action and not str(doc.data.get("overlay", "")).startswith("1.1"):
            problems.append(doc.problem(["actions", i, "copy"], "copy needs overlay: 1.1.x", "overlay"))
        target = action.get("target")
        if isinstance(target, str):
            try:
                jsonpath.compile(target)
            except jsonpath.JSONPathError as exc:
                problems.append(
                    doc.problem(
                        ["actions", i, "target"],
                        f"action {i}: invalid JSONPath {target!r}: {exc}",
                        "jsonpath",
                    )
                )
    if problems:
        raise SourceError(problems)
    yamlio.remember("overlay-valid", _valid_key(doc.text))
    return Overlay(doc)


def _merge(target: Any, update: Any) -> Any:
    """Overlay `update` semantics: objects merge recursively, anything else replaces."""
    if isinstance(target, dict) and isinstance(update, dict):
        for key, value in update.items():
            target[key] = _merge(target[key], value) if key in target else copy_module.deepcopy(value)
        return target
    return copy_module.deepcopy(update)


def _parent_and_key(doc: Any, location: Sequence[str | int]) -> tuple[Any, str | int]:
    node = doc
    for step in location[:-1]:
        node = node[step]
    return node, location[-1]


def _apply_action(doc: dict[str, Any], overlay: Overlay, index: int, action: dict[str, Any]) -> int:
    target = action["target"]
    where = ["actions", index, "target"]
    nodes = list(jsonpath.find(target, doc))
    if not nodes:
        raise SourceError(
            [overlay.source.problem(where, f"action {index}: target {target!r} matches nothing", "no-match")]
        )
    if action.get("remove"):
        # Remove deepest-last so earlier removals do not shift later array indexes.
        for node in sorted(nodes, key=lambda n: n.location, reverse=True):
            if not node.location:
                raise SourceError(
                    [overlay.source.problem(where, f"action {index}: cannot remove the root", "overlay")]
                )
            parent, key = _parent_and_key(doc, node.location)
            del parent[key]
        return len(nodes)
    if "copy" in action:
        sources = list(jsonpath.find(action["copy"], doc))
        if len(sources) != 1:
            raise SourceError(
                [
                    overlay.source.problem(
                        ["actions", index, "copy"],
                        f"action {index}: copy source {action['copy']!r} must match exactly one node, "
                        f"matched {len(sources)}",
                        "no-match",
                    )
                ]
            )
        value = copy_module.deepcopy(sources[0].value)
    else:
        value = action["update"]
    for node in nodes:
        if isinstance(node.value, list):
            node.value.append(copy_module.deepcopy(value))
        elif isinstance(node.value, dict):
            if not isinstance(value, dict):
                raise SourceError(
                    [
                        overlay.source.problem(
                            ["actions", index],
                            f"action {index}: target {target!r} is an object; update must be one too",
                            "overlay",
                        )
                    ]
                )
            _merge(node.value, value)
        else:
            raise SourceError(
                [
                    overlay.source.problem(
                        where,
                        f"action {index}: target {target!r} selects a {type(node.value).__name__}; "
                        "Overlay updates objects and arrays — target the parent object instead",
                        "overlay",
                    )
                ]
            )
    return len(nodes)


AfterAction = Callable[[Overlay, int, dict[str, Any]], None]


def apply_overlays(
    spec: dict[str, Any], overlays: Sequence[Overlay], after_action: AfterAction | None = None
) -> tuple[dict[str, Any], list[AppliedOverlay]]:
    """A new document: `spec` with every overlay applied in order. The input is not modified.

    `after_action(overlay, index, doc)` runs after each action; it may raise to stop (used to find
    the action that made a document invalid).
    """
    doc = copy_module.deepcopy(spec)
    applied: list[AppliedOverlay] = []
    for overlay in overlays:
        matches = []
        for i, action in enumerate(overlay.actions):
            matches.append(_apply_action(doc, overlay, i, action))
            if after_action is not None:
                after_action(overlay, i, doc)
        applied.append(AppliedOverlay(overlay.path, tuple(matches)))
    return doc, applied
