"""What the benchmark scripts share: the checkout's paths, the machine line, a table and the ratio line."""

from __future__ import annotations

import os
import platform
import shutil
import statistics
import sys
from collections.abc import Sequence
from pathlib import Path

__all__ = [
    "BIN",
    "ROOT",
    "SHARED",
    "VENDORS",
    "copy_checkout",
    "machine",
    "median",
    "print_ratio",
    "print_table",
]

ROOT = Path(__file__).resolve().parents[1]
SHARED = Path(os.environ.get("SCANWIRE_SHARED", ROOT.parent / "shared"))
BIN = Path(sys.executable).parent
VENDORS = ("advalidation", "invicti", "appspider", "threadfix", "soda")
# What a throw-away checkout needs (git history included: versions and changelogs come from the last tag).
_SKIP = {".venv", "reports", ".scanwire", ".mypy_cache", ".ruff_cache", ".pytest_cache", ".hypothesis"}


def machine() -> str:
    """One line naming the machine, for the table a figure belongs to."""
    model = platform.processor() or platform.machine()
    try:
        for line in Path("/proc/cpuinfo").read_text(encoding="utf-8").splitlines():
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    load = os.getloadavg()[0] if hasattr(os, "getloadavg") else float("nan")
    return (
        f"{model}, {os.cpu_count()} cores, {platform.system()} {platform.release()}, "
        f"Python {platform.python_version()}, load {load:.2f} at start"
    )


def copy_checkout(dst: Path) -> Path:
    """A copy of the checkout (sources, specs, generated output, git history) to regenerate freely."""
    shutil.copytree(
        ROOT,
        dst,
        symlinks=True,
        ignore=lambda _dir, names: [n for n in names if n in _SKIP or n == "__pycache__"],
    )
    return dst


def median(values: Sequence[float]) -> float:
    return statistics.median(values) if values else float("nan")


def print_table(title: str, header: Sequence[str], rows: Sequence[Sequence[object]]) -> None:
    """A plain-text table, first column left-aligned and the others right-aligned."""
    cells = [[str(c) for c in header], *([str(c) for c in row] for row in rows)]
    widths = [max(len(row[i]) for row in cells) for i in range(len(header))]

    def line(row: Sequence[str]) -> str:
        return "  ".join(
            c.ljust(widths[i]) if i == 0 else c.rjust(widths[i]) for i, c in enumerate(row)
        ).rstrip()

    print(f"\n{title}")
    print(line(cells[0]))
    print("  ".join("-" * w for w in widths))
    for row in cells[1:]:
        print(line(row))


def print_ratio(name: str, value: float, target: str, *, unit: str = "x") -> None:
    """The last line of every benchmark: one ratio and the target it is measured against."""
    print(f"\nratio {name} = {value:.2f}{unit} (target {target})", flush=True)
