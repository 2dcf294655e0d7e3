"""The clients users touch: start, watch and read a scan through one API for every vendor.

Everything vendor-specific comes from the package's `spec_data.SPEC` (written by `scanwire generate`
from the resolved spec): the lifecycle says which operation starts, polls, cancels and lists and where
the id and the state travel; `x-scanwire-auth`, `x-scanwire-errors` and `x-scanwire-paging` say how to
authenticate, what a failure looks like and how lists page; `x-rate-limit` sets the shortest poll
interval. Each generated package subclasses ScanClient/AsyncScanClient with typed resource namespaces
(one per spec tag) and typed lifecycle methods (`start_scan(...)` with the start operation's own keyword
parameters); this module holds what they share.

    client = soda_client.connect("https://cloud.soda.io", auth=(key_id, secret))
    scan = client.start_scan(scan_definition="nightly")
    final = client.wait_for_scan(scan, timeout=600, poll_interval=5)
    final.status.normalized, final.status.raw, final.model  # model: the generated poll answer
"""

from __future__ import annotations

import copy
import datetime
import enum
import importlib
import logging
import os
import re
import time
import uuid
from collections.abc import AsyncIterator, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Generic, NoReturn, Self, TypeVar, cast
from urllib.parse import quote, urlsplit, urlunsplit

import httpx
import tenacity

from .auth import LoginTokenAuth, credentials_for, credentials_from_env, env_var, make_auth
from .errors import (
    DECODED_BODY,
    APIConnectionError,
    APITimeoutError,
    ErrorSpec,
    MalformedResponseError,
    RateLimitedError,
    RetryAfter,
    ScanTimeoutError,
    ServerError,
    UnsupportedOperationError,
    body_excerpt,
    raise_for_response,
)
from .lifecycle import Lifecycle, Location, NormalizedStatus, OperationRef
from .paging import Paging
from .retry import RETRY_POLICY_EXTENSION, AsyncRetryTransport, RetryPolicy, RetryTransport
from .timing import SystemTimer, Timer
from .urls import PathJoiner

__all__ = [
    "Answer",
    "AsyncScanClient",
    "Operation",
    "RawResponse",
    "RequestOptions",
    "Scan",
    "ScanClient",
    "ScanLike",
    "ScanRef",
    "Status",
    "Vendor",
]

# Switches the request log of every client on (DEBUG, INFO, ...) unless connect(log_level=...) says otherwise.
LOG_LEVEL_ENV = "SCANWIRE_LOG_LEVEL"
_ALWAYS_SECRET = frozenset({"authorization", "proxy-authorization", "cookie", "set-cookie"})

M = TypeVar("M")
PollT = TypeVar("PollT")
ResultT = TypeVar("ResultT")
C = TypeVar("C", bound="ScanClient[Any, Any]")
AC = TypeVar("AC", bound="AsyncScanClient[Any, Any]")

_FORM = "application/x-www-form-urlencoded"
_MULTIPART = "multipart/form-data"
_NO_BODY: Any = object()
_PATH_PARAM = re.compile(r"\{([^}]+)\}")


# -- what the spec says about one operation ---------------------------------------------------------


@dataclass(frozen=True)
class Param:
    name: str
    location: str
    array: bool = False


@dataclass(frozen=True)
class Operation:
    """One API operation as the runtime uses it (from `spec_data.SPEC["operations"]`)."""

    id: str
    method: str
    path: str
    module: str
    parameters: tuple[Param, ...]
    body: tuple[str, ...]
    responses: Mapping[str, tuple[str, ...]]
    errors: ErrorSpec
    paging: Paging | None = None
    min_interval: float = 0.0
    # status -> expects_json(status), filled on first use (every answer asks; the spec does not change)
    _json_by_status: dict[int, bool | None] = field(default_factory=dict, compare=False, repr=False)

    @property
    def key(self) -> str:
        return f"{self.method} {self.path}"

    def param(self, name: str) -> Param | None:
        return next((p for p in self.parameters if p.name == name), None)

    def expects_json(self, status: int) -> bool | None:
        """True when the spec documents a JSON body for this status, False when a body of another kind
        or none, None when it does not document the status."""
        try:
            return self._json_by_status[status]
        except KeyError:
            pass
        media = self.responses.get(str(status), self.responses.get(f"{status // 100}XX"))
        # A status that also documents a non-JSON body (a file download beside its JSON failure
        # envelope, ThreadFix T14) may answer that body: only an all-JSON status requires JSON.
        found = (
            None
            if media is None
            else bool(media) and all(m.split(";")[0].strip().endswith("json") for m in media)
        )
        self._json_by_status[status] = found
        return found


def _min_interval(*limits: Any) -> float:
    """The shortest spacing of calls a spec `x-rate-limit` allows (0 when there is none)."""
    out = 0.0
    for raw in limits:
        if not isinstance(raw, Mapping):
            continue
        if raw.get("requests"):
            out = max(out, float(raw["per-seconds"]) / float(raw["requests"]))
        elif raw.get("refill-per-second"):
            out = max(out, 1.0 / float(raw["refill-per-second"]))
    return out


# -- what a scan looks like to the user -------------------------------------------------------------


@dataclass(frozen=True)
class Status:
    """A scan state: the vendor's raw value, its lifecycle state name and the cross-vendor view."""

    raw: Any
    normalized: NormalizedStatus
    state: str | None = None
    terminal: bool = False

    @classmethod
    def read(cls, raw: Any, lifecycle: Lifecycle) -> Status:
        if isinstance(raw, enum.Enum):  # a generated model's (open) enum: keep what the server sent
            raw = raw.value
        return cls(raw, lifecycle.normalize(raw), lifecycle.canonical(raw), lifecycle.is_terminal(raw))

    def __str__(self) -> str:
        return f"{self.normalized.value} ({self.raw!r})"


@dataclass(frozen=True)
class ScanRef:
    """A scan id plus the path parameters its operations need (ThreadFix `appId`)."""

    id: str
    context: Mapping[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class Scan(ScanRef, Generic[M]):
    """What one answer said about a scan: `status`, the generated `model` (typed: `Scan[ScanTaskModel]`)
    and the decoded JSON `body`."""

    status: Status = Status(None, NormalizedStatus.UNKNOWN)
    model: M = field(default=cast(Any, None), repr=False)
    body: object = field(default=None, repr=False)


ScanLike = ScanRef | str | int


# Not frozen: a frozen dataclass sets each field through object.__setattr__, on every answer.
@dataclass(slots=True)
class Answer:
    """A successful answer: decoded JSON `body`, generated `model` (None when there is none), `response`."""

    operation: Operation
    body: Any
    model: Any
    response: httpx.Response

    @property
    def value(self) -> Any:
        return self.model if self.model is not None else self.body


#: The most of an error answer to a report request that is read (the rest is dropped, never buffered).
REPORT_ERROR_LIMIT = 1 << 20
_REPORT_CHUNK = 1 << 16


def _part_path(target: os.PathLike[str] | str) -> tuple[Path, Path]:
    path = Path(target)
    return path, path.with_name(path.name + ".part")


def _keep_head(head: bytearray, chunk: bytes) -> bool:
    """Add to `head` what fits of REPORT_ERROR_LIMIT (no more is buffered); True once it is full."""
    head += chunk[: REPORT_ERROR_LIMIT - len(head)]
    return len(head) >= REPORT_ERROR_LIMIT


def _head(chunks: Iterator[bytes]) -> bytes:
    """The first REPORT_ERROR_LIMIT bytes of a streamed answer."""
    head = bytearray()
    for chunk in chunks:
        if _keep_head(head, chunk):
            break
    return bytes(head)


def _is_json(response: httpx.Response) -> bool:
    return "json" in response.headers.get("content-type", "").split(";")[0].lower()


# -- the vendor ------------------------------------------------------------------------------------


class _Cookies(httpx.Cookies):
    """httpx.Cookies that skips the cookie jar for an answer that sets no cookie.

    httpx hands every answer to `http.cookiejar` (two urllib adapter objects and a header scan, about a
    twentieth of a request's cost in bench/bench_client_overhead.py); the jar reads only `Set-Cookie` and
    `Set-Cookie2`, so without either there is nothing to extract and the jar is left as it is.
    """

    def extract_cookies(self, response: httpx.Response) -> None:
        headers = response.headers
        if "set-cookie" in headers or "set-cookie2" in headers:
            super().extract_cookies(response)


def _lean_cookies(http: httpx.Client | httpx.AsyncClient) -> None:
    # httpx.Client keeps its jar in `_cookies` and wraps whatever the `cookies` setter is given in a plain
    # Cookies, so the subclass is put there; with a future httpx that stores it elsewhere nothing changes.
    current = getattr(http, "_cookies", None)
    if type(current) is httpx.Cookies:
        http._cookies = _Cookies(current.jar)


class Vendor(Generic[C, AC]):
    """One generated package's spec data; the factory of its typed clients (`connect`, `connect_async`)."""

    def __init__(
        self,
        spec: Mapping[str, Any],
        package: str,
        client: type[C],
        async_client: type[AC],
        version: str = "0",
    ) -> None:
        self.spec = spec
        self.client_class = client
        self.async_client_class = async_client
        self.version = version
        self.slug: str = spec["vendor"]
        self.title: str = spec.get("title", self.slug)
        self.package = package
        self.user_agent = f"{self.slug}-client/{version}"
        self.log = logging.getLogger(package)
        extensions: Mapping[str, Any] = spec.get("extensions") or {}
        self.lifecycle = Lifecycle.from_extension(spec["lifecycle"])
        self.auth_spec: Mapping[str, Any] = extensions.get("x-scanwire-auth") or {}
        doc_errors = extensions.get("x-scanwire-errors")
        doc_limit = extensions.get("x-rate-limit")
        # How a 429's Retry-After reads (a bucket size for Advalidation): retries and RateLimitedError.
        self.retry_after = RetryAfter.from_rate_limit(doc_limit)
        self.operations: dict[str, Operation] = {}
        for op_id, raw in spec["operations"].items():
            paging = raw.get("x-scanwire-paging")
            self.operations[op_id] = Operation(
                id=op_id,
                method=raw["method"],
                path=raw["path"],
                module=raw["module"],
                parameters=tuple(Param(p["name"], p["in"], bool(p.get("array"))) for p in raw["parameters"]),
                body=tuple(raw.get("body") or ()),
                responses={k: tuple(v) for k, v in (raw.get("responses") or {}).items()},
                errors=ErrorSpec.from_extensions(
                    doc_errors, raw.get("x-scanwire-errors"), retry_after=self.retry_after
                ),
                paging=Paging.parse(paging, raw.get("items-attribute") or ()) if paging else None,
                min_interval=_min_interval(doc_limit, raw.get("x-rate-limit")),
            )
        self._by_key = {op.key: op for op in self.operations.values()}
        if self.auth_spec:
            # Fail at import, not at the first request, when the extension is inconsistent.
            credentials_for(
                self.auth_spec, self.slug, [], {n: "x" for n in self.auth_spec.get("credentials") or []}
            )
        self.errors = ErrorSpec.from_extensions(doc_errors, retry_after=self.retry_after)
        header = (self.auth_spec.get("header") or {}).get("name")
        self.secret_headers = _ALWAYS_SECRET | ({str(header).lower()} if header else set())

    def set_log_level(self, level: int | str | None) -> None:
        """Log each request and answer to `logging.getLogger("<vendor>_client")` at DEBUG, credentials
        redacted; `level` (or `SCANWIRE_LOG_LEVEL`) sets the logger's level and, when nothing handles it,
        adds a stderr handler."""
        chosen = level if level is not None else os.environ.get(LOG_LEVEL_ENV)
        if chosen is None:
            return
        self.log.setLevel(chosen.upper() if isinstance(chosen, str) else chosen)
        if not self.log.handlers and not logging.getLogger().handlers:
            handler = logging.StreamHandler()
            handler.setFormatter(logging.Formatter("%(asctime)s %(name)s %(levelname)s %(message)s"))
            self.log.addHandler(handler)

    def redacted(self, headers: httpx.Headers) -> dict[str, str]:
        return {k: ("<redacted>" if k.lower() in self.secret_headers else v) for k, v in headers.items()}

    def __repr__(self) -> str:
        return f"Vendor({self.slug!r})"

    def operation(self, name: str) -> Operation:
        """An operation by operationId (`getScanStatus`) or as `METHOD /path`."""
        op = self.operations.get(name) or self._by_key.get(name)
        if op is None:
            raise UnsupportedOperationError(
                f"{self.slug} has no operation {name!r}; it has {sorted(self.operations)}"
            )
        return op

    def action(self, action: str) -> tuple[Operation, OperationRef]:
        """The operation the lifecycle names for `action` (start, poll, cancel, logs, list, results...)."""
        ref = self.lifecycle.operations.get(action)
        if ref is None:
            raise UnsupportedOperationError(
                f"{self.slug}: the API has no {action!r} operation (x-scanwire-lifecycle operations.{action})"
            )
        return self.operation(ref.key), ref

    def base_url(self, given: str | None = None) -> str:
        """`given` (a bare host gets the server's fixed path, e.g. `/AppSpiderEnterprise/rest/v1`), else
        `SCANWIRE_<VENDOR>_BASE_URL`, else the spec's first server URL with its variables' defaults."""
        servers = self.spec.get("servers") or [{"url": "/"}]
        server = servers[0]
        variables = server.get("variables") or {}
        template = re.sub(
            r"\{([^}]+)\}", lambda m: str((variables.get(m[1]) or {}).get("default", m[0])), server["url"]
        )
        if given is None:
            given = os.environ.get(env_var(self.slug, "base_url")) or None
        if given is None:
            return template.rstrip("/")
        parts = urlsplit(given)
        if parts.path in ("", "/"):
            path = urlsplit(template).path
            return urlunsplit((parts.scheme, parts.netloc, path, "", "")).rstrip("/")
        return given.rstrip("/")

    def auth(self, *credentials: Any, **named: Any) -> httpx.Auth:
        """The vendor's authentication from its credentials, positional or by name (see `x-scanwire-auth`)."""
        if not self.auth_spec:
            raise UnsupportedOperationError(
                f"{self.slug}: the spec describes no authentication (x-scanwire-auth)"
            )
        values = credentials_for(self.auth_spec, self.slug, credentials, named)
        return make_auth(self.auth_spec, values, vendor=self.slug, errors=self.errors)

    def credentials(self) -> list[str]:
        return list(self.auth_spec.get("credentials") or [])

    def _auth(self, auth: httpx.Auth | Sequence[Any] | str | None, url: str) -> httpx.Auth | None:
        if auth is None:
            # No auth= given: the canonical environment variables, SCANWIRE_<VENDOR>_<CREDENTIAL>.
            found = credentials_from_env(self.auth_spec, self.slug) if self.auth_spec else None
            if found is None:
                return None
            auth = self.auth(**found)
        made = (
            auth if isinstance(auth, httpx.Auth) else self.auth(*([auth] if isinstance(auth, str) else auth))
        )
        if isinstance(made, LoginTokenAuth):
            made.bind(url)
        return made

    def _raw_client(self, url: str) -> Any:
        # The generated client; its httpx client (auth, retries, transport) is set by the caller.
        module = importlib.import_module(f"{self.package}.client")
        return module.AuthenticatedClient(base_url=url, token="", prefix="")

    def connect(
        self,
        base_url: str | None = None,
        *,
        auth: httpx.Auth | Sequence[Any] | str | None = None,
        retry: RetryPolicy | None = None,
        transport: httpx.BaseTransport | None = None,
        timeout: float | httpx.Timeout = 30.0,
        timer: Timer | None = None,
        headers: Mapping[str, str] | None = None,
        log_level: int | str | None = None,
    ) -> C:
        """The vendor's typed client on `base_url` (default: `SCANWIRE_<VENDOR>_BASE_URL`, else the spec's
        first server).

        `auth`: an httpx.Auth, or the vendor's credentials as a tuple (see `credentials()`);
        `retry`: the RetryPolicy (default: 5 attempts, backoff with jitter); `transport`: the httpx
        transport under the retries (an in-process emulator, a proxy...); `timer`: clock and sleep for
        retries and waiting (tests pass a ManualTimer). Without `auth`, the credentials come from
        `SCANWIRE_<VENDOR>_<CREDENTIAL>` when set. `log_level` (or `SCANWIRE_LOG_LEVEL`): log each request
        to `logging.getLogger("<vendor>_client")`, credentials redacted.
        """
        self.set_log_level(log_level)
        url = self.base_url(base_url)
        timer = timer or SystemTimer()
        http = httpx.Client(
            base_url=url,
            auth=self._auth(auth, url),
            transport=RetryTransport(transport, retry, timer, self.retry_after),
            timeout=timeout,
            headers={"Accept": "application/json", "User-Agent": self.user_agent, **(headers or {})},
        )
        _lean_cookies(http)
        raw = self._raw_client(url)
        raw.set_httpx_client(http)
        return self.client_class(self, http, raw, timer)

    def connect_async(
        self,
        base_url: str | None = None,
        *,
        auth: httpx.Auth | Sequence[Any] | str | None = None,
        retry: RetryPolicy | None = None,
        transport: httpx.AsyncBaseTransport | None = None,
        timeout: float | httpx.Timeout = 30.0,
        timer: Timer | None = None,
        headers: Mapping[str, str] | None = None,
        log_level: int | str | None = None,
    ) -> AC:
        """The async twin of `connect`."""
        self.set_log_level(log_level)
        url = self.base_url(base_url)
        timer = timer or SystemTimer()
        http = httpx.AsyncClient(
            base_url=url,
            auth=self._auth(auth, url),
            transport=AsyncRetryTransport(transport, retry, timer, self.retry_after),
            timeout=timeout,
            headers={"Accept": "application/json", "User-Agent": self.user_agent, **(headers or {})},
        )
        _lean_cookies(http)
        raw = self._raw_client(url)
        raw.set_async_httpx_client(http)
        return self.async_client_class(self, http, raw, timer)


# -- building requests ------------------------------------------------------------------------------


def _plain(value: Any) -> Any:
    """A JSON/form-friendly value: enums by value, dates ISO 8601, UUIDs as text, models via to_dict()."""
    if isinstance(value, enum.Enum):
        return value.value
    if isinstance(value, datetime.datetime | datetime.date):
        return value.isoformat()
    if isinstance(value, uuid.UUID):
        return str(value)
    if hasattr(value, "to_dict") and callable(value.to_dict):
        return value.to_dict()
    if isinstance(value, Mapping):
        return {k: _plain(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_plain(v) for v in value]
    return value


def _is_file(value: Any) -> bool:
    """bytes, a file object, or an httpx file tuple `(filename, content[, content_type])`."""
    if isinstance(value, bytes | bytearray) or hasattr(value, "read"):
        return True
    return (
        isinstance(value, tuple)
        and len(value) >= 2
        and (isinstance(value[1], bytes | bytearray) or hasattr(value[1], "read"))
    )


def _set(body: Any, pointer: str, value: Any) -> Any:
    """`body` with `value` at a JSON pointer (creating objects on the way); "" replaces the body."""
    if pointer == "":
        return value
    root = dict(body) if isinstance(body, Mapping) else {}
    node = root
    parts = pointer.lstrip("/").split("/")
    for part in parts[:-1]:
        node = node.setdefault(part, {})
    node[parts[-1]] = value
    return root


def request_args(
    op: Operation, params: Mapping[str, Any], body: Any = _NO_BODY, vendor: str = ""
) -> dict[str, Any]:
    """httpx.Client.build_request arguments for `op`: declared parameters where the spec puts them, any
    other name as a body field, encoded as the operation's first request media type."""
    path: dict[str, Any] = {}
    query: dict[str, Any] = {}
    headers: dict[str, str] = {}
    fields: dict[str, Any] = {}
    for name, value in params.items():
        if value is None:
            continue
        param = op.param(name)
        plain = _plain(value)
        if param is None:
            fields[name] = value
        elif param.location == "path":
            path[name] = plain
        elif param.location == "query":
            query[name] = plain
        elif param.location == "header":
            headers[name] = str(plain)
        else:
            fields[name] = value
    missing = [n for n in _PATH_PARAM.findall(op.path) if n not in path]
    if missing:
        raise TypeError(f"{vendor} {op.id} needs the path parameter(s) {', '.join(missing)}")
    url = _PATH_PARAM.sub(lambda m: quote(str(path[m[1]]), safe=""), op.path)
    args: dict[str, Any] = {"method": op.method, "url": url}
    # Only when there are some: httpx parses the URL once more for `params`, even empty (~40 us).
    if query:
        args["params"] = query
    if headers:
        args["headers"] = headers
    if fields:
        if body is _NO_BODY or body is None:
            body = fields
        elif isinstance(body, Mapping):
            body = {**body, **fields}
        else:
            raise TypeError(
                f"{vendor} {op.id}: {sorted(fields)} are not parameters and the body is not an object"
            )
    if body is _NO_BODY or body is None:
        return args
    media = op.body[0] if op.body else "application/json"
    if media == _MULTIPART and isinstance(body, Mapping):
        args["files"] = {k: v for k, v in body.items() if _is_file(v)}
        data = {k: _plain(v) for k, v in body.items() if not _is_file(v)}
        if data:
            args["data"] = data
    elif media == _FORM and isinstance(body, Mapping):
        args["data"] = {k: _plain(v) for k, v in body.items()}
    elif media.split(";")[0].endswith("json"):
        args["json"] = _plain(body)
    else:
        args["content"] = body
    return args


# -- the clients -----------------------------------------------------------------------------------


class _WaitPlan:
    """How `wait_for_scan` polls, for tenacity: retry until terminal, back off, stop at the deadline.

    The deadline is hard: each poll's own timeout is the time left. Transient failures (429, 5xx after the
    transport's retries, connection errors and timeouts) are retried with backoff until the deadline,
    counted in `errors` and reported in ScanTimeoutError.
    """

    def __init__(
        self,
        scan_id: str,
        timer: Timer,
        timeout: float,
        interval: float,
        max_interval: float,
        backoff: float,
        floor: float,
    ) -> None:
        if timeout < 0 or interval < 0 or backoff < 1:
            raise ValueError("wait_for_scan needs timeout >= 0, poll_interval >= 0 and backoff >= 1")
        self.scan_id = scan_id
        self.timer = timer
        self.timeout = timeout
        self.interval = interval
        self.max_interval = max(max_interval, interval)
        self.backoff = backoff
        self.floor = floor
        self.start = timer.now()
        self.deadline = self.start + timeout
        self.polls = 0
        self.errors = 0
        self.last: Scan[Any] | None = None
        self.last_error: BaseException | None = None

    def time_left(self) -> float:
        # Never 0: httpx reads a zero timeout as "fail at once" even for an answer already there.
        return max(0.001, self.deadline - self.timer.now())

    def record(self, scan: Scan[M]) -> Scan[M]:
        self.last = scan
        return scan

    def retry(self, state: tenacity.RetryCallState) -> bool:
        self.polls += 1
        outcome = state.outcome
        assert outcome is not None
        if outcome.failed:
            error = outcome.exception()
            if isinstance(error, RateLimitedError | ServerError | APIConnectionError):
                self.errors += 1
                self.last_error = error
                return True
            return False
        scan: Scan[Any] = outcome.result()
        return not scan.status.terminal

    def wait(self, state: tenacity.RetryCallState) -> float:
        delay = min(self.max_interval, self.interval * self.backoff ** (state.attempt_number - 1))
        delay = max(delay, self.floor)
        outcome = state.outcome
        if outcome is not None and outcome.failed:
            error = outcome.exception()
            if isinstance(error, RateLimitedError) and error.retry_after is not None:
                # The server said when: that, not the (growing) poll interval.
                delay = max(error.retry_after, self.floor)
        return max(0.0, min(delay, self.deadline - self.timer.now()))

    def stop(self, state: tenacity.RetryCallState) -> bool:
        return self.timer.now() >= self.deadline

    def give_up(self, state: tenacity.RetryCallState) -> NoReturn:
        raise ScanTimeoutError(
            self.scan_id,
            timeout=self.timeout,
            elapsed=round(self.timer.now() - self.start, 3),
            polls=self.polls,
            last=self.last,
            last_error=self.last_error,
            errors=self.errors,
        )


@dataclass(frozen=True)
class RequestOptions:
    """Per-request options (`client.with_options(...)`): timeout in seconds, retry policy, extra headers."""

    timeout: float | httpx.Timeout | None = None
    retry: RetryPolicy | None = None
    headers: Mapping[str, str] = field(default_factory=dict)

    def merged(self, other: RequestOptions) -> RequestOptions:
        return RequestOptions(
            other.timeout if other.timeout is not None else self.timeout,
            other.retry if other.retry is not None else self.retry,
            {**self.headers, **other.headers},
        )

    def apply(self, request: httpx.Request) -> None:
        """Set on the request itself: never a parameter, never a body."""
        if self.headers:
            request.headers.update(self.headers)
        extensions = dict(request.extensions)
        if self.timeout is not None:
            timeout = self.timeout if isinstance(self.timeout, httpx.Timeout) else httpx.Timeout(self.timeout)
            extensions["timeout"] = timeout.as_dict()
        if self.retry is not None:
            extensions[RETRY_POLICY_EXTENSION] = self.retry
        request.extensions = extensions


_NO_OPTIONS = RequestOptions()


@dataclass(frozen=True)
class RawResponse(Generic[M]):
    """`client.with_raw_response....`: the HTTP status, headers and the parsed (typed) model."""

    status_code: int
    headers: httpx.Headers
    parsed: M
    http_response: httpx.Response = field(repr=False)


class _Core:
    """What the sync and async clients share: request building and answer interpretation (no I/O)."""

    def __init__(self, vendor: Vendor[Any, Any], base_url: str, raw: Any, timer: Timer) -> None:
        self.vendor = vendor
        self.base_url = base_url
        self._join = PathJoiner(base_url)
        self.lifecycle = vendor.lifecycle
        self.raw = raw
        self.timer = timer
        self._options = _NO_OPTIONS
        self._modules: dict[str, Any] = {}
        self._bind()

    def _bind(self) -> None:
        """Create the resource namespaces (generated subclasses); called again on each `with_options` copy."""

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.vendor.slug!r}, {self.base_url!r})"

    def with_options(
        self,
        *,
        timeout: float | httpx.Timeout | None = None,
        retry: RetryPolicy | None = None,
        headers: Mapping[str, str] | None = None,
    ) -> Self:
        """A view of this client (same connection) whose requests use these options: `timeout` seconds,
        `retry` policy, extra `headers`. `client.with_options(timeout=5).scans.get(...)`."""
        clone = copy.copy(self)
        clone._options = self._options.merged(RequestOptions(timeout, retry, dict(headers or {})))
        clone._bind()
        return clone

    def _prepared(self, request: httpx.Request, extra: RequestOptions | None = None) -> httpx.Request:
        options = self._options if extra is None else self._options.merged(extra)
        if options is not _NO_OPTIONS:  # the common case costs nothing (bench/bench_client_overhead.py)
            options.apply(request)
        return request

    def _log_answer(
        self, op: Operation, request: httpx.Request, response: httpx.Response, start: float
    ) -> None:
        # Headers as sent (auth included: the flow sets them on this request object), secrets redacted.
        self.vendor.log.debug(
            "%s %s %s -> HTTP %d in %.3fs; request headers %s",
            op.id,
            request.method,
            request.url,
            response.status_code,
            time.perf_counter() - start,
            self.vendor.redacted(request.headers),
        )

    def _module(self, op: Operation) -> Any:
        module = self._modules.get(op.module)
        if module is None:
            module = self._modules[op.module] = importlib.import_module(f"{self.vendor.package}.{op.module}")
        return module

    def _answer(self, op: Operation, response: httpx.Response) -> Answer:
        status = response.status_code
        expects_json = op.expects_json(status)
        if 200 <= status < 300 and op.responses and expects_json is None:
            # A success the spec does not document (Soda's start documents 201 without a body; a 200
            # with an HTML page is a proxy's or a broken server's answer, not a started scan).
            raise MalformedResponseError(
                f"undocumented success status; the spec documents {', '.join(sorted(op.responses))}",
                vendor=self.vendor.slug,
                operation=op.id,
                method=response.request.method,
                url=str(response.request.url),
                status=status,
                excerpt=body_excerpt(response),
                request_id=op.errors.request_id(response),
                response=response,
            )
        body = raise_for_response(
            response,
            op.errors,
            vendor=self.vendor.slug,
            operation=op.id,
            expects_json=expects_json,
        )
        model = None
        if body is None and 200 <= status < 300 and expects_json is False:
            # A documented non-JSON success (a zip, an XML document): the generated parser reads the
            # bytes itself (File, str), so the typed method answers the document, not None.
            model = self._module(op)._parse_response(client=self.raw, response=response)
        if body is not None:
            module = self._module(op)
            # The generated parser reads the body through errors.response_json; it is decoded already
            # (raise_for_response), so it gets that object instead of parsing the bytes a second time. Its
            # from_dict copies what it pops, so `body` stays as it was.
            extensions = response.extensions
            extensions[DECODED_BODY] = body
            try:
                model = module._parse_response(client=self.raw, response=response)
            except (KeyError, ValueError, TypeError, AttributeError) as exc:
                raise MalformedResponseError(
                    f"does not match the documented schema: {type(exc).__name__}: {exc}",
                    vendor=self.vendor.slug,
                    operation=op.id,
                    method=response.request.method,
                    url=str(response.request.url),
                    status=response.status_code,
                    envelope=body,
                    excerpt=body_excerpt(response),
                    request_id=op.errors.request_id(response),
                    response=response,
                ) from exc
            finally:
                # An httpx.Response is in a reference cycle (its stream points back at it), so it lives until
                # the cyclic collector runs: the decoded body left in its extensions would too, and each call
                # would decode into fresh memory instead of the blocks the last body freed (~2.5 us a call
                # in bench/bench_client_overhead.py). Answer.body keeps it for whoever needs it.
                del extensions[DECODED_BODY]
        return Answer(op, body, model, response)

    def _transport_error(
        self, op: Operation, request: httpx.Request, exc: httpx.TransportError
    ) -> APIConnectionError:
        """A transport failure (after the retries) as the runtime's own error; the caller chains `exc`."""
        kind = APITimeoutError if isinstance(exc, httpx.TimeoutException) else APIConnectionError
        return kind(
            f"{type(exc).__name__}: {exc}" if str(exc) else type(exc).__name__,
            vendor=self.vendor.slug,
            operation=op.id,
            method=request.method,
            url=str(request.url),
            cause=exc,
        )

    def status(self, raw: object) -> Status:
        """Any raw state value (a list item's, an event's) read through the vendor's lifecycle."""
        return Status.read(raw, self.lifecycle)

    @staticmethod
    def _ref(scan: ScanLike) -> ScanRef:
        return scan if isinstance(scan, ScanRef) else ScanRef(str(scan))

    def _scan_args(
        self, action: str, scan: ScanLike, params: Mapping[str, Any]
    ) -> tuple[Operation, ScanRef, dict[str, Any], Any]:
        """(operation, scan, parameters, body) of a lifecycle action on one scan."""
        op, ref_op = self.vendor.action(action)
        ref = self._ref(scan)
        merged = {k: v for k, v in ref.context.items() if op.param(k) is not None}
        merged.update(params)
        body: Any = _NO_BODY
        where = ref_op.id
        if where is None:
            raise UnsupportedOperationError(
                f"{self.vendor.slug}: lifecycle operations.{action} does not say where the scan id goes"
            )
        if where.where == "body":
            body = _set(None, where.pointer or "", self._id_for(action, ref_op, ref))
        else:
            # path/query/header parameters by name; a `form` field is a name the operation does not
            # declare as a parameter, so request_args puts it in the (form) body.
            merged[where.name or "id"] = self._id_for(action, ref_op, ref)
        return op, ref, merged, body

    def _id_for(self, action: str, ref_op: OperationRef, ref: ScanRef) -> Any:
        """The scan id, or the context value the action's `source` names (ThreadFix: the imported scanId
        the poll answer carries once DONE, not the pending scan's id)."""
        if ref_op.source is None:
            return ref.id
        value = ref.context.get(ref_op.source)
        if value is None:
            raise UnsupportedOperationError(
                f"{self.vendor.slug} {action}: the scan has no {ref_op.source!r} yet (it comes with the "
                f"poll answer; wait for the scan first, or pass a ScanRef whose context has it)"
            )
        return value

    def _build(
        self, http: httpx.Client | httpx.AsyncClient, op: Operation, params: Mapping[str, Any], body: Any
    ) -> httpx.Request:
        return self._request(http, request_args(op, params, body, self.vendor.slug))

    def _request(self, http: httpx.Client | httpx.AsyncClient, kwargs: dict[str, Any]) -> httpx.Request:
        """`http.build_request(**kwargs)`, the operation's path joined to the base URL here: httpx joins a
        relative URL by parsing and validating it twice (the relative part, then the joined URL), and
        parses even an absolute one again (~8 us); `PathJoiner` builds it from the base URL parsed once
        when the path is one the parse would leave as it is. The result is the URL httpx builds (base
        path + the path, dot segments normalized the same way)."""
        url = kwargs.get("url")
        if isinstance(url, str) and url.startswith("/"):
            # Query parameters set on the httpx client itself are merged by httpx.
            built = None if http.params else self._join.url(url, kwargs.get("params"))
            if built is None:
                kwargs = {**kwargs, "url": self.base_url + url}
            elif "params" in kwargs:  # now in the URL
                kwargs = {k: v for k, v in kwargs.items() if k != "params"}
                kwargs["url"] = built
            else:
                kwargs = {**kwargs, "url": built}
        return http.build_request(**kwargs)

    def _scan(self, scan_id: str, answer: Answer, context: Mapping[str, Any]) -> Scan[Any]:
        poll = self.lifecycle.operations.get("poll")
        location: Location | None = poll.state if poll is not None else None
        raw = location.extract(answer.body, answer.response.headers) if location is not None else None
        context = dict(context)
        for name, where in poll.context if poll is not None else ():
            value = where.extract(answer.body, answer.response.headers)
            if value is not None:
                context[name] = value
        return Scan(scan_id, context, Status.read(raw, self.lifecycle), answer.model, answer.body)

    def _started(
        self, op: Operation, ref_op: OperationRef, context: Mapping[str, Any], answer: Answer
    ) -> Scan[Any]:
        location = ref_op.id
        scan_id = location.extract(answer.body, answer.response.headers) if location is not None else None
        if scan_id is None or scan_id == "":
            where = (
                "nowhere" if location is None else f"{location.where} {location.name or location.pointer!r}"
            )
            raise MalformedResponseError(
                f"the start answer carries no scan id (lifecycle: {where})",
                vendor=self.vendor.slug,
                operation=op.id,
                method=answer.response.request.method,
                url=str(answer.response.request.url),
                status=answer.response.status_code,
                envelope=answer.body,
                excerpt=body_excerpt(answer.response),
                request_id=op.errors.request_id(answer.response),
                response=answer.response,
            )
        scan = self._scan(str(scan_id), answer, context)
        if self.lifecycle.canonical(scan.status.raw) is None:
            # The start answer has no state where the poll answer has it (Soda: no body at all): a scan
            # just created is in the lifecycle's initial state, not "unknown".
            initial = self.lifecycle.initial
            status = Status(None, self.lifecycle.states[initial], initial, initial in self.lifecycle.terminal)
            return Scan(scan.id, dict(context), status, answer.model, answer.body)
        return scan

    def _plan(
        self, scan: ScanLike, timeout: float, interval: float, max_interval: float, backoff: float
    ) -> _WaitPlan:
        poll, _ = self.vendor.action("poll")
        return _WaitPlan(
            self._ref(scan).id, self.timer, timeout, interval, max_interval, backoff, poll.min_interval
        )

    def _poll_options(self, plan: _WaitPlan) -> RequestOptions:
        # The waiter retries transient failures itself, up to its deadline. A poll's timeout is the
        # request timeout in effect (with_options, else connect's), cut to the time left: the deadline
        # is hard, and a 600 s wait does not make one poll wait 600 s for an answer.
        left = plan.time_left()
        configured = self._options.timeout if self._options.timeout is not None else self._timeout()
        timeout = configured if isinstance(configured, httpx.Timeout) else httpx.Timeout(configured)

        def cut(value: float | None) -> float:
            return left if value is None else min(value, left)

        return RequestOptions(
            timeout=httpx.Timeout(
                connect=cut(timeout.connect),
                read=cut(timeout.read),
                write=cut(timeout.write),
                pool=cut(timeout.pool),
            ),
            retry=RetryPolicy.disabled(),
        )

    def _timeout(self) -> httpx.Timeout:
        """The connection's request timeout (set by connect)."""
        raise NotImplementedError

    def _paging(self, op: Operation) -> Paging:
        if op.paging is None:
            raise UnsupportedOperationError(
                f"{self.vendor.slug} {op.id} is not a list (no x-scanwire-paging)"
            )
        return op.paging

    def _size(self, op: Operation, page_size: int | None) -> dict[str, Any]:
        paging = self._paging(op)
        if page_size is None:
            return {}
        if paging.size is None:
            raise TypeError(f"{self.vendor.slug} {op.id} takes no page size")
        return {paging.size: page_size}

    def _findings_paging(self, op: Operation, ref_op: OperationRef) -> Paging:
        """The findings operation's own `x-scanwire-paging`, else one answer whose items are where the
        lifecycle's `findings.items` says (the whole body when it says nothing)."""
        if op.paging is not None:
            return op.paging
        pointer = ref_op.items.pointer if ref_op.items is not None else ""
        # The generated model's attribute path to the items (spec data), so they come typed.
        attribute = self.vendor.spec["operations"][op.id].get("items-attribute") or ()
        return Paging(style="none", items=pointer or "", items_attribute=tuple(attribute))

    def _report_args(self, scan: ScanLike, format: str | None) -> tuple[Operation, dict[str, Any], Any]:
        """(operation, parameters, body) of the lifecycle's `report` for `scan` in `format`."""
        _, ref_op = self.vendor.action("report")
        params: dict[str, Any] = dict(ref_op.params)
        if format is not None:
            if ref_op.format is None:
                raise TypeError(
                    f"{self.vendor.slug}: the report comes in one format (lifecycle operations.report has "
                    f"no `format`); call download_report without format="
                )
            params[ref_op.format.name or "format"] = format
        op, _, merged, body = self._scan_args("report", scan, params)
        return op, merged, body

    def _check_report(self, op: Operation, response: httpx.Response, content: bytes) -> None:
        """Raise the typed error an answer to a report request stands for: any non-2xx status, and a
        vendor error envelope sent with a 2xx (ThreadFix's `success: false`); a report passes."""
        answer = httpx.Response(
            response.status_code, headers=response.headers, content=content, request=response.request
        )
        raise_for_response(
            answer,
            op.errors,
            vendor=self.vendor.slug,
            operation=op.id,
            expects_json=op.expects_json(response.status_code),
        )

    def _results_action(self) -> str:
        return "results" if self.lifecycle.operations.get("results") is not None else "poll"


class ScanClient(_Core, Generic[PollT, ResultT]):
    """Synchronous client; each generated package subclasses it with typed resource namespaces
    (`client.scans...`) and typed lifecycle methods. `raw` is the generated AuthenticatedClient on the
    same connection."""

    def __init__(self, vendor: Vendor[Any, Any], http: httpx.Client, raw: Any, timer: Timer) -> None:
        self.http = http
        super().__init__(vendor, str(http.base_url).rstrip("/"), raw, timer)

    def close(self) -> None:
        """Close the connection pool (the `with` block does it)."""
        self.http.close()

    def _timeout(self) -> httpx.Timeout:
        return self.http.timeout

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def _send_request(
        self, op: Operation, request: httpx.Request, extra: RequestOptions | None = None
    ) -> Answer:
        request = self._prepared(request, extra)
        start = time.perf_counter()
        try:
            response = self.http.send(request)
        except httpx.TransportError as exc:
            raise self._transport_error(op, request, exc) from exc
        if self.vendor.log.isEnabledFor(logging.DEBUG):
            self._log_answer(op, request, response, start)
        return self._answer(op, response)

    def _send(
        self,
        op: Operation,
        params: Mapping[str, Any],
        body: Any = _NO_BODY,
        extra: RequestOptions | None = None,
    ) -> Answer:
        return self._send_request(op, self._build(self.http, op, params, body), extra)

    def _invoke(self, operation: str, kwargs: dict[str, Any]) -> Any:
        """One operation from the generated module's `_get_kwargs(...)`; the parsed model of the answer."""
        # _invoke_answer's body, one call fewer on the path every typed method takes.
        return self._send_request(self.vendor.operation(operation), self._request(self.http, kwargs)).model

    def _invoke_answer(self, operation: str, kwargs: dict[str, Any]) -> Answer:
        return self._send_request(self.vendor.operation(operation), self._request(self.http, kwargs))

    def _invoke_raw(self, operation: str, kwargs: dict[str, Any]) -> RawResponse[Any]:
        answer = self._invoke_answer(operation, kwargs)
        return RawResponse(
            answer.response.status_code, answer.response.headers, answer.model, answer.response
        )

    def _start(self, kwargs: dict[str, Any], context: Mapping[str, Any]) -> Scan[Any]:
        op, ref_op = self.vendor.action("start")
        answer = self._send_request(op, self._request(self.http, kwargs))
        return self._started(op, ref_op, context, answer)

    def _pages(
        self, op: Operation, paging: Paging, params: Mapping[str, Any], body: Any = _NO_BODY
    ) -> Iterator[Any]:
        current = paging.first_params(params)
        while True:
            answer = self._send(op, current, body)
            items = paging.items_of(answer.body, answer.model)
            yield from items
            page = current.get(paging.page) if paging.page else None
            if page is None or not paging.has_more(answer.body, int(page), len(items)):
                return
            current = {**current, str(paging.page): int(page) + 1}

    def get_scan(self, scan: ScanLike) -> Scan[PollT]:
        """Read the scan's state once (the lifecycle's `poll` operation); `.status` and the typed `.model`."""
        return self._get_scan(scan, None)

    def _get_scan(self, scan: ScanLike, extra: RequestOptions | None) -> Scan[PollT]:
        op, ref, merged, body = self._scan_args("poll", scan, {})
        return self._scan(ref.id, self._send(op, merged, body, extra), ref.context)

    def wait_for_scan(
        self,
        scan: ScanLike,
        *,
        timeout: float = 3600.0,
        poll_interval: float = 5.0,
        max_interval: float = 60.0,
        backoff: float = 1.5,
    ) -> Scan[PollT]:
        """Poll until a terminal state; ScanTimeoutError (with the last state) after `timeout` seconds.

        The deadline is hard: each poll's own timeout is the time left. The interval starts at
        `poll_interval`, grows by `backoff` up to `max_interval`, is never shorter than the poll
        operation's rate limit allows, and waits out a 429's Retry-After. 429, 5xx and connection
        failures are retried until the deadline and counted in the ScanTimeoutError.
        """
        plan = self._plan(scan, timeout, poll_interval, max_interval, backoff)
        retrying = tenacity.Retrying(
            retry=plan.retry,
            wait=plan.wait,
            stop=plan.stop,
            sleep=self.timer.sleep,
            retry_error_callback=plan.give_up,
        )
        result: Scan[PollT] = retrying(lambda: plan.record(self._get_scan(scan, self._poll_options(plan))))
        return result

    def _act(self, action: str, scan: ScanLike) -> Answer:
        op, _, merged, body = self._scan_args(action, scan, {})
        return self._send(op, merged, body)

    def get_results(self, scan: ScanLike) -> ResultT:
        """The scan's results: the lifecycle's `results` operation, else its `poll` (typed model)."""
        result: ResultT = self._act(self._results_action(), scan).model
        return result

    def _iter_scan_logs(self, scan: ScanLike, page_size: int | None = None) -> Iterator[Any]:
        op, _, merged, body = self._scan_args("logs", scan, {})
        yield from self._pages(op, self._paging(op), {**merged, **self._size(op, page_size)}, body)

    def _iter_scans(self, page_size: int | None = None) -> Iterator[Any]:
        op, _ = self.vendor.action("list")
        yield from self._pages(op, self._paging(op), self._size(op, page_size))

    def _iter_findings(self, scan: ScanLike, page_size: int | None = None) -> Iterator[Any]:
        op, ref_op = self.vendor.action("findings")
        _, _, merged, body = self._scan_args("findings", scan, dict(ref_op.params))
        size = self._size(op, page_size) if page_size is not None else {}
        yield from self._pages(op, self._findings_paging(op, ref_op), {**merged, **size}, body)

    def _download_report(
        self, scan: ScanLike, path: os.PathLike[str] | str, format: str | None = None
    ) -> Path:
        """Stream the lifecycle's `report` for `scan` to `path` (through `path.part`, renamed when whole:
        a failed download leaves no partial file); the typed error for an error answer."""
        op, params, body = self._report_args(scan, format)
        request = self._prepared(self._build(self.http, op, params, body))
        target, part = _part_path(path)
        try:
            response = self.http.send(request, stream=True)
        except httpx.TransportError as exc:
            raise self._transport_error(op, request, exc) from exc
        try:
            if not 200 <= response.status_code < 300:
                self._check_report(op, response, _head(response.iter_bytes(_REPORT_CHUNK)))
            size = 0
            with part.open("wb") as out:
                for chunk in response.iter_bytes(_REPORT_CHUNK):
                    out.write(chunk)
                    size += len(chunk)
            if size <= REPORT_ERROR_LIMIT and _is_json(response):
                self._check_report(op, response, part.read_bytes())
        except httpx.TransportError as exc:  # the connection broke off mid-file
            part.unlink(missing_ok=True)
            raise self._transport_error(op, request, exc) from exc
        except BaseException:
            part.unlink(missing_ok=True)
            raise
        finally:
            response.close()
        part.replace(target)
        return target


class AsyncScanClient(_Core, Generic[PollT, ResultT]):
    """Asynchronous twin of ScanClient (same methods, awaited)."""

    def __init__(self, vendor: Vendor[Any, Any], http: httpx.AsyncClient, raw: Any, timer: Timer) -> None:
        self.http = http
        super().__init__(vendor, str(http.base_url).rstrip("/"), raw, timer)

    def _timeout(self) -> httpx.Timeout:
        return self.http.timeout

    async def aclose(self) -> None:
        """Close the connection pool (the `async with` block does it)."""
        await self.http.aclose()

    async def __aenter__(self) -> Self:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.aclose()

    async def _send_request(
        self, op: Operation, request: httpx.Request, extra: RequestOptions | None = None
    ) -> Answer:
        request = self._prepared(request, extra)
        start = time.perf_counter()
        try:
            response = await self.http.send(request)
        except httpx.TransportError as exc:
            raise self._transport_error(op, request, exc) from exc
        if self.vendor.log.isEnabledFor(logging.DEBUG):
            self._log_answer(op, request, response, start)
        return self._answer(op, response)

    async def _send(
        self,
        op: Operation,
        params: Mapping[str, Any],
        body: Any = _NO_BODY,
        extra: RequestOptions | None = None,
    ) -> Answer:
        return await self._send_request(op, self._build(self.http, op, params, body), extra)

    async def _invoke(self, operation: str, kwargs: dict[str, Any]) -> Any:
        op = self.vendor.operation(operation)
        return (await self._send_request(op, self._request(self.http, kwargs))).model

    async def _invoke_answer(self, operation: str, kwargs: dict[str, Any]) -> Answer:
        return await self._send_request(self.vendor.operation(operation), self._request(self.http, kwargs))

    async def _invoke_raw(self, operation: str, kwargs: dict[str, Any]) -> RawResponse[Any]:
        answer = await self._invoke_answer(operation, kwargs)
        return RawResponse(
            answer.response.status_code, answer.response.headers, answer.model, answer.response
        )

    async def _start(self, kwargs: dict[str, Any], context: Mapping[str, Any]) -> Scan[Any]:
        op, ref_op = self.vendor.action("start")
        answer = await self._send_request(op, self._request(self.http, kwargs))
        return self._started(op, ref_op, context, answer)

    async def _pages(
        self, op: Operation, paging: Paging, params: Mapping[str, Any], body: Any = _NO_BODY
    ) -> AsyncIterator[Any]:
        current = paging.first_params(params)
        while True:
            answer = await self._send(op, current, body)
            items = paging.items_of(answer.body, answer.model)
            for item in items:
                yield item
            page = current.get(paging.page) if paging.page else None
            if page is None or not paging.has_more(answer.body, int(page), len(items)):
                return
            current = {**current, str(paging.page): int(page) + 1}

    async def get_scan(self, scan: ScanLike) -> Scan[PollT]:
        """Read the scan's state once (the lifecycle's `poll` operation); `.status` and the typed `.model`."""
        return await self._get_scan(scan, None)

    async def _get_scan(self, scan: ScanLike, extra: RequestOptions | None) -> Scan[PollT]:
        op, ref, merged, body = self._scan_args("poll", scan, {})
        return self._scan(ref.id, await self._send(op, merged, body, extra), ref.context)

    async def wait_for_scan(
        self,
        scan: ScanLike,
        *,
        timeout: float = 3600.0,
        poll_interval: float = 5.0,
        max_interval: float = 60.0,
        backoff: float = 1.5,
    ) -> Scan[PollT]:
        """Poll until a terminal state (see ScanClient.wait_for_scan: hard deadline, transient failures
        retried and counted)."""
        plan = self._plan(scan, timeout, poll_interval, max_interval, backoff)
        retrying = tenacity.AsyncRetrying(
            retry=plan.retry,
            wait=plan.wait,
            stop=plan.stop,
            sleep=self.timer.asleep,
            retry_error_callback=plan.give_up,
        )

        async def poll() -> Scan[PollT]:
            return plan.record(await self._get_scan(scan, self._poll_options(plan)))

        result: Scan[PollT] = await retrying(poll)
        return result

    async def _act(self, action: str, scan: ScanLike) -> Answer:
        op, _, merged, body = self._scan_args(action, scan, {})
        return await self._send(op, merged, body)

    async def get_results(self, scan: ScanLike) -> ResultT:
        """The scan's results: the lifecycle's `results` operation, else its `poll` (typed model)."""
        result: ResultT = (await self._act(self._results_action(), scan)).model
        return result

    async def _iter_scan_logs(self, scan: ScanLike, page_size: int | None = None) -> AsyncIterator[Any]:
        op, _, merged, body = self._scan_args("logs", scan, {})
        async for item in self._pages(op, self._paging(op), {**merged, **self._size(op, page_size)}, body):
            yield item

    async def _iter_scans(self, page_size: int | None = None) -> AsyncIterator[Any]:
        op, _ = self.vendor.action("list")
        async for item in self._pages(op, self._paging(op), self._size(op, page_size)):
            yield item

    async def _iter_findings(self, scan: ScanLike, page_size: int | None = None) -> AsyncIterator[Any]:
        op, ref_op = self.vendor.action("findings")
        _, _, merged, body = self._scan_args("findings", scan, dict(ref_op.params))
        size = self._size(op, page_size) if page_size is not None else {}
        async for item in self._pages(op, self._findings_paging(op, ref_op), {**merged, **size}, body):
            yield item

    async def _download_report(
        self, scan: ScanLike, path: os.PathLike[str] | str, format: str | None = None
    ) -> Path:
        """Stream the lifecycle's `report` for `scan` to `path` (see ScanClient._download_report)."""
        op, params, body = self._report_args(scan, format)
        request = self._prepared(self._build(self.http, op, params, body))
        target, part = _part_path(path)
        try:
            response = await self.http.send(request, stream=True)
        except httpx.TransportError as exc:
            raise self._transport_error(op, request, exc) from exc
        try:
            if not 200 <= response.status_code < 300:
                head = bytearray()
                async for chunk in response.aiter_bytes(_REPORT_CHUNK):
                    if _keep_head(head, chunk):
                        break
                self._check_report(op, response, bytes(head))
            size = 0
            with part.open("wb") as out:  # local disk writes; the network reads are the awaited part
                async for chunk in response.aiter_bytes(_REPORT_CHUNK):
                    out.write(chunk)
                    size += len(chunk)
            if size <= REPORT_ERROR_LIMIT and _is_json(response):
                self._check_report(op, response, part.read_bytes())
        except httpx.TransportError as exc:
            part.unlink(missing_ok=True)
            raise self._transport_error(op, request, exc) from exc
        except BaseException:
            part.unlink(missing_ok=True)
            raise
        finally:
            await response.aclose()
        part.replace(target)
        return target
