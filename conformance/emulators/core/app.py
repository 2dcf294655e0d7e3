"""The emulator app: one object serves in-process (ASGI, httpx transport) and as a real server.

Every vendor request goes through one pipeline: route by the spec's own path templates -> injected
faults -> authentication (vendor's scheme and error) -> rate limits (spec `x-rate-limit`) -> request
validation against the resolved spec (openapi-core) -> the vendor handler -> (tests) response
validation. Any failure is answered in the vendor's own error envelope; an unexpected exception is a
vendor-shaped 500 and is recorded, never a framework traceback page.
"""

from __future__ import annotations

import asyncio
import copy
import dataclasses
import functools
import logging
import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, ClassVar
from urllib.parse import parse_qs

import yaml
from starlette.applications import Starlette
from starlette.requests import ClientDisconnect, Request
from starlette.responses import Response
from starlette.routing import Mount, Route, compile_path

from conformance.emulators.core.clock import Clock, SystemClock
from conformance.emulators.core.drift import DriftRules
from conformance.emulators.core.engine import Progression, Scan, ScanEngine
from conformance.emulators.core.errors import AuthError, BadRequestError, EmulatorError
from conformance.emulators.core.faults import Fault, FaultQueue
from conformance.emulators.core.guard import ControlGuard
from conformance.emulators.core.http import Call, header_of
from conformance.emulators.core.limits import (
    DEFAULT_MAX_BODY,
    BodyTooLargeError,
    cap,
    check_json,
    loads_json,
    read_body,
)
from conformance.emulators.core.ratelimit import RateLimiter, Verdict
from conformance.emulators.core.store import Store
from conformance.emulators.core.validation import SpecValidator, server_prefixes
from scanwire.paths import layout
from scanwire.runtime.lifecycle import Lifecycle
from scanwire.specs import iter_operations

__all__ = ["Backend", "Emulator", "EmulatorSettings", "Handler", "VendorPlugin", "build_emulator"]

log = logging.getLogger("scanwire.emulator")
Handler = Callable[[Call], Response]


@dataclass
class EmulatorSettings:
    rate_limits: bool = True
    validate_requests: bool = True
    validate_responses: bool = False
    token_ttl: float = 3600.0
    progression: dict[str, Any] | None = None

    def update(self, raw: dict[str, Any]) -> None:
        """Apply a control-API change; BadRequestError names the first bad field."""
        for key, value in raw.items():
            if key not in self.__dataclass_fields__:
                raise BadRequestError(f"settings: unknown field {key!r}")
            if key == "progression":
                Progression.parse(value)
            elif key == "token_ttl":
                if isinstance(value, bool) or not isinstance(value, int | float) or value <= 0:
                    raise BadRequestError("settings.token_ttl must be a positive number of seconds")
                value = float(value)
            elif not isinstance(value, bool):
                raise BadRequestError(f"settings.{key} must be true or false")
            setattr(self, key, value)

    def to_dict(self) -> dict[str, Any]:
        return {k: getattr(self, k) for k in self.__dataclass_fields__}


class Backend:
    """Base of a vendor's models: state and rules, no HTTP. Subclasses add the vendor's operations."""

    def __init__(self, emulator: Emulator) -> None:
        self.emulator = emulator
        self.store = emulator.store
        # The emulator's clock, except inside `on_transition`: there, the time of that transition.
        self.clock: Clock = emulator.engine.transition_clock
        self.lifecycle = emulator.lifecycle
        self.engine = emulator.engine

    def on_transition(self, scan: Scan, old: str, new: str, cause: str) -> None:
        """Keep the vendor's own fields consistent with the state (timestamps, progress...)."""

    def seed_scan(
        self, account: str, state: str | None, data: dict[str, Any], progression: dict[str, Any] | None
    ) -> Scan:
        """Control API: create a scan for `account` in any state; vendor fields may be given in `data`."""
        raise NotImplementedError

    def summary(self, scan: Scan) -> dict[str, Any] | None:
        """The few vendor fields a status poll answers with, kept beside the engine's fields each time the
        scan's document is saved (`engine.summary(scan)` reads them without decoding the document)."""
        return None

    def view(self, scan: Scan) -> Any:
        """The scan as the vendor's API shows it (for the control API's state dump)."""
        return scan.data

    def reset(self) -> None:
        """Extra state to rebuild after a reset (configs, applications...)."""


class VendorPlugin:
    """What a vendor folder provides: routes, auth, error envelopes, backend, scenarios."""

    slug: str = ""
    backend_cls: type[Backend] = Backend
    routes: ClassVar[Mapping[str, Handler]] = {}
    extra_prefixes: ClassVar[Sequence[str]] = ()
    accounts: ClassVar[Mapping[str, Mapping[str, Any]]] = {}
    scenarios: ClassVar[Mapping[str, Callable[[Any], Any]]] = {}

    def authenticate(self, call: Call) -> str:
        """The caller's account from the request's headers and URL (the body is not read yet)."""
        raise NotImplementedError

    def check_body(self, call: Call) -> None:
        """Refuse (EmulatorError) a body the spec validation must not see; runs once it is read."""

    def error_response(
        self, call: Call | None, status: int, message: str, *, retry_after: float | None = None
    ) -> Response:
        """The vendor's envelope for an HTTP-level failure (faults, 404 route, 405, 429, 500)."""
        raise NotImplementedError

    def map_error(self, call: Call, exc: EmulatorError) -> Response:
        """The vendor's answer to a domain error raised by its backend or by the pipeline."""
        raise NotImplementedError

    def decorate(self, call: Call, response: Response, verdict: Verdict | None) -> Response:
        """Add vendor headers to every answer (rate-limit counters, cache headers...)."""
        return response


@dataclass
class _Route:
    key: str
    operation_id: str
    method: str
    regex: re.Pattern[str]
    handler: Handler
    public: bool


@dataclass(frozen=True)
class _Where:
    """Where a request goes: what Emulator._where works out once per distinct URL."""

    path: str
    query: str
    base_url: str
    # The routes whose template matches the path, each with the path parameters it reads there.
    matched: list[tuple[_Route, dict[str, str]]]


@dataclass
class Violation:
    operation: str
    status: int
    problems: list[str]


@functools.lru_cache(maxsize=16)
def _load_spec(path: str, mtime: float) -> str:
    return Path(path).read_text(encoding="utf-8")


@functools.lru_cache(maxsize=16)
def _validator(vendor: str, text: str, extra: tuple[str, ...]) -> SpecValidator:
    return SpecValidator(yaml.load(text, Loader=yaml.CSafeLoader), list(extra))


def resolved_spec(vendor: str) -> tuple[dict[str, Any], str]:
    path = layout().resolved(vendor)
    if not path.exists():
        raise FileNotFoundError(f"{path} is missing: run `scanwire generate {vendor}` first")
    text = _load_spec(str(path), path.stat().st_mtime)
    return yaml.load(text, Loader=yaml.CSafeLoader), text


class Emulator:
    """State (store, engine, faults, settings) + the ASGI app of one vendor's emulated API."""

    def __init__(
        self,
        plugin: VendorPlugin,
        *,
        db: str | Path = ":memory:",
        clock: Clock | None = None,
        settings: EmulatorSettings | None = None,
        max_body: int = DEFAULT_MAX_BODY,
        control_token: str | None = None,
    ) -> None:
        self.plugin = plugin
        self.max_body = max_body
        self.vendor = plugin.slug
        self.spec, spec_text = resolved_spec(self.vendor)
        self.lifecycle = Lifecycle.from_spec(self.spec)
        self.settings = settings or EmulatorSettings()
        self._start_settings = dataclasses.replace(self.settings)  # what a reset goes back to
        self.clock: Clock = clock or SystemClock()
        self.store = Store(db)
        self.engine = ScanEngine(
            self.lifecycle,
            self.store,
            self.clock,
            on_transition=lambda scan, old, new, cause: self.backend.on_transition(scan, old, new, cause),
            default=Progression.parse(self.settings.progression, self.lifecycle),
            summarize=lambda scan: self.backend.summary(scan),
        )
        self.faults = FaultQueue()
        self.operations = {f"{m} {p}": op for m, p, op in iter_operations(self.spec)}
        self.drift = DriftRules(self.spec, self.operations)
        self.limiter = RateLimiter.from_spec(self.spec, self.operations)
        self.validator = _validator(self.vendor, spec_text, tuple(plugin.extra_prefixes))
        self.violations: list[Violation] = []
        self.errors: list[str] = []
        self.backend = plugin.backend_cls(self)
        self.prefixes = [*server_prefixes(self.spec), *plugin.extra_prefixes]
        self._routes = self._build_routes()
        self._places: dict[tuple[Any, ...], _Where] = {}
        from conformance.emulators.core.control import control_routes

        self.guard = ControlGuard(
            Starlette(
                routes=[
                    Mount("/_emulator", routes=control_routes(self)),
                    Route("/{rest:path}", self._dispatch, methods=_ALL),
                ]
            ),
            token=control_token,
        )
        self.app = self.guard
        self.backend.reset()

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        if scope["type"] == "http" and not scope["path"].startswith("/_emulator/"):
            # Vendor requests skip Starlette's router: its catch-all `{rest:path}` does not match a
            # path holding a newline (%0A) and answered those with a text/plain 404 of its own.
            # The body is read later, after authentication and within the size limit (limits.py).
            try:
                response = await self._dispatch(Request(scope, receive, send))
            except ClientDisconnect:  # gone while its body was read: nobody to answer
                return
            await response(scope, receive, send)
            return
        await self.app(scope, receive, send)

    # -- routing ----------------------------------------------------------------------------------

    def _build_routes(self) -> list[_Route]:
        missing = sorted(set(self.operations) - set(self.plugin.routes))
        extra = sorted(set(self.plugin.routes) - set(self.operations))
        if missing or extra:
            raise RuntimeError(
                f"{self.vendor} emulator routes do not match the spec: "
                f"missing {missing or '-'}, unknown {extra or '-'}"
            )
        global_security = self.spec.get("security")
        routes = []
        for key, handler in self.plugin.routes.items():
            method, path = key.split(" ", 1)
            op = self.operations[key]
            public = op.get("security", global_security) == []
            for prefix in self.prefixes:
                regex, _, _ = compile_path(prefix + path)
                routes.append(_Route(key, op.get("operationId", key), method, regex, handler, public))
        return routes

    def coverage(self) -> dict[str, list[str]]:
        """Spec operations vs emulator routes (both keyed `METHOD /path`)."""
        return {
            "implemented": sorted(set(self.operations) & set(self.plugin.routes)),
            "missing": sorted(set(self.operations) - set(self.plugin.routes)),
        }

    # -- the pipeline -----------------------------------------------------------------------------

    async def _dispatch(self, request: Request, body: bytes | None = None) -> Response:
        where = self._where(request)
        path, matched = where.path, where.matched
        if not matched:
            # The path is capped: an echo of a 32 KiB URL is no help (limits.cap).
            return self.plugin.error_response(None, 404, f"no such endpoint: {request.method} {cap(path)}")
        for route, path_params in matched:
            if route.method == request.method:
                return await self._handle(request, body, route, path_params, where)
        allowed = ", ".join(sorted({r.method for r, _ in matched}))
        response = self.plugin.error_response(
            None, 405, f"method {request.method} not allowed; use {allowed}"
        )
        response.headers["Allow"] = allowed
        return response

    def _where(self, request: Request) -> _Where:
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
            if _STRIPPED_BY_URLLIB.search(scope["path"]):
                # Starlette's URL went through urllib.parse, which drops tabs, CRs and LFs: `abc%0A`
                # would name resource `abc`. The path as sent (escaped as Starlette does) keeps them.
                path = scope["path"].replace("?", "%3F").replace("#", "%23").replace("\\", "%5C")
            matched = [(r, m.groupdict()) for r in self._routes if (m := r.regex.match(path))]
            known = _Where(path, url.query, str(request.base_url).rstrip("/"), matched)
            self._places[key] = known
        return known

    async def _handle(
        self, request: Request, body: bytes | None, route: _Route, path_params: dict[str, str], where: _Where
    ) -> Response:
        query, base_url = where.query, where.base_url
        raw_query = {
            k: v[0] if len(v) == 1 else v for k, v in parse_qs(query, keep_blank_values=True).items()
        }
        call = Call(
            emulator=self,
            method=request.method,
            operation=route.key,
            operation_id=route.operation_id,
            path_params=dict(path_params),
            query=dict(raw_query),
            headers={k.lower(): v for k, v in request.headers.items()},
            body=None,
            raw_body=b"",
            raw_query=raw_query,
            content_type=request.headers.get("content-type", "").split(";")[0].strip().lower(),
            client_ip=request.client.host if request.client else "127.0.0.1",
            base_url=base_url,
        )
        verdict: Verdict | None = None
        fault = self.faults.take(route.key, route.operation_id)
        try:
            if fault is not None:
                early = await self._apply_fault(call, fault)
                if early is not None:
                    return early
            # Per-IP buckets count every request (Advalidation); per-account ones only authenticated ones.
            if self.settings.rate_limits:
                verdict = self.limiter.check(route.key, None, call.client_ip, self.clock.now(), scope="ip")
            if verdict is None or verdict.allowed:
                if not route.public:
                    call.account = self.plugin.authenticate(call)
                if self.settings.rate_limits:
                    verdict = (
                        self.limiter.check(
                            route.key, call.account, call.client_ip, self.clock.now(), scope="account"
                        )
                        or verdict
                    )
            if verdict is not None and not verdict.allowed:
                response = self.plugin.error_response(
                    call, 429, "rate limit exceeded", retry_after=verdict.retry_after
                )
                return self.plugin.decorate(call, response, verdict)
            if body is None:
                body = await read_body(request, self.max_body)
            call.raw_body = body
            self.plugin.check_body(call)
            self._parse(call, request, body)
            response = route.handler(call)
        except BodyTooLargeError as exc:
            response = self.plugin.error_response(call, 413, str(exc))
        except EmulatorError as exc:
            response = self.plugin.map_error(call, exc)
        except Exception as exc:  # the emulator's own bug: answer like the vendor's 500, keep the cause
            log.exception("%s emulator failed on %s", self.vendor, route.key)
            self.errors.append(f"{route.key}: {type(exc).__name__}: {exc}")
            response = self.plugin.error_response(call, 500, "internal error")
        response = self.plugin.decorate(call, response, verdict)
        if self.drift.rules:
            response = self.drift.apply(route.key, response)
        if fault is not None and fault.kind == "malformed":
            response = _corrupt(response, fault.variant)
        elif self.settings.validate_responses and response.status_code != 413:
            problems = self.validator.check_response(request, call.raw_body, response)
            if problems:
                self.violations.append(Violation(route.key, response.status_code, problems))
        return response

    def _parse(self, call: Call, request: Request, body: bytes) -> None:
        if "json" in call.content_type:
            check_json(body)  # depth and non-finite numbers, before any parser recurses (limits.py)
        if self.settings.validate_requests:
            check = self.validator.check_request(request, body)
            if check.problems:
                raise BadRequestError("request does not match the spec", check.problems, check.fields)
            call.path_params.update(_typed_path_params(call.path_params, check.path))
            call.query = check.query
            call.body = check.body
            return
        if call.content_type == "application/json" and body:
            call.body = loads_json(body)
        elif call.content_type == "application/x-www-form-urlencoded":
            call.body = {
                k: v[0] if len(v) == 1 else v for k, v in parse_qs(body.decode(errors="replace")).items()
            }

    async def _apply_fault(self, call: Call, fault: Fault) -> Response | None:
        if fault.kind == "status":
            assert fault.status is not None
            return self.plugin.error_response(
                call, fault.status, "injected fault", retry_after=fault.retry_after
            )
        if fault.kind == "delay":
            await asyncio.sleep(fault.seconds or 1.0)
        elif fault.kind == "timeout":
            await asyncio.sleep(fault.seconds if fault.seconds is not None else 60.0)
            return self.plugin.error_response(call, 504, "injected timeout")
        elif fault.kind == "expired_auth":
            raise AuthError("credentials expired", kind="expired")
        return None

    def error_page(self, status: int, message: str) -> tuple[str, bytes]:
        """(content type, body) of the vendor's error envelope, for refusals made before the app runs
        (server.py: malformed requests, URLs and headers too large, slow clients)."""
        response = self.plugin.error_response(None, status, message)
        return header_of(response, "content-type") or "application/json", bytes(response.body)

    # -- control ----------------------------------------------------------------------------------

    def reset(self) -> None:
        # The settings object is shared (tests and the server hold it): restored in place.
        for name in self.settings.__dataclass_fields__:
            setattr(self.settings, name, copy.deepcopy(getattr(self._start_settings, name)))
        self.store.clear()
        self.faults.clear()
        self.drift.clear()
        self.limiter.reset()
        self.violations.clear()
        self.errors.clear()
        self.backend.reset()

    def inject(self, raw: dict[str, Any]) -> Fault:
        fault = Fault.parse(raw)
        if fault.operation is not None:
            known = set(self.operations) | {r.operation_id for r in self._routes}
            if fault.operation not in known:
                # It would never match a request, so it would never fire.
                raise BadRequestError(
                    f"fault.operation {fault.operation!r} is not an operation of this vendor; "
                    f"use an operationId or 'METHOD /path' ({', '.join(sorted(self.operations))})"
                )
        self.faults.add(fault)
        return fault


_ALL = ["GET", "POST", "PUT", "PATCH", "DELETE", "HEAD", "OPTIONS"]
_PLACES_KEPT = 1024  # distinct request URLs whose parsing is kept (fuzzed paths are mostly unique)
_STRIPPED_BY_URLLIB = re.compile("[\t\r\n]")


def _typed_path_params(raw: Mapping[str, str], typed: Mapping[str, Any]) -> dict[str, Any]:
    """The router's path parameters, typed by the spec where it types them (integers...).

    openapi-core reads the URL through urllib.parse, which drops tabs, CRs and LFs anywhere in it: its
    value of `abc%0A` is `abc`, another resource. A string parameter keeps the router's own value; a typed
    one whose raw value holds such a character is not of its type (openapi-core checked a different one).
    """
    out: dict[str, Any] = {}
    for name, value in typed.items():
        sent = raw.get(name)
        if sent is None:
            out[name] = value
        elif isinstance(value, str):
            out[name] = sent
        elif _STRIPPED_BY_URLLIB.search(sent):
            raise BadRequestError(
                "request does not match the spec",
                [f"path parameter {name!r}: {sent!r} is not a valid value"],
                [("path", name)],
            )
        else:
            out[name] = value
    return out


def _corrupt(response: Response, variant: str) -> Response:
    body = bytes(response.body)
    if variant == "html":
        new, media = b"<html><body><h1>502 Bad Gateway</h1></body></html>", "text/html"
    elif variant == "empty":
        new, media = b"", response.media_type or "application/json"
    else:
        new, media = body[: max(1, len(body) // 2)], response.media_type or "application/json"
    headers = {
        k: v for k, v in response.headers.items() if k.lower() not in ("content-length", "content-type")
    }
    return Response(
        new,
        status_code=200 if response.status_code < 400 else response.status_code,
        headers=headers,
        media_type=media,
    )


def build_emulator(
    vendor: str | VendorPlugin,
    *,
    db: str | Path = ":memory:",
    clock: Clock | None = None,
    settings: EmulatorSettings | None = None,
    max_body: int = DEFAULT_MAX_BODY,
    control_token: str | None = None,
) -> Emulator:
    """A fresh emulator (its own store) for a vendor slug or plugin instance."""
    if isinstance(vendor, str):
        import importlib

        module = importlib.import_module(f"conformance.emulators.{vendor}")
        plugin: VendorPlugin = module.Plugin()
    else:
        plugin = vendor
    return Emulator(
        plugin, db=db, clock=clock, settings=settings, max_body=max_body, control_token=control_token
    )
