"""Drift injection: make an emulator answer the way a drifting real server would, per operation.

`POST /_emulator/drift {kind, operation, field?, value?, status?}` adds a rule; every later answer of
that operation is changed after its handler ran (and before response validation, which then records
the violation like a real server's):

- `extra_field`     a field the schema does not describe (`field`, default `driftExtra`; `value`)
- `enum_value`      an enum field gets a value the spec does not list (`value`, default `driftNewValue`)
- `type_change`     a scalar field changes JSON type (string -> integer, number -> string, ...)
- `null_value`      a field the schema does not let be null comes as null
- `status`          the answer comes with an undocumented status code (`status`, default 203)
- `remove_required` a required field is left out

The field changed is the first one, breadth first, that the answer carries and the schema allows the
change on (`field` picks it by name). A rule that finds nothing to change counts a miss (`GET`).
The schema walk is the one the drift comparison uses (`scanwire.drift.schemawalk`): one reading of the
spec for both sides.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import asdict, dataclass
from typing import Any

from starlette.responses import Response

from conformance.emulators.core.errors import BadRequestError
from scanwire.drift.schemawalk import (
    Node,
    children,
    deref,
    object_parts,
    resolve_node,
    schema_types,
    walk_objects,
)

__all__ = ["DRIFT_KINDS", "DriftRule", "DriftRules"]

DRIFT_KINDS = ("extra_field", "enum_value", "type_change", "null_value", "status", "remove_required")
_FIELDS = {"kind", "operation", "field", "value", "status"}


@dataclass
class DriftRule:
    kind: str
    operation: str  # operationId or "METHOD /path"
    field: str | None = None
    value: Any = None
    status: int | None = None
    applied: int = 0
    misses: int = 0

    @classmethod
    def parse(cls, raw: dict[str, Any], operations: dict[str, str]) -> DriftRule:
        """A rule from the control API's JSON; BadRequestError names the first bad field."""
        unknown = sorted(set(raw) - _FIELDS)
        if unknown:
            raise BadRequestError(f"drift: unknown field(s) {', '.join(unknown)}; known: {sorted(_FIELDS)}")
        kind = raw.get("kind")
        if kind not in DRIFT_KINDS:
            raise BadRequestError(f"drift.kind must be one of {', '.join(DRIFT_KINDS)}, got {kind!r}")
        operation = raw.get("operation")
        if not isinstance(operation, str) or operation not in operations:
            raise BadRequestError(
                f"drift.operation {operation!r} is not an operation of this vendor; use an operationId or "
                f"'METHOD /path' ({', '.join(sorted(set(operations.values())))})"
            )
        field = raw.get("field")
        if field is not None and (not isinstance(field, str) or not field or len(field) > 200):
            raise BadRequestError("drift.field must be a non-empty string of at most 200 characters")
        status = raw.get("status")
        if status is not None and (
            isinstance(status, bool) or not isinstance(status, int) or not 200 <= status <= 599
        ):
            raise BadRequestError("drift.status must be an HTTP status code (200-599)")
        value = raw.get("value")
        if len(json.dumps(value)) > 10_000:
            raise BadRequestError("drift.value must be at most 10000 characters of JSON")
        return cls(kind, operations[operation], field, value, status)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


class DriftRules:
    """The drift rules of one emulator and the function that applies them to an answer."""

    def __init__(self, spec: dict[str, Any], operations: dict[str, dict[str, Any]]) -> None:
        """`operations`: the spec's operations by "METHOD /path" (the emulator's routing keys)."""
        self.spec = spec
        # operationId and "METHOD /path" -> "METHOD /path"
        self.operations = {k: k for k in operations} | {
            str(op["operationId"]): k for k, op in operations.items() if "operationId" in op
        }
        self.rules: list[DriftRule] = []
        # The scan-state field of each lifecycle operation (x-scanwire-lifecycle): a new, changed or
        # missing state is a lifecycle change a human writes (transitions), so unnamed drift avoids it.
        self.state_fields: dict[str, set[str]] = {}
        for ref in ((spec.get("x-scanwire-lifecycle") or {}).get("operations") or {}).values():
            state = (ref or {}).get("state") or {}
            if state.get("in") == "body" and isinstance(state.get("pointer"), str):
                self.state_fields.setdefault(str(ref["operation"]), set()).add(state["pointer"])

    def add(self, raw: dict[str, Any]) -> DriftRule:
        if len(self.rules) >= 100:
            raise BadRequestError("drift: at most 100 rules at once; DELETE /_emulator/drift first")
        rule = DriftRule.parse(raw, self.operations)
        self.rules.append(rule)
        return rule

    def clear(self) -> None:
        self.rules.clear()

    def apply(self, key: str, response: Response) -> Response:
        """The answer as the drifted server sends it (the same object when no rule matches)."""
        rules = [r for r in self.rules if r.operation == key]
        if not rules:
            return response
        status = response.status_code
        body = bytes(response.body)
        media = (response.headers.get("content-type") or "").split(";")[0].strip()
        value: Any = None
        decoded = False
        if 200 <= status < 300 and media.endswith("json") and body:
            try:
                value, decoded = json.loads(body), True
            except ValueError:
                decoded = False
        new_status = status
        for rule in rules:
            if rule.kind == "status":
                if 200 <= status < 300:
                    new_status = rule.status or 203
                    rule.applied += 1
                else:
                    rule.misses += 1
                continue
            root = self._root(key, status, media, value) if decoded else None
            if root is not None and _mutate(self.spec, rule, root, self.state_fields.get(key, set())):
                rule.applied += 1
            else:
                rule.misses += 1
        if new_status == status and not decoded:
            return response
        headers = {k: v for k, v in response.headers.items() if k.lower() != "content-length"}
        content = json.dumps(value).encode() if decoded else body
        return Response(content, status_code=new_status, headers=headers)

    def _root(self, key: str, status: int, media: str, value: Any) -> Node | None:
        method, path = key.split(" ", 1)
        op = ((self.spec.get("paths") or {}).get(path) or {}).get(method.lower()) or {}
        responses = op.get("responses") or {}
        name = next((k for k in (str(status), f"{str(status)[0]}XX", "default") if k in responses), None)
        if name is None:
            return None
        base = ("paths", path, method.lower(), "responses", name)
        response, rloc = deref(self.spec, responses[name], base)
        content = (response.get("content") or {}) if isinstance(response, dict) else {}
        media_name = media if media in content else next(iter(content), None)
        if media_name is None or "schema" not in content[media_name]:
            return None
        return resolve_node(
            self.spec, content[media_name]["schema"], (*rloc, "content", media_name, "schema"), value, "$"
        )


def _closed(spec: dict[str, Any], node: Node) -> bool:
    """An object node whose schema lists its properties (so a new one is drift)."""
    if not isinstance(node.value, dict):
        return False
    closed = False
    for part in object_parts(spec, node.schema, node.loc):
        if isinstance(part.schema.get("properties"), dict):
            extra = part.schema.get("additionalProperties")
            closed = closed or not (extra is True or isinstance(extra, dict))
    return closed


def _fields(spec: dict[str, Any], root: Node) -> Iterator[tuple[dict[str, Any], str, Node]]:
    """(object, field name, field node) for each described field, breadth first."""
    for node in walk_objects(spec, root):
        if isinstance(node.value, dict):
            for child in children(spec, node):
                yield node.value, str(child.slot[-1]), child


def _pointer(path: str) -> str:
    """`$.object.status` -> `/object/status` (the lifecycle's pointers; array items never match)."""
    return "/" + "/".join(path.removeprefix("$.").split(".")) if path != "$" else ""


def _mutate(spec: dict[str, Any], rule: DriftRule, root: Node, avoid: set[str]) -> bool:
    if rule.kind == "extra_field":
        for node in walk_objects(spec, root):
            if _closed(spec, node):
                node.value[rule.field or "driftExtra"] = "observed" if rule.value is None else rule.value
                return True
        return False
    for obj, name, child in _fields(spec, root):
        if rule.field is None and _pointer(child.path) in avoid:
            continue
        if rule.field not in (None, name):
            continue
        if rule.kind == "remove_required":
            # A scalar field: removing a whole envelope (`data`) is a different server, not drift.
            if isinstance(child.value, dict | list) and rule.field is None:
                continue
            # A named field goes whatever the schema says now (a spec that accepted the drift made it
            # optional); an unnamed one must be required, or its absence would not be drift.
            if name in obj and (rule.field is not None or name in _required_of(spec, child.path, root)):
                del obj[name]
                return True
            continue
        if isinstance(child.value, dict | list) or child.value is None:
            continue
        if rule.kind == "enum_value" and isinstance(child.schema.get("enum"), list):
            obj[name] = _new_enum_value(child.schema["enum"]) if rule.value is None else rule.value
            return True
        if rule.kind == "null_value" and _not_nullable(child.schema):
            obj[name] = None
            return True
        if rule.kind == "type_change" and "enum" not in child.schema and "const" not in child.schema:
            obj[name] = _other_type(child.value) if rule.value is None else rule.value
            return True
    return False


def _required_of(spec: dict[str, Any], path: str, root: Node) -> set[str]:
    """The required names of the object holding the field at `path`."""
    parent = path.rsplit(".", 1)[0]
    for node in walk_objects(spec, root):
        if node.path == parent and isinstance(node.value, dict):
            return {
                str(n)
                for part in object_parts(spec, node.schema, node.loc)
                for n in part.schema.get("required") or []
            }
    return set()


def _not_nullable(schema: dict[str, Any]) -> bool:
    types = schema_types(schema)
    enum = schema.get("enum")
    return (types is not None and "null" not in types) or (isinstance(enum, list) and None not in enum)


def _new_enum_value(enum: list[Any]) -> Any:
    """A value of the enum's own type that it does not list."""
    numbers = [v for v in enum if isinstance(v, int) and not isinstance(v, bool)]
    if numbers and len(numbers) == len([v for v in enum if v is not None]):
        # Fixed, not derived from the enum: the same drift once a spec has accepted the value.
        return 987654
    return "driftNewValue"


def _other_type(value: Any) -> Any:
    """A value of another JSON type: strings become integers, everything else a string."""
    if isinstance(value, str):
        return 12345
    return str(value).lower() if isinstance(value, bool) else str(value)


def drift_route(emu: Any) -> Any:
    """`GET|POST|DELETE /_emulator/drift`: list, add, clear drift rules (the emulator's DriftRules)."""
    from starlette.requests import Request
    from starlette.responses import JSONResponse
    from starlette.routing import Route

    async def endpoint(request: Request) -> Response:
        try:
            if request.method == "POST":
                raw = await request.body()
                try:
                    data = json.loads(raw) if raw else None
                except ValueError as exc:
                    raise BadRequestError(f"body is not valid JSON: {exc}") from None
                if not isinstance(data, dict):
                    raise BadRequestError("a JSON object body is required: {kind, operation, ...}")
                emu.drift.add(data)
            elif request.method == "DELETE":
                emu.drift.clear()
        except BadRequestError as exc:
            return JSONResponse({"error": exc.message}, status_code=400)
        rules = [r.to_dict() for r in emu.drift.rules]
        return JSONResponse(rules, status_code=201 if request.method == "POST" else 200)

    return Route("/drift", endpoint, methods=["GET", "POST", "DELETE"])


DRIFT_CONTROL_OPENAPI: dict[str, Any] = {
    "get": {"summary": "Drift rules in force", "responses": {"200": {"description": "OK"}}},
    "post": {
        "summary": "Add a drift rule",
        "requestBody": {
            "content": {
                "application/json": {
                    "schema": {
                        "type": "object",
                        "required": ["kind", "operation"],
                        "properties": {
                            "kind": {"enum": list(DRIFT_KINDS)},
                            "operation": {"type": "string"},
                            "field": {"type": "string"},
                            "value": {},
                            "status": {"type": "integer"},
                        },
                    }
                }
            }
        },
        "responses": {"201": {"description": "Added"}, "400": {"description": "bad control request"}},
    },
    "delete": {"summary": "Remove every drift rule", "responses": {"200": {"description": "OK"}}},
}
