"""`scanwire drift report`: the proxy's observation log aggregated per operation and deviation.

Reads `<reports>/<vendor>.observations.jsonl` (one redacted line per exchange) and writes
`<vendor>.json`, `<vendor>.md` and `<vendor>.junit.xml` beside it: per operation, each deviation
with its count, first and last time seen and its redacted first example. In JUnit terms an operation
is a test case and each kind of deviation a failure, as in the conformance reports.
"""

from __future__ import annotations

import json
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from xml.etree import ElementTree as ET

from scanwire.drift.compare import KINDS

__all__ = ["DriftSummary", "Finding", "aggregate", "load_summary", "write_reports"]

_MAX_LINE = 2 * 1024 * 1024  # a longer line is not one the proxy wrote


@dataclass
class Finding:
    kind: str
    operation: str
    status: int
    where: str
    message: str
    count: int
    first_seen: float
    last_seen: float
    example: Any
    proposal: dict[str, Any]

    @property
    def first_seen_iso(self) -> str:
        return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(self.first_seen))


@dataclass
class DriftSummary:
    vendor: str
    exchanges: int = 0
    operations: dict[str, int] = field(default_factory=dict)  # exchanges per operation
    findings: list[Finding] = field(default_factory=list)
    skipped_lines: int = 0

    def to_dict(self) -> dict[str, Any]:
        return {
            "vendor": self.vendor,
            "exchanges": self.exchanges,
            "operations": self.operations,
            "skipped_lines": self.skipped_lines,
            "findings": [{**f.__dict__, "first_seen_iso": f.first_seen_iso} for f in self.findings],
        }


def aggregate(vendor: str, log_path: Path) -> DriftSummary:
    """Fold the observation log; a line that is not a proxy record is counted and skipped."""
    if not log_path.exists():
        raise FileNotFoundError(f"{log_path}: no observations yet (run `scanwire proxy {vendor} ...` first)")
    summary = DriftSummary(vendor)
    found: dict[tuple[str, str, int, str], Finding] = {}
    with log_path.open(encoding="utf-8", errors="replace") as fh:
        for line in fh:
            if len(line) > _MAX_LINE:
                summary.skipped_lines += 1
                continue
            try:
                record = json.loads(line)
                operation = str(record["operation"])
                when = float(record.get("time") or 0.0)
                deviations = record.get("deviations") or []
            except (ValueError, KeyError, TypeError):
                summary.skipped_lines += 1
                continue
            summary.exchanges += 1
            summary.operations[operation] = summary.operations.get(operation, 0) + 1
            for d in deviations:
                if not isinstance(d, dict) or d.get("kind") not in KINDS:
                    continue
                key = (
                    str(d.get("operation")),
                    str(d["kind"]),
                    int(d.get("status") or 0),
                    str(d.get("where")),
                )
                known = found.get(key)
                if known is None:
                    found[key] = Finding(
                        kind=key[1],
                        operation=key[0],
                        status=key[2],
                        where=key[3],
                        message=str(d.get("message", ""))[:500],
                        count=1,
                        first_seen=when,
                        last_seen=when,
                        example=d.get("example"),
                        proposal=d.get("proposal") or {},
                    )
                else:
                    known.count += 1
                    known.first_seen = min(known.first_seen, when)
                    known.last_seen = max(known.last_seen, when)
    summary.findings = sorted(
        found.values(), key=lambda f: (f.operation, KINDS.index(f.kind), f.status, f.where)
    )
    return summary


def load_summary(path: Path) -> DriftSummary:
    """A `<vendor>.json` report read back (what `drift propose` starts from)."""
    data = json.loads(path.read_text(encoding="utf-8"))
    summary = DriftSummary(str(data["vendor"]), int(data["exchanges"]), dict(data["operations"]))
    for f in data["findings"]:
        f = {k: v for k, v in f.items() if k != "first_seen_iso"}
        summary.findings.append(Finding(**f))
    return summary


def _example(value: Any) -> str:
    text = json.dumps(value, default=str)
    return text if len(text) <= 120 else text[:117] + "..."


def render_markdown(summary: DriftSummary) -> str:
    lines = [
        f"# Drift report: {summary.vendor}",
        "",
        f"{summary.exchanges} exchanges observed over {len(summary.operations)} operations; "
        f"{len(summary.findings)} distinct deviations.",
        "",
    ]
    if not summary.findings:
        lines.append("No deviation from the spec was observed.")
    by_op: dict[str, list[Finding]] = {}
    for f in summary.findings:
        by_op.setdefault(f.operation, []).append(f)
    for op, findings in by_op.items():
        lines += [
            f"## {op} ({summary.operations.get(op, 0)} exchanges)",
            "",
            "| kind | status | where | count | first seen | first example (redacted) | what |",
            "|---|---|---|---|---|---|---|",
        ]
        for f in findings:
            cells = [
                f.kind,
                str(f.status),
                f"`{f.where}`",
                str(f.count),
                f.first_seen_iso,
                f"`{_example(f.example)}`",
                f.message,
            ]
            lines.append("| " + " | ".join(c.replace("|", "\\|").replace("\n", " ") for c in cells) + " |")
        lines.append("")
    return "\n".join(lines) + "\n"


def render_junit(summary: DriftSummary) -> str:
    suite = ET.Element(
        "testsuite",
        name=f"drift.{summary.vendor}",
        tests=str(len(summary.operations)),
        failures=str(len({f.operation for f in summary.findings})),
    )
    findings: dict[str, list[Finding]] = {}
    for f in summary.findings:
        findings.setdefault(f.operation, []).append(f)
    for op in sorted(summary.operations.keys() | findings.keys()):
        case = ET.SubElement(suite, "testcase", classname=f"drift.{summary.vendor}", name=op)
        for f in findings.get(op, []):
            failure = ET.SubElement(case, "failure", type=f.kind, message=f"{f.where}: {f.message}"[:500])
            failure.text = f"count {f.count}, first seen {f.first_seen_iso}, example {_example(f.example)}"
    suites = ET.Element("testsuites")
    suites.append(suite)
    return ET.tostring(suites, encoding="unicode", xml_declaration=True) + "\n"


def write_reports(summary: DriftSummary, directory: Path, scrub: Any = None) -> list[Path]:
    """`<vendor>.json`, `.md`, `.junit.xml` in `directory`; `scrub` filters each text before writing."""
    directory.mkdir(parents=True, exist_ok=True)
    out = []
    for suffix, text in (
        ("json", json.dumps(summary.to_dict(), indent=2, default=str) + "\n"),
        ("md", render_markdown(summary)),
        ("junit.xml", render_junit(summary)),
    ):
        path = directory / f"{summary.vendor}.{suffix}"
        path.write_text(scrub(text) if scrub else text, encoding="utf-8")
        out.append(path)
    return out
