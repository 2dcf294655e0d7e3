"""Conformance reports: JUnit XML (one testcase per vendor x operation x check), a Markdown and an HTML
matrix with the first failing example of each cell as a reproducible curl command, and JSON."""

from __future__ import annotations

import html
import json
from dataclasses import asdict
from pathlib import Path
from xml.etree import ElementTree as ET

from conformance.suites.runner import ALL_CHECKS, VendorRun

__all__ = ["render_html", "render_junit", "render_markdown", "write_reports"]

_MARK = {"pass": "✅", "fail": "❌", "skip": "·"}


def _check_names(runs: list[VendorRun]) -> list[str]:
    seen = [c for c in ALL_CHECKS if any(c in op.checks for r in runs for op in r.operations.values())]
    extra = sorted({c for r in runs for op in r.operations.values() for c in op.checks} - set(seen))
    return seen + extra


def render_junit(runs: list[VendorRun]) -> str:
    suites = ET.Element("testsuites", name="scanwire conformance")
    for run in runs:
        cells = [(op, name, tally) for op in run.operations.values() for name, tally in op.checks.items()]
        failures = sum(1 for _, _, t in cells if t.failed) + (1 if run.fatal else 0)
        errors = sum(1 for op in run.operations.values() if op.errors)
        suite = ET.SubElement(
            suites,
            "testsuite",
            name=f"{run.vendor} ({run.target})",
            tests=str(len(cells) + errors + (1 if run.fatal else 0)),
            failures=str(failures),
            errors=str(errors),
            time=f"{run.seconds:.3f}",
        )
        if run.fatal:
            case = ET.SubElement(suite, "testcase", classname=run.vendor, name="run")
            ET.SubElement(case, "failure", message="the run stopped").text = run.fatal
        for op, name, tally in cells:
            case = ET.SubElement(suite, "testcase", classname=f"{run.vendor}.{op.label}", name=name)
            if tally.failed and tally.first_failure is not None:
                f = tally.first_failure
                node = ET.SubElement(case, "failure", message=f"{f.title}: {tally.failed} failing case(s)")
                node.text = f"{f.message}\n\nReproduce:\n{f.curl}"
            elif not tally.passed:
                ET.SubElement(case, "skipped", message="no case reached this check")
        for op in run.operations.values():
            if op.errors:
                case = ET.SubElement(suite, "testcase", classname=f"{run.vendor}.{op.label}", name="errors")
                ET.SubElement(case, "error", message="the run hit errors").text = "\n".join(op.errors)
    ET.indent(suites)
    return '<?xml version="1.0" encoding="utf-8"?>\n' + ET.tostring(suites, encoding="unicode") + "\n"


def render_markdown(runs: list[VendorRun]) -> str:
    checks = _check_names(runs)
    lines = ["# scanwire conformance report", ""]
    lines += ["| vendor | target | operations | cases | time | result |", "|---|---|---:|---:|---:|---|"]
    for run in runs:
        result = "pass" if run.ok else "FAIL"
        lines.append(
            f"| {run.vendor} | {run.target} | {len(run.operations)} | {run.cases} "
            f"| {run.seconds:.1f} s | {result} |"
        )
    lines.append("")
    for run in runs:
        lines += [f"## {run.vendor}", ""]
        if run.fatal:
            lines += [f"**Run stopped:** {run.fatal}", ""]
        if run.excluded:
            lines += [
                "Read-only run; write operations not exercised: " + ", ".join(f"`{x}`" for x in run.excluded),
                "",
            ]
        if run.topped_up:
            lines += [
                f"{len(run.topped_up)} operation(s) ran out of distinct inputs in the first pass and were "
                "fuzzed again with fresh values (phase `fuzzing (fresh values)`): "
                + ", ".join(f"`{label}` (+{more})" for label, more in run.topped_up.items()),
                "",
            ]
        lines.append("| operation | cases | " + " | ".join(checks) + " |")
        lines.append("|---|---:|" + "---|" * len(checks))
        failures: list[str] = []
        for op in run.operations.values():
            cells = []
            for name in checks:
                tally = op.checks.get(name)
                status = tally.status if tally else "skip"
                cells.append(_MARK[status] + (f" {tally.failed}" if tally and tally.failed else ""))
                if tally and tally.first_failure:
                    f = tally.first_failure
                    failures += [
                        f"### {run.vendor} · `{op.label}` · {name}",
                        "",
                        f"{f.title}: {f.message}",
                        "",
                        "```bash",
                        f.curl,
                        "```",
                        "",
                    ]
            lines.append(f"| `{op.label}` | {op.cases} | " + " | ".join(cells) + " |")
            for err in op.errors:
                failures += [f"### {run.vendor} · `{op.label}` · error", "", f"```\n{err}\n```", ""]
        lines.append("")
        lines += failures
    lines += ["Legend: ✅ pass · ❌ failing cases · `·` not reached", ""]
    return "\n".join(lines)


def render_html(runs: list[VendorRun]) -> str:
    checks = _check_names(runs)
    parts = [
        "<!doctype html><html><head><meta charset='utf-8'><title>scanwire conformance</title>",
        "<style>body{font-family:sans-serif}td,th{border:1px solid #ccc;padding:4px 8px}"
        "table{border-collapse:collapse;margin-bottom:1em}.fail{background:#fdd}.pass{background:#dfd}"
        "pre{background:#f6f6f6;padding:8px;white-space:pre-wrap}</style></head><body>",
        "<h1>scanwire conformance report</h1>",
    ]
    for run in runs:
        parts.append(
            f"<h2>{html.escape(run.vendor)} — {html.escape(run.target)} — "
            f"{run.cases} cases, {run.seconds:.1f} s — {'pass' if run.ok else 'FAIL'}</h2>"
        )
        if run.fatal:
            parts.append(f"<p class='fail'>Run stopped: {html.escape(run.fatal)}</p>")
        parts.append("<table><tr><th>operation</th><th>cases</th>")
        parts += [f"<th>{html.escape(c)}</th>" for c in checks]
        parts.append("</tr>")
        details = []
        for op in run.operations.values():
            parts.append(f"<tr><td><code>{html.escape(op.label)}</code></td><td>{op.cases}</td>")
            for name in checks:
                tally = op.checks.get(name)
                status = tally.status if tally else "skip"
                text = _MARK[status] + (f" {tally.failed}" if tally and tally.failed else "")
                parts.append(f"<td class='{status}'>{text}</td>")
                if tally and tally.first_failure:
                    f = tally.first_failure
                    details.append(
                        f"<h3>{html.escape(op.label)} · {html.escape(name)}</h3>"
                        f"<p>{html.escape(f.title)}: {html.escape(f.message)}</p>"
                        f"<pre>{html.escape(f.curl)}</pre>"
                    )
            parts.append("</tr>")
        parts.append("</table>")
        parts += details
    parts.append("</body></html>")
    return "\n".join(parts)


def write_reports(runs: list[VendorRun], directory: Path) -> list[Path]:
    directory.mkdir(parents=True, exist_ok=True)
    outputs = {
        "junit.xml": render_junit(runs),
        "summary.md": render_markdown(runs),
        "summary.html": render_html(runs),
        "results.json": json.dumps([asdict(r) for r in runs], indent=2, sort_keys=True),
    }
    written = []
    for name, text in outputs.items():
        path = directory / name
        path.write_text(text, encoding="utf-8")
        written.append(path)
    return written
