"""The emulator app: one object serves in-process (ASGI, httpx transport) and as a real server.

Every vendor request goes through one pipeline: route by the spec's own path templates -> injected
faults -> the vendor's route checks -> authentication (`x-scanwire-auth`, core.auth) -> rate limits
(spec `x-rate-limit`) -> request validation against the resolved spec (openapi-core) -> the vendor
handler -> (tests) response validation. Every failure is an EmulatorError rendered by the vendor's error
table (core.render); an unexpected exception is a vendor-shaped 500 and is recorded, never a framework
traceback page.
"""

from __future__ import annotations

import asyncio
import copy
import dataclasses
import importlib
import logging
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs

from starlette.applications import Starlette
from starlette.requests import ClientDisconnect, Request
from starlette.responses import Response
from starlette.routing import Mount
from starlette.routing import Route as StarletteRoute

from conformance.emulators.core.auth import Authenticator
from conformance.emulators.core.clock import Clock, SystemClock
from conformance.emulators.core.control import control_routes
from conformance.emulators.core.drift import DriftRules
from conformance.emulators.core.engine import Progression, ScanEngine
from conformance.emulators.core.errors import AuthError, BadRequestError, EmulatorError, HttpError, Problem
from conformance.emulators.core.faults import Fault, FaultQueue, corrupt
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
from conformance.emulators.core.paging import paging_rules
from conformance.emulators.core.plugin import Backend, VendorPlugin, plugin_for
from conformance.emulators.core.ratelimit import RateLimiter, Verdict
from conformance.emulators.core.routing import STRIPPED_BY_URLLIB, Route, Router, Where
from conformance.emulators.core.settings import EmulatorSettings
from conformance.emulators.core.spec import resolved_spec, spec_validator
from conformance.emulators.core.store import Store
from conformance.emulators.core.tolerance import Tolerance, query_params
from conformance.emulators.core.validation import server_prefixes
from scanwire.runtime.lifecycle import Lifecycle
from scanwire.specs import iter_operations

__all__ = ["Backend", "Emulator", "EmulatorSettings", "VendorPlugin", "Violation", "build_emulator"]

log = logging.getLogger("scanwire.emulator")


@dataclass
class Violation:
    operation: str
    status: int
    problems: list[str]


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
            list_keys=lambda scan: self.backend.list_keys(scan),
        )
        self.faults = FaultQueue()
        self.operations = {f"{m} {p}": op for m, p, op in iter_operations(self.spec)}
        self.limiter = RateLimiter.from_spec(self.spec, self.operations)
        self.paging = paging_rules(self.operations)
        self.drift = DriftRules(self.spec, self.operations)
        self.validator = spec_validator(self.vendor, spec_text, tuple(plugin.extra_prefixes))
        self.accounts = plugin.accounts
        self.scenarios = plugin.scenarios
        self.authenticator = Authenticator(self.spec.get("x-scanwire-auth") or {}, plugin.accounts)
        self.violations: list[Violation] = []
        self.errors: list[str] = []
        self.backend = plugin.backend_cls(self)
        self.prefixes = [*server_prefixes(self.spec), *plugin.extra_prefixes]
        self.tolerance = Tolerance.from_spec(self.spec)
        self._query_params = {k: query_params(self.spec, op) for k, op in self.operations.items()}
        # The vendor permission an operation needs (x-scanwire-permission; core/auth.py's members).
        self._permission = {
            k: str(op["x-scanwire-permission"])
            for k, op in self.operations.items()
            if "x-scanwire-permission" in op
        }
        self.router = Router(
            self.vendor, self.spec, self.operations, plugin.routes, self.prefixes, self.tolerance
        )
        self.guard = ControlGuard(
            Starlette(
                routes=[
                    Mount("/_emulator", routes=control_routes(self)),
                    StarletteRoute("/{rest:path}", self._dispatch, methods=_ALL),
                ]
            ),
            token=control_token,
        )
        self.app = self.guard
        self.backend.reset()
        self.engine.upgrade()  # scans of an older state file get the keys lists filter on (once)

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

    def coverage(self) -> dict[str, list[str]]:
        """Spec operations vs emulator routes (both keyed `METHOD /path`)."""
        return {
            "implemented": sorted(set(self.operations) & set(self.plugin.routes)),
            "missing": sorted(set(self.operations) - set(self.plugin.routes)),
        }

    # -- the pipeline -----------------------------------------------------------------------------

    async def _dispatch(self, request: Request, body: bytes | None = None) -> Response:
        where = self.router.where(request)
        path, matched = where.path, where.matched
        if not matched:
            return self.plugin.errors.render(
                # The path is capped: an echo of a 32 KiB URL is no help (echo.cap).
                None,
                HttpError(404, f"no such endpoint: {request.method} {cap(path)}", path=cap(path)),
            )
        for route, path_params in matched:
            if route.method == request.method:
                return await self._handle(request, body, route, path_params, where)
        allowed = ", ".join(sorted({r.method for r, _ in matched}))
        response = self.plugin.errors.render(
            None,
            HttpError(
                405,
                f"method {request.method} not allowed; use {allowed}",
                method=request.method,
                allowed=allowed,
            ),
        )
        response.headers["Allow"] = allowed
        return response

    async def _handle(
        self, request: Request, body: bytes | None, route: Route, path_params: dict[str, str], where: Where
    ) -> Response:
        query, base_url = where.query, where.base_url
        tolerated_query = self.tolerance.query(query, self._query_params[route.key])
        if where.tolerated is not None or tolerated_query != query:
            # The request as the server understood it (x-scanwire-tolerance): validation and the
            # handler see the template's path and the query without the empty optional values.
            scope = dict(request.scope)
            if where.tolerated is not None:
                scope["path"] = where.tolerated
                scope["raw_path"] = where.tolerated.encode()
            scope["query_string"] = tolerated_query.encode()
            request = Request(scope, request.receive)
            query = tolerated_query
        raw_query = {
            k: v[0] if len(v) == 1 else v for k, v in parse_qs(query, keep_blank_values=True).items()
        }
        call: Call[Any] = Call(
            emulator=self,
            backend=self.backend,
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
                    for check in self.plugin.route_checks:
                        check(call)
                    call.account = self.authenticator.authenticate(call, self.backend)
                    permission = self._permission.get(route.key)
                    if permission is not None:
                        self.authenticator.check_permission(call, permission)
                if self.settings.rate_limits:
                    verdict = (
                        self.limiter.check(
                            route.key, call.account, call.client_ip, self.clock.now(), scope="account"
                        )
                        or verdict
                    )
            if verdict is not None and not verdict.allowed:
                response = self.plugin.errors.render(
                    call, HttpError(429, "rate limit exceeded", retry_after=verdict.retry_after)
                )
                return self.plugin.decorate(call, response, verdict)
            if body is None:
                body = await read_body(request, self.max_body)
            call.raw_body = body
            for check in self.plugin.body_checks:
                check(call)
            self._parse(call, request, body)
            with self.store.request():  # other connections' commits looked for once (store.py)
                response = route.handler(call)
        except BodyTooLargeError as exc:
            response = self.plugin.errors.render(call, HttpError(413, str(exc)))
        except EmulatorError as exc:
            response = self.plugin.errors.render(call, exc)
        except Exception as exc:  # the emulator's own bug: answer like the vendor's 500, keep the cause
            log.exception("%s emulator failed on %s", self.vendor, route.key)
            self.errors.append(f"{route.key}: {type(exc).__name__}: {exc}")
            response = self.plugin.errors.render(call, HttpError(500, "internal error"))
        response = self.plugin.decorate(call, response, verdict)
        if self.drift.rules:
            response = self.drift.apply(route.key, response)
        if fault is not None and fault.kind == "malformed":
            response = corrupt(response, fault.variant)
        elif self.settings.validate_responses and response.status_code != 413:
            problems = self.validator.check_response(request, call.raw_body, response)
            if problems:
                self.violations.append(Violation(route.key, response.status_code, problems))
        return response

    def _parse(self, call: Call[Any], request: Request, body: bytes) -> None:
        if "json" in call.content_type:
            check_json(body)  # depth and non-finite numbers, before any parser recurses (limits.py)
        if self.settings.validate_requests:
            check = self.validator.check_request(request, body, call.operation, call.path_params)
            if check.problems:
                raise BadRequestError("request does not match the spec", check.problems)
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

    async def _apply_fault(self, call: Call[Any], fault: Fault) -> Response | None:
        if fault.kind == "status":
            assert fault.status is not None
            return self.plugin.errors.render(
                call, HttpError(fault.status, "injected fault", retry_after=fault.retry_after)
            )
        if fault.kind == "delay":
            await asyncio.sleep(fault.seconds or 1.0)
        elif fault.kind == "timeout":
            await asyncio.sleep(fault.seconds if fault.seconds is not None else 60.0)
            return self.plugin.errors.render(call, HttpError(504, "injected timeout"))
        elif fault.kind == "expired_auth":
            raise AuthError("credentials expired", kind="expired")
        return None

    def error_page(self, status: int, message: str) -> tuple[str, bytes]:
        """(content type, body) of the vendor's error envelope, for refusals made before the app runs
        (server.py: malformed requests, URLs and headers too large, slow clients)."""
        response = self.plugin.errors.render(None, HttpError(status, message))
        return header_of(response, "content-type") or "application/json", bytes(response.body)

    # -- control ----------------------------------------------------------------------------------

    def reset(self) -> None:
        # The settings object is shared (tests and the server hold it): restored in place.
        for name in self.settings.__dataclass_fields__:
            setattr(self.settings, name, copy.deepcopy(getattr(self._start_settings, name)))
        self.store.clear()
        self.faults.clear()
        self.limiter.reset()
        self.drift.clear()
        self.violations.clear()
        self.errors.clear()
        self.backend.reset()

    def inject(self, raw: dict[str, Any]) -> Fault:
        fault = Fault.parse(raw)
        if fault.operation is not None:
            known = set(self.operations) | {r.operation_id for r in self.router.routes}
            if fault.operation not in known:
                # It would never match a request, so it would never fire.
                raise BadRequestError(
                    f"fault.operation {fault.operation!r} is not an operation of this vendor; "
                    f"use an operationId or 'METHOD /path' ({', '.join(sorted(self.operations))})"
                )
        self.faults.add(fault)
        return fault


_ALL = ["GET", "POST", "PUT", "PATCH", "DELETE", "HEAD", "OPTIONS"]


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
        elif STRIPPED_BY_URLLIB.search(sent):
            message = f"path parameter {name!r}: {sent!r} is not a valid value"
            raise BadRequestError(
                "request does not match the spec", [Problem("path", name, "type", message, sent, message)]
            )
        else:
            out[name] = value
    return out


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
        module = importlib.import_module(f"conformance.emulators.{vendor}")
        plugin: VendorPlugin = (getattr(module, "Plugin", None) or plugin_for(module.__name__))()
    else:
        plugin = vendor
    return Emulator(
        plugin, db=db, clock=clock, settings=settings, max_body=max_body, control_token=control_token
    )
