"""The `scanwire` command line: validate, generate, emulate, conformance, diff, run."""

from __future__ import annotations

import gc
import os
import re
import sqlite3
import sys
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Console
from rich.table import Table

from scanwire.paths import UnknownVendorError, check_vendors, layout
from scanwire.yamlio import SourceError

app = typer.Typer(
    name="scanwire",
    help="Specs, generated clients, stateful emulators and conformance suites for scanner APIs.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)
# soft_wrap: never break a `file:line` or a curl command across lines when output is not a terminal.
# Piped or in CI, tables get 120 columns (rich's 80 squeezes the conformance table); $COLUMNS wins.
_PIPED_WIDTH = None if sys.stdout.isatty() or os.environ.get("COLUMNS") else 120
console = Console(soft_wrap=True, width=_PIPED_WIDTH)
err_console = Console(stderr=True, soft_wrap=True, width=_PIPED_WIDTH)

VendorArgs = Annotated[
    list[str] | None,
    typer.Argument(help="vendor slugs (advalidation, invicti, appspider, threadfix, soda); all when omitted"),
]
JobsOption = Annotated[
    int | None,
    typer.Option("--jobs", "-j", help="vendors handled at once, one process each (default: one per core)"),
]


def spec_summary(vendors: list[str]) -> tuple[Table, int]:
    """Validate each vendor's spec; a table of what it holds and the number of problems found."""
    from scanwire.resolve import resolve_vendor
    from scanwire.specs import check_spec, iter_examples

    lay = layout()
    table = Table(title="specs")
    for col in ("vendor", "operations", "schemas", "examples", "states", "errors", "problems"):
        table.add_column(col, justify="left" if col == "vendor" else "right")
    total = 0
    for vendor in vendors:
        try:
            spec = resolve_vendor(lay, vendor, check=False)
        except SourceError as exc:
            for p in exc.problems:
                err_console.print(str(p), style="red", markup=False, highlight=False)
            total += len(exc.problems)
            table.add_row(vendor, "-", "-", "-", "-", "-", f"[red]{len(exc.problems)}[/red]")
            continue
        problems = check_spec(spec, lay)
        for p in problems:
            err_console.print(str(p), style="red", markup=False, highlight=False)
        total += len(problems)
        try:
            states = str(len(spec.lifecycle.states))
        except Exception:  # an unsound lifecycle is already reported as a problem above
            states = "?"
        table.add_row(
            vendor,
            str(len(spec.operations())),
            str(spec.schema_count()),
            str(sum(1 for _ in iter_examples(spec.doc))),
            states,
            str(spec.error_responses()),
            f"[red]{len(problems)}[/red]" if problems else "[green]0[/green]",
        )
    return table, total


@app.command()
def validate(vendors: VendorArgs = None) -> None:
    """Validate specs (OpenAPI 3.1, house lint, examples, lifecycle) and print a summary table."""
    table, problems = spec_summary(check_vendors(vendors))
    console.print(table)
    if problems:
        err_console.print(f"[red]{problems} problem(s)[/red]")
        raise typer.Exit(1)


@app.command()
def generate(
    vendors: VendorArgs = None,
    force: Annotated[bool, typer.Option("--force", help="regenerate even when nothing changed")] = False,
    jobs: JobsOption = None,
) -> None:
    """Regenerate resolved specs and client packages (skips vendors that are up to date)."""
    from scanwire.generate import generate_vendors

    lay = layout()
    failed = 0
    with console.status("checking", spinner="dots") as status:
        for vendor, result in generate_vendors(
            lay, check_vendors(vendors), force=force, jobs=jobs, progress=lambda m: status.update(m)
        ):
            if isinstance(result, SourceError):
                failed += 1
                err_console.print(f"{vendor}: generation stopped", style="red bold")
                for p in result.problems:
                    err_console.print(f"  {p}", style="red", markup=False, highlight=False)
            elif isinstance(result, Exception):
                failed += 1
                err_console.print(f"error: {result}", style="red", markup=False, highlight=False)
            elif result.status == "up to date":
                console.print(f"{vendor}: up to date (skipped, {result.seconds * 1000:.0f} ms)")
            else:
                console.print(
                    f"{vendor}: generated {vendor}-client {result.version} in {result.seconds:.1f} s "
                    f"({result.files} files, {len(result.changed)} changed)"
                )
    if failed:
        raise typer.Exit(1)


@app.command("check-generated")
def check_generated_cmd(vendors: VendorArgs = None) -> None:
    """Fail when generated/ differs from a fresh regeneration."""
    from scanwire.generate import check_generated

    lay = layout()
    stale = 0
    for vendor in check_vendors(vendors):
        with console.status(f"{vendor}: regenerating into a temporary folder", spinner="dots"):
            drift = check_generated(lay, vendor)
        for name, (stamped, installed) in drift.tools.items():
            err_console.print(
                f"{vendor}: generated with {name} {stamped}, installed {installed}", style="yellow"
            )
        if drift.changes:
            stale += 1
            err_console.print(
                f"{vendor}: generated code is stale ({len(drift.changes)} file(s))", style="red"
            )
            for line in drift.changes[:20]:
                err_console.print(f"  {line}", markup=False, highlight=False)
            if len(drift.changes) > 20:
                err_console.print(f"  ... and {len(drift.changes) - 20} more")
        else:
            console.print(f"{vendor}: generated code is up to date")
    if stale:
        err_console.print("fix: run `make generate` and commit the result", style="bold")
        raise typer.Exit(1)


@app.command()
def diff(
    vendor: Annotated[str, typer.Argument(help="vendor slug")],
    base: Annotated[
        str | None, typer.Option(help="git ref to compare with (default: last release tag, else HEAD)")
    ] = None,
) -> None:
    """Classify the changes of a vendor's spec + overlays (working tree) since a git ref."""
    from scanwire.diff import DiffError, bump
    from scanwire.release import current_version, diff_vendor, version_at_ref

    (vendor,) = check_vendors([vendor])
    lay = layout()
    try:
        ref, changes = diff_vendor(lay, vendor, base)
    except SourceError as exc:
        for p in exc.problems:
            err_console.print(str(p), style="red", markup=False, highlight=False)
        raise typer.Exit(1) from None
    except DiffError as exc:
        err_console.print(f"error: {exc}", style="red", markup=False)
        raise typer.Exit(2) from None
    if changes is None:
        console.print(f"{vendor}: no resolved spec at {ref}; everything is new")
        return
    table = Table(title=f"{vendor}: {ref} -> working tree")
    for col in ("kind", "rule", "where", "change"):
        table.add_column(col)
    for c in changes:
        table.add_row(c.kind, c.rule, c.where, c.message)
    console.print(table if changes else f"{vendor}: no change since {ref}")
    old = version_at_ref(lay.root, ref, vendor)
    if old is not None:
        console.print(
            f"version at {ref}: {old}; needed now: {bump(old, changes, False)}; "
            f"current: {current_version(lay, vendor)}"
        )


@app.command("release-check")
def release_check_cmd(
    vendors: VendorArgs = None,
    base: Annotated[
        str | None,
        typer.Option(
            help="git ref of the last release (default: last tag, else the commit before the last change "
            "of the vendor's resolved spec)"
        ),
    ] = None,
) -> None:
    """Fail when a package's version does not carry the bump its spec changes need (major for breaking)."""
    from scanwire.diff import DiffError
    from scanwire.release import release_check

    lay = layout()
    failed = 0
    for vendor in check_vendors(vendors):
        try:
            result = release_check(lay, vendor, base)
        except DiffError as exc:
            err_console.print(f"{vendor}: {exc}", style="red", markup=False)
            failed += 1
            continue
        kinds = {k: sum(1 for c in result.changes if c.kind == k) for k in ("breaking", "feature", "fix")}
        summary = ", ".join(f"{n} {k}" for k, n in kinds.items() if n) or "no change"
        if result.ok:
            console.print(f"{vendor}: {result.new_version} ok ({summary} since {result.base})")
        else:
            failed += 1
            err_console.print(
                f"{vendor}: version {result.new_version} but {summary} since {result.base} "
                f"({result.old_version}) need at least {result.required}; run `scanwire generate {vendor}`",
                style="red",
                markup=False,
            )
    if failed:
        raise typer.Exit(1)


@app.command()
def coverage(
    check: Annotated[
        bool, typer.Option("--check", help="fail when the committed page differs instead of writing it")
    ] = False,
) -> None:
    """Write IMPLEMENTATION_COVERAGE.md: every spec operation, its emulator route and client function."""
    from scanwire.coverage import page_path, render

    lay = layout()
    page = page_path(lay)
    text = render(lay, check_vendors(None))
    if check:
        if not page.is_file() or page.read_text(encoding="utf-8") != text:
            err_console.print(f"{page.name} is stale: run `scanwire coverage`", style="red", markup=False)
            raise typer.Exit(1)
        console.print(f"{page.name} is up to date")
        return
    page.write_text(text, encoding="utf-8")
    console.print(f"wrote {page.name}")


@app.command()
def emulate(
    vendor: Annotated[str, typer.Argument(help="vendor slug to emulate")],
    port: Annotated[int, typer.Option(help="TCP port (1-65535)", min=1, max=65535)] = 8080,
    host: Annotated[
        str, typer.Option(help="address to bind; loopback by default (another needs --allow-remote)")
    ] = "127.0.0.1",
    db: Annotated[
        str, typer.Option(help="SQLite file keeping the state across restarts; ':memory:' for none")
    ] = (".scanwire/{vendor}.sqlite3"),
    rate_limits: Annotated[bool, typer.Option(help="enforce the spec's x-rate-limit")] = True,
    progression: Annotated[
        str, typer.Option(help="default progression: immediate | reads:N | seconds:T | manual")
    ] = "reads:1",
    replay: Annotated[
        Path | None, typer.Option(help="answer requests recorded in these VCR.py cassettes first")
    ] = None,
    max_body: Annotated[
        int | None,
        typer.Option(
            help="largest request body in bytes, 413 in the vendor's envelope beyond (default 4 MiB)", min=1
        ),
    ] = None,
    allow_remote: Annotated[
        bool, typer.Option(help="allow a non-loopback --host (needs a control token)")
    ] = False,
    control_token: Annotated[
        str | None,
        typer.Option(
            help="token the control API (/_emulator/) requires as 'Authorization: Bearer <token>'",
            envvar="SCANWIRE_CONTROL_TOKEN",
            show_envvar=True,
        ),
    ] = None,
) -> None:
    """Serve a stateful emulator of one vendor API on a real socket (control API under /_emulator/)."""
    from conformance.emulators.core.app import EmulatorSettings, build_emulator
    from conformance.emulators.core.guard import RemoteBindError, check_bind
    from conformance.emulators.core.limits import DEFAULT_MAX_BODY
    from conformance.emulators.core.server import serve, server_options
    from conformance.emulators.core.store import LATER_SECONDS
    from conformance.emulators.core.validation import spec_default

    (vendor,) = check_vendors([vendor])
    try:
        warning = check_bind(host, allow_remote=allow_remote, token=control_token)
    except RemoteBindError as exc:
        raise typer.BadParameter(str(exc), param_hint="--host") from None
    settings = EmulatorSettings(rate_limits=rate_limits, progression=_parse_progression(progression))
    db_path = db.format(vendor=vendor)
    try:
        emulator = build_emulator(
            vendor,
            db=db_path,
            settings=settings,
            max_body=max_body or DEFAULT_MAX_BODY,
            control_token=control_token,
        )
    except (OSError, sqlite3.Error) as exc:  # a folder or file that cannot be created or written
        raise typer.BadParameter(
            f"cannot use {db_path} as the state file: {exc}", param_hint="--db"
        ) from None
    emulator.guard.check_host = True  # DNS rebinding: see conformance/emulators/core/guard.py
    prefix = emulator.prefixes[0] if emulator.prefixes else ""
    # Server URL variables (ThreadFix's /threadfix/rest/{version}) shown with the value the emulator takes.
    prefix = re.sub(r"{(\w+)}", lambda m: spec_default(emulator.spec, m.group(1)) or m.group(0), prefix)
    if warning:
        err_console.print(warning, style="yellow", markup=False, highlight=False)
    console.print(f"{vendor} emulator on http://{host}:{port}{prefix}  (state: {db_path})", markup=False)
    console.print(
        f"  docs: http://{host}:{port}/_emulator/docs   control: http://{host}:{port}/_emulator/state",
        markup=False,
    )
    console.print(f"  accounts: {emulator.plugin.accounts}", markup=False)
    options = server_options()
    console.print(f"  server: uvicorn, loop {options['loop']}, http {options['http']}")
    app: Any = emulator
    if replay is not None:
        from scanwire.drift.replay import ReplayApp

        try:
            app = ReplayApp(emulator, replay)
        except (FileNotFoundError, ValueError) as exc:
            err_console.print(f"error: {exc}", style="red", markup=False)
            raise typer.Exit(2) from None
        console.print(f"  replay: {sum(map(len, app.recorded.values()))} recorded answers from {replay}/")
    # What start-up built (the spec, validators, compiled checks: most of the heap) lives as long as
    # the server: the collector need not walk it again on every full collection.
    gc.collect()
    gc.freeze()
    # The last connection closing checkpoints the WAL and removes -wal/-shm. Poll bookkeeping is written
    # behind (core/store.py): also written while the server idles.
    serve(
        app,
        host=host,
        port=port,
        error_page=emulator.error_page,
        on_shutdown=emulator.store.close,
        every=(LATER_SECONDS, emulator.store.flush),
    )


def _parse_progression(text: str) -> dict[str, Any]:
    """`--progression MODE[:N]` as the settings' progression; BadParameter naming the problem."""
    from conformance.emulators.core.engine import Progression
    from conformance.emulators.core.errors import EmulatorError

    mode, sep, every = text.partition(":")
    raw: dict[str, Any] = {"mode": mode}
    if sep:
        try:
            raw["every"] = float(every)
        except ValueError:
            raise typer.BadParameter(
                f"{text!r}: the part after ':' must be a number, e.g. reads:3", param_hint="--progression"
            ) from None
    try:
        Progression.parse(raw)
    except EmulatorError as exc:
        raise typer.BadParameter(f"{text!r}: {exc.message}", param_hint="--progression") from None
    return raw


def _parse_auth(pairs: list[str]) -> dict[str, str]:
    out = {}
    for pair in pairs:
        key, sep, value = pair.partition("=")
        if not sep or not key:
            raise typer.BadParameter(f"--auth takes key=value, got {pair!r}")
        out[key.strip()] = value
    return out


def _check_rate_limit(value: str) -> None:
    """Refuse a malformed --rate-limit before any vendor starts (schemathesis words the problem)."""
    import schemathesis

    try:
        schemathesis.Config.from_dict({"rate-limit": value})
    except Exception as exc:  # schemathesis' ConfigError; its message names the expected form
        raise typer.BadParameter(str(exc), param_hint="--rate-limit") from None


def run_conformance(
    vendors: list[str],
    *,
    base_url: str | None,
    auth: dict[str, str],
    max_examples: int,
    allow_writes: bool,
    report: Path,
    seed: int,
    jobs: int | None = None,
    rate_limit: str | None = None,
    max_time: float | None = None,
) -> bool:
    """Run the suites with a live progress display; print the summary; write the reports."""
    from rich.progress import Progress, SpinnerColumn, TextColumn, TimeElapsedColumn

    from conformance.suites.report import write_reports
    from conformance.suites.runner import ConformanceOptions, CredentialsError, VendorRun, run_vendors

    if base_url is not None and len(vendors) != 1:
        raise typer.BadParameter("--base-url points at one vendor's server: name exactly one vendor")
    opts = ConformanceOptions(
        base_url=base_url,
        credentials=auth,
        max_examples=max_examples,
        allow_writes=allow_writes,
        seed=seed,
        rate_limit=rate_limit,
        max_time=max_time,
    )
    finished: dict[str, VendorRun] = {}
    columns = (SpinnerColumn(), TextColumn("{task.description}"), TimeElapsedColumn())
    with Progress(*columns, console=console, transient=False) as progress:
        # One line per vendor, in the order asked for; vendors may run at the same time (run_vendors).
        tasks: dict[str, Any] = {}

        def show(v: str, msg: str) -> None:
            if v not in tasks:
                tasks[v] = progress.add_task(f"{v}: {msg}", total=None)
            progress.update(tasks[v], description=f"{v}: {msg}")

        try:
            for result in run_vendors(vendors, opts, progress=show, jobs=jobs):
                finished[result.vendor] = result
                verdict = "[green]pass[/green]" if result.ok else "[red]FAIL[/red]"
                show(
                    result.vendor,
                    f"{verdict} ({result.cases} cases, {len(result.operations)} operations)",
                )
                progress.stop_task(tasks[result.vendor])
        except CredentialsError as exc:  # real-server runs only: one vendor, run in this process
            show(next(v for v in vendors if v not in finished), str(exc))
            raise typer.Exit(2) from None
    runs = [finished[v] for v in vendors if v in finished]
    table = Table(title="conformance")
    for col in ("vendor", "target", "operations", "cases", "failing checks", "time", "result"):
        table.add_column(col, justify="left" if col in ("vendor", "target", "result") else "right")
    for r in runs:
        failing = len(r.failing_checks())
        table.add_row(
            r.vendor,
            r.target,
            str(len(r.operations)),
            str(r.cases),
            str(failing),
            f"{r.seconds:.1f} s",
            "[green]pass[/green]" if r.ok else "[red]FAIL[/red]",
        )
    console.print(table)
    for r in runs:
        if r.excluded:
            console.print(
                f"{r.vendor}: read-only run, not exercised: {', '.join(r.excluded)} (use --allow-writes)"
            )
        if r.fatal:
            err_console.print(f"{r.vendor}: run stopped: {r.fatal}", style="red", markup=False)
        for op in r.operations.values():
            for name, tally in op.checks.items():
                if tally.first_failure is not None:
                    f = tally.first_failure
                    err_console.print(
                        f"{r.vendor} {op.label} [{name}] {f.title}: {f.message}", markup=False, style="red"
                    )
                    err_console.print(f"  {f.curl}", markup=False, highlight=False)
            for error in op.errors:
                err_console.print(f"{r.vendor} {op.label}: {error}", markup=False, style="red")
    written = write_reports(runs, report)
    console.print("reports: " + ", ".join(str(p) for p in written))
    return all(r.ok for r in runs)


@app.command()
def conformance(
    vendors: VendorArgs = None,
    base_url: Annotated[
        str | None,
        typer.Option(
            help="a real server's base URL (with its path prefix); default: the in-process emulator"
        ),
    ] = None,
    auth: Annotated[
        list[str], typer.Option(help="credential key=value (see docs/conformance.md); repeatable")
    ] = [],  # noqa: B006
    max_examples: Annotated[
        int,
        typer.Option(help="generated cases per operation and phase; the least an operation gets in all"),
    ] = 25,
    allow_writes: Annotated[
        bool, typer.Option(help="against a real server, also run POST/DELETE operations")
    ] = False,
    report: Annotated[
        Path, typer.Option(help="directory for junit.xml, summary.md/.html, results.json")
    ] = Path("reports/conformance"),
    seed: Annotated[int, typer.Option(help="random seed (same seed, same cases)")] = 1,
    jobs: JobsOption = None,
    rate_limit: Annotated[
        str | None,
        typer.Option(
            help="request budget, e.g. 5/s or 100/m; a real server defaults to 'auto' (slows down on 429)"
        ),
    ] = None,
    max_time: Annotated[
        float | None, typer.Option(help="seconds spent generating cases per operation and phase")
    ] = None,
) -> None:
    """Check servers against the specs with schemathesis: the emulators in-process by default."""
    if rate_limit is not None:
        _check_rate_limit(rate_limit)
    ok = run_conformance(
        check_vendors(vendors),
        base_url=base_url,
        auth=_parse_auth(auth),
        max_examples=max_examples,
        allow_writes=allow_writes,
        report=report,
        seed=seed,
        jobs=jobs,
        rate_limit=rate_limit,
        max_time=max_time,
    )
    if not ok:
        raise typer.Exit(1)


@app.command()
def run(
    vendors: VendorArgs = None,
    max_examples: Annotated[int, typer.Option(help="generated cases per operation and phase")] = 25,
    report: Annotated[Path, typer.Option(help="report directory")] = Path("reports/conformance"),
    jobs: JobsOption = None,
) -> None:
    """The main job: validate specs, regenerate clients, run conformance on the emulators, report."""
    chosen = check_vendors(vendors)
    console.rule("1. specs")
    table, problems = spec_summary(chosen)
    console.print(table)
    if problems:
        err_console.print(f"{problems} spec problem(s): fix them first (details above)", style="red")
        raise typer.Exit(1)
    console.rule("2. generate")
    generate(chosen, force=False, jobs=jobs)
    console.rule("3. conformance (in-process emulators)")
    ok = run_conformance(
        chosen,
        base_url=None,
        auth={},
        max_examples=max_examples,
        allow_writes=False,
        report=report,
        seed=1,
        jobs=jobs,
    )
    if not ok:
        raise typer.Exit(1)
    console.rule("4. one job per vendor (create the target -> start -> wait -> findings -> report)")
    if not run_jobs(chosen, report / "jobs"):
        raise typer.Exit(1)


def run_jobs(vendors: list[str], workdir: Path) -> bool:
    """Each vendor's complete job (conformance.suites.jobs) on a fresh in-process emulator, as a table;
    a failed step is that vendor's FAIL row with its reason, the other vendors still run."""
    from conformance.suites.jobs import run_job

    table = Table(title="jobs (generated clients, in-process emulators)")
    for col in ("vendor", "target", "scan", "final state", "findings", "report", "time", "result"):
        table.add_column(col, justify="right" if col in ("findings", "time") else "left")
    ok = True
    failures: list[str] = []
    for vendor in vendors:
        try:
            r = run_job(vendor, workdir / vendor)
        except Exception as exc:
            ok = False
            table.add_row(vendor, "", "", "", "", "", "", "[red]FAIL[/red]")
            failures.append(f"{vendor} job: {type(exc).__name__}: {exc}")
            continue
        report = (
            f"{r.report.name} ({r.report_kind}, {r.report_bytes:,} B)" if r.report else "none (no report API)"
        )
        table.add_row(
            vendor,
            r.target,
            r.scan,
            f"{r.status} ({r.raw})",
            str(r.findings),
            report,
            f"{r.seconds:.1f} s",
            "[green]pass[/green]",
        )
    console.print(table)
    for line in failures:
        err_console.print(line, markup=False, style="red")
    return ok


from scanwire.drift.cli import drift_app, proxy  # noqa: E402 - the drift commands join this app here

app.command()(proxy)
app.add_typer(drift_app, name="drift")


def main() -> None:
    """Console entry point: domain and usage errors become one clear line and exit code 2, never a
    traceback."""
    try:
        code = app(standalone_mode=False)
    except (SourceError, UnknownVendorError) as exc:
        err_console.print(f"error: {exc}", style="red", markup=False, highlight=False)
        sys.exit(2)
    except typer.Abort:
        sys.exit(1)
    except typer.TyperException as exc:  # bad options and arguments: one line, not a boxed panel
        message = exc.format_message() if hasattr(exc, "format_message") else str(exc)
        err_console.print(f"error: {message}", style="red", markup=False, highlight=False)
        sys.exit(getattr(exc, "exit_code", 2))
    sys.exit(code if isinstance(code, int) else 0)


if __name__ == "__main__":
    main()
