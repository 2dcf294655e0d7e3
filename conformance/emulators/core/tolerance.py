"""Input the real server tolerates beyond its spec, declared once by the spec's `x-scanwire-tolerance`.

```yaml
x-scanwire-tolerance:
  empty-query: absent      # `?startDate=` on an optional query parameter means "not sent"
  slashes: collapse        # `/rest/v1//Scan/RunScan/` is `/rest/v1/Scan/RunScan`
```

Both are observed in public clients of ASP.NET servers (Invicti, AppSpider; see those specs' `x-note`).
The emulator applies them before routing and request validation, so the handler, openapi-core and the
error table all see the request as the server would have understood it. `strict` (the default for both)
keeps a request as sent.
"""

from __future__ import annotations

import re
from collections.abc import Collection, Mapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import unquote_plus

__all__ = ["Tolerance", "ToleranceError", "optional_query"]

_SLASHES = re.compile(r"/{2,}")
_CHOICES = {"empty-query": ("strict", "absent"), "slashes": ("strict", "collapse")}


class ToleranceError(ValueError):
    """The spec's `x-scanwire-tolerance` is not one the emulator understands (names what and where)."""


@dataclass(frozen=True)
class Tolerance:
    empty_query_absent: bool = False
    collapse_slashes: bool = False

    @classmethod
    def from_spec(cls, spec: Mapping[str, Any]) -> Tolerance:
        raw = spec.get("x-scanwire-tolerance")
        if raw is None:
            return cls()
        if not isinstance(raw, Mapping):
            raise ToleranceError(f"x-scanwire-tolerance must be a mapping, not {type(raw).__name__}")
        for key, value in raw.items():
            if key in ("x-note", "x-source", "description"):
                continue
            if key not in _CHOICES:
                raise ToleranceError(
                    f"x-scanwire-tolerance.{key}: unknown; use {', '.join(sorted(_CHOICES))}"
                )
            if value not in _CHOICES[key]:
                raise ToleranceError(
                    f"x-scanwire-tolerance.{key}: {value!r} is not one of {', '.join(_CHOICES[key])}"
                )
        return cls(raw.get("empty-query") == "absent", raw.get("slashes") == "collapse")

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

    def query(self, query: str, optional: Collection[str]) -> str:
        """The query string without empty values of the `optional` query parameters (empty-query:
        absent); other pairs are kept byte for byte, in order."""
        if not self.empty_query_absent or not query or not optional:
            return query
        kept = []
        for part in query.split("&"):
            name, _, value = part.partition("=")
            if value == "" and unquote_plus(name) in optional:
                continue
            kept.append(part)
        return "&".join(kept)


def optional_query(spec: Mapping[str, Any], operation: Mapping[str, Any]) -> frozenset[str]:
    """Names of the operation's optional query parameters (local `$ref`s to components followed)."""
    names = set()
    for param in operation.get("parameters") or []:
        ref = param.get("$ref") if isinstance(param, Mapping) else None
        if isinstance(ref, str) and ref.startswith("#/components/parameters/"):
            param = ((spec.get("components") or {}).get("parameters") or {}).get(ref.rsplit("/", 1)[-1])
        if isinstance(param, Mapping) and param.get("in") == "query" and not param.get("required"):
            names.add(str(param.get("name")))
    return frozenset(names)
