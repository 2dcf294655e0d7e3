"""Walk a JSON value beside the spec schema that describes it, keeping where each schema node lives.

Both the drift comparison (what does this answer break?) and the emulators' drift injection (change
one field of this answer) need the same thing: for each part of a JSON value, the schema node of the
resolved spec that describes it, as a location in the document (`['components', 'schemas', 'Scan']`),
so that a proposed overlay can target exactly that node. `$ref`s are followed (the location moves to
the referenced node); `allOf` parts are read together; of `anyOf`/`oneOf` the first branch the value
fits is taken.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import jsonschema

from scanwire.jsonvalues import json_type

__all__ = [
    "Node",
    "deref",
    "fits",
    "json_type",
    "jsonpath_of",
    "object_parts",
    "schema_types",
    "walk_objects",
]

Loc = tuple[str | int, ...]


def deref(doc: dict[str, Any], schema: Any, loc: Loc) -> tuple[Any, Loc]:
    """Follow local `$ref`s (at most 32, a cycle stops there) to the node they name and its location."""
    for _ in range(32):
        if not (isinstance(schema, dict) and isinstance(schema.get("$ref"), str)):
            break
        ref = schema["$ref"]
        if not ref.startswith("#/"):
            break
        parts = tuple(p.replace("~1", "/").replace("~0", "~") for p in ref[2:].split("/"))
        node: Any = doc
        for part in parts:
            if not isinstance(node, dict) or part not in node:
                return schema, loc
            node = node[part]
        schema, loc = node, parts
    return schema, loc


def schema_types(schema: dict[str, Any]) -> set[str] | None:
    """The types a schema allows (None: it does not say); `integer` values also satisfy `number`."""
    declared = schema.get("type")
    if isinstance(declared, str):
        types = {declared}
    elif isinstance(declared, list):
        types = {str(t) for t in declared}
    else:
        return None
    if schema.get("nullable") is True:  # 3.0 documents quoted inside 3.1 ones
        types.add("null")
    return types


def type_fits(value: Any, types: set[str]) -> bool:
    kind = json_type(value)
    return kind in types or (kind == "integer" and "number" in types)


def fits(doc: dict[str, Any], schema: Any, value: Any) -> bool:
    """Whether `value` is valid against `schema`, with the document as the `$ref` base (3.1 dialect)."""
    try:
        wrapper = {**doc, **(schema if isinstance(schema, dict) else {})}
        return bool(jsonschema.Draft202012Validator(wrapper).is_valid(value))
    except Exception:  # an unresolvable `$ref` or a schema jsonschema rejects: not a fit
        return False


def choose_branch(doc: dict[str, Any], schema: dict[str, Any], loc: Loc, value: Any) -> tuple[Any, Loc]:
    """For an `anyOf`/`oneOf` schema: the first branch `value` is valid against (else one of its type)."""
    for key in ("anyOf", "oneOf"):
        branches = schema.get(key)
        if not isinstance(branches, list):
            continue
        resolved = [deref(doc, b, (*loc, key, i)) for i, b in enumerate(branches)]
        for (branch, where), raw in zip(resolved, branches, strict=True):
            if fits(doc, raw, value):
                return branch, where
        for branch, where in resolved:
            types = schema_types(branch) if isinstance(branch, dict) else None
            if types is not None and type_fits(value, types) and json_type(value) != "null":
                return branch, where
    return schema, loc


@dataclass(frozen=True)
class Part:
    """One schema node an object's properties are read from (the object itself or an `allOf` part)."""

    schema: dict[str, Any]
    loc: Loc


def object_parts(doc: dict[str, Any], schema: dict[str, Any], loc: Loc) -> list[Part]:
    """The schema and its `allOf` parts, dereferenced: together they say an object's properties."""
    out = [Part(schema, loc)]
    for i, raw in enumerate(schema.get("allOf") or []):
        part, where = deref(doc, raw, (*loc, "allOf", i))
        if isinstance(part, dict):
            out.extend(object_parts(doc, part, where))
    return out


@dataclass(frozen=True)
class Node:
    """A JSON value and the schema node describing it.

    `slot` is where the (un-dereferenced) schema sits in its parent — the `properties.<name>` entry or
    `items` — so that a proposal can replace it; `loc` is where the dereferenced schema lives; `path` is
    the value's place in the answer (`$.items[0].state`).
    """

    value: Any
    schema: dict[str, Any]
    loc: Loc
    slot: Loc
    path: str


def resolve_node(doc: dict[str, Any], raw: Any, slot: Loc, value: Any, path: str) -> Node | None:
    schema, loc = deref(doc, raw, slot)
    if not isinstance(schema, dict):
        return None
    schema, loc = choose_branch(doc, schema, loc, value)
    return Node(value, schema, loc, slot, path)


def children(doc: dict[str, Any], node: Node, max_items: int = 50) -> Iterator[Node]:
    """The described parts of a value: each property with a schema, each array item (the first 50)."""
    value = node.value
    if isinstance(value, dict):
        for part in object_parts(doc, node.schema, node.loc):
            props = part.schema.get("properties")
            if not isinstance(props, dict):
                continue
            for name, raw in props.items():
                if name in value:
                    child = resolve_node(
                        doc, raw, (*part.loc, "properties", name), value[name], f"{node.path}.{name}"
                    )
                    if child is not None:
                        yield child
    elif isinstance(value, list):
        raw_items = node.schema.get("items")
        if raw_items is None:
            return
        for i, item in enumerate(value[:max_items]):
            child = resolve_node(doc, raw_items, (*node.loc, "items"), item, f"{node.path}[{i}]")
            if child is not None:
                yield child


def walk_objects(doc: dict[str, Any], root: Node, max_depth: int = 8) -> Iterator[Node]:
    """Every node below and including `root`, breadth first (shallow fields first), bounded in depth."""
    level = [root]
    for _ in range(max_depth):
        following: list[Node] = []
        for node in level:
            yield node
            following.extend(children(doc, node))
        if not following:
            return
        level = following


def jsonpath_of(loc: Loc) -> str:
    """An RFC 9535 normalized path (`$['paths']['/scans']['get']`) naming a location of the document."""
    out = ["$"]
    for part in loc:
        if isinstance(part, int):
            out.append(f"[{part}]")
        else:
            escaped = str(part).replace("\\", "\\\\").replace("'", "\\'")
            out.append(f"['{escaped}']")
    return "".join(out)
