"""Where a vendor request goes: the routing table, keyed by the spec's own path templates."""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote_plus

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import compile_path

from conformance.emulators.core.http import Call
from conformance.emulators.core.tolerance import Tolerance

__all__ = ["STRIPPED_BY_URLLIB", "Route", "Router", "Where"]

Handler = Callable[[Call[Any]], Response]
_PLACES_KEPT = 1024  # distinct request URLs whose parsing is kept (fuzzed paths are mostly unique)
STRIPPED_BY_URLLIB = re.compile("[\t\r\n]")
# A path Starlette's URL (urllib.parse) hands back unchanged: no escaping, no stripping, no authority.
_PLAIN_PATH = re.compile(r"/(?!/)[A-Za-z0-9._~/-]*")


@dataclass
class Route:
    key: str
    operation_id: str
    method: str
    regex: re.Pattern[str]
    handler: Handler
    public: bool
    literal: str = ""  # the template's text before its first parameter: a path not starting so cannot match


@dataclass(frozen=True)
class Where:
    """Where a request goes: what Router.where works out once per distinct URL."""

    path: str
    query: str
    base_url: str
    # The routes whose template matches the path, each with the path parameters it reads there.
    matched: list[tuple[Route, dict[str, str]]]
    # The path as the spec's template has it, when the spec's x-scanwire-tolerance made it match
    # (`//Scan/RunScan/` -> `/Scan/RunScan`); None when the request's own path matched.
    tolerated: str | None = None


class Router:
    def __init__(
        self,
        vendor: str,
        spec: Mapping[str, Any],
        operations: Mapping[str, Mapping[str, Any]],
        handlers: Mapping[str, Handler],
        prefixes: list[str],
        tolerance: Tolerance | None = None,
    ) -> None:
        self.tolerance = tolerance or Tolerance()
        missing = sorted(set(operations) - set(handlers))
        extra = sorted(set(handlers) - set(operations))
        if missing or extra:
            raise RuntimeError(
                f"{vendor} emulator routes do not match the spec: "
                f"missing {missing or '-'}, unknown {extra or '-'}"
            )
        global_security = spec.get("security")
        self.routes: list[Route] = []
        for key, handler in handlers.items():
            method, path = key.split(" ", 1)
            op = operations[key]
            public = op.get("security", global_security) == []
            for prefix in prefixes:
                regex, _, _ = compile_path(prefix + path)
                literal = (prefix + path).split("{", 1)[0]
                self.routes.append(
                    Route(key, op.get("operationId", key), method, regex, handler, public, literal)
                )
        # Routes by their literal prefix (the path up to its first parameter): a path is matched against
        # the routes whose prefix it starts with, found by one lookup per distinct prefix length.
        self._by_literal: dict[str, list[tuple[int, Route]]] = {}
        for i, route in enumerate(self.routes):
            self._by_literal.setdefault(route.literal, []).append((i, route))
        self._literal_lengths = sorted({len(literal) for literal in self._by_literal})
        self._places: dict[tuple[Any, ...], Where] = {}
        self._bases: dict[tuple[Any, ...], str] = {}
        # x-scanwire-tolerance aliases: (the alias template's regex, the path the request then takes).
        self.aliases: list[tuple[re.Pattern[str], str]] = []
        for alias in self.tolerance.aliases:
            target = alias.operation.split(" ", 1)[1]
            for prefix in prefixes:
                regex, _, _ = compile_path(prefix + alias.path)
                self.aliases.append((regex, prefix + target))

    def where(self, request: Request) -> Where:
        """The request's path, query, base URL (as Starlette works them out) and the routes its path
        matches, kept per distinct values of what is read in the scope: a client polling one URL pays
        for the parsing and matching once."""
        scope = request.scope
        host = next((value for name, value in scope["headers"] if name == b"host"), None)
        server = scope.get("server")
        key = (
            scope.get("scheme"),
            tuple(server) if server else None,
            scope.get("app_root_path"),
            scope.get("root_path"),
            scope["path"],
            scope.get("query_string"),
            host,
        )
        known = self._places.get(key)
        if known is None:
            if len(self._places) >= _PLACES_KEPT:
                self._places.clear()
            raw_query: bytes = scope.get("query_string", b"")
            if _PLAIN_PATH.fullmatch(scope["path"]) and b"#" not in raw_query:
                # What Starlette's URL would give, without building and re-parsing it (a client polling
                # 2,000 scans misses this cache on every request): the base URL depends on the host only.
                path, query = scope["path"], raw_query.decode()
                base_url = self._base_url(request, key)
            else:
                url = request.url
                path, query, base_url = url.path, url.query, str(request.base_url).rstrip("/")
                if STRIPPED_BY_URLLIB.search(scope["path"]):
                    # Starlette's URL went through urllib.parse, which drops tabs, CRs and LFs: `abc%0A`
                    # would name resource `abc`. The path as sent (escaped as Starlette does) keeps them.
                    path = scope["path"].replace("?", "%3F").replace("#", "%23").replace("\\", "%5C")
            matched: list[tuple[Route, dict[str, str]]] = []
            tolerated = None
            for candidate in self.tolerance.paths(path):
                matched = self._match(candidate)
                if matched:
                    tolerated = None if candidate == path else candidate
                    path = candidate
                    break
            if not matched and self.aliases:
                path, query, matched, tolerated = self._alias(path, query)
            known = Where(path, query, base_url, matched, tolerated)
            self._places[key] = known
        return known

    def _match(self, path: str) -> list[tuple[Route, dict[str, str]]]:
        """The routes matching `path`, in the order of `self.routes`."""
        found: list[tuple[int, Route]] = []
        for length in self._literal_lengths:
            if length > len(path):
                break
            group = self._by_literal.get(path[:length])
            if group is not None:
                found.extend(group)
        if len(found) > 1:
            found.sort(key=_first)
        return [(r, m.groupdict()) for _, r in found if (m := r.regex.match(path))]

    def _alias(
        self, path: str, query: str
    ) -> tuple[str, str, list[tuple[Route, dict[str, str]]], str | None]:
        """(path, query, matched routes, tolerated path) through the first alias whose template matches:
        the request takes the aliased operation's path, the alias's path parameters join its query."""
        for candidate in self.tolerance.paths(path):
            for regex, target in self.aliases:
                m = regex.match(candidate)
                if m is None:
                    continue
                moved = "&".join(f"{quote_plus(k)}={quote_plus(v)}" for k, v in m.groupdict().items())
                matched = [(r, r_m.groupdict()) for r in self.routes if (r_m := r.regex.match(target))]
                return target, "&".join(q for q in (query, moved) if q), matched, target
        return path, query, [], None

    def _base_url(self, request: Request, key: tuple[Any, ...]) -> str:
        """Starlette's base URL of the request, kept per scheme, server, root paths and Host header."""
        base_key = key[:4] + key[6:]
        known = self._bases.get(base_key)
        if known is None:
            if len(self._bases) >= _PLACES_KEPT:
                self._bases.clear()
            known = self._bases[base_key] = str(request.base_url).rstrip("/")
        return known


def _first(item: tuple[int, Route]) -> int:
    return item[0]
