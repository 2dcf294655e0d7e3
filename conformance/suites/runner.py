"""Run schemathesis against one vendor API: the in-process emulator by default, a real server on request.

The engine is schemathesis' own (examples, coverage, fuzzing and stateful phases; its checks plus
scanwire's `lifecycle_conformance`); this module only chooses the target, credentials, safety rules and
budget, and folds the engine's events into per-operation x per-check results for the reports.
"""

from __future__ import annotations

import os
import re
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any

import httpx
import schemathesis
from schemathesis.engine import events, from_schema
from schemathesis.schemas import BaseSchema

from conformance.suites import checks as _checks  # registers scanwire's checks
from scanwire.paths import layout
from scanwire.runtime.auth import credentials_for, make_auth
from scanwire.runtime.errors import ErrorSpec, ScanwireError
from scanwire.specs import iter_operations, served_spec
from scanwire.yamlio import loads_yaml

__all__ = [
    "BUILTIN_CHECKS",
    "CheckTally",
    "ConformanceOptions",
    "CredentialsError",
    "OperationResult",
    "VendorRun",
    "credentials_from_env",
    "env_credentials",
    "run_vendor",
    "run_vendors",
]

BUILTIN_CHECKS = (
    "not_a_server_error",
    "status_code_conformance",
    "content_type_conformance",
    "response_schema_conformance",
    "response_headers_conformance",
)
ALL_CHECKS = (*BUILTIN_CHECKS, *_checks.SCANWIRE_CHECKS)
READ_METHODS = ("GET", "HEAD", "OPTIONS")


class CredentialsError(ValueError):
    """Credentials for a real-server run are missing; the message names the variables to set."""


@dataclass
class ConformanceOptions:
    base_url: str | None = None  # None: the in-process emulator
    credentials: dict[str, str] = field(default_factory=dict)
    max_examples: int = 25
    allow_writes: bool = False
    seed: int = 1
    phases: tuple[str, ...] = ("examples", "coverage", "fuzzing", "stateful")
    checks: tuple[str, ...] = ALL_CHECKS
    rate_limit: str | None = None  # e.g. "5/s"; real servers default to "auto" (honours 429/Retry-After)
    max_time: float | None = None
    # Fuzz again, with fresh values only, every operation that got fewer cases than this (None:
    # max_examples; 0: never). See `_top_up`.
    min_cases: int | None = None
    emulator_factory: Callable[[str], Any] | None = None  # tests inject deliberately broken emulators


@dataclass
class FailureExample:
    title: str
    message: str
    curl: str


@dataclass
class CheckTally:
    passed: int = 0
    failed: int = 0
    first_failure: FailureExample | None = None

    @property
    def status(self) -> str:
        return "fail" if self.failed else ("pass" if self.passed else "skip")


@dataclass
class OperationResult:
    label: str
    cases: int = 0
    checks: dict[str, CheckTally] = field(default_factory=dict)
    errors: list[str] = field(default_factory=list)
    skipped: str | None = None

    @property
    def status(self) -> str:
        if self.errors or any(t.failed for t in self.checks.values()):
            return "fail"
        return "pass" if self.cases else "skip"


@dataclass
class VendorRun:
    vendor: str
    target: str
    operations: dict[str, OperationResult]
    seconds: float
    phases: dict[str, int] = field(default_factory=dict)  # cases per phase
    statuses: dict[str, int] = field(default_factory=dict)  # answers per status class ("2xx", "401", ...)
    excluded: list[str] = field(default_factory=list)  # write operations left out (read-only mode)
    fatal: str | None = None
    # Operations fuzzed again with fresh values, each with the cases it lacked then (runner._top_up).
    topped_up: dict[str, int] = field(default_factory=dict)

    @property
    def cases(self) -> int:
        return sum(op.cases for op in self.operations.values())

    @property
    def ok(self) -> bool:
        return self.fatal is None and all(op.status != "fail" for op in self.operations.values())

    def failing_checks(self) -> dict[tuple[str, str], str]:
        """(operation, check) -> title of its first failure, for every check that failed somewhere."""
        return {
            (op.label, name): tally.first_failure.title if tally.first_failure else ""
            for op in self.operations.values()
            for name, tally in op.checks.items()
            if tally.failed
        }


def env_credentials(vendor: str) -> dict[str, str]:
    """Credential name -> environment variable (`SCANWIRE_<VENDOR>_<NAME>`), for the names the spec's
    `x-scanwire-auth` declares (documented in docs/conformance.md)."""
    names = (_spec(vendor).get("x-scanwire-auth") or {}).get("credentials") or []
    return {name: f"SCANWIRE_{vendor.upper()}_{name.upper()}" for name in names}


def credentials_from_env(vendor: str, given: dict[str, str]) -> dict[str, str]:
    """Credentials from options first, environment second; CredentialsError lists what is missing."""
    out = dict(given)
    optional = set((_spec(vendor).get("x-scanwire-auth") or {}).get("optional") or [])
    missing = []
    for key, env in env_credentials(vendor).items():
        if key not in out and os.environ.get(env):
            out[key] = os.environ[env]
        if key not in out and key not in optional:
            missing.append(f"{env} (or --auth {key}=...)")
    if missing:
        raise CredentialsError(f"{vendor}: missing credentials: {', '.join(missing)}")
    return out


_SECRET_HEADER = re.compile(r"(-H '(?:Authorization|X-API-Key|apikey): )[^']*'", re.IGNORECASE)


def redact(text: str, secrets: list[str]) -> str:
    """No credential reaches a report: auth headers and every known secret value are masked."""
    text = _SECRET_HEADER.sub(r"\1***'", text)
    text = re.sub(r"(-u |--user )\S+", r"\1***", text)
    for secret in sorted((s for s in secrets if s and len(s) >= 4), key=len, reverse=True):
        text = text.replace(secret, "***")
    return text


# -- targets --------------------------------------------------------------------------------------


def _emulator_credentials(spec: dict[str, Any], plugin: Any) -> dict[str, str]:
    """The first emulator account's credentials, under the names the spec declares."""
    names = (spec.get("x-scanwire-auth") or {}).get("credentials") or []
    account = next(iter(plugin.accounts.values()))
    return {name: str(account[name]) for name in names if name in account}


def _register_auth(
    schema: Any, vendor: str, spec: dict[str, Any], creds: dict[str, str], http: httpx.Client
) -> None:
    """Every case authenticates as the generated clients do: the runtime's httpx.Auth built from the spec's
    `x-scanwire-auth` (Basic, key headers, AppSpider's login), its headers copied onto the case.

    The auth flow runs against a stand-in request; requests it yields before that one (a login) are sent
    with `http`. One client serves every login of the run: a client per login closed the shared
    in-process transport each time (a new event loop and thread per case) or opened a new connection to a
    real server.
    """
    auth_spec = spec.get("x-scanwire-auth") or {}
    values = credentials_for(auth_spec, vendor, (), creds)
    auth = make_auth(
        auth_spec, values, vendor=vendor, errors=ErrorSpec.from_extensions(spec.get("x-scanwire-errors"))
    )
    bind = getattr(auth, "bind", None)
    if bind is not None:
        bind(str(http.base_url).rstrip("/"))

    @schema.auth(refresh_interval=None)
    class RuntimeAuth:
        def get(self, case: Any, context: Any) -> dict[str, str]:
            stand_in = httpx.Request("GET", http.base_url)
            flow = auth.sync_auth_flow(stand_in)
            try:
                outgoing = next(flow)
                while outgoing is not stand_in:
                    outgoing = flow.send(http.send(outgoing))
            except (ScanwireError, httpx.HTTPError) as exc:
                raise CredentialsError(f"{vendor}: login failed: {exc}") from None
            finally:
                flow.close()
            return {k: v for k, v in stand_in.headers.items() if k.lower() != "host"}

        def set(self, case: Any, data: dict[str, str], context: Any) -> None:
            case.headers = {**(case.headers or {}), **data}


def _config(opts: ConformanceOptions, base_url: str) -> dict[str, Any]:
    """Schemathesis' configuration for a run, as the dict `schemathesis.Config.from_dict` takes."""
    checks: dict[str, Any] = {"enabled": False}
    for name in opts.checks:
        checks[name] = {"enabled": True}
    phases = {
        name: {"enabled": name in opts.phases} for name in ("examples", "coverage", "fuzzing", "stateful")
    }
    data: dict[str, Any] = {
        "base-url": base_url,
        "seed": opts.seed,
        # No example database: Hypothesis wrote every new best example of its targets to disk (a third
        # of a conformance-full run's time, and 157 MB in `.hypothesis/` after a day of runs) and replayed
        # earlier runs' examples, so a run depended on the runs before it; the seed makes a run repeatable.
        "generation": {
            "max-examples": opts.max_examples,
            "mode": "all",
            "deterministic": False,
            "database": "none",
        },
        "checks": checks,
        "phases": phases,
        "suppress-health-check": ["all"],
    }
    if opts.base_url is not None:
        data["rate-limit"] = opts.rate_limit or "auto"
        data["request-timeout"] = 30
    elif opts.rate_limit:
        data["rate-limit"] = opts.rate_limit
    if opts.max_time:
        data["max-time"] = opts.max_time
    return data


def _spec(vendor: str) -> dict[str, Any]:
    path = layout().resolved(vendor)
    if not path.exists():
        raise FileNotFoundError(f"{path} is missing: run `scanwire generate {vendor}`")
    # As the server takes it: the suites also send the bodies the generated clients cannot (served_spec).
    doc: dict[str, Any] = served_spec(loads_yaml(path.read_text(encoding="utf-8")))
    return doc


def _server_prefix(spec: dict[str, Any]) -> str:
    from conformance.emulators.core.validation import server_prefixes

    prefix = server_prefixes(spec)[0]
    # A server variable in the path (ThreadFix {version}) takes its default.
    for server in spec.get("servers") or []:
        for name, var in (server.get("variables") or {}).items():
            prefix = prefix.replace("{" + name + "}", str(var.get("default", "")))
    return prefix


# -- the run --------------------------------------------------------------------------------------


def run_vendor(
    vendor: str, opts: ConformanceOptions, progress: Callable[[str, str], None] = lambda _vendor, _msg: None
) -> VendorRun:
    """One schemathesis run against one vendor; never raises for API failures (they are results)."""
    start = time.perf_counter()
    progress(vendor, "starting")
    spec = _spec(vendor)
    emulator = None
    transport = None
    if opts.base_url is None:
        from conformance.emulators.core.app import EmulatorSettings, build_emulator
        from conformance.emulators.core.transport import SyncASGITransport

        if opts.emulator_factory is not None:
            emulator = opts.emulator_factory(vendor)
        else:
            emulator = build_emulator(vendor, settings=EmulatorSettings(rate_limits=False))
        scenario = emulator.plugin.scenarios.get("conformance")
        if scenario is not None:
            scenario(emulator.backend)
        creds = _emulator_credentials(spec, emulator.plugin)
        base_url = "http://127.0.0.1" + _server_prefix(spec)
        target = "in-process emulator"
        transport = SyncASGITransport(emulator)
    else:
        creds = credentials_from_env(vendor, opts.credentials)
        base_url = opts.base_url.rstrip("/")
        target = base_url
    secrets = [v for v in creds.values() if v]

    config = _config(opts, base_url)
    schema: BaseSchema = schemathesis.openapi.from_dict(spec, config=schemathesis.Config.from_dict(config))
    if emulator is not None:
        schema.app = emulator
    excluded: list[str] = []
    if opts.base_url is not None and not opts.allow_writes:
        excluded = sorted(op.label for op in _operations(schema) if op.method.upper() not in READ_METHODS)
        schema = schema.include(method=list(READ_METHODS))
    login_http = httpx.Client(base_url=base_url, transport=transport, timeout=30)
    _register_auth(schema, vendor, spec, creds, login_http)

    def top_up(missing: dict[str, int]) -> BaseSchema:
        again = _top_up(spec, config, missing, app=emulator)
        _register_auth(again, vendor, spec, creds, login_http)
        return again

    results: dict[str, OperationResult] = {op.label: OperationResult(op.label) for op in _operations(schema)}
    phases: dict[str, int] = {}
    statuses: dict[str, int] = {}
    fatal: str | None = None
    short: dict[str, int] = {}

    def execute(schema: BaseSchema, phase_name: str | None = None) -> str | None:
        for event in from_schema(schema).execute():
            if isinstance(event, events.PhaseStarted):
                progress(vendor, f"{phase_name or event.phase.name.value} phase")
            elif isinstance(event, events.ScenarioFinished):
                _fold(results, phases, statuses, event, secrets, phase_name)
                progress(vendor, f"{phase_name or event.phase.value}: {event.recorder.label}")
            elif isinstance(event, events.NonFatalError):
                label = getattr(event, "label", "") or "run"
                results.setdefault(label, OperationResult(label)).errors.append(
                    redact(str(getattr(event, "info", event)), secrets)
                )
            elif isinstance(event, events.FatalError):
                return redact(f"{type(event.exception).__name__}: {event.exception}", secrets)
        return None

    try:
        fatal = execute(schema)
        wanted = opts.max_examples if opts.min_cases is None else opts.min_cases
        short = {label: wanted - op.cases for label, op in sorted(results.items()) if op.cases < wanted}
        short.pop("run", None)
        if fatal is None and short and "fuzzing" in opts.phases:
            fatal = execute(top_up(short), TOP_UP_PHASE)
    finally:
        login_http.close()
        if transport is not None:
            transport.close()
    if emulator is not None and emulator.errors:
        results.setdefault("emulator", OperationResult("emulator")).errors.extend(emulator.errors)
    if fatal is None and statuses and not statuses.get("2xx"):
        # Every answer was an error: the checks "pass" on documented 401s, but nothing was tested.
        seen = ", ".join(f"{k}: {v}" for k, v in sorted(statuses.items()))
        fatal = f"no request succeeded ({seen}); check the credentials and the base URL and its path prefix"
    seconds = time.perf_counter() - start
    return VendorRun(vendor, target, results, seconds, phases, statuses, excluded, fatal, short)


# -- several vendors -------------------------------------------------------------------------------

Progress = Callable[[str, str], None]
_worker_progress: Any = None  # a worker process's queue to the parent's progress display


def _init_worker(queue: Any) -> None:
    global _worker_progress
    _worker_progress = queue


def _run_in_worker(vendor: str, opts: ConformanceOptions) -> VendorRun:
    def progress(v: str, msg: str) -> None:
        _worker_progress.put((v, msg))

    return run_vendor(vendor, opts, progress=progress)


def run_vendors(
    vendors: Sequence[str],
    opts: ConformanceOptions,
    progress: Progress = lambda _v, _m: None,
    *,
    jobs: int | None = None,
) -> Iterator[VendorRun]:
    """`run_vendor` for each vendor, yielding each run as it finishes (not necessarily in `vendors` order).

    Against the in-process emulators, vendors run in up to `jobs` worker processes (default: one per
    core; 1 = one after the other in this process), the one with most operations first. Vendors share
    nothing (each has its own emulator, schema and seed), so where a vendor runs does not change its
    cases or checks; `progress` still gets every message, from a thread of this process. A real server,
    an injected emulator factory or a single vendor runs here. Worker processes are spawned: a script
    calling this needs the usual `if __name__ == "__main__":` guard.
    """
    workers = min(jobs or os.cpu_count() or 1, len(vendors))
    if workers <= 1 or opts.base_url is not None or opts.emulator_factory is not None:
        for vendor in vendors:
            yield run_vendor(vendor, opts, progress=progress)
        return
    from concurrent.futures import ProcessPoolExecutor, as_completed
    from multiprocessing import get_context

    def weight(vendor: str) -> int:
        return sum(1 for _ in iter_operations(_spec(vendor)))

    ctx = get_context("spawn")  # fresh interpreters: no fork of this process's threads and display
    queue = ctx.Queue()
    finished: set[str] = set()
    lock = threading.Lock()

    def relay() -> None:
        while (item := queue.get()) is not None:
            with lock:
                # The queue and the result travel apart: a late message never follows the verdict.
                if item[0] not in finished:
                    progress(*item)

    relay_thread = threading.Thread(target=relay, name="scanwire-conformance-progress", daemon=True)
    relay_thread.start()
    try:
        with ProcessPoolExecutor(
            workers, mp_context=ctx, initializer=_init_worker, initargs=(queue,)
        ) as pool:
            futures = [
                pool.submit(_run_in_worker, v, opts) for v in sorted(vendors, key=weight, reverse=True)
            ]
            for future in as_completed(futures):
                run = future.result()
                with lock:
                    finished.add(run.vendor)
                yield run
    finally:
        queue.put(None)
        relay_thread.join()


TOP_UP_PHASE = "fuzzing (fresh values)"


def _top_up(spec: dict[str, Any], config: dict[str, Any], missing: dict[str, int], *, app: Any) -> BaseSchema:
    """A fuzzing-only schema for the operations that got fewer cases than asked for (label -> how many
    more).

    Schemathesis' fuzzing draws resource ids from the values earlier answers returned (its
    "extra data sources"). An operation whose only input is one such id (Soda `DELETE
    /datasets/{datasetId}`, AppSpider `GetReportZip?scanId=`) then has a handful of distinct inputs,
    Hypothesis exhausts them and stops after 3-70 cases whatever `max-examples` says (the upstream
    behaviour of schemathesis#4848). The second pass fuzzes just those operations, for what the
    shortest lacks, with freshly generated values: each gets its budget while the first pass keeps
    testing real resources.
    """
    fresh = schemathesis.Config.from_dict(
        {
            **config,
            "phases": {
                "examples": {"enabled": False},
                "coverage": {"enabled": False},
                "stateful": {"enabled": False},
                "fuzzing": {"enabled": True, "extra-data-sources": {"responses": False}},
            },
            # One budget for the pass: schemathesis' per-operation `generation` overrides widen the run
            # to every operation.
            "generation": {**config["generation"], "max-examples": max(missing.values())},
        }
    )
    top_up: BaseSchema = schemathesis.openapi.from_dict(spec, config=fresh)
    if app is not None:
        top_up.app = app
    return top_up.include(name=list(missing))


def _operations(schema: Any) -> list[Any]:
    return [result.ok() for result in schema.get_all_operations() if hasattr(result, "ok")]


def _fold(
    results: dict[str, OperationResult],
    phases: dict[str, int],
    statuses: dict[str, int],
    event: Any,
    secrets: list[str],
    phase_name: str | None = None,
) -> None:
    recorder = event.recorder
    phase = phase_name or event.phase.value
    phases[phase] = phases.get(phase, 0) + len(recorder.cases)
    for interaction in recorder.interactions.values():
        if interaction.response is not None:
            code = interaction.response.status_code
            key = "2xx" if 200 <= code < 300 else str(code) if code in (401, 403, 429) else f"{code // 100}xx"
            statuses[key] = statuses.get(key, 0) + 1
    for case_id, nodes in recorder.checks.items():
        case_node = recorder.cases.get(case_id)
        label = case_node.value.operation.label if case_node is not None else recorder.label
        op = results.setdefault(label, OperationResult(label))
        for node in nodes:
            tally = op.checks.setdefault(node.name, CheckTally())
            if node.status.value == "success":
                tally.passed += 1
            elif node.status.value == "failure":
                tally.failed += 1
                if tally.first_failure is None and node.failure_info is not None:
                    failure = node.failure_info.failure
                    tally.first_failure = FailureExample(
                        redact(str(failure.title), secrets),
                        redact(str(failure.message), secrets),
                        redact(node.failure_info.code_sample, secrets),
                    )
    for case_node in recorder.cases.values():
        label = case_node.value.operation.label
        results.setdefault(label, OperationResult(label)).cases += 1
