"""Request (and, in tests, response) validation against the resolved spec, by openapi-core.

The emulator listens on 127.0.0.1 while the spec names the vendor's hosts, so openapi-core gets a copy
of the spec whose servers keep only the path part of each server URL (`/AppSpiderEnterprise/rest/v1`,
`/threadfix/rest/{version}`, `/v2`, ...). Formats are validated but not converted: handlers see the
strings the client sent (a uuid stays a str, a date-time keeps its offset).
"""

from __future__ import annotations

import copy
import functools
import re
import threading
import warnings
from collections import OrderedDict
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, TypeVar, cast

from jsonschema_path import SchemaPath
from openapi_core import OpenAPI
from openapi_core.contrib.starlette.requests import StarletteOpenAPIRequest
from openapi_core.contrib.starlette.responses import StarletteOpenAPIResponse
from starlette.requests import Request
from starlette.responses import Response

from conformance.emulators.core.echo import cap
from conformance.emulators.core.errors import Problem
from conformance.emulators.core.fastcheck import FastCheck, compile_fast_checks

__all__ = ["RequestCheck", "SpecValidator", "server_prefixes"]

# _allow_empty_query_values uses the keyword on purpose; openapi-core warns on every request reading it.
warnings.filterwarnings("ignore", "Use of allowEmptyValue property is deprecated", DeprecationWarning)

_F = TypeVar("_F")
_KEEP_AS_SENT = ("uuid", "date-time", "date", "uri", "byte", "binary", "email", "time")


def server_prefixes(spec: dict[str, Any]) -> list[str]:
    """The path part of every server URL (`https://{host}/v2` -> `/v2`), variables kept; '' for none."""
    out: list[str] = []
    for server in spec.get("servers") or [{"url": "/"}]:
        url = str(server.get("url", "/"))
        path = re.sub(r"^[^:/]*://[^/]*", "", url) if "://" in url else url
        path = path.rstrip("/")
        if path not in out:
            out.append(path)
    return out


@dataclass
class RequestCheck:
    path: dict[str, Any]
    query: dict[str, Any]
    body: Any
    problems: list[Problem]


def _text(error: BaseException) -> str:
    try:
        return str(error)
    except UnicodeDecodeError:  # openapi-core formats the raw body into some messages
        return f"{type(error).__name__}: the body is not valid UTF-8"


# Bodies above this size get brief findings: openapi-core's own wording repeats the whole value (and
# jsonschema's repr of each finding), tens of milliseconds and megabytes for a value that limits.cap
# cuts to 200 characters anyway.
_BRIEF_ABOVE = 64 * 1024


def _describe(error: BaseException, *, brief: bool = False) -> str:
    parts = [_text(error)]
    cause = error.__cause__
    while cause is not None:
        schema_errors = getattr(cause, "schema_errors", None)
        text = "value not valid for its schema" if brief and schema_errors else _text(cause)
        if schema_errors:
            text += ": " + "; ".join(
                f"{'/'.join(str(p) for p in e.absolute_path) or '(root)'}: "
                + (cap(e.message) if brief else e.message)
                for e in schema_errors
            )
        if text and text not in parts:
            parts.append(text)
        cause = cause.__cause__
    return " — ".join(p for p in parts if p)


class SpecValidator:
    def __init__(self, spec: dict[str, Any], extra_prefixes: list[str] | None = None) -> None:
        local = copy.deepcopy(spec)
        servers = []
        for prefix in [*server_prefixes(spec), *(extra_prefixes or [])]:
            variables = {
                name: {"default": (spec_default(spec, name) or "x")}
                for name in re.findall(r"{(\w+)}", prefix)
            }
            servers.append({"url": prefix or "/", **({"variables": variables} if variables else {})})
        local["servers"] = servers
        # Credentials are the vendor plugin's business (its own error envelope); here only the shape counts.
        local.pop("security", None)
        for item in (local.get("paths") or {}).values():
            for op in item.values():
                if isinstance(op, dict):
                    op.pop("security", None)
                    # OAS 3.1 §4.8.12.1: header parameters named Accept, Content-Type or Authorization
                    # are ignored (ThreadFix documents a required Accept: clients sending */* are fine).
                    op["parameters"] = [p for p in op.get("parameters") or [] if not _ignored_header(p)]
        _untype_binary(local)
        _allow_empty_query_values(local)
        keep: dict[str, Any] = dict.fromkeys(_KEEP_AS_SENT, lambda value: value)
        # A resolved-path cache (off by default in jsonschema-path): requests walk the same few spec
        # paths, each walk otherwise re-resolving every `$ref` on the way.
        self.api = OpenAPI(SchemaPath.from_dict(local, resolved_cache_maxsize=4096), config=_config(keep))
        # Operations whose requests are only scalar path/query parameters: checked without openapi-core
        # when they are plainly valid (fastcheck.py); prefixes without server variables only.
        plain = [p for p in (str(s["url"]).rstrip("/") for s in servers) if "{" not in p]
        self.fast: dict[str, FastCheck] = compile_fast_checks(local, plain)
        self._checked: OrderedDict[tuple[Any, ...], RequestCheck] = OrderedDict()
        self._lock = threading.Lock()

    def check_request(
        self,
        request: Request,
        body: bytes,
        operation: str | None = None,
        path_params: Mapping[str, str] | None = None,
    ) -> RequestCheck:
        """The request's parameters and body as the spec types them, and what is wrong with it.

        A pure function of the request's bytes: identical requests (a client polling one scan) reuse
        the verdict of the first one; every caller gets its own copy of the typed values. With the
        operation the router matched (and its path parameters), a plainly valid request of a simple
        operation is typed by its compiled check instead (fastcheck.py).
        """
        fast = self.fast.get(operation) if operation is not None else None
        if fast is not None:
            scope = request.scope
            typed = fast.check(
                scope["path"], path_params or {}, scope.get("query_string", b"").decode("latin-1"), body
            )
            if typed is not None:
                return RequestCheck(typed[0], typed[1], None, [])
        key = _request_key(request.scope, body)
        if key is not None:
            with self._lock:
                known = self._checked.get(key)
                if known is not None:
                    self._checked.move_to_end(key)
            if known is not None:
                return _fresh_check(known)
        check = self._check_request(request, body)
        if key is not None:
            with self._lock:
                self._checked[key] = _fresh_check(check)
                if len(self._checked) > _CHECKED_REQUESTS:
                    self._checked.popitem(last=False)
        return check

    def _check_request(self, request: Request, body: bytes) -> RequestCheck:
        try:
            result = self.api.unmarshal_request(StarletteOpenAPIRequest(request, body=body))
        except (AssertionError, ValueError, LookupError) as exc:
            # openapi-core's multipart decoder asserts on a body without boundary or parts.
            message = f"request body cannot be decoded: {exc or type(exc).__name__}"
            return RequestCheck({}, {}, None, [Problem("body", "", "decode", message, summary=message)])
        params = result.parameters
        brief = len(body) > _BRIEF_ABOVE
        problems = [_problem(e, brief=brief) for e in result.errors]
        return RequestCheck(dict(params.path or {}), dict(params.query or {}), result.body, problems)

    def check_response(self, request: Request, body: bytes, response: Response) -> list[str]:
        result = self.api.unmarshal_response(
            StarletteOpenAPIRequest(request, body=body), StarletteOpenAPIResponse(response)
        )
        return [_describe(e) for e in result.errors]


_CHECKED_REQUESTS = 256  # distinct requests whose verdict is kept (least recently used goes first)
_CHECKED_BODY_LIMIT = 64 * 1024


def _fresh_check(check: RequestCheck) -> RequestCheck:
    """A copy handlers may change freely (typed values are JSON-like: dicts, lists, scalars, bytes)."""
    return RequestCheck(_fresh(check.path), _fresh(check.query), _fresh(check.body), list(check.problems))


def _fresh(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: _fresh(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_fresh(v) for v in value]
    if isinstance(value, str | bytes | int | float | bool | type(None)):
        return value
    return copy.deepcopy(value)


def _request_key(scope: Mapping[str, Any], body: bytes) -> tuple[Any, ...] | None:
    """Everything openapi-core reads of a request (method, URL, headers and cookies, body); None when the
    body is too large to be worth keeping."""
    if len(body) > _CHECKED_BODY_LIMIT:
        return None
    headers = tuple((bytes(k), bytes(v)) for k, v in scope.get("headers") or ())
    server = tuple(scope["server"]) if scope.get("server") else None
    return (
        scope.get("method"),
        scope.get("scheme"),
        server,
        scope.get("root_path"),
        scope.get("path"),
        scope.get("query_string"),
        headers,
        body,
    )


def _ignored_header(param: Any) -> bool:
    return (
        isinstance(param, dict)
        and param.get("in") == "header"
        and str(param.get("name", "")).lower() in ("accept", "content-type", "authorization")
    )


def _allow_empty_query_values(spec: dict[str, Any]) -> None:
    """`?name=` is checked against the parameter's schema, as the spec says it (validation copy only).

    openapi-core refuses an empty query value unless the parameter says `allowEmptyValue: true` (an OAS
    3.0 keyword that 3.1 deprecates), so a `type: string` parameter without `minLength` was refused an
    empty value the spec allows. The spec's schema decides once: "" passes a plain string, fails an
    integer, a pattern or a `minLength: 1`.
    """
    candidates: list[Any] = list((spec.get("components") or {}).get("parameters", {}).values())
    for item in (spec.get("paths") or {}).values():
        if isinstance(item, dict):
            candidates += item.get("parameters") or []
            for op in item.values():
                candidates += op.get("parameters") or [] if isinstance(op, dict) else []
    for param in candidates:
        if isinstance(param, dict) and param.get("in") == "query":
            param.setdefault("allowEmptyValue", True)


def _untype_binary(node: Any) -> None:
    """openapi-core hands file parts over as bytes, which `type: string` rejects under 3.1 rules;
    OAS 3.1.1 leaves `type` out for raw binary, so do that here (validation copy only)."""
    if isinstance(node, dict):
        if node.get("format") == "binary" and node.get("type") == "string":
            del node["type"]
        for value in node.values():
            _untype_binary(value)
    elif isinstance(node, list):
        for value in node:
            _untype_binary(value)


def _problem(error: BaseException, *, brief: bool = False) -> Problem:
    """openapi-core's finding as a Problem: its parameter (name, location), the schema rule it broke and the
    value, read from the exception chain and jsonschema's errors rather than from the message text."""
    location, field = _field_of(error)
    rule, value, details = "invalid", None, []
    cause: BaseException | None = error
    while cause is not None:
        if "missing" in type(cause).__name__.lower():
            rule = "required"
        for schema_error in getattr(cause, "schema_errors", None) or ():
            if rule == "invalid":
                rule, value = str(schema_error.validator), schema_error.instance
                if location == "body" and not field:
                    field = "/".join(str(p) for p in schema_error.absolute_path)
            details.append(cap(schema_error.message) if brief else schema_error.message)
        cause = cause.__cause__
    head = re.sub(r":? Value .*$", "", _text(error), flags=re.DOTALL)
    summary = f"{head}: {'; '.join(details)}" if details else head
    if brief and not isinstance(value, int | float | bool | type(None)):
        value = None  # a large body's offending value is not kept (it may be megabytes)
    return Problem(location, field, rule, _describe(error, brief=brief), value, summary)


def _field_of(error: BaseException) -> tuple[str, str]:
    """Which parameter an openapi-core error is about (parameter errors carry name and location)."""
    for candidate in (error, error.__cause__):
        name, location = getattr(candidate, "name", None), getattr(candidate, "location", None)
        if isinstance(name, str) and isinstance(location, str):
            return location, name
    return ("body", "") if "body" in type(error).__name__.lower() else ("request", "")


def spec_default(spec: dict[str, Any], name: str) -> str | None:
    for server in spec.get("servers") or []:
        var = (server.get("variables") or {}).get(name)
        if var and "default" in var:
            return str(var["default"])
    return None


class _Memoized:
    """One of openapi-core's factories, building each product once per (schema, options).

    openapi-core builds a fresh validator, unmarshaller, caster and style deserializer for every
    parameter and body of every request (deep-copying a format checker and walking the spec with
    `$ref` resolution each time): a third of a request's validation time. The products depend only
    on the schema's place in the (immutable) spec and on the options, so they are kept and reused; the
    validation itself runs exactly as before. Per-request values never reach these factories (media
    type deserializers, which see the request's content-type parameters, are not memoized).
    """

    def __init__(self, factory: Any) -> None:
        self._factory = factory
        self._made: dict[tuple[Any, ...], tuple[Any, tuple[Any, ...]]] = {}

    def __getattr__(self, name: str) -> Any:
        return getattr(self._factory, name)

    def create(self, *args: Any, **kwargs: Any) -> Any:
        values = (*args, *kwargs.values())
        key = (tuple(kwargs), *map(_identity, values))
        made = self._made.get(key)
        if made is None:
            # The arguments are kept with the product: an id() in the key is never reused meanwhile.
            made = self._made[key] = (self._factory.create(*args, **kwargs), values)
        return made[0]


def _memoized(factory: _F) -> _F:
    """`factory` with a memory (same interface: the wrapper forwards everything else to it)."""
    return cast(_F, _Memoized(factory))


def _identity(value: Any) -> Any:
    if isinstance(value, SchemaPath):
        return ("schema", id(value.accessor), value.separator, value.parts)
    if value is None or isinstance(value, str | int | float | bool):
        return value
    return ("object", id(value))  # option dicts held by the long-lived unmarshallers


def _cached_path_finder() -> type[Any]:
    """openapi-core's path finder, remembering where (method, URL) led: it walks every path template and
    server of the spec per request. Found operations only (a miss raises, and is looked for again)."""
    from openapi_core.templating.paths.finders import APICallPathFinder

    class CachedPathFinder(APICallPathFinder):
        def __init__(self, spec: Any, base_url: str | None = None) -> None:
            super().__init__(spec, base_url=base_url)
            # Bounded: fuzzed path parameters make most URLs unique; fixed ones (logins, polls) repeat.
            self.find = functools.lru_cache(maxsize=1024)(super().find)  # type: ignore[method-assign]

    return CachedPathFinder


def _config(keep: dict[str, Any]) -> Any:
    from openapi_core import Config
    from openapi_core.casting.schemas import oas31_schema_casters_factory
    from openapi_core.deserializing.styles import StyleDeserializersFactory, style_deserializers
    from openapi_core.unmarshalling.schemas import oas31_schema_unmarshallers_factory
    from openapi_core.validation.schemas import oas31_schema_validators_factory

    # The factories openapi-core picks for OpenAPI 3.1 documents (every scanwire spec is 3.1).
    casters = _memoized(oas31_schema_casters_factory)
    return Config(
        extra_format_unmarshallers=keep,
        path_finder_cls=_cached_path_finder(),
        schema_casters_factory=casters,
        schema_validators_factory=_memoized(oas31_schema_validators_factory),
        schema_unmarshallers_factory=_memoized(oas31_schema_unmarshallers_factory),
        style_deserializers_factory=_memoized(
            StyleDeserializersFactory(casters, style_deserializers=style_deserializers)
        ),
    )
