"""Request (and, in tests, response) validation against the resolved spec, by openapi-core.

The emulator listens on 127.0.0.1 while the spec names the vendor's hosts, so openapi-core gets a copy
of the spec whose servers keep only the path part of each server URL (`/AppSpiderEnterprise/rest/v1`,
`/threadfix/rest/{version}`, `/v2`, ...). Formats are validated but not converted: handlers see the
strings the client sent (a uuid stays a str, a date-time keeps its offset).
"""

from __future__ import annotations

import copy
import re
from dataclasses import dataclass
from typing import Any

from openapi_core import OpenAPI
from openapi_core.contrib.starlette.requests import StarletteOpenAPIRequest
from openapi_core.contrib.starlette.responses import StarletteOpenAPIResponse
from starlette.requests import Request
from starlette.responses import Response

__all__ = ["RequestCheck", "SpecValidator", "server_prefixes"]

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
    problems: list[str]
    fields: list[tuple[str, str]]  # (location, name) of each offending parameter; ("body", "") for the body


def _text(error: BaseException) -> str:
    try:
        return str(error)
    except UnicodeDecodeError:  # openapi-core formats the raw body into some messages
        return f"{type(error).__name__}: the body is not valid UTF-8"


def _describe(error: BaseException) -> str:
    parts = [_text(error)]
    cause = error.__cause__
    while cause is not None:
        text = _text(cause)
        schema_errors = getattr(cause, "schema_errors", None)
        if schema_errors:
            text += ": " + "; ".join(
                f"{'/'.join(str(p) for p in e.absolute_path) or '(root)'}: {e.message}" for e in schema_errors
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
        keep: dict[str, Any] = dict.fromkeys(_KEEP_AS_SENT, lambda value: value)
        self.api = OpenAPI.from_dict(local, config=_config(keep))

    def check_request(self, request: Request, body: bytes) -> RequestCheck:
        try:
            result = self.api.unmarshal_request(StarletteOpenAPIRequest(request, body=body))
        except (AssertionError, ValueError, LookupError) as exc:
            # openapi-core's multipart decoder asserts on a body without boundary or parts.
            return RequestCheck(
                {}, {}, None, [f"request body cannot be decoded: {exc or type(exc).__name__}"], [("body", "")]
            )
        params = result.parameters
        problems = [_describe(e) for e in result.errors]
        fields = [_field_of(e) for e in result.errors]
        return RequestCheck(dict(params.path or {}), dict(params.query or {}), result.body, problems, fields)

    def check_response(self, request: Request, body: bytes, response: Response) -> list[str]:
        result = self.api.unmarshal_response(
            StarletteOpenAPIRequest(request, body=body), StarletteOpenAPIResponse(response)
        )
        return [_describe(e) for e in result.errors]


def _ignored_header(param: Any) -> bool:
    return (
        isinstance(param, dict)
        and param.get("in") == "header"
        and str(param.get("name", "")).lower() in ("accept", "content-type", "authorization")
    )


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


def _config(keep: dict[str, Any]) -> Any:
    from openapi_core import Config

    return Config(extra_format_unmarshallers=keep)
