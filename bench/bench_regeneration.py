"""Regeneration: `scanwire generate --force` of five vendors vs openapi-python-client alone; a no-op run.

Both sides run as fresh processes on the same machine in the same run, alternating, on a throw-away copy
of the checkout (the real generated/ is never touched). Like for like: one process each (scanwire with
`--jobs 1`; its default of one process per core is timed too, for the wall clock users see), the same
input document (the resolved specs as JSON, which is what scanwire hands the generator: the JSON files
are written before the clock starts), and CPU time (user + system of the process and its children,
ruff included) as well as wall time:

- "openapi-python-client alone": its Python API, in one process, on the five resolved specs with the
  same config (overlays/<vendor>/codegen.yaml plus the names and version scanwire sets), the same
  templates and the same ruff post-hooks;
- "scanwire generate --force --jobs 1": the whole pipeline (spec checks, overlays, release plan, client,
  runtime layer, API reference, stamp), SCANWIRE_ROOT pointing at the copy;
- "scanwire generate --force" (one process per core, the default);
- "scanwire generate" with nothing changed (every vendor up to date).

Run: `.venv/bin/python bench/bench_regeneration.py [--rounds 3]`.
"""

from __future__ import annotations

import argparse
import filecmp
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
import tomllib
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import yaml

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import BIN, ROOT, SHARED, VENDORS, copy_checkout, machine, median, print_ratio, print_table

TEMPLATES = ROOT / "src" / "scanwire" / "templates" / "openapi-python-client"
TARGET_RATIO = 1.10
TARGET_NOOP = 0.5
SIDES = (
    "openapi-python-client alone (API, one process)",
    "scanwire generate --force --jobs 1",
    "scanwire generate --force (one process per core)",
    "scanwire generate (nothing changed)",
)


def openapi_python_client_alone(checkout: Path, out: Path, vendors: Sequence[str] = VENDORS) -> None:
    """The baseline, run in its own process: openapi-python-client's API on the five resolved specs."""
    import contextlib
    import io
    from unittest import mock

    import jinja2
    import openapi_python_client
    import yaml
    from openapi_python_client import generate
    from openapi_python_client.config import Config, ConfigFile, MetaType

    os.environ["PATH"] = f"{BIN}{os.pathsep}{os.environ.get('PATH', '')}"  # the pinned ruff of the hooks
    for vendor in vendors:
        config = yaml.safe_load((checkout / "overlays" / vendor / "codegen.yaml").read_bytes())
        stamp = tomllib.loads((checkout / "generated" / vendor / "generation.toml").read_text("utf-8"))
        config |= {
            "project_name_override": f"{vendor}-client",
            "package_name_override": f"{vendor}_client",
            "package_version_override": stamp["package"]["version"],
        }
        config.setdefault("post_hooks", ["ruff check --fix-only --quiet .", "ruff format --quiet ."])
        spec = json_input(checkout, vendor)
        cfg = Config.from_sources(
            ConfigFile(**config), MetaType.PDM, spec, "utf-8", overwrite=True, output_path=out / vendor
        )
        # scanwire's templates read its globals (auth, lifecycle, ...): computed before the clock started.
        extra = json.loads(globals_input(checkout, vendor).read_text(encoding="utf-8"))

        class Environment(jinja2.Environment):
            template_globals = extra

            def __init__(self, **options: Any) -> None:
                super().__init__(**options)
                self.globals.update(self.template_globals)

        with (
            contextlib.redirect_stdout(io.StringIO()),
            mock.patch.object(openapi_python_client, "Environment", Environment),
        ):
            errors = generate(config=cfg, custom_template_path=TEMPLATES)
        if errors:
            raise SystemExit(f"{vendor}: openapi-python-client reported {errors}")


def json_input(checkout: Path, vendor: str) -> Path:
    # Beside the copy, not in its generated/ (which scanwire's regeneration keeps to exactly its output).
    return checkout.parent / "inputs" / f"{vendor}.openapi.resolved.json"


def globals_input(checkout: Path, vendor: str) -> Path:
    return checkout.parent / "inputs" / f"{vendor}.template-globals.json"


def write_json_inputs(checkout: Path, vendors: Sequence[str] = VENDORS) -> None:
    """The resolved specs as JSON and the template globals scanwire's templates read (not timed): the
    generator's input on both sides."""
    from scanwire.generate import _template_globals
    from scanwire.yamlio import loads_yaml

    for vendor in vendors:
        doc = loads_yaml(
            (checkout / "generated" / vendor / "openapi.resolved.yaml").read_text(encoding="utf-8")
        )
        path = json_input(checkout, vendor)
        path.parent.mkdir(exist_ok=True)
        path.write_text(json.dumps(doc, ensure_ascii=False), encoding="utf-8")
        config = yaml.safe_load((checkout / "overlays" / vendor / "codegen.yaml").read_bytes()) or {}
        extra = _template_globals(vendor, doc, str(config.get("field_prefix", "field_")))
        globals_input(checkout, vendor).write_text(json.dumps(extra), encoding="utf-8")


def _children_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def _timed(cmd: list[str], env: dict[str, str], cwd: Path) -> tuple[float, float]:
    """(wall seconds, CPU seconds of the process and every child it waited for)."""
    cpu = _children_cpu()
    start = time.perf_counter()
    done = subprocess.run(cmd, env=env, cwd=cwd, capture_output=True, text=True, check=False)
    seconds = time.perf_counter() - start
    if done.returncode != 0:
        raise SystemExit(f"{' '.join(cmd)} failed ({done.returncode}):\n{done.stdout}\n{done.stderr}")
    return seconds, _children_cpu() - cpu


def _differences(a: Path, b: Path) -> list[str]:
    """Files that differ between two trees (caches and build folders left out)."""
    skip = {"__pycache__", ".pdm-build", ".ruff_cache"}
    out: list[str] = []

    def walk(cmp: filecmp.dircmp[str], rel: str) -> None:
        out.extend(f"{rel}{n}" for n in cmp.left_only + cmp.right_only + cmp.diff_files if n not in skip)
        for name, sub in cmp.subdirs.items():
            if name not in skip:
                walk(sub, f"{rel}{name}/")

    walk(filecmp.dircmp(a, b, ignore=list(skip)), "")
    return out


def enlarge(checkout: Path, vendor: str, factor: int) -> None:
    """The vendor's spec made `factor` times larger in the copy: every path and every schema copied
    factor-1 times under new names (`/copy2/...`, `ScanCopy2`, operationIds `...Copy2`), references
    rewritten to the copies; overlays and the lifecycle still name the originals."""
    import copy
    import re

    from scanwire.yamlio import dump_yaml, loads_yaml

    path = checkout / "specs" / vendor / "openapi.yaml"
    doc = loads_yaml(path.read_text(encoding="utf-8"))
    schemas = (doc.get("components") or {}).get("schemas") or {}
    paths = doc["paths"]
    for k in range(2, factor + 1):
        suffix = f"Copy{k}"

        def renamed(node: Any, suffix: str = suffix) -> Any:
            if isinstance(node, dict):
                out = {key: renamed(value) for key, value in node.items()}
                ref = out.get("$ref")
                if isinstance(ref, str):
                    out["$ref"] = re.sub(r"^(#/components/schemas/)(.+)$", rf"\1\2{suffix}", ref)
                if isinstance(out.get("operationId"), str):
                    out["operationId"] += suffix
                return out
            if isinstance(node, list):
                return [renamed(value) for value in node]
            return node

        for name, schema in list(schemas.items()):
            if not name.endswith(tuple(f"Copy{j}" for j in range(2, factor + 1))):
                schemas[f"{name}{suffix}"] = renamed(copy.deepcopy(schema))
        for route, item in list(paths.items()):
            if not route.startswith("/copy"):
                paths[f"/copy{k}{route}"] = renamed(copy.deepcopy(item))
    path.write_text(dump_yaml(doc), encoding="utf-8")


def scaling(args: argparse.Namespace) -> None:
    """How one vendor's regeneration grows with its spec: 1x and `--scale`x, both sides, one process."""
    vendor = args.scale_vendor
    rows = []
    with tempfile.TemporaryDirectory(prefix="scanwire-bench-regen-scale-") as tmp:
        for factor in (1, args.scale):
            checkout = copy_checkout(Path(tmp) / f"checkout-{factor}")
            if factor > 1:
                enlarge(checkout, vendor, factor)
            env = {**os.environ, "SCANWIRE_ROOT": str(checkout), "SCANWIRE_SHARED": str(SHARED)}
            ours_cmd = [str(BIN / "scanwire"), "generate", "--force", "--jobs", "1", vendor]
            cold = _timed(ours_cmd, env, checkout)  # also writes the resolved spec the baseline reads
            write_json_inputs(checkout, (vendor,))
            base_runs, ours_runs = [], []
            for i in range(args.rounds):
                out = Path(tmp) / f"baseline-{factor}-{i}"
                base_cmd = [
                    sys.executable,
                    __file__,
                    "--checkout",
                    str(checkout),
                    "--baseline-into",
                    str(out),
                    "--vendors",
                    vendor,
                ]
                base_runs.append(_timed(base_cmd, env, checkout))
                ours_runs.append(_timed(ours_cmd, env, checkout))
            size = len((checkout / "specs" / vendor / "openapi.yaml").read_bytes())
            rows.append((factor, size, cold, base_runs, ours_runs))
    table = []
    for factor, size, cold, base_runs, ours_runs in rows:
        base = (median([w for w, _ in base_runs]), median([c for _, c in base_runs]))
        ours = (median([w for w, _ in ours_runs]), median([c for _, c in ours_runs]))
        # The fastest run of each side: other jobs on a shared machine only ever add time, so under load the
        # minimum is the steadier figure (the medians are printed too).
        least = min(c for _, c in ours_runs) / min(c for _, c in base_runs)
        table.append(
            [
                f"{factor}x ({size // 1000} kB)",
                f"{base[0]:.2f} / {base[1]:.2f}",
                f"{cold[0]:.2f} / {cold[1]:.2f}",
                f"{ours[0]:.2f} / {ours[1]:.2f}",
                f"{ours[0] / base[0]:.2f}x / {ours[1] / base[1]:.2f}x",
                f"{least:.2f}x",
            ]
        )
    print_table(
        f"{vendor}: regeneration vs spec size (wall s / CPU s; median of {args.rounds}; one process each)",
        [
            "spec",
            "openapi-python-client",
            "scanwire, cold caches",
            "scanwire",
            "scanwire/generator",
            "min CPU ratio",
        ],
        table,
    )
    for factor, _size, _cold, base_runs, ours_runs in rows:
        print(
            f"{factor}x, CPU s of each round: openapi-python-client "
            + ", ".join(f"{c:.2f}" for _, c in base_runs)
            + "; scanwire "
            + ", ".join(f"{c:.2f}" for _, c in ours_runs)
        )
    (_, _, c1, b1, o1), (fn, _, cn, bn, on) = rows
    growth = median([w for w, _ in on]) / median([w for w, _ in o1])
    base_growth = median([w for w, _ in bn]) / median([w for w, _ in b1])
    print(
        f"\n{fn}x the spec: scanwire {growth:.2f}x the time (cold caches {cn[0] / c1[0]:.2f}x), "
        f"openapi-python-client {base_growth:.2f}x"
    )
    print_ratio(
        f"scanwire/openapi-python-client at {fn}x, one process each, CPU",
        median([c for _, c in on]) / median([c for _, c in bn]),
        f"<= {TARGET_RATIO:.2f}x",
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=3, help="timed runs of each side (alternating)")
    parser.add_argument("--noop-runs", type=int, default=5, help="timed no-op regenerations")
    # Internal: the baseline process runs this script again with these two.
    parser.add_argument("--baseline-into", type=Path, help=argparse.SUPPRESS)
    parser.add_argument("--checkout", type=Path, help=argparse.SUPPRESS)
    parser.add_argument("--vendors", nargs="+", default=list(VENDORS), help=argparse.SUPPRESS)
    parser.add_argument(
        "--scale", type=int, default=0, help="instead: one vendor at 1x and this many times its spec's size"
    )
    parser.add_argument("--scale-vendor", default="invicti", help="the vendor --scale enlarges")
    args = parser.parse_args()
    if args.baseline_into is not None:
        openapi_python_client_alone(args.checkout, args.baseline_into, args.vendors)
        return
    if args.scale > 1:
        print(f"machine: {machine()}")
        scaling(args)
        return

    print(f"machine: {machine()}")
    with tempfile.TemporaryDirectory(prefix="scanwire-bench-regen-") as tmp:
        checkout = copy_checkout(Path(tmp) / "checkout")
        write_json_inputs(checkout)
        env = {**os.environ, "SCANWIRE_ROOT": str(checkout), "SCANWIRE_SHARED": str(SHARED)}
        scanwire = [str(BIN / "scanwire"), "generate"]
        runs: dict[str, list[tuple[float, float]]] = {name: [] for name in SIDES}
        for i in range(args.rounds):
            out = Path(tmp) / f"baseline-{i}"
            commands = {
                SIDES[0]: [
                    sys.executable,
                    __file__,
                    "--checkout",
                    str(checkout),
                    "--baseline-into",
                    str(out),
                ],
                SIDES[1]: [*scanwire, "--force", "--jobs", "1"],
                SIDES[2]: [*scanwire, "--force"],
            }
            for name, cmd in commands.items():
                runs[name].append(_timed(cmd, env, checkout))
            print(
                f"round {i + 1}: "
                + ", ".join(
                    f"{name} {runs[name][-1][0]:.2f} s ({runs[name][-1][1]:.2f} s CPU)" for name in commands
                ),
                flush=True,
            )
        runs[SIDES[3]] = [_timed(scanwire, env, checkout) for _ in range(args.noop_runs)]
        drift = _differences(ROOT / "generated", checkout / "generated")

    wall = {name: median([w for w, _ in values]) for name, values in runs.items()}
    cpu = {name: median([c for _, c in values]) for name, values in runs.items()}
    print_table(
        f"regeneration of {len(VENDORS)} vendors (median of {args.rounds} runs; no-op: {args.noop_runs})",
        ["side", "wall s", "min wall s", "CPU s"],
        [
            [name, f"{wall[name]:.2f}", f"{min(w for w, _ in values):.2f}", f"{cpu[name]:.2f}"]
            for name, values in runs.items()
        ]
        + [
            # Round 1 runs with empty caches (.scanwire/cache of a fresh copy), as in CI or a fresh clone.
            [f"round 1 (cold caches): {name}", f"{runs[name][0][0]:.2f}", "", f"{runs[name][0][1]:.2f}"]
            for name in SIDES[:2]
        ],
    )
    print(
        "\noutput of the forced regeneration vs the checkout's generated/: "
        + ("byte-identical" if not drift else f"{len(drift)} file(s) differ: {', '.join(drift[:5])}")
    )
    print(f"no-op regeneration: {wall[SIDES[3]]:.2f} s (target <= {TARGET_NOOP} s)")
    base, ours = SIDES[0], SIDES[1]
    print_ratio(
        "scanwire/openapi-python-client, one process each, wall",
        wall[ours] / wall[base],
        f"<= {TARGET_RATIO:.2f}x",
    )
    print_ratio(
        "scanwire/openapi-python-client, one process each, CPU",
        cpu[ours] / cpu[base],
        f"<= {TARGET_RATIO:.2f}x",
    )
    cold = runs[ours][0][1] / runs[base][0][1]
    print_ratio("scanwire/openapi-python-client, round 1 (cold caches), CPU", cold, "informative")
    print_ratio(
        "scanwire (one process per core)/openapi-python-client, wall",
        wall[SIDES[2]] / wall[base],
        "informative",
    )


if __name__ == "__main__":
    main()
