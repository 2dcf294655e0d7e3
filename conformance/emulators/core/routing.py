"""Where a vendor request goes: the routing table, keyed by the spec's own path templates."""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import compile_path

from conformance.emulators.core.http import Call
from conformance.emulators.core.tolerance import Tolerance

__all__ = ["STRIPPED_BY_URLLIB", "Route", "Router", "Where"]

Handler = Callable[[Call[Any]], Response]
_PLACES_KEPT = 1024  # distinct request URLs whose parsing is kept (fuzzed paths are mostly unique)
STRIPPED_BY_URLLIB = re.compile("[\t\r\n]")


@dataclass
class Route:
    key: str
    operation_id: str
    method: str
    regex: re.Pattern[str]
    handler: Handler
    public: bool


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
                self.routes.append(Route(key, op.get("operationId", key), method, regex, handler, public))
        self._places: dict[tuple[Any, ...], Where] = {}

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
            url = request.url
            path = url.path
            if STRIPPED_BY_URLLIB.search(scope["path"]):
                # Starlette's URL went through urllib.parse, which drops tabs, CRs and LFs: `abc%0A`
                # would name resource `abc`. The path as sent (escaped as Starlette does) keeps them.
                path = scope["path"].replace("?", "%3F").replace("#", "%23").replace("\\", "%5C")
            matched: list[tuple[Route, dict[str, str]]] = []
            tolerated = None
            for candidate in self.tolerance.paths(path):
                matched = [(r, m.groupdict()) for r in self.routes if (m := r.regex.match(candidate))]
                if matched:
                    tolerated = None if candidate == path else candidate
                    path = candidate
                    break
            known = Where(path, url.query, str(request.base_url).rstrip("/"), matched, tolerated)
            self._places[key] = known
        return known
