"""Spec changes -> breaking-change report and semantic version, from the generated client's view.

Engine: oasdiff (maintained, Go) ships as GitHub/Homebrew/Docker binaries, none reachable here; Debian
has neither it nor a Go newer than 1.19 to build it, npm's @pb33f/openapi-changes fetches a release
binary on install, PyPI has no maintained engine (swagger-diff 0.1.1: 2020, Swagger 2.0) and deepdiff
is not a dependency. So: plain recursion over the two resolved documents. The rules would be ours
anyway: open enums make a new value a feature; operationIds, first tags and schema names name code.

Each rule is a row of `RULES` (id -> kind -> the check function that reports it); checks are small
named functions run in table order (`DOCUMENT_CHECKS`, `OPERATION_CHECKS`, `SCHEMA_CHECKS`).
A named schema is compared once per direction it is used in (request, response; unreachable ones as
responses), so a change to `ScanTaskModel` is reported once however many operations return it.
Not considered: code that constructs response models by hand (a new required response field is a
feature here) and static typing of response unions (a new documented status code is a feature).
"""

from __future__ import annotations

import json
import subprocess
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

import yaml

from scanwire.jsonvalues import json_type
from scanwire.specs import HTTP_METHODS
from scanwire.yamlio import loads_yaml

__all__ = [
    "KINDS",
    "RULES",
    "Change",
    "DiffError",
    "Rule",
    "bump",
    "bump_level",
    "classify",
    "default_base_ref",
    "load_resolved_at_ref",
    "render_changelog_entry",
    "rules",
]

Kind = Literal["breaking", "feature", "fix"]
Direction = Literal["request", "response"]
KINDS: tuple[Kind, ...] = ("breaking", "feature", "fix")
RESOLVED_PATH = "generated/{vendor}/openapi.resolved.yaml"


class DiffError(Exception):
    """A git ref or a resolved spec at that ref could not be read; the message says which and why."""


@dataclass(frozen=True)
class Change:
    """One classified difference between two resolved specs."""

    kind: Kind  # "breaking" | "feature" | "fix"
    rule: str  # a RULES id, e.g. "response-field-removed"
    where: str  # "GET /scans/{scanId} 200 $.data.tests", "schema ScanTaskModel.State", "servers"
    message: str  # one readable line

    def sort_key(self) -> tuple[int, str, str, str]:
        return (KINDS.index(self.kind), self.where, self.rule, self.message)


@dataclass(frozen=True)
class Rule:
    """One row of the rule table: what a rule id means for the generated client and who reports it."""

    id: str
    kind: Kind
    check: str
    why: str


# fmt: off
RULES: tuple[Rule, ...] = (
    # operations: generated modules are api/<first tag>/<snake operationId>.py
    Rule("operation-removed", "breaking", "check_operations", "its generated function disappears"),
    Rule("operation-added", "feature", "check_operations", "a new generated function"),
    Rule("operation-moved", "breaking", "check_operations",
         "same operationId, other METHOD/path: the function sends another request (path args follow)"),
    Rule("operation-renamed", "breaking", "check_operation_id", "operationId names the module and function"),
    Rule("operation-tag-changed", "breaking", "check_operation_tag", "the first tag names the api/ package"),
    Rule("deprecated", "feature", "check_deprecated", "newly deprecated: still works, announced removal"),
    Rule("parameter-removed", "breaking", "check_parameters", "a keyword argument disappears"),
    Rule("parameter-added-required", "breaking", "check_parameters", "callers must pass a new argument"),
    Rule("parameter-added-optional", "feature", "check_parameters", "a new optional keyword argument"),
    Rule("parameter-became-required", "breaking", "check_parameters", "an optional argument is now required"),
    Rule("parameter-became-optional", "feature", "check_parameters", "a required argument is now optional"),
    Rule("request-body-removed", "breaking", "check_request_body", "the `body` argument disappears"),
    Rule("request-body-added-required", "breaking", "check_request_body", "callers must pass a new `body`"),
    Rule("request-body-added-optional", "feature", "check_request_body", "a new optional `body` argument"),
    Rule("request-body-became-required", "breaking", "check_request_body", "`body` is now required"),
    Rule("request-body-became-optional", "feature", "check_request_body", "`body` is now optional"),
    Rule("media-type-removed", "breaking", "check_content", "a body type the client sends or parses is gone"),
    Rule("media-type-added", "feature", "check_content", "another body type is accepted or answered"),
    Rule("response-status-removed", "breaking", "check_responses",
         "a parsed variant disappears; with raise_on_unexpected_status the status now raises"),
    Rule("response-status-added", "feature", "check_responses", "a newly documented answer is parsed"),
    Rule("response-headers-changed", "fix", "check_responses", "generated clients do not model headers"),
    Rule("security-changed", "breaking", "check_operation_security",
         "an operation needs other credentials than before"),
    Rule("security-scheme-changed", "breaking", "check_security_schemes",
         "a scheme the runtime authenticates with is removed or works differently"),
    Rule("security-scheme-added", "feature", "check_security_schemes", "a new way to authenticate"),
    Rule("server-added", "feature", "check_servers", "a new documented base URL in spec_data"),
    Rule("server-changed", "fix", "check_servers",
         "Client(base_url=...) is always explicit; servers only feed defaults, which follow the vendor"),
    # schemas: component names are generated class names
    Rule("schema-removed", "breaking", "check_schemas", "a generated class disappears"),
    Rule("schema-added", "feature", "check_schemas", "a new generated class"),
    Rule("schema-renamed", "breaking", "check_schemas", "same shape, new class name: imports break"),
    Rule("type-changed", "breaking", "check_type", "the generated attribute/argument type changes"),
    Rule("response-field-removed", "breaking", "check_properties", "code reading the attribute breaks"),
    Rule("response-field-added", "feature", "check_properties", "a new attribute"),
    Rule("response-field-no-longer-required", "breaking", "check_properties",
         "no longer guaranteed: the attribute may be UNSET"),
    Rule("response-field-became-required", "feature", "check_properties", "now always present"),
    Rule("response-field-became-nullable", "breaking", "check_nullable",
         "no longer guaranteed: the value may be None"),
    Rule("response-field-no-longer-nullable", "feature", "check_nullable", "now never None"),
    Rule("request-field-removed", "breaking", "check_properties", "a constructor argument disappears"),
    Rule("request-field-added-required", "breaking", "check_properties", "callers must pass a new field"),
    Rule("request-field-added-optional", "feature", "check_properties", "a new optional field"),
    Rule("request-field-became-required", "breaking", "check_properties", "callers must now pass the field"),
    Rule("request-field-became-optional", "feature", "check_properties", "the field may now be left out"),
    Rule("request-field-became-nullable", "feature", "check_nullable", "None is now accepted"),
    Rule("request-field-no-longer-nullable", "breaking", "check_nullable", "None is no longer accepted"),
    Rule("request-default-changed", "breaking", "check_default",
         "the client sends another value where callers pass nothing"),
    Rule("enum-value-added", "feature", "check_enum",
         "open enums (str_enum.py.jinja) keep unknown values, so old clients read it as UNKNOWN"),
    Rule("enum-value-removed", "breaking", "check_enum", "code naming the member fails with AttributeError"),
    Rule("enum-member-renamed", "breaking", "check_enum",
         "x-enum-varnames names the generated members: code naming the old member fails"),
    Rule("union-variant-removed", "breaking", "check_union", "a union member (often a class) disappears"),
    Rule("response-union-variant-added", "breaking", "check_union",
         "the client may get a shape it cannot parse"),
    Rule("request-union-variant-added", "feature", "check_union", "one more shape may be sent"),
    Rule("additional-properties-closed", "breaking", "check_additional_properties",
         "the `additional_properties` mapping disappears"),
    Rule("additional-properties-opened", "feature", "check_additional_properties",
         "extra keys are kept in `additional_properties`"),
    Rule("constraint-changed", "fix", "check_constraints",
         "pattern/length/range/format-without-type: generated clients do not validate them"),
    Rule("docs-changed", "fix", "check_docs", "description, summary, examples, tags beyond the first, x-*"),
    Rule("lifecycle-changed", "fix", "check_lifecycle",
         "x-scanwire-lifecycle feeds the runtime's polling; signatures are unchanged"),
    Rule("other-changed", "fix", "classify", "the documents differ where no rule looks; patch to be safe"),
)
# fmt: on
_KIND: dict[str, Kind] = {rule.id: rule.kind for rule in RULES}

_DOC_KEYS = frozenset({"description", "summary", "title", "example", "examples", "externalDocs", "$comment"})
_CONSTRAINT_KEYS = (
    "pattern", "minLength", "maxLength", "minimum", "maximum", "exclusiveMinimum", "exclusiveMaximum",
    "multipleOf", "minItems", "maxItems", "uniqueItems", "minProperties", "maxProperties", "const",
    "contentMediaType", "contentEncoding", "readOnly", "writeOnly", "format",
)  # fmt: skip
# Formats openapi-python-client 0.29 turns into another Python type; other formats stay `str`/`int`.
_TYPED_FORMATS = {"date-time": "datetime", "date": "date", "binary": "File", "uuid": "UUID"}
_SCHEMA_PREFIX = "#/components/schemas/"
_LIFECYCLE = "x-scanwire-lifecycle"


# -- context and locations ------------------------------------------------------------------------


@dataclass(frozen=True)
class _Loc:
    """Where a schema sits: `schema Name.field[]` inside a component, `GET /p 200 $.a.b` inline."""

    prefix: str
    path: str = ""
    named: bool = False

    def child(self, suffix: str) -> _Loc:
        return _Loc(self.prefix, self.path + suffix, self.named)

    def __str__(self) -> str:
        if self.named or not self.path:
            return self.prefix + self.path
        return f"{self.prefix} ${self.path}"


@dataclass
class _Ctx:
    old: dict[str, Any]
    new: dict[str, Any]
    renames: dict[str, str] = field(default_factory=dict)  # old schema name -> new schema name
    changes: dict[tuple[str, str, str], Change] = field(default_factory=dict)
    queue: list[tuple[str, str, Direction]] = field(default_factory=list)
    seen: set[tuple[str, str, Direction]] = field(default_factory=set)

    def emit(self, rule: str, where: object, message: str) -> None:
        key = (rule, str(where), message)
        self.changes.setdefault(key, Change(_KIND[rule], rule, str(where), message))

    def same_schema(self, old_name: str, new_name: str) -> bool:
        return self.renames.get(old_name, old_name) == new_name

    def enqueue(self, old_name: str, new_name: str, direction: Direction) -> None:
        item = (old_name, new_name, direction)
        if item not in self.seen:
            self.seen.add(item)
            self.queue.append(item)


@dataclass(frozen=True)
class _Pair:
    """One schema position seen in both documents (null already split off, refs already followed)."""

    old: dict[str, Any]
    new: dict[str, Any]
    loc: _Loc
    direction: Direction


def _pointer(doc: dict[str, Any], ref: str) -> Any:
    if not ref.startswith("#/"):
        raise ValueError(f"only local $refs are supported in a resolved spec, found {ref!r}")
    node: Any = doc
    for raw in ref[2:].split("/"):
        part = raw.replace("~1", "/").replace("~0", "~")
        node = node[int(part)] if isinstance(node, list) else node[part]
    return node


def _deref(doc: dict[str, Any], node: Any) -> Any:
    """Follow `$ref` chains; siblings of a `$ref` (3.1 allows description beside it) win."""
    seen: set[str] = set()
    while isinstance(node, dict) and isinstance(node.get("$ref"), str):
        ref = node["$ref"]
        if ref in seen:
            raise ValueError(f"$ref cycle at {ref}")
        seen.add(ref)
        target = _pointer(doc, ref)
        siblings = {k: v for k, v in node.items() if k != "$ref"}
        node = {**target, **siblings} if isinstance(target, dict) else target
    return node


def _is_doc_key(key: str) -> bool:
    return key in _DOC_KEYS or key.startswith("x-")


def _docs_diff(old: dict[str, Any], new: dict[str, Any], skip: Iterable[str] = ()) -> list[str]:
    keys = {k for k in (*old, *new) if isinstance(k, str) and _is_doc_key(k)} - set(skip)
    return sorted(k for k in keys if old.get(k) != new.get(k))


def _schemas(doc: dict[str, Any]) -> dict[str, Any]:
    return dict((doc.get("components") or {}).get("schemas") or {})


def _show(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False, sort_keys=True)


# -- schema helpers -------------------------------------------------------------------------------


def _ref_name(schema: dict[str, Any]) -> str | None:
    ref = schema.get("$ref")
    if isinstance(ref, str) and ref.startswith(_SCHEMA_PREFIX):
        return ref[len(_SCHEMA_PREFIX) :].replace("~1", "/").replace("~0", "~")
    return None


def _is_null(schema: Any) -> bool:
    return isinstance(schema, dict) and schema.get("type") == "null" and "$ref" not in schema


def _split_null(schema: dict[str, Any]) -> tuple[dict[str, Any], bool]:
    """(schema without its null alternative, whether null was allowed) for every 3.1 spelling."""
    core = dict(schema)
    nullable = False
    types = core.get("type")
    if isinstance(types, list) and "null" in types:
        nullable = True
        rest = [t for t in types if t != "null"]
        if len(rest) == 1:
            core["type"] = rest[0]
        elif rest:
            core["type"] = rest
        else:
            del core["type"]
    for key in ("anyOf", "oneOf"):
        variants = core.get(key)
        if isinstance(variants, list) and any(_is_null(v) for v in variants):
            nullable = True
            rest = [v for v in variants if not _is_null(v)]
            del core[key]
            if len(rest) == 1 and isinstance(rest[0], dict):
                inner, _ = _split_null(rest[0])  # the outer null already counts
                core = {**core, **inner}
            elif rest:
                core[key] = rest
    enum = core.get("enum")
    if isinstance(enum, list) and None in enum:
        nullable = True
        core["enum"] = [v for v in enum if v is not None]
    return core, nullable


def _types(schema: dict[str, Any]) -> frozenset[str]:
    """JSON types a (null-free, ref-free) schema allows; empty means any."""
    declared = schema.get("type")
    if isinstance(declared, str):
        return frozenset({declared})
    if isinstance(declared, list):
        return frozenset(declared) - {"null"}
    if "properties" in schema or "additionalProperties" in schema or "allOf" in schema:
        return frozenset({"object"})
    if "items" in schema:
        return frozenset({"array"})
    if isinstance(schema.get("enum"), list):
        return frozenset(json_type(v) for v in schema["enum"])
    if "const" in schema:
        return frozenset({json_type(schema["const"])})
    if "anyOf" in schema or "oneOf" in schema:
        return frozenset({"union"})
    return frozenset()


def _generates_class(doc: dict[str, Any], schema: Any) -> bool:
    """Whether openapi-python-client makes a class of it (objects and enums; not unions or aliases)."""
    core, _ = _split_null(_deref(doc, schema)) if isinstance(schema, dict) else ({}, False)
    return "enum" in core or "object" in _types(core)


def _describe(schema: dict[str, Any]) -> str:
    name = _ref_name(schema)
    if name:
        return name
    types = sorted(_types(schema)) or ["any"]
    text = " | ".join(types)
    if "enum" in schema:
        text += " enum"
    fmt = schema.get("format")
    return f"{text} ({fmt})" if fmt else text


def _object_parts(
    doc: dict[str, Any], schema: dict[str, Any], seen: frozenset[str] = frozenset()
) -> tuple[dict[str, Any], set[str]]:
    """Properties and required names with allOf flattened, as the generator merges them."""
    props: dict[str, Any] = {}
    required: set[str] = set()
    for member in schema.get("allOf") or []:
        name = _ref_name(member) if isinstance(member, dict) else None
        if name in seen:
            continue
        resolved = _deref(doc, member)
        if isinstance(resolved, dict):
            sub_props, sub_required = _object_parts(doc, resolved, seen | ({name} if name else set()))
            props.update(sub_props)
            required |= sub_required
    props.update(schema.get("properties") or {})
    required |= set(schema.get("required") or [])
    return props, required


def _variants(schema: dict[str, Any], renames: dict[str, str]) -> dict[str, Any]:
    variants = schema.get("anyOf") or schema.get("oneOf") or []
    out: dict[str, Any] = {}
    for i, variant in enumerate(variants):
        if not isinstance(variant, dict):
            continue
        name = _ref_name(variant)
        key = renames.get(name, name) if name else " | ".join(sorted(_types(variant))) or f"#{i}"
        out[key if key not in out else f"{key}#{i}"] = variant
    return out


# -- schema checks --------------------------------------------------------------------------------
# Each takes one _Pair and reports through ctx.emit; `_compare_schema` runs them in table order.


def check_type(ctx: _Ctx, pair: _Pair) -> bool:
    """Types, typed formats and enum-ness must match; True stops the deeper checks."""
    old_types, new_types = _types(pair.old), _types(pair.new)
    old_fmt = _TYPED_FORMATS.get(str(pair.old.get("format")))
    new_fmt = _TYPED_FORMATS.get(str(pair.new.get("format")))
    if old_types != new_types or old_fmt != new_fmt or ("enum" in pair.old) != ("enum" in pair.new):
        message = f"type changes from {_describe(pair.old)} to {_describe(pair.new)}"
        ctx.emit("type-changed", pair.loc, message)
        return True
    return False


def check_nullable(ctx: _Ctx, old_null: bool, new_null: bool, loc: _Loc, direction: Direction) -> None:
    """null allowed or not: a response value that may become None is no longer guaranteed."""
    if old_null == new_null:
        return
    state = "became-nullable" if new_null else "no-longer-nullable"
    ctx.emit(f"{direction}-field-{state}", loc, "may now be null" if new_null else "may no longer be null")


def check_enum(ctx: _Ctx, pair: _Pair) -> None:
    """Enum members: added ones are read as they are by open enums, removed ones break references."""
    if "enum" not in pair.old or "enum" not in pair.new:
        return
    old = {_show(v): v for v in pair.old["enum"]}
    new = {_show(v): v for v in pair.new["enum"]}
    for key in sorted(new.keys() - old.keys()):
        ctx.emit("enum-value-added", pair.loc, f"enum value {key} added")
    for key in sorted(old.keys() - new.keys()):
        ctx.emit("enum-value-removed", pair.loc, f"enum value {key} removed")
    old_names = dict(zip(map(_show, pair.old["enum"]), pair.old.get("x-enum-varnames") or [], strict=False))
    new_names = dict(zip(map(_show, pair.new["enum"]), pair.new.get("x-enum-varnames") or [], strict=False))
    renamed = [
        f"{key}: {old_names.get(key, '(derived)')} -> {new_names.get(key, '(derived)')}"
        for key in sorted(old.keys() & new.keys())
        if old_names.get(key) != new_names.get(key)
    ]
    if renamed:
        ctx.emit("enum-member-renamed", pair.loc, "generated members renamed: " + "; ".join(renamed))


def check_properties(ctx: _Ctx, pair: _Pair) -> None:
    """Fields of an object (allOf flattened): removed, added, required or not; recurse into each."""
    if "object" not in _types(pair.old):
        return
    old_props, old_req = _object_parts(ctx.old, pair.old)
    new_props, new_req = _object_parts(ctx.new, pair.new)
    side = pair.direction
    for name in sorted(old_props.keys() - new_props.keys()):
        ctx.emit(f"{side}-field-removed", pair.loc.child(f".{name}"), f"field `{name}` removed")
    for name in sorted(new_props.keys() - old_props.keys()):
        required = name in new_req
        if side == "response":
            rule = "response-field-added"
        else:
            rule = "request-field-added-required" if required else "request-field-added-optional"
        label = "required" if required else "optional"
        ctx.emit(rule, pair.loc.child(f".{name}"), f"field `{name}` added ({label})")
    for name in sorted(old_props.keys() & new_props.keys()):
        loc = pair.loc.child(f".{name}")
        was, now = name in old_req, name in new_req
        if was and not now:
            rule = (
                "response-field-no-longer-required" if side == "response" else "request-field-became-optional"
            )
            ctx.emit(rule, loc, f"field `{name}` is no longer required")
        elif now and not was:
            rule = "response-field-became-required" if side == "response" else "request-field-became-required"
            ctx.emit(rule, loc, f"field `{name}` became required")
        _compare_schema(ctx, old_props[name], new_props[name], loc, side)
    for old_member, new_member in zip(pair.old.get("allOf") or [], pair.new.get("allOf") or [], strict=False):
        old_name = _ref_name(old_member) if isinstance(old_member, dict) else None
        new_name = _ref_name(new_member) if isinstance(new_member, dict) else None
        if old_name and new_name and ctx.same_schema(old_name, new_name):
            ctx.enqueue(old_name, new_name, side)


def check_additional_properties(ctx: _Ctx, pair: _Pair) -> None:
    """`additionalProperties: false` removes the generated `additional_properties` mapping."""
    if "object" not in _types(pair.old):
        return
    old = pair.old.get("additionalProperties", True)
    new = pair.new.get("additionalProperties", True)
    if (old is False) != (new is False):
        rule = "additional-properties-closed" if new is False else "additional-properties-opened"
        ctx.emit(rule, pair.loc, "extra keys no longer allowed" if new is False else "extra keys now allowed")
    elif old is not False and old != new:
        _compare_schema(
            ctx, {} if old is True else old, {} if new is True else new, pair.loc.child(".*"), pair.direction
        )


def check_items(ctx: _Ctx, pair: _Pair) -> None:
    """Array items compare like any other schema, one level down."""
    if "array" in _types(pair.old):
        _compare_schema(
            ctx, pair.old.get("items", {}), pair.new.get("items", {}), pair.loc.child("[]"), pair.direction
        )


def check_union(ctx: _Ctx, pair: _Pair) -> None:
    """anyOf/oneOf members (null aside), matched by $ref name or type."""
    old, new = _variants(pair.old, ctx.renames), _variants(pair.new, {})
    if not old and not new:
        return
    for key in sorted(old.keys() - new.keys()):
        ctx.emit("union-variant-removed", pair.loc, f"union member {key} removed")
    for key in sorted(new.keys() - old.keys()):
        ctx.emit(f"{pair.direction}-union-variant-added", pair.loc, f"union member {key} added")
    for key in sorted(old.keys() & new.keys()):
        _compare_schema(ctx, old[key], new[key], pair.loc.child(f"<{key}>"), pair.direction)


def check_default(ctx: _Ctx, pair: _Pair) -> None:
    """A changed default of something the client sends changes what callers who pass nothing send."""
    if pair.old.get("default") == pair.new.get("default"):
        return
    both = "default" in pair.old and "default" in pair.new
    message = f"default changes from {_show(pair.old.get('default'))} to {_show(pair.new.get('default'))}"
    ctx.emit(
        "request-default-changed" if both and pair.direction == "request" else "constraint-changed",
        pair.loc,
        message,
    )


def check_constraints(ctx: _Ctx, pair: _Pair) -> None:
    """Validation keywords the generated client does not enforce."""
    changed = [k for k in _CONSTRAINT_KEYS if pair.old.get(k) != pair.new.get(k)]
    if changed:
        ctx.emit("constraint-changed", pair.loc, f"{', '.join(changed)} changed")


def check_deprecated(ctx: _Ctx, pair: _Pair) -> None:
    _deprecation(ctx, pair.old, pair.new, pair.loc)


def check_docs(ctx: _Ctx, pair: _Pair) -> None:
    _docs(ctx, pair.old, pair.new, pair.loc, skip=("x-enum-varnames",))


SchemaCheck = Callable[[_Ctx, _Pair], None]
SCHEMA_CHECKS: tuple[SchemaCheck, ...] = (
    check_enum,
    check_properties,
    check_additional_properties,
    check_items,
    check_union,
    check_default,
    check_constraints,
    check_deprecated,
    check_docs,
)


def _deprecation(ctx: _Ctx, old: dict[str, Any], new: dict[str, Any], where: object) -> None:
    if new.get("deprecated") is True and old.get("deprecated") is not True:
        ctx.emit("deprecated", where, "deprecated")
    elif old.get("deprecated") is True and new.get("deprecated") is not True:
        ctx.emit("docs-changed", where, "no longer deprecated")


def _docs(
    ctx: _Ctx, old: dict[str, Any], new: dict[str, Any], where: object, skip: Iterable[str] = ()
) -> None:
    keys = _docs_diff(old, new, skip)
    if keys:
        ctx.emit("docs-changed", where, f"{', '.join(keys)} changed")


def _compare_schema(ctx: _Ctx, old: Any, new: Any, loc: _Loc, direction: Direction) -> None:
    """Compare one schema position; named components are queued, not descended into."""
    if not isinstance(old, dict) or not isinstance(new, dict):
        if old != new:
            ctx.emit("type-changed", loc, f"schema changes from {_show(old)} to {_show(new)}")
        return
    old_core, old_null = _split_null(old)
    new_core, new_null = _split_null(new)
    check_nullable(ctx, old_null, new_null, loc, direction)
    old_ref, new_ref = _ref_name(old_core), _ref_name(new_core)
    if old_ref or new_ref:
        if old_ref and new_ref and ctx.same_schema(old_ref, new_ref):
            ctx.enqueue(old_ref, new_ref, direction)
            _docs(ctx, old_core, new_core, loc)
            return
        if (old_ref and _generates_class(ctx.old, old_core)) or (
            new_ref and _generates_class(ctx.new, new_core)
        ):
            ctx.emit("type-changed", loc, f"type changes from {_describe(old_core)} to {_describe(new_core)}")
            return
        # A primitive alias (Guid) is inlined by the generator: compare what it stands for.
        _compare_schema(ctx, _deref(ctx.old, old_core), _deref(ctx.new, new_core), loc, direction)
        return
    pair = _Pair(old_core, new_core, loc, direction)
    if check_type(ctx, pair):
        return
    for check in SCHEMA_CHECKS:
        check(ctx, pair)


# -- operation checks -----------------------------------------------------------------------------


@dataclass(frozen=True)
class _Op:
    method: str
    path: str
    op: dict[str, Any]
    params: dict[tuple[str, str], dict[str, Any]]

    @property
    def where(self) -> str:
        return f"{self.method} {self.path}"

    @property
    def op_id(self) -> str | None:
        value = self.op.get("operationId")
        return str(value) if value else None


def _operations(doc: dict[str, Any]) -> dict[tuple[str, str], _Op]:
    out: dict[tuple[str, str], _Op] = {}
    for path, raw_item in (doc.get("paths") or {}).items():
        item = _deref(doc, raw_item)
        if not isinstance(item, dict):
            continue
        for method, op in item.items():
            if method not in HTTP_METHODS or not isinstance(op, dict):
                continue
            params: dict[tuple[str, str], dict[str, Any]] = {}
            for raw in [*(item.get("parameters") or []), *(op.get("parameters") or [])]:
                param = _deref(doc, raw)
                if isinstance(param, dict):
                    params[(str(param.get("in")), str(param.get("name")))] = param
            out[(method.upper(), path)] = _Op(method.upper(), path, op, params)
    return out


def _first_tag(op: _Op) -> str:
    tags = op.op.get("tags") or []
    return str(tags[0]) if tags else "default"


def check_operation_id(ctx: _Ctx, old: _Op, new: _Op) -> None:
    """The operationId names the generated module and function."""
    if old.op_id != new.op_id:
        ctx.emit("operation-renamed", new.where, f"operationId changes from {old.op_id} to {new.op_id}")


def check_operation_tag(ctx: _Ctx, old: _Op, new: _Op) -> None:
    """The first tag names the package the module lives in; the other tags are documentation."""
    if _first_tag(old) != _first_tag(new):
        message = f"module moves from api/{_first_tag(old)}/ to api/{_first_tag(new)}/ (first tag)"
        ctx.emit("operation-tag-changed", new.where, message)
    elif (old.op.get("tags") or []) != (new.op.get("tags") or []):
        ctx.emit("docs-changed", new.where, "tags changed")


def check_operation_docs(ctx: _Ctx, old: _Op, new: _Op) -> None:
    _deprecation(ctx, old.op, new.op, new.where)
    _docs(ctx, old.op, new.op, new.where)


def check_parameters(ctx: _Ctx, old: _Op, new: _Op) -> None:
    """Parameters are keyword arguments of the generated function, keyed by (in, name)."""
    for key in sorted(old.params.keys() - new.params.keys()):
        ctx.emit(
            "parameter-removed", f"{new.where} {key[0]} parameter {key[1]}", f"parameter `{key[1]}` removed"
        )
    for key in sorted(new.params.keys() - old.params.keys()):
        required = bool(new.params[key].get("required"))
        rule = "parameter-added-required" if required else "parameter-added-optional"
        label = "required" if required else "optional"
        ctx.emit(rule, f"{new.where} {key[0]} parameter {key[1]}", f"parameter `{key[1]}` added ({label})")
    for key in sorted(old.params.keys() & new.params.keys()):
        was, now = old.params[key], new.params[key]
        where = f"{new.where} {key[0]} parameter {key[1]}"
        if bool(now.get("required")) and not was.get("required"):
            ctx.emit("parameter-became-required", where, f"parameter `{key[1]}` became required")
        elif was.get("required") and not now.get("required"):
            ctx.emit("parameter-became-optional", where, f"parameter `{key[1]}` became optional")
        _deprecation(ctx, was, now, where)
        _docs(ctx, was, now, where)
        _compare_schema(ctx, _param_schema(was), _param_schema(now), _Loc(where), "request")


def _param_schema(param: dict[str, Any]) -> Any:
    if "schema" in param:
        return param["schema"]
    for media in (param.get("content") or {}).values():
        if isinstance(media, dict):
            return media.get("schema", {})
    return {}


def check_content(
    ctx: _Ctx, old: dict[str, Any], new: dict[str, Any], where: str, direction: Direction
) -> None:
    """Media types of a body: removed, added, and the schema of each one kept."""
    old_content = old.get("content") or {}
    new_content = new.get("content") or {}
    for media in sorted(old_content.keys() - new_content.keys()):
        ctx.emit("media-type-removed", where, f"{direction} media type {media} removed")
    for media in sorted(new_content.keys() - old_content.keys()):
        ctx.emit("media-type-added", where, f"{direction} media type {media} added")
    several = len(old_content) > 1 or len(new_content) > 1
    for media in sorted(old_content.keys() & new_content.keys()):
        old_media = _deref(ctx.old, old_content[media]) or {}
        new_media = _deref(ctx.new, new_content[media]) or {}
        loc = _Loc(f"{where} {media}" if several else where)
        _docs(ctx, old_media, new_media, loc)
        _compare_schema(ctx, old_media.get("schema", {}), new_media.get("schema", {}), loc, direction)


def check_request_body(ctx: _Ctx, old: _Op, new: _Op) -> None:
    """The request body is the `body` argument; required-ness is its default."""
    old_body = _deref(ctx.old, old.op.get("requestBody"))
    new_body = _deref(ctx.new, new.op.get("requestBody"))
    where = f"{new.where} request body"
    if not isinstance(old_body, dict) and not isinstance(new_body, dict):
        return
    if not isinstance(old_body, dict):
        required = bool(new_body.get("required"))
        rule = "request-body-added-required" if required else "request-body-added-optional"
        ctx.emit(rule, where, f"request body added ({'required' if required else 'optional'})")
        return
    if not isinstance(new_body, dict):
        ctx.emit("request-body-removed", where, "request body removed")
        return
    if new_body.get("required") and not old_body.get("required"):
        ctx.emit("request-body-became-required", where, "request body became required")
    elif old_body.get("required") and not new_body.get("required"):
        ctx.emit("request-body-became-optional", where, "request body became optional")
    _docs(ctx, old_body, new_body, where)
    check_content(ctx, old_body, new_body, where, "request")


def check_responses(ctx: _Ctx, old: _Op, new: _Op) -> None:
    """Status codes are the variants of `Response.parsed`; each body is read as a response."""
    old_responses = {str(k): v for k, v in (old.op.get("responses") or {}).items()}
    new_responses = {str(k): v for k, v in (new.op.get("responses") or {}).items()}
    for status in sorted(old_responses.keys() - new_responses.keys()):
        ctx.emit("response-status-removed", f"{new.where} {status}", f"response {status} removed")
    for status in sorted(new_responses.keys() - old_responses.keys()):
        ctx.emit("response-status-added", f"{new.where} {status}", f"response {status} added")
    for status in sorted(old_responses.keys() & new_responses.keys()):
        was = _deref(ctx.old, old_responses[status]) or {}
        now = _deref(ctx.new, new_responses[status]) or {}
        where = f"{new.where} {status}"
        old_headers = {k: _deref(ctx.old, v) for k, v in (was.get("headers") or {}).items()}
        new_headers = {k: _deref(ctx.new, v) for k, v in (now.get("headers") or {}).items()}
        if old_headers != new_headers:
            changed = sorted(
                k for k in old_headers.keys() | new_headers.keys() if old_headers.get(k) != new_headers.get(k)
            )
            ctx.emit("response-headers-changed", where, f"headers {', '.join(changed)} changed")
        _docs(ctx, was, now, where)
        check_content(ctx, was, now, where, "response")


def _security(doc: dict[str, Any], op: dict[str, Any]) -> list[list[tuple[str, tuple[str, ...]]]]:
    requirements = op["security"] if "security" in op else doc.get("security") or []
    return [sorted((str(k), tuple(sorted(v or []))) for k, v in (req or {}).items()) for req in requirements]


def check_operation_security(ctx: _Ctx, old: _Op, new: _Op) -> None:
    """The effective security requirements (operation's own, else the document's)."""
    before, after = _security(ctx.old, old.op), _security(ctx.new, new.op)
    if before != after:
        ctx.emit("security-changed", new.where, f"security changes from {_show(before)} to {_show(after)}")


OperationCheck = Callable[[_Ctx, _Op, _Op], None]
OPERATION_CHECKS: tuple[OperationCheck, ...] = (
    check_operation_id,
    check_operation_tag,
    check_operation_docs,
    check_parameters,
    check_request_body,
    check_responses,
    check_operation_security,
)


# -- document checks ------------------------------------------------------------------------------


def check_operations(ctx: _Ctx) -> None:
    """Match operations by METHOD+path, then by operationId (moved); compare each matched pair."""
    old_ops, new_ops = _operations(ctx.old), _operations(ctx.new)
    pairs = [(old_ops[k], new_ops[k]) for k in sorted(old_ops.keys() & new_ops.keys())]
    gone = sorted(old_ops.keys() - new_ops.keys())
    came = sorted(new_ops.keys() - old_ops.keys())
    came_by_id = {new_ops[k].op_id: k for k in came if new_ops[k].op_id}
    for key in list(gone):
        op_id = old_ops[key].op_id
        if op_id and op_id in came_by_id:
            target = came_by_id.pop(op_id)
            old, new = old_ops[key], new_ops[target]
            ctx.emit("operation-moved", new.where, f"`{op_id}` moves from {old.where} to {new.where}")
            pairs.append((old, new))
            gone.remove(key)
            came.remove(target)
    for key in gone:
        ctx.emit(
            "operation-removed",
            old_ops[key].where,
            f"operation {old_ops[key].op_id or old_ops[key].where} removed",
        )
    for key in came:
        ctx.emit(
            "operation-added",
            new_ops[key].where,
            f"operation {new_ops[key].op_id or new_ops[key].where} added",
        )
    for old, new in pairs:
        for check in OPERATION_CHECKS:
            check(ctx, old, new)


def _shape(node: Any) -> Any:
    """A schema without its documentation, to recognise a renamed schema."""
    if isinstance(node, dict):
        return {k: _shape(v) for k, v in node.items() if not (isinstance(k, str) and _is_doc_key(k))}
    if isinstance(node, list):
        return [_shape(v) for v in node]
    return node


def _schema_renames(old: dict[str, Any], new: dict[str, Any]) -> dict[str, str]:
    """old name -> new name for class-generating schemas that vanished and reappeared, same shape, once."""
    old_schemas, new_schemas = _schemas(old), _schemas(new)
    gone = [
        n for n in sorted(old_schemas.keys() - new_schemas.keys()) if _generates_class(old, old_schemas[n])
    ]
    came = [
        n for n in sorted(new_schemas.keys() - old_schemas.keys()) if _generates_class(new, new_schemas[n])
    ]
    renames: dict[str, str] = {}
    for name in gone:
        matches = [c for c in came if _shape(new_schemas[c]) == _shape(old_schemas[name])]
        if (
            len(matches) == 1
            and sum(_shape(old_schemas[g]) == _shape(new_schemas[matches[0]]) for g in gone) == 1
        ):
            renames[name] = matches[0]
    return renames


def check_schemas(ctx: _Ctx) -> None:
    """Component schemas: renamed/removed/added classes, then each one compared in the direction(s)
    the operations use it (queued by check_operations); unreachable ones are compared as responses."""
    old_schemas, new_schemas = _schemas(ctx.old), _schemas(ctx.new)
    for old_name, new_name in sorted(ctx.renames.items()):
        ctx.emit("schema-renamed", f"schema {new_name}", f"schema {old_name} renamed to {new_name}")
    for name in sorted(old_schemas.keys() - new_schemas.keys() - ctx.renames.keys()):
        if _generates_class(ctx.old, old_schemas[name]):
            ctx.emit("schema-removed", f"schema {name}", f"schema {name} removed")
    for name in sorted(new_schemas.keys() - old_schemas.keys() - set(ctx.renames.values())):
        if _generates_class(ctx.new, new_schemas[name]):
            ctx.emit("schema-added", f"schema {name}", f"schema {name} added")
    pairs = [(n, n) for n in sorted(old_schemas.keys() & new_schemas.keys())] + sorted(ctx.renames.items())
    while True:
        while ctx.queue:
            old_name, new_name, direction = ctx.queue.pop(0)
            if old_name in old_schemas and new_name in new_schemas:
                loc = _Loc(f"schema {new_name}", named=True)
                _compare_schema(ctx, old_schemas[old_name], new_schemas[new_name], loc, direction)
        reached = {(o, n) for o, n, _ in ctx.seen}
        orphans = [p for p in pairs if p not in reached]
        if not orphans:
            break
        for old_name, new_name in orphans:
            ctx.enqueue(old_name, new_name, "response")


def check_servers(ctx: _Ctx) -> None:
    """Servers only feed defaults (spec_data); the generated Client always takes base_url explicitly.
    A new server is a new documented choice (feature); a removed/changed one follows the vendor (fix)."""
    old = [s for s in ctx.old.get("servers") or [] if isinstance(s, dict)]
    new = [s for s in ctx.new.get("servers") or [] if isinstance(s, dict)]
    old_by_url = {str(s.get("url")): s for s in old}
    new_by_url = {str(s.get("url")): s for s in new}
    added = [str(s.get("url")) for s in new if str(s.get("url")) not in old_by_url]
    removed = [str(s.get("url")) for s in old if str(s.get("url")) not in new_by_url]
    # A URL replaced in place (removed one, added one) is the vendor's server moving, not a new choice.
    for old_url, new_url in zip(removed, added, strict=False):
        ctx.emit("server-changed", "servers", f"server {old_url} changes to {new_url}")
    for url in added[len(removed) :]:
        ctx.emit("server-added", "servers", f"server {url} added")
    for url in removed[len(added) :]:
        ctx.emit("server-changed", "servers", f"server {url} removed")
    if old and new and str(old[0].get("url")) in new_by_url and old[0].get("url") != new[0].get("url"):
        ctx.emit(
            "server-changed",
            "servers",
            f"default server changes from {old[0].get('url')} to {new[0].get('url')}",
        )
    for url in sorted(old_by_url.keys() & new_by_url.keys()):
        was, now = old_by_url[url], new_by_url[url]
        if _shape(was.get("variables")) != _shape(now.get("variables")):
            ctx.emit("server-changed", f"server {url}", "variables changed")
        _docs(ctx, was, now, f"server {url}")


def check_security_schemes(ctx: _Ctx) -> None:
    """components.securitySchemes: the runtime authenticates with them."""
    old = (ctx.old.get("components") or {}).get("securitySchemes") or {}
    new = (ctx.new.get("components") or {}).get("securitySchemes") or {}
    for name in sorted(old.keys() - new.keys()):
        ctx.emit("security-scheme-changed", f"security scheme {name}", f"security scheme {name} removed")
    for name in sorted(new.keys() - old.keys()):
        ctx.emit("security-scheme-added", f"security scheme {name}", f"security scheme {name} added")
    for name in sorted(old.keys() & new.keys()):
        was, now = _deref(ctx.old, old[name]), _deref(ctx.new, new[name])
        if _shape(was) != _shape(now):
            keys = sorted(k for k in set(was) | set(now) if not _is_doc_key(k) and was.get(k) != now.get(k))
            ctx.emit("security-scheme-changed", f"security scheme {name}", f"{', '.join(keys)} changed")
        _docs(ctx, was, now, f"security scheme {name}")


def check_lifecycle(ctx: _Ctx) -> None:
    """x-scanwire-lifecycle drives the runtime's polling and normalized states."""
    old, new = ctx.old.get(_LIFECYCLE), ctx.new.get(_LIFECYCLE)
    if old != new:
        keys = sorted(k for k in {*(old or {}), *(new or {})} if (old or {}).get(k) != (new or {}).get(k))
        ctx.emit("lifecycle-changed", _LIFECYCLE, f"{', '.join(keys) or 'lifecycle'} changed")


def check_document_docs(ctx: _Ctx) -> None:
    """info, top-level tags, externalDocs and x-* (the lifecycle aside)."""
    old_info, new_info = ctx.old.get("info") or {}, ctx.new.get("info") or {}
    changed = sorted(k for k in {*old_info, *new_info} if old_info.get(k) != new_info.get(k))
    if changed:
        ctx.emit("docs-changed", "info", f"{', '.join(changed)} changed")
    for key in ("tags", "externalDocs"):
        if ctx.old.get(key) != ctx.new.get(key):
            ctx.emit("docs-changed", key, f"{key} changed")
    _docs(ctx, ctx.old, ctx.new, "document", skip=(_LIFECYCLE,))


DocumentCheck = Callable[[_Ctx], None]
# Order matters: check_operations queues the schemas each operation uses, check_schemas drains the queue.
DOCUMENT_CHECKS: tuple[DocumentCheck, ...] = (
    check_document_docs,
    check_servers,
    check_security_schemes,
    check_lifecycle,
    check_operations,
    check_schemas,
)


# -- public API -----------------------------------------------------------------------------------


def classify(old: dict[str, Any], new: dict[str, Any]) -> list[Change]:
    """Every change from `old` to `new` (two resolved OpenAPI 3.1 documents), classified from the
    generated client's point of view; sorted breaking, feature, fix, then by `where`. Empty: identical."""
    ctx = _Ctx(old, new, renames=_schema_renames(old, new))
    for check in DOCUMENT_CHECKS:
        check(ctx)
    if not ctx.changes and old != new:
        ctx.emit("other-changed", "document", "the documents differ where no rule looks")
    return sorted(ctx.changes.values(), key=Change.sort_key)


def bump_level(changes: Iterable[Change], tools_changed: bool) -> Literal["major", "minor", "patch"] | None:
    """The semver part to bump: major for breaking, minor for feature, patch for fixes or a generator,
    template or pipeline upgrade alone; None when nothing changed."""
    kinds = {c.kind for c in changes}
    if "breaking" in kinds:
        return "major"
    if "feature" in kinds:
        return "minor"
    if "fix" in kinds or tools_changed:
        return "patch"
    return None


def bump(version: str, changes: Iterable[Change], tools_changed: bool) -> str:
    """The next `MAJOR.MINOR.PATCH` after `version`, strict semver also below 1.0: a breaking change
    turns 0.3.1 into 1.0.0, because release-check and pip pins (`~=0.3`) must see it as breaking."""
    parts = version.split(".")
    if len(parts) != 3 or not all(p.isdigit() for p in parts):
        raise ValueError(f"not a MAJOR.MINOR.PATCH version: {version!r}")
    major, minor, patch = (int(p) for p in parts)
    level = bump_level(changes, tools_changed)
    if level == "major":
        return f"{major + 1}.0.0"
    if level == "minor":
        return f"{major}.{minor + 1}.0"
    if level == "patch":
        return f"{major}.{minor}.{patch + 1}"
    return f"{major}.{minor}.{patch}"


_HEADINGS: dict[Kind, str] = {"breaking": "Breaking", "feature": "Features", "fix": "Fixes"}


def render_changelog_entry(version: str, changes: Iterable[Change]) -> str:
    """One Markdown section per release (no dates, deterministic order); ends with a newline."""
    ordered = sorted(changes, key=Change.sort_key)
    lines = [f"## {version}", ""]
    if not ordered:
        lines += [
            "### Fixes",
            "",
            "- No API change: regenerated after a generator, template or pipeline upgrade.",
            "",
        ]
    for kind in KINDS:
        group = [c for c in ordered if c.kind == kind]
        if group:
            lines += [f"### {_HEADINGS[kind]}", ""]
            lines += [f"- `{c.where}`: {c.message} ({c.rule})" for c in group]
            lines.append("")
    return "\n".join(lines)


def _git(repo_root: Path, *args: str) -> subprocess.CompletedProcess[bytes]:
    try:
        return subprocess.run(["git", "-C", str(repo_root), *args], capture_output=True, check=False)
    except FileNotFoundError:
        raise DiffError("git is not installed (needed to read the spec at a git ref)") from None


def load_resolved_at_ref(repo_root: Path, ref: str, vendor: str) -> dict[str, Any] | None:
    """The resolved spec of `vendor` as committed at `ref`; None when that commit has none (a vendor
    older than the ref's tree). DiffError when the ref is unknown or the file is not a YAML mapping."""
    if not ref or ref.startswith("-"):
        raise DiffError(f"not a git ref: {ref!r}")
    found = _git(repo_root, "rev-parse", "--verify", "--quiet", f"{ref}^{{commit}}")
    if found.returncode != 0:
        raise DiffError(
            f"unknown git ref {ref!r} in {repo_root}: give a tag ({vendor}-client-v1.2.0), branch or commit"
        )
    commit = found.stdout.decode().strip()
    path = RESOLVED_PATH.format(vendor=vendor)
    if _git(repo_root, "cat-file", "-e", f"{commit}:{path}").returncode != 0:
        return None
    shown = _git(repo_root, "show", f"{commit}:{path}")
    if shown.returncode != 0:
        raise DiffError(f"git show {ref}:{path} failed: {shown.stderr.decode(errors='replace').strip()}")
    try:
        # The same loader as the working tree's (timestamps stay strings), so equal files compare equal.
        data = loads_yaml(shown.stdout.decode("utf-8"))
    except (UnicodeDecodeError, yaml.YAMLError) as exc:
        raise DiffError(f"{ref}:{path} is not readable YAML: {exc}") from None
    if not isinstance(data, dict):
        raise DiffError(f"{ref}:{path} is not a mapping")
    return data


def default_base_ref(repo_root: Path, vendor: str | None = None) -> str:
    """The last release reachable from HEAD: tag `<vendor>-client-v*` (when a vendor is given), else
    `v*`, else "HEAD" (compare the working tree with the last commit)."""
    patterns = ([f"{vendor}-client-v*"] if vendor else []) + ["v*"]
    for pattern in patterns:
        found = _git(repo_root, "describe", "--tags", "--abbrev=0", "--match", pattern, "HEAD")
        if found.returncode == 0 and found.stdout.strip():
            return found.stdout.decode().strip()
    return "HEAD"


def rules() -> Iterator[Rule]:
    """The rule table, for `scanwire diff --rules` and documentation."""
    yield from RULES
