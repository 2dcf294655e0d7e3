"""Input the real server tolerates beyond its spec, declared once by the spec's `x-scanwire-tolerance`.

```yaml
x-scanwire-tolerance:
  empty-query: absent      # `?startDate=` on an optional query parameter means "not sent"
  slashes: collapse        # `/rest/v1//Scan/RunScan/` is `/rest/v1/Scan/RunScan`
  query-names: case-insensitive   # `?Id=..&Type=..` binds to the declared `id`, `type`
  enum-values: case-insensitive   # `type=vulnerabilities` is the declared `Vulnerabilities`
  aliases:                 # another path for an operation: its parameters go to the declared query
    - {path: "/api/1.0/scans/report/{id}", operation: "GET /api/1.0/scans/report/"}
```

All are observed in public clients of ASP.NET servers (Invicti, AppSpider; see those specs' `x-note`).
The emulator applies them before routing and request validation, so the handler, openapi-core and the
error table all see the request as the server would have understood it. `strict` (the default for each)
keeps a request as sent; no alias is served unless declared.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import quote_plus, unquote_plus

__all__ = ["Alias", "QueryParams", "Tolerance", "ToleranceError", "query_params"]

_SLASHES = re.compile(r"/{2,}")
_CHOICES = {
    "empty-query": ("strict", "absent"),
    "slashes": ("strict", "collapse"),
    "query-names": ("strict", "case-insensitive"),
    "enum-values": ("strict", "case-insensitive"),
}


@dataclass(frozen=True)
class Alias:
    """A path the server also routes to `operation` (`METHOD /path`); its path parameters become query
    parameters of the same names."""

    path: str
    operation: str


@dataclass(frozen=True)
class QueryParams:
    """What the tolerance needs of an operation's query parameters."""

    optional: frozenset[str] = frozenset()
    # declared name -> the string values its schema enumerates (empty when it enumerates none)
    enums: Mapping[str, tuple[str, ...]] = field(default_factory=dict)


class ToleranceError(ValueError):
    """The spec's `x-scanwire-tolerance` is not one the emulator understands (names what and where)."""


@dataclass(frozen=True)
class Tolerance:
    empty_query_absent: bool = False
    collapse_slashes: bool = False
    query_names_case_blind: bool = False
    enum_values_case_blind: bool = False
    aliases: tuple[Alias, ...] = ()

    @classmethod
    def from_spec(cls, spec: Mapping[str, Any]) -> Tolerance:
        raw = spec.get("x-scanwire-tolerance")
        if raw is None:
            return cls()
        if not isinstance(raw, Mapping):
            raise ToleranceError(f"x-scanwire-tolerance must be a mapping, not {type(raw).__name__}")
        for key, value in raw.items():
            if key in ("x-note", "x-source", "description", "aliases"):
                continue
            if key not in _CHOICES:
                raise ToleranceError(
                    f"x-scanwire-tolerance.{key}: unknown; use {', '.join(sorted([*_CHOICES, 'aliases']))}"
                )
            if value not in _CHOICES[key]:
                raise ToleranceError(
                    f"x-scanwire-tolerance.{key}: {value!r} is not one of {', '.join(_CHOICES[key])}"
                )
        return cls(
            raw.get("empty-query") == "absent",
            raw.get("slashes") == "collapse",
            raw.get("query-names") == "case-insensitive",
            raw.get("enum-values") == "case-insensitive",
            _aliases(raw.get("aliases"), spec),
        )

    def paths(self, path: str) -> list[str]:
        """The paths to try, in order, for a request path: itself, then (slashes: collapse) the path
        with runs of slashes made one, and that path without, then with, a trailing slash."""
        if not self.collapse_slashes:
            return [path]
        collapsed = _SLASHES.sub("/", path)
        out = [path, collapsed]
        if len(collapsed) > 1 and collapsed.endswith("/"):
            out.append(collapsed.rstrip("/") or "/")
        else:
            out.append(collapsed + "/")
        return list(dict.fromkeys(out))

    def query(self, query: str, params: QueryParams) -> str:
        """The query string as the server binds it: names in the declared spelling (query-names),
        enumerated values in the declared spelling (enum-values), then without empty values of the
        optional parameters (empty-query: absent). Pairs no rule changes are kept byte for byte, in order."""
        if not query or not (
            self.empty_query_absent or self.query_names_case_blind or self.enum_values_case_blind
        ):
            return query
        blind = {name.lower(): name for name in params.enums} if self.query_names_case_blind else {}
        kept = []
        for part in query.split("&"):
            raw_name, eq, raw_value = part.partition("=")
            name = unquote_plus(raw_name)
            declared = name if name in params.enums else blind.get(name.lower(), name)
            if declared != name:
                part = quote_plus(declared) + eq + raw_value
            if self.enum_values_case_blind and params.enums.get(declared):
                value = unquote_plus(raw_value)
                choices = params.enums[declared]
                if value not in choices:
                    spelled = next((c for c in choices if c.lower() == value.lower()), None)
                    if spelled is not None:
                        part = quote_plus(declared) + "=" + quote_plus(spelled)
            if self.empty_query_absent and raw_value == "" and declared in params.optional:
                continue
            kept.append(part)
        return "&".join(kept)


def _aliases(raw: Any, spec: Mapping[str, Any]) -> tuple[Alias, ...]:
    if raw is None:
        return ()
    if not isinstance(raw, list):
        raise ToleranceError("x-scanwire-tolerance.aliases must be a list of {path, operation}")
    out = []
    for n, entry in enumerate(raw):
        where = f"x-scanwire-tolerance.aliases[{n}]"
        if not isinstance(entry, Mapping) or not isinstance(entry.get("path"), str):
            raise ToleranceError(f"{where}: needs `path` (a path template) and `operation` (METHOD /path)")
        method, _, path = str(entry.get("operation", "")).partition(" ")
        item = (spec.get("paths") or {}).get(path)
        if not isinstance(item, Mapping) or method.lower() not in item:
            raise ToleranceError(
                f"{where}.operation: {entry.get('operation')!r} is not an operation of the spec"
            )
        out.append(Alias(entry["path"], f"{method.upper()} {path}"))
    return tuple(out)


def query_params(spec: Mapping[str, Any], operation: Mapping[str, Any]) -> QueryParams:
    """The operation's query parameters as the tolerance reads them (local `$ref`s followed)."""
    optional, enums = set(), {}
    components = spec.get("components") or {}
    for param in operation.get("parameters") or []:
        param = _follow(components, param)
        if not isinstance(param, Mapping) or param.get("in") != "query":
            continue
        name = str(param.get("name"))
        if not param.get("required"):
            optional.add(name)
        schema = _follow(components, param.get("schema"))
        values = schema.get("enum") if isinstance(schema, Mapping) else None
        enums[name] = tuple(v for v in values or () if isinstance(v, str))
    return QueryParams(frozenset(optional), enums)


def _follow(components: Mapping[str, Any], node: Any) -> Any:
    """A `#/components/<kind>/<name>` reference followed a few levels; anything else as is."""
    for _ in range(4):
        ref = node.get("$ref") if isinstance(node, Mapping) else None
        if not (isinstance(ref, str) and ref.startswith("#/components/")):
            return node
        _, _, kind, name = ref.split("/", 3)
        node = (components.get(kind) or {}).get(name)
    return node
