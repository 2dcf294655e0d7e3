"""The emulator app: one object serves in-process (ASGI, httpx transport) and as a real server.

Every vendor request goes through one pipeline: route by the spec's own path templates -> injected
faults -> authentication (vendor's scheme and error) -> rate limits (spec `x-rate-limit`) -> request
validation against the resolved spec (openapi-core) -> the vendor handler -> (tests) response
validation. Any failure is answered in the vendor's own error envelope; an unexpected exception is a
vendor-shaped 500 and is recorded, never a framework traceback page.
"""

from __future__ import annotations

import asyncio
import functools
import json
import logging
import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, ClassVar
from urllib.parse import parse_qs

import yaml
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Mount, Route, compile_path

from conformance.emulators.core.clock import Clock, SystemClock
from conformance.emulators.core.engine import Progression, Scan, ScanEngine
from conformance.emulators.core.errors import AuthError, BadRequestError, EmulatorError
from conformance.emulators.core.faults import Fault, FaultQueue
from conformance.emulators.core.http import Call
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
        self.clock = emulator.clock
        self.lifecycle = emulator.lifecycle
        self.engine = emulator.engine

    def on_transition(self, scan: Scan, old: str, new: str, cause: str) -> None:
        """Keep the vendor's own fields consistent with the state (timestamps, progress...)."""

    def seed_scan(
        self, account: str, state: str | None, data: dict[str, Any], progression: dict[str, Any] | None
    ) -> Scan:
        """Control API: create a scan for `account` in any state; vendor fields may be given in `data`."""
        raise NotImplementedError

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
        raise NotImplementedError

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
    ) -> None:
        self.plugin = plugin
        self.vendor = plugin.slug
        self.spec, spec_text = resolved_spec(self.vendor)
        self.lifecycle = Lifecycle.from_spec(self.spec)
        self.settings = settings or EmulatorSettings()
        self.clock: Clock = clock or SystemClock()
        self.store = Store(db)
        self.engine = ScanEngine(
            self.lifecycle,
            self.store,
            self.clock,
            on_transition=lambda scan, old, new, cause: self.backend.on_transition(scan, old, new, cause),
            default=Progression.parse(self.settings.progression, self.lifecycle),
        )
        self.faults = FaultQueue()
        self.operations = {f"{m} {p}": op for m, p, op in iter_operations(self.spec)}
        self.limiter = RateLimiter.from_spec(self.spec, self.operations)
        self.validator = _validator(self.vendor, spec_text, tuple(plugin.extra_prefixes))
        self.violations: list[Violation] = []
        self.errors: list[str] = []
        self.backend = plugin.backend_cls(self)
        self.prefixes = [*server_prefixes(self.spec), *plugin.extra_prefixes]
        self._routes = self._build_routes()
        from conformance.emulators.core.control import control_routes

        self.app = Starlette(
            routes=[
                Mount("/_emulator", routes=control_routes(self)),
                Route("/{rest:path}", self._dispatch, methods=_ALL),
            ]
        )
        self.backend.reset()

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        if scope["type"] == "http" and not scope["path"].startswith("/_emulator/"):
            # Vendor requests skip Starlette's router: its catch-all `{rest:path}` does not match a
            # path holding a newline (%0A) and answered those with a text/plain 404 of its own.
            request = Request(scope, receive, send)
            response = await self._dispatch(request)
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

    async def _dispatch(self, request: Request) -> Response:
        path = request.url.path
        matched = [(r, m) for r in self._routes if (m := r.regex.match(path))]
        if not matched:
            return self.plugin.error_response(None, 404, f"no such endpoint: {request.method} {path}")
        for route, match in matched:
            if route.method == request.method:
                return await self._handle(request, route, match.groupdict())
        allowed = ", ".join(sorted({r.method for r, _ in matched}))
        response = self.plugin.error_response(
            None, 405, f"method {request.method} not allowed; use {allowed}"
        )
        response.headers["Allow"] = allowed
        return response

    async def _handle(self, request: Request, route: _Route, path_params: dict[str, str]) -> Response:
        body = await request.body()
        raw_query = {
            k: v[0] if len(v) == 1 else v
            for k, v in parse_qs(request.url.query, keep_blank_values=True).items()
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
            raw_body=body,
            raw_query=raw_query,
            content_type=request.headers.get("content-type", "").split(";")[0].strip().lower(),
            client_ip=request.client.host if request.client else "127.0.0.1",
            base_url=str(request.base_url).rstrip("/"),
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
            self._parse(call, request, body)
            response = route.handler(call)
        except EmulatorError as exc:
            response = self.plugin.map_error(call, exc)
        except Exception as exc:  # the emulator's own bug: answer like the vendor's 500, keep the cause
            log.exception("%s emulator failed on %s", self.vendor, route.key)
            self.errors.append(f"{route.key}: {type(exc).__name__}: {exc}")
            response = self.plugin.error_response(call, 500, "internal error")
        response = self.plugin.decorate(call, response, verdict)
        if fault is not None and fault.kind == "malformed":
            response = _corrupt(response, fault.variant)
        elif self.settings.validate_responses:
            problems = self.validator.check_response(request, body, response)
            if problems:
                self.violations.append(Violation(route.key, response.status_code, problems))
        return response

    def _parse(self, call: Call, request: Request, body: bytes) -> None:
        if self.settings.validate_requests:
            check = self.validator.check_request(request, body)
            if check.problems:
                raise BadRequestError("request does not match the spec", check.problems, check.fields)
            call.path_params.update({k: v for k, v in check.path.items()})
            call.query = check.query
            call.body = check.body
            return
        if call.content_type == "application/json" and body:
            try:
                call.body = json.loads(body)
            except ValueError as exc:
                raise BadRequestError(f"body is not valid JSON: {exc}") from None
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

    # -- control ----------------------------------------------------------------------------------

    def reset(self) -> None:
        self.store.clear()
        self.faults.clear()
        self.limiter.reset()
        self.violations.clear()
        self.errors.clear()
        self.backend.reset()

    def inject(self, raw: dict[str, Any]) -> Fault:
        fault = Fault.parse(raw)
        self.faults.add(fault)
        return fault


_ALL = ["GET", "POST", "PUT", "PATCH", "DELETE", "HEAD", "OPTIONS"]


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
) -> Emulator:
    """A fresh emulator (its own store) for a vendor slug or plugin instance."""
    if isinstance(vendor, str):
        import importlib

        module = importlib.import_module(f"conformance.emulators.{vendor}")
        plugin: VendorPlugin = module.Plugin()
    else:
        plugin = vendor
    return Emulator(plugin, db=db, clock=clock, settings=settings)
