"""Conformance throughput: the default suite for all five vendors against the in-process emulators.

`conformance.suites.runner.run_vendors` with `make conformance-full`'s settings: the default options
(all phases, stateful included, every check) and `--max-examples 100` (per operation and phase, not a
value tuned so that phases sum to 100). Two sides, each in a fresh process, in the same run: vendors
spread over one process per core (what `scanwire conformance` does) and one after the other in one
process. Prints cases per operation, cases per vendor and phase (a phase that runs 0 cases is named, e.g.
ThreadFix's stateful phase), wall time and cases per second; the last line is the wall time against the
60 s target.

Run: `.venv/bin/python bench/bench_conformance.py [--max-examples 100] [--skip-sequential]`.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import ROOT, VENDORS, machine, print_ratio, print_table

TARGET_CASES = 100
TARGET_SECONDS = 60.0
PHASES = ("examples", "coverage", "fuzzing", "stateful", "fuzzing (fresh values)")
# `make conformance-full` runs `scanwire conformance --max-examples 100`: the same figure here.
CONFORMANCE_FULL_MAX_EXAMPLES = 100


def side(max_examples: int, jobs: int) -> dict[str, Any]:
    """One side, in this process: run the suites, return what the table needs."""
    from conformance.suites.runner import ConformanceOptions, run_vendors

    start = time.perf_counter()
    opts = ConformanceOptions(max_examples=max_examples)
    runs = {r.vendor: r for r in run_vendors(VENDORS, opts, jobs=jobs)}
    wall = time.perf_counter() - start
    return {
        "wall": wall,
        "vendors": {
            v: {
                "ok": r.ok,
                "seconds": r.seconds,
                "cases": r.cases,
                "per_operation": sorted(op.cases for op in r.operations.values()),
                "phases": r.phases,
            }
            for v, r in runs.items()
        },
    }


def _run_side(max_examples: int, jobs: int) -> dict[str, Any]:
    cmd = [sys.executable, __file__, "--side-jobs", str(jobs), "--max-examples", str(max_examples)]
    start = time.perf_counter()
    done = subprocess.run(cmd, cwd=ROOT, capture_output=True, text=True, check=False)
    if done.returncode != 0:
        raise SystemExit(f"{' '.join(cmd)} failed ({done.returncode}):\n{done.stderr[-3000:]}")
    result: dict[str, Any] = json.loads(done.stdout.strip().splitlines()[-1])
    result["process_wall"] = time.perf_counter() - start
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--max-examples",
        type=int,
        default=CONFORMANCE_FULL_MAX_EXAMPLES,
        help="per operation and phase (default: make conformance-full's 100)",
    )
    parser.add_argument("--jobs", type=int, default=os.cpu_count() or 1, help="processes, parallel side")
    parser.add_argument("--skip-sequential", action="store_true", help="only the parallel side")
    # Internal: run one side in this process and print its figures as JSON.
    parser.add_argument("--side-jobs", type=int, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.side_jobs is not None:
        print(json.dumps(side(args.max_examples, args.side_jobs)))
        return

    print(f"machine: {machine()}")
    print(f"max-examples {args.max_examples}, phases examples+coverage+fuzzing+stateful, all checks, seed 1")
    parallel = _run_side(args.max_examples, args.jobs)
    sequential = None if args.skip_sequential else _run_side(args.max_examples, 1)

    rows = []
    for vendor in VENDORS:
        r = parallel["vendors"][vendor]
        per_op = r["per_operation"]
        rows.append(
            [
                vendor,
                len(per_op),
                r["cases"],
                min(per_op),
                f"{statistics.median(per_op):.0f}",
                *(r["phases"].get(phase, 0) for phase in PHASES),
                f"{r['seconds']:.1f}",
                "pass" if r["ok"] else "FAIL",
            ]
        )
    print_table(
        f"conformance, parallel side ({args.jobs} processes)",
        ["vendor", "operations", "cases", "min/op", "median/op", *PHASES, "vendor s", "result"],
        rows,
    )
    total = sum(r["cases"] for r in parallel["vendors"].values())
    empty = [
        f"{vendor} {phase}"
        for vendor in VENDORS
        for phase in PHASES[:4]  # the fresh-values pass runs only where an operation fell short
        if parallel["vendors"][vendor]["phases"].get(phase, 0) == 0
    ]
    if empty:
        print(f"\nphases that ran 0 cases: {', '.join(empty)}")
    sides = [("parallel", args.jobs, parallel)]
    if sequential is not None:
        sides.append(("sequential", 1, sequential))
    totals = []
    for name, jobs, s in sides:
        cases = sum(r["cases"] for r in s["vendors"].values())
        totals.append([name, jobs, cases, f"{s['process_wall']:.1f}", f"{cases / s['process_wall']:.0f}"])
    print_table(
        "totals (wall: the suites, the processes' start-up included)",
        ["side", "processes", "cases", "wall s", "cases/s"],
        totals,
    )
    least = min(min(r["per_operation"]) for r in parallel["vendors"].values())
    print(f"\nfewest cases of any operation: {least} (target >= {TARGET_CASES}); total {total} cases")
    if sequential is not None:
        print(f"speed-up sequential/parallel: {sequential['process_wall'] / parallel['process_wall']:.2f}x")
    print_ratio(
        f"wall/{TARGET_SECONDS:.0f} s ({parallel['process_wall']:.1f} s)",
        parallel["process_wall"] / TARGET_SECONDS,
        "<= 1.00x",
    )


if __name__ == "__main__":
    main()
