"""The drift commands: `scanwire proxy`, `scanwire drift report|propose` (registered by scanwire.cli)."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer
from rich.console import Console
from rich.table import Table

from scanwire.paths import UnknownVendorError, check_vendors, layout

if TYPE_CHECKING:
    from scanwire.drift.report import DriftSummary

__all__ = ["drift_app", "proxy"]

console = Console(soft_wrap=True)
err_console = Console(stderr=True, soft_wrap=True)
drift_app = typer.Typer(
    help="Aggregate what `scanwire proxy` saw and propose overlays for it.", no_args_is_help=True
)
ReportsOption = Annotated[Path, typer.Option("--reports", help="where the proxy logs and the reports live")]
_DEFAULT_REPORTS = Path("reports/drift")


def _vendor(name: str) -> str:
    try:
        (vendor,) = check_vendors([name])
    except UnknownVendorError as exc:
        err_console.print(f"error: {exc}", style="red", markup=False)
        raise typer.Exit(2) from None
    return vendor


def _resolved(vendor: str) -> dict[str, Any]:
    from scanwire.yamlio import loads_yaml

    path = layout().resolved(vendor)
    if not path.exists():
        err_console.print(f"error: {path} is missing: run `scanwire generate {vendor}`", markup=False)
        raise typer.Exit(2)
    spec: dict[str, Any] = loads_yaml(path.read_text(encoding="utf-8"))
    return spec


def proxy(
    vendor: Annotated[str, typer.Argument(help="vendor slug whose spec the traffic is checked against")],
    upstream: Annotated[str, typer.Option(help="the real server's base URL, e.g. https://cloud.soda.io")],
    port: Annotated[int, typer.Option(help="TCP port to listen on")] = 8081,
    host: Annotated[str, typer.Option(help="address to bind; loopback by default")] = "127.0.0.1",
    record: Annotated[
        Path | None, typer.Option(help="directory for VCR.py cassettes of the (redacted) exchanges")
    ] = None,
    reports: ReportsOption = _DEFAULT_REPORTS,
    secret: Annotated[
        list[str], typer.Option(help="a value never to write anywhere (repeatable; SCANWIRE_<VENDOR>_* too)")
    ] = [],  # noqa: B006 - typer reads the default, never mutates it
    redact: Annotated[
        list[str],
        typer.Option(help="mask a pattern everywhere: email, hostname, ipv4, uuid or a regex (repeatable)"),
    ] = [],  # noqa: B006
    redact_field: Annotated[
        list[str], typer.Option(help="mask the value of every JSON/form field of this name (repeatable)")
    ] = [],  # noqa: B006
) -> None:
    """Forward to the real server unchanged; check every exchange against the spec; log drift."""
    import re

    from conformance.emulators.core.server import serve
    from scanwire.drift.observe import Observer
    from scanwire.drift.proxy import DriftProxy
    from scanwire.drift.redact import PATTERNS, Redactor

    vendor = _vendor(vendor)
    if not re.match(r"^https?://[^/\s]+", upstream):
        raise typer.BadParameter(f"{upstream!r} is not an http(s) URL", param_hint="--upstream")
    for pattern in redact:
        if pattern not in PATTERNS:
            try:
                re.compile(pattern)
            except re.error as exc:
                raise typer.BadParameter(f"{pattern!r}: {exc}", param_hint="--redact") from None
    spec = _resolved(vendor)
    redactor = Redactor(spec, secrets=secret, patterns=redact, fields=redact_field, vendor=vendor)
    observer = Observer(vendor, spec, reports, redactor, record=record, upstream=upstream)
    console.print(f"{vendor} drift proxy on http://{host}:{port} -> {redactor.text(upstream)}")
    console.print(f"  log: {observer.log_path}" + (f"   cassettes: {record}/" if record else ""))
    console.print(f"  then: scanwire drift report {vendor}; scanwire drift propose {vendor}")
    serve(DriftProxy(upstream, observer), host=host, port=port)


@drift_app.command()
def report(
    vendor: Annotated[str, typer.Argument(help="vendor slug")],
    reports: ReportsOption = _DEFAULT_REPORTS,
) -> None:
    """Aggregate the proxy's log into <vendor>.md / .json / .junit.xml (per operation, per deviation)."""
    from scanwire.drift.report import write_reports

    vendor = _vendor(vendor)
    summary = _summary(vendor, reports)
    from scanwire.drift.redact import Redactor

    # The log was redacted when written; secrets known now (SCANWIRE_<VENDOR>_*) are masked once more.
    paths = write_reports(summary, reports, scrub=Redactor(vendor=vendor).text)
    table = Table(title=f"{vendor}: {summary.exchanges} exchanges")
    for col in ("operation", "kind", "status", "where", "count"):
        table.add_column(col)
    for f in summary.findings:
        table.add_row(f.operation, f.kind, str(f.status), f.where, str(f.count))
    console.print(table if summary.findings else f"{vendor}: no deviation in {summary.exchanges} exchanges")
    if summary.skipped_lines:
        console.print(f"{summary.skipped_lines} unreadable log line(s) skipped")
    console.print("reports: " + ", ".join(str(p) for p in paths))
    if summary.findings:
        raise typer.Exit(1)


@drift_app.command()
def propose(
    vendor: Annotated[str, typer.Argument(help="vendor slug")],
    reports: ReportsOption = _DEFAULT_REPORTS,
    day: Annotated[
        str | None, typer.Option("--date", help="date in the file name (default: today, UTC)")
    ] = None,
) -> None:
    """Write overlays/<vendor>/20-observed-<date>.yaml fixing each observed deviation, with evidence."""
    from scanwire.drift.propose import applicable, overlay_path, render_overlay
    from scanwire.drift.propose import propose as make_proposal
    from scanwire.yamlio import SourceError

    vendor = _vendor(vendor)
    summary = _summary(vendor, reports)
    lay = layout()
    path = overlay_path(lay.overlays(vendor), day)
    try:
        proposal = applicable(make_proposal(summary, _resolved(vendor)), spec_before(lay, vendor, path.name))
    except SourceError as exc:
        for p in exc.problems:
            err_console.print(str(p), style="red", markup=False, highlight=False)
        raise typer.Exit(1) from None
    for f in proposal.unproposed:
        console.print(f"not proposed: {f.kind} at {f.where} in {f.operation} {f.status} ({f.count}x)")
    if not proposal.actions:
        console.print(
            f"{vendor}: nothing to propose ({len(summary.findings)} deviations, none fixable by an overlay)"
        )
        return
    try:
        current = _resolved(vendor)
        changes = write_checked(lay, vendor, render_overlay(vendor, summary, proposal, day), path, current)
    except SourceError as exc:
        for p in exc.problems:
            err_console.print(str(p), style="red", markup=False, highlight=False)
        err_console.print(f"the draft does not apply; it was not kept (see {path.name} problems above)")
        raise typer.Exit(1) from None
    console.print(f"wrote {path} ({len(proposal.actions)} actions)")
    table = Table(title=f"{vendor}: what accepting it does to the client")
    for col in ("kind", "rule", "where", "change"):
        table.add_column(col)
    for c in changes:
        table.add_row(c.kind, c.rule, c.where, c.message)
    console.print(table)
    console.print(f"review it, `scanwire diff {vendor}`, then `scanwire generate {vendor}`")


@drift_app.command()
def examples(
    vendor: Annotated[str, typer.Argument(help="vendor slug")],
    cassettes: Annotated[Path, typer.Option(help="the directory `scanwire proxy --record` wrote")],
    day: Annotated[
        str | None, typer.Option("--date", help="date in the file name (default: today, UTC)")
    ] = None,
) -> None:
    """Write overlays/<vendor>/20-observed-examples-<date>.yaml: recorded answers as spec examples."""
    import time

    from scanwire.drift.examples import example_actions
    from scanwire.yamlio import SourceError

    vendor = _vendor(vendor)
    day = day or time.strftime("%Y-%m-%d", time.gmtime())
    current = _resolved(vendor)
    try:
        actions = example_actions(current, cassettes, day)
    except (FileNotFoundError, ValueError) as exc:
        err_console.print(f"error: {exc}", style="red", markup=False)
        raise typer.Exit(2) from None
    if not actions:
        console.print(f"{vendor}: no recorded answer matches the spec and can be an example")
        return
    lay = layout()
    path = lay.overlays(vendor) / f"20-observed-examples-{day}.yaml"
    overlay = {
        "overlay": "1.0.0",
        "info": {
            "title": f"Answers recorded from the {vendor} server ({day}, draft)",
            "version": "1.0.0",
            "description": (
                "DRAFT written by `scanwire drift examples` from redacted cassettes; review, keep or delete."
            ),
        },
        "actions": actions,
    }
    try:
        write_checked(lay, vendor, overlay, path, current)
    except SourceError as exc:
        for p in exc.problems:
            err_console.print(str(p), style="red", markup=False, highlight=False)
        err_console.print("the draft does not apply; it was not kept")
        raise typer.Exit(1) from None
    console.print(f"wrote {path} ({len(actions)} examples)")


def spec_before(lay: Any, vendor: str, name: str) -> dict[str, Any]:
    """The spec with the overlays that sort before `name` applied: where a new overlay file acts."""
    from scanwire.overlay import apply_overlays, load_overlay, overlay_files
    from scanwire.specs import load_spec

    spec = load_spec(lay.spec(vendor), vendor)
    overlays = [load_overlay(p) for p in overlay_files(lay.overlays(vendor)) if p.name < name]
    doc, _ = apply_overlays(spec.doc, overlays)
    return doc


def write_checked(
    lay: Any, vendor: str, overlay: dict[str, Any], path: Path, current: dict[str, Any]
) -> list[Any]:
    """Write the draft, resolve spec + all overlays with it; on failure remove it and raise SourceError.

    Returns the client-impact classification (scanwire.diff) from `current` (the resolved spec the
    traffic was compared with) to the resolved spec with the draft.
    """
    from scanwire.diff import classify
    from scanwire.resolve import resolve_vendor
    from scanwire.yamlio import dump_yaml

    path.parent.mkdir(parents=True, exist_ok=True)
    existed = path.read_text(encoding="utf-8") if path.exists() else None
    path.write_text(dump_yaml(overlay), encoding="utf-8")
    try:
        resolved = resolve_vendor(lay, vendor).resolved
    except Exception:
        if existed is None:
            path.unlink()
        else:
            path.write_text(existed, encoding="utf-8")
        raise
    assert resolved is not None
    return classify(current, resolved)


if __name__ == "__main__":  # pragma: no cover
    sys.exit(drift_app())


def _summary(vendor: str, reports: Path) -> DriftSummary:
    """The proxy's log of one vendor, aggregated; a missing log is a one-line error (exit 2)."""
    from scanwire.drift.report import aggregate

    try:
        return aggregate(vendor, reports / f"{vendor}.observations.jsonl")
    except FileNotFoundError as exc:
        err_console.print(f"error: {exc}", style="red", markup=False)
        raise typer.Exit(2) from None
