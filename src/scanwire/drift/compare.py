"""One observed exchange against the resolved spec: which operation it was and how it departs from it.

The verdict comes from two places. openapi-core, through the emulators' own `SpecValidator`, says
whether the request and the answer match the spec at all (the same validator, the same rules, as the
emulators' request validation). A walk of the answer beside its schema (`schemawalk`) then says *how*
it departs — by kind, at which field, against which schema node — because a proposal must name the
node to change. A departure openapi-core sees and the walk cannot classify is kept as kind `schema`.
"""

from __future__ import annotations

import copy
import hashlib
import json
import re
from collections import OrderedDict
from collections.abc import Mapping
from dataclasses import asdict, dataclass, field
from typing import Any

import jsonschema

from scanwire.drift.schemawalk import (
    Loc,
    Node,
    children,
    deref,
    fits,
    json_type,
    object_parts,
    resolve_node,
    schema_types,
    type_fits,
)
from scanwire.specs import iter_operations

__all__ = ["KINDS", "Deviation", "Exchange", "SpecComparer", "infer_schema"]

# Every kind of deviation, in report order.
KINDS = (
    "undocumented_status",
    "undocumented_content_type",
    "missing_required",
    "extra_field",
    "type_mismatch",
    "format_mismatch",
    "new_enum_value",
    "nullability",
    "header_undocumented",
    "header_missing",
    "schema",
    "request",
    "unknown_operation",
)
# Rate-limit and retry headers a client acts on: one appearing undocumented is drift worth a line.
_WATCHED_HEADERS = re.compile(r"^(x-)?(rate-?limit|ratelimit)|^retry-after$|^x-rate-limit", re.IGNORECASE)
_MAX_DEVIATIONS = 200  # per exchange: a hostile or wildly different answer stays a bounded report
_MAX_BODY = 4 * 1024 * 1024  # bodies larger than this are not decoded for comparison


@dataclass
class Exchange:
    """One request and its answer as the proxy saw them (bodies as bytes; `None`: not kept)."""

    method: str
    path: str  # path as sent, without the query
    query: str
    request_headers: list[tuple[str, str]]
    request_body: bytes
    status: int
    response_headers: list[tuple[str, str]]
    response_body: bytes | None
    time: float = 0.0

    def header(self, name: str, response: bool = True) -> str | None:
        for key, value in self.response_headers if response else self.request_headers:
            if key.lower() == name.lower():
                return value
        return None


@dataclass
class Deviation:
    """One departure from the spec; `proposal` holds what `drift propose` needs to fix it (no values)."""

    kind: str
    operation: str  # "GET /scans/{id}", or the raw "GET /path" when no operation matched
    status: int
    where: str  # "$.items[*].state", a header name, a media type
    message: str
    example: Any = None  # the offending value (redacted before it is written anywhere)
    proposal: dict[str, Any] = field(default_factory=dict)

    @property
    def key(self) -> tuple[str, str, int, str]:
        return (self.operation, self.kind, self.status, self.where)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def infer_schema(value: Any, depth: int = 4) -> dict[str, Any]:
    """A JSON Schema for one observed value: types and property names only, never the values."""
    kind = json_type(value)
    if kind == "object" and depth > 0:
        return {
            "type": "object",
            "properties": {str(k): infer_schema(v, depth - 1) for k, v in list(value.items())[:50]},
        }
    if kind == "array" and depth > 0:
        return {"type": "array", "items": infer_schema(value[0], depth - 1) if value else {}}
    if kind in ("object", "array"):
        return {"type": kind}
    return {"type": kind}


@dataclass
class _Op:
    key: str
    method: str
    regex: re.Pattern[str]
    params: int
    op: dict[str, Any]


_FORMATS = jsonschema.FormatChecker()


class SpecComparer:
    """Compares exchanges with one vendor's resolved spec."""

    def __init__(self, spec: dict[str, Any]) -> None:
        from conformance.emulators.core.validation import SpecValidator, server_prefixes

        self.spec = spec
        self.validator = SpecValidator(spec)
        self._ops: list[_Op] = []
        for method, path, op in iter_operations(spec):
            for prefix in server_prefixes(spec):
                # Server variables in the prefix (ThreadFix `{version}`) match any one segment.
                pattern = re.sub(r"\\{\w+\\}", "[^/]+", re.escape(prefix + path))
                self._ops.append(
                    _Op(f"{method} {path}", method, re.compile(f"^{pattern}/?$"), path.count("{"), op)
                )
        # Literal paths before templated ones: `/scans/list` is not `/scans/{id}`.
        self._ops.sort(key=lambda o: o.params)
        self._found: dict[tuple[str, str], _Op | None] = {}
        self._verdicts: OrderedDict[tuple[Any, ...], tuple[str, list[Deviation]]] = OrderedDict()

    def operation(self, method: str, path: str) -> _Op | None:
        key = (method.upper(), path)
        if key not in self._found:
            if len(self._found) >= 4096:  # bounded: fuzzed paths are mostly unique
                self._found.clear()
            self._found[key] = next(
                (o for o in self._ops if o.method == key[0] and o.regex.match(path)), None
            )
        return self._found[key]

    def compare(self, ex: Exchange) -> tuple[str, list[Deviation]]:
        """The operation key of the exchange and its deviations (at most a few hundred).

        A pure function of what it reads, so a verdict is kept per distinct exchange (a CI job polling
        a scan sends the same request and gets the same answer many times): the same request line,
        request header names and body, status, response headers and body get the first verdict again.
        """
        key = _exchange_key(ex)
        known = self._verdicts.get(key)
        if known is not None:
            self._verdicts.move_to_end(key)
            return known
        verdict = self._compare(ex)
        self._verdicts[key] = verdict
        if len(self._verdicts) > _VERDICTS_KEPT:
            self._verdicts.popitem(last=False)
        return verdict

    def _compare(self, ex: Exchange) -> tuple[str, list[Deviation]]:
        op = self.operation(ex.method, ex.path)
        if op is None:
            key = f"{ex.method.upper()} {ex.path}"
            return key, [Deviation("unknown_operation", key, ex.status, ex.path, "no operation of the spec")]
        out: list[Deviation] = []
        request, response = _starlette(ex)
        check = self.validator.check_request(request, ex.request_body)
        for finding in check.problems[:10]:
            out.append(Deviation("request", op.key, ex.status, "request", finding.message[:300]))
        out.extend(self._response(op, ex))
        if not any(d.kind in ("undocumented_status", "undocumented_content_type") for d in out):
            body_kinds = {d.kind for d in out} - {"request", "header_undocumented", "header_missing"}
            if not body_kinds and ex.response_body is not None:
                try:
                    problems = self.validator.check_response(request, ex.request_body, response)
                except Exception as exc:  # openapi-core on a body it cannot read: a finding, not a crash
                    problems = [f"{type(exc).__name__}: {exc}"]
                for problem in problems[:5]:
                    out.append(Deviation("schema", op.key, ex.status, "body", problem[:300]))
        return op.key, out[:_MAX_DEVIATIONS]

    def _response(self, op: _Op, ex: Exchange) -> list[Deviation]:
        responses = op.op.get("responses") or {}
        status = str(ex.status)
        base: Loc = ("paths", op.key.split(" ", 1)[1], op.method.lower(), "responses")
        name = next(
            (k for k in (status, f"{status[0]}XX", f"{status[0]}xx", "default") if k in responses), None
        )
        ctype = (ex.header("content-type") or "").split(";")[0].strip().lower()
        body = ex.response_body
        if name is None:
            return [
                Deviation(
                    "undocumented_status",
                    op.key,
                    ex.status,
                    status,
                    f"status {status} is not documented for {op.key}",
                    proposal={
                        "responses": list(base),
                        "content_type": ctype,
                        "schema": self._documented_schema(responses, ctype, body)
                        or _body_schema(ctype, body),
                    },
                )
            ]
        response, rloc = deref(self.spec, responses[name], (*base, name))
        out = self._headers(op, ex, response, rloc)
        content = response.get("content") or {}
        if not body and not content:
            return out
        media_name = next((m for m in (ctype, f"{ctype.split('/')[0]}/*", "*/*") if m and m in content), None)
        if media_name is None:
            if not body:
                return out
            out.append(
                Deviation(
                    "undocumented_content_type",
                    op.key,
                    ex.status,
                    ctype or "(none)",
                    f"{ctype or 'no content type'} is not documented for {op.key} {status}",
                    proposal={
                        "response": list(rloc),
                        "content_type": ctype,
                        "schema": _body_schema(ctype, body),
                    },
                )
            )
            return out
        if body is None or not _is_json(media_name) or len(body) > _MAX_BODY:
            return out
        try:
            value = json.loads(body) if body else None
        except (ValueError, RecursionError) as exc:  # a hostile nesting depth is a finding too
            out.append(Deviation("schema", op.key, ex.status, "body", f"body is not valid JSON: {exc}"))
            return out
        raw_schema = content[media_name].get("schema")
        if raw_schema is None or not body:
            return out
        root = resolve_node(self.spec, raw_schema, (*rloc, "content", media_name, "schema"), value, "$")
        if root is not None:
            self._walk(op, ex.status, root, out, 0)
        return out

    def _documented_schema(
        self, responses: dict[str, Any], ctype: str, body: bytes | None
    ) -> dict[str, Any] | None:
        """The schema of a documented answer (success ones first) the body is valid against, if any:
        an undocumented status code usually carries one of the documented bodies."""
        if not body or not _is_json(ctype) or len(body) > _MAX_BODY:
            return None
        try:
            value = json.loads(body)
        except (ValueError, RecursionError):
            return None
        for name in sorted(responses, key=lambda n: (not str(n).startswith("2"), str(n))):
            response, _ = deref(self.spec, responses[name], ())
            media = ((response or {}).get("content") or {}).get(ctype) or {}
            raw = media.get("schema")
            if isinstance(raw, dict) and fits(self.spec, raw, value):
                return copy.deepcopy(raw)
        return None

    def _headers(self, op: _Op, ex: Exchange, response: dict[str, Any], rloc: Loc) -> list[Deviation]:
        documented = {str(k).lower(): v for k, v in (response.get("headers") or {}).items()}
        out = []
        for name, value in ex.response_headers:
            if _WATCHED_HEADERS.search(name) and name.lower() not in documented:
                out.append(
                    Deviation(
                        "header_undocumented",
                        op.key,
                        ex.status,
                        name.lower(),
                        f"header {name} is not documented",
                        example=value,
                        proposal={"response": list(rloc), "header": name, "schema": _header_schema(value)},
                    )
                )
        sent = {k.lower() for k, _ in ex.response_headers}
        for name, header in (response.get("headers") or {}).items():
            header, _ = deref(self.spec, header, ())
            if isinstance(header, dict) and header.get("required") and str(name).lower() not in sent:
                out.append(
                    Deviation(
                        "header_missing",
                        op.key,
                        ex.status,
                        str(name).lower(),
                        f"required header {name} is missing",
                        proposal={"header_loc": [*rloc, "headers", name]},
                    )
                )
        return out

    def _walk(self, op: _Op, status: int, node: Node, out: list[Deviation], depth: int) -> None:
        if len(out) >= _MAX_DEVIATIONS or depth > 32:
            return
        value, schema = node.value, node.schema
        where = re.sub(r"\[\d+\]", "[*]", node.path)
        types = schema_types(schema)
        enum = schema.get("enum")
        if value is None:
            if (types is not None and "null" not in types) or (isinstance(enum, list) and None not in enum):
                out.append(
                    Deviation(
                        "nullability",
                        op.key,
                        status,
                        where,
                        f"{where} is null; the schema does not allow null",
                        example=None,
                        proposal={"slot": list(node.slot), "add": {"type": "null"}},
                    )
                )
            return
        if types is not None and not type_fits(value, types):
            out.append(
                Deviation(
                    "type_mismatch",
                    op.key,
                    status,
                    where,
                    f"{where} is {json_type(value)}; the schema says {' | '.join(sorted(types))}",
                    example=value if not isinstance(value, dict | list) else json_type(value),
                    proposal={"slot": list(node.slot), "add": infer_schema(value)},
                )
            )
            return
        if isinstance(enum, list) and value not in enum and not isinstance(value, dict | list):
            out.append(
                Deviation(
                    "new_enum_value",
                    op.key,
                    status,
                    where,
                    f"{where} = {value!r} is not one of the documented values",
                    example=value,
                    proposal={"enum": [*node.loc, "enum"], "value": value},
                )
            )
        fmt = schema.get("format")
        if isinstance(value, str) and isinstance(fmt, str) and not _FORMATS.conforms(value, fmt):
            out.append(
                Deviation(
                    "format_mismatch",
                    op.key,
                    status,
                    where,
                    f"{where} is not a valid {fmt}",
                    example=value,
                    proposal={"format": [*node.loc, "format"]},
                )
            )
        if isinstance(value, dict):
            self._object(op, status, node, where, out)
        for child in children(self.spec, node):
            self._walk(op, status, child, out, depth + 1)

    def _object(self, op: _Op, status: int, node: Node, where: str, out: list[Deviation]) -> None:
        value: Mapping[str, Any] = node.value
        known: set[str] = set()
        closed = False
        for part in object_parts(self.spec, node.schema, node.loc):
            props = part.schema.get("properties")
            if isinstance(props, dict):
                known.update(props)
                extra = part.schema.get("additionalProperties")
                closed = closed or not (extra is True or isinstance(extra, dict))
            for name in part.schema.get("required") or []:
                if name not in value:
                    out.append(
                        Deviation(
                            "missing_required",
                            op.key,
                            status,
                            f"{where}.{name}",
                            f"required field {name!r} is absent from {where}",
                            proposal={"required": [*part.loc, "required"], "field": name},
                        )
                    )
        if closed:
            for name in value:
                if name not in known:
                    out.append(
                        Deviation(
                            "extra_field",
                            op.key,
                            status,
                            f"{where}.{name}",
                            f"{where} has a field {name!r} the schema does not describe",
                            example=value[name] if not isinstance(value[name], dict | list) else None,
                            proposal={
                                "object": list(node.loc),
                                "field": name,
                                "schema": infer_schema(value[name]),
                            },
                        )
                    )


_VERDICTS_KEPT = 1024


def _exchange_key(ex: Exchange) -> tuple[Any, ...]:
    """Everything the comparison reads of an exchange, bodies hashed; header values are not read (but
    for content types): credentials differ per client and counters per answer."""
    digest = hashlib.blake2b(digest_size=16)
    digest.update(ex.request_body)
    digest.update(b"\0")
    digest.update(ex.response_body if ex.response_body is not None else b"\0none")
    return (
        ex.method.upper(),
        ex.path,
        ex.query,
        tuple(sorted(k.lower() for k, _ in ex.request_headers)),
        ex.header("content-type", response=False),
        ex.status,
        # Header names only (rate-limit counters change every answer; only their presence is read),
        # the content type with its value.
        tuple(sorted(k.lower() for k, _ in ex.response_headers)),
        ex.header("content-type"),
        ex.response_body is None,
        digest.digest(),
    )


def _is_json(media: str) -> bool:
    return media == "application/json" or media.endswith("+json") or media in ("*/*", "application/*")


def _body_schema(ctype: str, body: bytes | None) -> dict[str, Any]:
    if body and _is_json(ctype):
        try:
            return infer_schema(json.loads(body))
        except (ValueError, RecursionError):
            pass
    return {"type": "string"}


def _header_schema(value: str) -> dict[str, Any]:
    return {"type": "integer"} if value.strip().isdigit() else {"type": "string"}


def _starlette(ex: Exchange) -> tuple[Any, Any]:
    """The exchange as the Starlette request and response openapi-core's adapters read."""
    from starlette.requests import Request
    from starlette.responses import Response

    scope = {
        "type": "http",
        "method": ex.method.upper(),
        "path": ex.path,
        "raw_path": ex.path.encode(),
        "query_string": ex.query.encode(),
        "headers": [(k.lower().encode("latin-1"), v.encode("latin-1")) for k, v in ex.request_headers],
        "scheme": "http",
        "server": ("127.0.0.1", 80),
        "root_path": "",
    }
    headers = {
        k: v for k, v in ex.response_headers if k.lower() not in ("content-length", "transfer-encoding")
    }
    response = Response(ex.response_body or b"", status_code=ex.status, headers=headers)
    return Request(scope), response
