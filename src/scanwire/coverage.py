"""IMPLEMENTATION_COVERAGE.md: every spec operation and what scanwire has for it (moto's checklist).

Read from the resolved specs (operations, `x-source`, `x-scanwire-lifecycle`, `x-scanwire-paging`),
the emulators' routing tables (keyed by the spec's own `METHOD /path`) and the generated packages'
endpoint modules. `scanwire coverage` writes the page; `scanwire coverage --check` (and a test) fail
when the committed page is stale.
"""

from __future__ import annotations

import importlib
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from scanwire_runtime.lifecycle import Lifecycle

from scanwire.paths import Layout
from scanwire.specs import iter_operations
from scanwire.yamlio import load_yaml

__all__ = ["OperationCoverage", "render", "vendor_coverage"]

PAGE = "IMPLEMENTATION_COVERAGE.md"


@dataclass(frozen=True)
class OperationCoverage:
    key: str  # METHOD /path
    operation_id: str
    sources: tuple[str, ...]
    emulated: bool
    client_module: str | None  # e.g. `api.scans.get_scan_status`
    roles: tuple[str, ...]  # lifecycle roles (start, poll, cancel, ...)
    paging: str | None  # x-scanwire-paging style


def _snake(name: str) -> str:
    """openapi-python-client's module name for an operationId (`listScansByState` → list_scans_by_state)."""
    return re.sub(r"(?<=[a-z0-9])(?=[A-Z])", "_", name).lower()


_NOTES = ("vendor-notes.md", "vendor-notes-workflow.md")


def _sources(op: dict[str, Any]) -> tuple[str, ...]:
    raw = op.get("x-source") or []
    items = raw if isinstance(raw, list) else [raw]
    out: list[str] = []
    for item in items:
        name = "vendor-notes" if item.get("file") in _NOTES else "seed"
        label = f"{name} ({item['tag']})" if item.get("tag") else name
        if label not in out:
            out.append(label)
    return tuple(out)


def vendor_coverage(lay: Layout, vendor: str) -> list[OperationCoverage]:
    # The routing table is class data of the vendor's plugin: no emulator needs to be built to read it.
    routes = set(importlib.import_module(f"conformance.emulators.{vendor}").Plugin.routes)
    spec = load_yaml(lay.resolved(vendor), "resolved spec").data
    lifecycle = Lifecycle.from_spec(spec)
    roles: dict[str, list[str]] = {}
    for role, ref in lifecycle.operations.items():
        if ref is not None:
            roles.setdefault(ref.key, []).append(role)
    package = lay.generated(vendor) / f"{vendor}_client"
    out = []
    for method, path, op in iter_operations(spec):
        key = f"{method} {path}"
        modules = sorted(package.glob(f"api/*/{_snake(op['operationId'])}.py"))
        module = ".".join(modules[0].relative_to(package).with_suffix("").parts) if modules else None
        paging = op.get("x-scanwire-paging")
        out.append(
            OperationCoverage(
                key=key,
                operation_id=op["operationId"],
                sources=_sources(op),
                emulated=key in routes,
                client_module=module,
                roles=tuple(roles.get(key, ())),
                paging=paging["style"] if isinstance(paging, dict) else None,
            )
        )
    return out


def render(lay: Layout, vendors: list[str]) -> str:
    per_vendor = {v: vendor_coverage(lay, v) for v in vendors}
    lines = [
        "# Implementation coverage",
        "",
        "Every operation of every spec and what scanwire has for it: the emulator route, the generated",
        "client function, its role in the scan lifecycle and whether the client pages through it.",
        "Written by `scanwire coverage` from the resolved specs, the emulators' routing tables and the",
        "generated packages (moto's IMPLEMENTATION_COVERAGE.md); `make test` fails when it is stale.",
        "Sources: `seed` is the vendor document in ../shared/seeds/, `vendor-notes (FACT)` a public fact",
        "from ../shared/vendor-notes.md or ../shared/vendor-notes-workflow.md.",
        "",
        "| vendor | operations | emulated | client functions | lifecycle operations | paged |",
        "|---|---:|---:|---:|---:|---:|",
    ]
    for vendor, ops in per_vendor.items():
        lines.append(
            f"| {vendor} | {len(ops)} | {sum(o.emulated for o in ops)} "
            f"| {sum(o.client_module is not None for o in ops)} | {sum(bool(o.roles) for o in ops)} "
            f"| {sum(o.paging is not None for o in ops)} |"
        )
    for vendor, ops in per_vendor.items():
        lines += [
            "",
            f"## {vendor}",
            "",
            "| operation | operationId | source | emulator | client (`"
            + vendor
            + "_client.`) | lifecycle | paging |",
            "|---|---|---|---|---|---|---|",
        ]
        for o in ops:
            lines.append(
                f"| `{o.key}` | `{o.operation_id}` | {', '.join(o.sources) or '—'} "
                f"| {'✅' if o.emulated else '❌'} | {f'`{o.client_module}`' if o.client_module else '❌'} "
                f"| {', '.join(o.roles) or ''} | {o.paging or ''} |"
            )
    return "\n".join(lines) + "\n"


def page_path(lay: Layout) -> Path:
    return lay.root / PAGE
