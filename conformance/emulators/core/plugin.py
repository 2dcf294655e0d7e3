"""A vendor emulator, found by convention in its package: what each module must and may hold.

`conformance/emulators/<vendor>/`:

- `models.py`: `ACCOUNTS` (account -> credentials, named as the spec's `x-scanwire-auth` names them) and
  one `Backend` subclass (state and rules, no HTTP);
- `routes.py`: one handler per spec operation, named after its operationId in snake_case
  (`getScanStatus` -> `get_scan_status`); optionally `PREFIXES` (path prefixes besides the servers'),
  `route_check(call)` (runs before authentication: ThreadFix's version and Accept),
  `check_body(call)` (refuses a body request validation must not see) and `decorate(call, response, verdict)`
  (vendor headers on every answer);
- `errors.py`: `ERRORS`, the vendor's error table (`core.render.ErrorTable`);
- `scenarios.py` (optional): every public function `name(backend) -> dict` is a named scenario, beside
  the shared ones (`queue_stalled`).

Authentication, paging, rate limits and lifecycles come from the resolved spec, not from the package.
"""

from __future__ import annotations

import importlib
import inspect
import re
from collections.abc import Callable, Mapping, Sequence
from types import ModuleType
from typing import TYPE_CHECKING, Any, ClassVar, Protocol

from starlette.responses import Response

from conformance.emulators.core.clock import Clock
from conformance.emulators.core.engine import Progression, Scan, ScanEngine
from conformance.emulators.core.errors import AuthError, BadRequestError
from conformance.emulators.core.http import Call
from conformance.emulators.core.ratelimit import Verdict
from conformance.emulators.core.render import ErrorTable
from conformance.emulators.core.spec import resolved_spec
from conformance.emulators.core.store import Store
from scanwire.runtime.lifecycle import Lifecycle
from scanwire.specs import iter_operations

if TYPE_CHECKING:
    from conformance.emulators.core.settings import EmulatorSettings

__all__ = ["SHARED_SCENARIOS", "Backend", "Handler", "VendorPlugin", "plugin_for", "seed_field"]

Handler = Callable[[Call[Any]], Response]
Check = Callable[[Call[Any]], None]
Decorate = Callable[[Call[Any], Response, Verdict | None], Response]


class Host(Protocol):
    """What a backend reads of the emulator that owns it."""

    store: Store
    engine: ScanEngine
    lifecycle: Lifecycle
    spec: dict[str, Any]
    settings: EmulatorSettings
    accounts: Mapping[str, Mapping[str, Any]]


def seed_field(
    data: Mapping[str, Any], name: str, kind: type | tuple[type, ...] = str, *, required: bool = True
) -> Any:
    """`data[name]` for a control-API seed, checked: BadRequestError naming `data.<name>` when it is
    missing (and required), of another type, or a blank string."""
    value = data.get(name)
    if value is None:
        if required:
            raise BadRequestError(f"data.{name} is required", field=f"data.{name}")
        return None
    if isinstance(value, bool) and bool not in (kind if isinstance(kind, tuple) else (kind,)):
        raise BadRequestError(f"data.{name} must be {_type_names(kind)}", field=f"data.{name}")
    if not isinstance(value, kind) or (isinstance(value, str) and not value.strip()):
        raise BadRequestError(f"data.{name} must be {_type_names(kind)}", field=f"data.{name}")
    return value


def _type_names(kind: type | tuple[type, ...]) -> str:
    names = {
        str: "a non-blank string",
        int: "an integer",
        list: "a list",
        dict: "an object",
        bool: "a boolean",
    }
    kinds = kind if isinstance(kind, tuple) else (kind,)
    return " or ".join(names.get(k, k.__name__) for k in kinds)


class Backend:
    """Base of a vendor's models: state and rules, no HTTP. Subclasses add the vendor's operations."""

    # Indexes over the scan record's list keys (`list_keys`), one tuple of keys each: lists that filter
    # on them read only the matching rows (the engine indexes `state` and `due` itself).
    LIST_INDEXES: ClassVar[tuple[tuple[str, ...], ...]] = ()
    # Control API resource kinds (`POST /_emulator/resources/{kind}`): kind -> the backend method that makes
    # one by the vendor's own rules, `(account, data) -> the resource as the vendor's API shows it`.
    SEEDS: ClassVar[dict[str, str]] = {}

    def __init__(self, emulator: Host) -> None:
        self.emulator = emulator
        self.store = emulator.store
        # The emulator's clock, except inside `on_transition`: there, the time of that transition.
        self.clock: Clock = emulator.engine.transition_clock
        self.lifecycle = emulator.lifecycle
        self.engine = emulator.engine
        for keys in self.LIST_INDEXES:
            self.engine.index(*keys)

    def on_transition(self, scan: Scan, old: str, new: str, cause: str) -> None:
        """Keep the vendor's own fields consistent with the state (timestamps, progress...)."""

    def seed_scan(
        self, account: str, state: str | None, data: dict[str, Any], progression: dict[str, Any] | None
    ) -> Scan:
        """Control API: create a scan for `account` in any state; vendor fields may be given in `data`."""
        raise NotImplementedError

    def seed_resource(self, kind: str, account: str, data: dict[str, Any]) -> dict[str, Any]:
        """Control API: create one resource of a vendor kind (a config, a website...) for `account`,
        by the vendor's own rules (`SEEDS`); the resource as the vendor's API shows it."""
        method = self.SEEDS.get(kind)
        if method is None:
            known = ", ".join(sorted(self.SEEDS)) or "none"
            raise BadRequestError(
                f"{kind!r} is not a resource kind this emulator seeds; known: {known}", field="kind"
            )
        made: dict[str, Any] = getattr(self, method)(account, data)
        return made

    def summary(self, scan: Scan) -> dict[str, Any] | None:
        """The few vendor fields a status poll answers with, kept beside the engine's fields each time the
        scan's document is saved (`engine.summary(scan)` reads them without decoding the document)."""
        return None

    def list_keys(self, scan: Scan) -> dict[str, Any]:
        """Vendor fields the scan lists filter or sort on, kept as top-level keys of the scan's engine
        record each time its document is saved (so the store filters on them in SQLite; issue 18)."""
        return {}

    def view(self, scan: Scan) -> Any:
        """The scan as the vendor's API shows it (for the control API's state dump)."""
        return scan.data

    def reset(self) -> None:
        """Extra state to rebuild after a reset (configs, applications...)."""

    def account_for_token(self, token: str, call: Any) -> str:
        """`login-token` auth: the account a live token belongs to; AuthError when there is none."""
        raise AuthError("this vendor issues no tokens")


def queue_stalled(backend: Backend) -> dict[str, Any]:
    """Nothing picks scans up (no agent, worker or engine): new scans stay where they are until moved
    through the control API."""
    backend.engine.set_default_progression(Progression(mode="manual"))
    return {"progression": "manual"}


SHARED_SCENARIOS: dict[str, Callable[[Any], Any]] = {"queue_stalled": queue_stalled}


class VendorPlugin:
    """What a vendor folder provides (see the module docstring); built by `plugin_for(package)`."""

    slug: ClassVar[str] = ""
    backend_cls: ClassVar[type[Backend]] = Backend
    routes: ClassVar[Mapping[str, Handler]] = {}
    extra_prefixes: ClassVar[Sequence[str]] = ()
    accounts: ClassVar[Mapping[str, Mapping[str, Any]]] = {}
    scenarios: ClassVar[Mapping[str, Callable[[Any], Any]]] = {}
    errors: ClassVar[ErrorTable]
    # Tuples: a function kept in a tuple stays a plain function (no method binding).
    route_checks: ClassVar[tuple[Check, ...]] = ()
    body_checks: ClassVar[tuple[Check, ...]] = ()
    decorators: ClassVar[tuple[Decorate, ...]] = ()

    def decorate(self, call: Call[Any], response: Response, verdict: Verdict | None) -> Response:
        for decorate in self.decorators:
            response = decorate(call, response, verdict)
        return response


def snake(operation_id: str) -> str:
    return re.sub(r"(?<!^)(?=[A-Z])", "_", operation_id).lower()


def plugin_for(package: str) -> type[VendorPlugin]:
    """The plugin class of `conformance.emulators.<vendor>`, assembled from its modules by name."""
    slug = package.rsplit(".", 1)[-1]
    models, routes, errors = (
        importlib.import_module(f"{package}.{name}") for name in ("models", "routes", "errors")
    )
    scenarios = _optional(f"{package}.scenarios")
    backends = [
        value
        for value in vars(models).values()
        if inspect.isclass(value) and issubclass(value, Backend) and value.__module__ == models.__name__
    ]
    if len(backends) != 1:
        raise RuntimeError(f"{models.__name__} must define exactly one Backend subclass, not {len(backends)}")
    for module, name in ((models, "ACCOUNTS"), (errors, "ERRORS")):
        if not hasattr(module, name):
            raise RuntimeError(
                f"{module.__name__} must define {name} (see conformance.emulators.core.plugin)"
            )
    spec, _ = resolved_spec(slug)
    table: dict[str, Handler] = {}
    for method, path, op in iter_operations(spec):
        handler = getattr(routes, snake(str(op.get("operationId", ""))), None)
        if callable(handler):
            table[f"{method} {path}"] = handler
    found = {
        name: value
        for name, value in vars(scenarios or models).items()
        if scenarios is not None
        and inspect.isfunction(value)
        and not name.startswith("_")
        and value.__module__ == scenarios.__name__
    }
    attrs: dict[str, Any] = {
        "slug": slug,
        "backend_cls": backends[0],
        "routes": table,
        "extra_prefixes": tuple(getattr(routes, "PREFIXES", ())),
        "accounts": models.ACCOUNTS,
        "scenarios": {**SHARED_SCENARIOS, **found},
        "errors": errors.ERRORS,
        "route_checks": _hooks(routes, "route_check"),
        "body_checks": _hooks(routes, "check_body"),
        "decorators": _hooks(routes, "decorate"),
        "__doc__": importlib.import_module(package).__doc__,
    }
    return type("Plugin", (VendorPlugin,), attrs)


def _optional(module: str) -> ModuleType | None:
    try:
        return importlib.import_module(module)
    except ModuleNotFoundError as exc:
        if exc.name != module:
            raise
        return None


def _hooks(module: ModuleType, name: str) -> tuple[Any, ...]:
    hook = getattr(module, name, None)
    return (hook,) if callable(hook) else ()
