"""A compiled check for the simplest requests: operations whose only inputs are path and query
parameters of scalar (or form-exploded array) schemas — a status poll, a list page.

openapi-core walks the spec, builds casters and unmarshallers and resolves `$ref`s for every request:
about 300 µs of a 450 µs status poll, and its verdict cache (validation.py) misses when a client polls
many different scans. Here each such operation's parameters are read once from the spec; a request is
then cast and validated with the same schema validator class and format checker openapi-core uses
(openapi-schema-validator's OAS 3.1 validator), compiled once per parameter.

It only ever says "valid, and these are the typed values": anything it is not sure to read exactly as
openapi-core would (an empty, signed or percent-encoded value, a value its schema refuses, a missing
required parameter, a body) returns None and the request goes through openapi-core, which words the
problems. tests/emulators/test_fastcheck.py compares both on every operation that qualifies.
"""

from __future__ import annotations

import copy
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qsl
from uuid import UUID

from openapi_schema_validator import OAS31Validator, oas31_format_checker

__all__ = ["FastCheck", "compile_fast_checks"]

_SCALARS = ("string", "integer", "boolean")
# Formats openapi-core hands over unchanged (validation.py's _KEEP_AS_SENT), or as the int it is anyway.
_FORMATS = frozenset({"uuid", "date-time", "date", "uri", "email", "time", "int32", "int64"})
_KEYWORDS = frozenset(
    {"type", "format", "pattern", "enum", "const", "minimum", "maximum", "exclusiveMinimum",
     "exclusiveMaximum", "minLength", "maxLength", "default", "description", "examples", "example",
     "title", "items", "minItems", "maxItems", "uniqueItems"}
)  # fmt: skip
_PARAM_KEYS = frozenset({"name", "in", "required", "schema", "description", "examples", "example",
                         "style", "explode", "allowEmptyValue", "deprecated"})  # fmt: skip
_SAFE = re.compile(r"^[A-Za-z0-9._~-]+$")  # a value no decoding or tolerance can change
_INTEGER = re.compile(r"^(0|[1-9][0-9]{0,17})$")
# A pattern that reads the same in ECMA-262 (the validator's `regress`) and Python's `re` on a _SAFE
# value (ASCII, no newline): anchors, literal characters and classes of them, counted repetitions.
_SIMPLE_PATTERN = re.compile(r"\^?(?:(?:\[[A-Za-z0-9-]+\]|[A-Za-z0-9_-])(?:\{\d+(?:,\d+)?\}|[*+?])?)*\$?")
_IGNORED = frozenset({"type", "default", "description", "examples", "example", "title"})


@dataclass(frozen=True)
class _Param:
    name: str
    where: str  # path | query
    required: bool
    kind: str  # string | integer | boolean
    array: bool
    validator: Any
    default: Any
    has_default: bool
    # The validator's verdict as a plain predicate, for the schemas it is sure to agree on (_predicate).
    is_valid: Callable[[Any], bool]

    def cast(self, raw: str) -> Any:
        """The typed value, or None when the text is not one this check reads exactly."""
        if not _SAFE.match(raw):
            return None
        if self.kind == "string":
            return raw
        if self.kind == "integer":
            return int(raw) if _INTEGER.match(raw) else None
        return {"true": True, "false": False}.get(raw)


class FastCheck:
    """The compiled parameters of one operation."""

    def __init__(self, template: str, prefixes: list[str], params: list[_Param]) -> None:
        self.template = template
        self.prefixes = prefixes
        self.path = [p for p in params if p.where == "path"]
        self.query = {p.name: p for p in params if p.where == "query"}

    def check(
        self, url_path: str, path_params: Mapping[str, str], query_string: str, body: bytes
    ) -> tuple[dict[str, Any], dict[str, Any]] | None:
        """(typed path parameters, typed query parameters) when the request is valid; else None.

        `url_path` must be exactly a server prefix + the template with the parameters filled in: a
        path the router tolerated (doubled or trailing slashes) is left to openapi-core."""
        if body:
            return None
        filled = self.template
        for name, text in path_params.items():
            filled = filled.replace("{" + name + "}", text)
        if not any(url_path == prefix + filled for prefix in self.prefixes):
            return None
        path: dict[str, Any] = {}
        for param in self.path:
            raw = path_params.get(param.name)
            value = None if raw is None else param.cast(raw)
            if value is None or not param.is_valid(value):
                return None
            path[param.name] = value
        sent: dict[str, list[str]] = {}
        if query_string:
            for name, raw in parse_qsl(query_string, keep_blank_values=True):
                if name in self.query:
                    sent.setdefault(name, []).append(raw)
        query: dict[str, Any] = {}
        for name, param in self.query.items():
            raws = sent.get(name)
            if raws is None:
                if param.required:
                    return None
                if param.has_default:
                    query[name] = copy.deepcopy(param.default)
                continue
            values = [param.cast(raw) for raw in raws]
            if any(v is None for v in values):
                return None
            # openapi-core keeps the last of a repeated scalar, every one of an exploded array.
            value = values if param.array else values[-1]
            if not param.is_valid(value):
                return None
            query[name] = value
        return path, query


def compile_fast_checks(spec: Mapping[str, Any], prefixes: list[str]) -> dict[str, FastCheck]:
    """`METHOD /path` -> FastCheck for every operation of `spec` (the validation copy) that qualifies;
    `prefixes`: the servers' path parts the operation's path may follow."""
    out: dict[str, FastCheck] = {}
    for path, item in (spec.get("paths") or {}).items():
        if not isinstance(item, dict):
            continue
        shared = item.get("parameters") or []
        for method, op in item.items():
            if method in ("parameters", "summary", "description", "servers") or not isinstance(op, dict):
                continue
            check = _compile(spec, shared, op, str(path), prefixes)
            if check is not None:
                out[f"{method.upper()} {path}"] = check
    return out


def _compile(
    spec: Mapping[str, Any], shared: list[Any], op: Mapping[str, Any], template: str, prefixes: list[str]
) -> FastCheck | None:
    if "requestBody" in op:
        return None
    merged: dict[tuple[str, str], dict[str, Any]] = {}
    for raw in [*shared, *(op.get("parameters") or [])]:
        param = _resolve(spec, raw)
        if not isinstance(param, dict) or "name" not in param or "in" not in param:
            return None
        merged[(param["name"], param["in"])] = param  # the operation's own wins
    params = []
    for param in merged.values():
        compiled = _param(spec, param)
        if compiled is None:
            return None
        params.append(compiled)
    return FastCheck(template, prefixes, params)


def _param(spec: Mapping[str, Any], param: dict[str, Any]) -> _Param | None:
    where = param["in"]
    if where not in ("path", "query") or set(param) - _PARAM_KEYS - {k for k in param if k.startswith("x-")}:
        return None
    schema = _inline(spec, param.get("schema"))
    if not isinstance(schema, dict) or not _plain(schema):
        return None
    array = schema.get("type") == "array"
    item = schema.get("items") if array else schema
    if array:
        style, explode = param.get("style", "form"), param.get("explode", True)
        if where != "query" or style != "form" or explode is not True or not isinstance(item, dict):
            return None
        if not _plain(item) or item.get("type") == "array":
            return None
    elif param.get("style", "simple" if where == "path" else "form") != (
        "simple" if where == "path" else "form"
    ):
        return None
    kind = item.get("type") if isinstance(item, dict) else None
    if kind not in _SCALARS:
        return None
    validator = OAS31Validator(schema, format_checker=oas31_format_checker)
    return _Param(
        name=str(param["name"]),
        where=where,
        required=bool(param.get("required", where == "path")),
        kind=str(kind),
        array=array,
        validator=validator,
        default=schema.get("default"),
        has_default="default" in schema,
        is_valid=(None if array else _predicate(schema, str(kind))) or validator.is_valid,
    )


def _predicate(schema: dict[str, Any], kind: str) -> Callable[[Any], bool] | None:
    """The validator's verdict on a cast value (a str of _SAFE characters, an int or a bool) as a few
    comparisons, when every keyword of `schema` is one written here; else None (the validator decides).
    jsonschema walks its keywords for each value: ~10 of a status poll's ~80 µs."""
    keys = {k for k in schema if not k.startswith("x-")} - _IGNORED
    if keys - {"format", "pattern", "enum", "minimum", "maximum", "minLength", "maxLength"}:
        return None
    fmt, pattern, enum = schema.get("format"), schema.get("pattern"), schema.get("enum")
    low, high = schema.get("minimum"), schema.get("maximum")
    shortest, longest = schema.get("minLength"), schema.get("maxLength")
    if kind == "string":
        if low is not None or high is not None or fmt not in (None, "uuid"):
            return None
        if pattern is not None and not (isinstance(pattern, str) and _SIMPLE_PATTERN.fullmatch(pattern)):
            return None
        if enum is not None and not all(isinstance(e, str) for e in enum):
            return None
        if not all(isinstance(n, int) and not isinstance(n, bool) for n in (shortest or 0, longest or 0)):
            return None
        compiled = re.compile(pattern) if pattern is not None else None
        choices = frozenset(enum) if enum is not None else None

        def string_ok(value: Any) -> bool:
            return (
                (choices is None or value in choices)
                and (shortest is None or len(value) >= shortest)
                and (longest is None or len(value) <= longest)
                and (compiled is None or compiled.search(value) is not None)
                and (fmt is None or _is_uuid(value))
            )

        return string_ok
    if kind == "integer":
        if enum is not None or pattern is not None or shortest is not None or longest is not None:
            return None
        if not all(isinstance(n, int | float) and not isinstance(n, bool) for n in (low or 0, high or 0)):
            return None
        bits = {None: None, "int32": 31, "int64": 63}
        if fmt not in bits:
            return None
        width = bits[fmt]

        def integer_ok(value: Any) -> bool:
            return (
                (low is None or value >= low)
                and (high is None or value <= high)
                and (width is None or ~(1 << width) < value < 1 << width)
            )

        return integer_ok
    return None if keys else (lambda _value: True)  # a plain boolean


def _is_uuid(value: str) -> bool:
    """jsonschema's `uuid` format check."""
    try:
        UUID(value)
    except ValueError:
        return False
    return all(value[position] == "-" for position in (8, 13, 18, 23))


def _plain(schema: dict[str, Any]) -> bool:
    keys = {k for k in schema if not k.startswith("x-")}
    return keys <= _KEYWORDS and ("format" not in schema or schema["format"] in _FORMATS)


def _resolve(spec: Mapping[str, Any], node: Any, depth: int = 0) -> Any:
    """A local `$ref` followed (a few levels); anything else as is."""
    while isinstance(node, dict) and "$ref" in node and depth < 8:
        ref = node["$ref"]
        if not isinstance(ref, str) or not ref.startswith("#/") or len(node) > 1:
            return None
        target: Any = spec
        for part in ref[2:].split("/"):
            part = part.replace("~1", "/").replace("~0", "~")
            if not isinstance(target, Mapping) or part not in target:
                return None
            target = target[part]
        node, depth = target, depth + 1
    return node if depth < 8 else None


def _inline(spec: Mapping[str, Any], schema: Any) -> Any:
    """The schema with its `$ref`s (and its items') replaced by their targets; None when one cannot be."""
    schema = _resolve(spec, schema)
    if not isinstance(schema, dict):
        return None
    if "items" in schema:
        items = _inline(spec, schema["items"])
        if items is None:
            return None
        schema = {**schema, "items": items}
    return schema
