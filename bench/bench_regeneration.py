"""Regeneration: `scanwire generate --force` of five vendors vs openapi-python-client alone; a no-op run.

Both sides run as fresh processes on the same machine in the same run, alternating, on a throw-away copy
of the checkout (the real generated/ is never touched):

- "openapi-python-client alone": its Python API, in one process, on the five committed
  `generated/<vendor>/openapi.resolved.yaml` with the same config (overlays/<vendor>/codegen.yaml plus
  the names and version scanwire sets), the same templates and the same ruff post-hooks;
- "scanwire generate --force": the whole pipeline (spec checks, overlays, release plan, client,
  runtime layer, emulator models, stamp), SCANWIRE_ROOT pointing at the copy;
- "scanwire generate" with nothing changed (every vendor up to date).

Run: `.venv/bin/python bench/bench_regeneration.py [--rounds 3]`.
"""

from __future__ import annotations

import argparse
import filecmp
import os
import subprocess
import sys
import tempfile
import time
import tomllib
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import BIN, ROOT, SHARED, VENDORS, copy_checkout, machine, median, print_ratio, print_table

TEMPLATES = ROOT / "src" / "scanwire" / "templates" / "openapi-python-client"
TARGET_RATIO = 1.10
TARGET_NOOP = 0.5


def openapi_python_client_alone(checkout: Path, out: Path) -> None:
    """The baseline, run in its own process: openapi-python-client's API on the five resolved specs."""
    import contextlib
    import io

    import yaml
    from openapi_python_client import generate
    from openapi_python_client.config import Config, ConfigFile, MetaType

    os.environ["PATH"] = f"{BIN}{os.pathsep}{os.environ.get('PATH', '')}"  # the pinned ruff of the hooks
    for vendor in VENDORS:
        config = yaml.safe_load((checkout / "overlays" / vendor / "codegen.yaml").read_bytes())
        stamp = tomllib.loads((checkout / "generated" / vendor / "generation.toml").read_text("utf-8"))
        config |= {
            "project_name_override": f"{vendor}-client",
            "package_name_override": f"{vendor}_client",
            "package_version_override": stamp["package"]["version"],
        }
        config.setdefault("post_hooks", ["ruff check --fix-only --quiet .", "ruff format --quiet ."])
        spec = checkout / "generated" / vendor / "openapi.resolved.yaml"
        cfg = Config.from_sources(
            ConfigFile(**config), MetaType.PDM, spec, "utf-8", overwrite=True, output_path=out / vendor
        )
        with contextlib.redirect_stdout(io.StringIO()):
            errors = generate(config=cfg, custom_template_path=TEMPLATES)
        if errors:
            raise SystemExit(f"{vendor}: openapi-python-client reported {errors}")


def _timed(cmd: list[str], env: dict[str, str], cwd: Path) -> float:
    start = time.perf_counter()
    done = subprocess.run(cmd, env=env, cwd=cwd, capture_output=True, text=True, check=False)
    seconds = time.perf_counter() - start
    if done.returncode != 0:
        raise SystemExit(f"{' '.join(cmd)} failed ({done.returncode}):\n{done.stdout}\n{done.stderr}")
    return seconds


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


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=3, help="timed runs of each side (alternating)")
    parser.add_argument("--noop-runs", type=int, default=5, help="timed no-op regenerations")
    # Internal: the baseline process runs this script again with these two.
    parser.add_argument("--baseline-into", type=Path, help=argparse.SUPPRESS)
    parser.add_argument("--checkout", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.baseline_into is not None:
        openapi_python_client_alone(args.checkout, args.baseline_into)
        return

    print(f"machine: {machine()}")
    with tempfile.TemporaryDirectory(prefix="scanwire-bench-regen-") as tmp:
        checkout = copy_checkout(Path(tmp) / "checkout")
        env = {**os.environ, "SCANWIRE_ROOT": str(checkout), "SCANWIRE_SHARED": str(SHARED)}
        scanwire = [str(BIN / "scanwire"), "generate"]
        baseline_runs: list[float] = []
        scanwire_runs: list[float] = []
        for i in range(args.rounds):
            out = Path(tmp) / f"baseline-{i}"
            baseline = [sys.executable, __file__, "--checkout", str(checkout), "--baseline-into", str(out)]
            baseline_runs.append(_timed(baseline, env, checkout))
            scanwire_runs.append(_timed([*scanwire, "--force"], env, checkout))
            print(
                f"round {i + 1}: openapi-python-client {baseline_runs[-1]:.2f} s, "
                f"scanwire generate --force {scanwire_runs[-1]:.2f} s",
                flush=True,
            )
        noop_runs = [_timed(scanwire, env, checkout) for _ in range(args.noop_runs)]
        drift = [
            *_differences(ROOT / "generated", checkout / "generated"),
            *(
                f"conformance/emulators/{v}/schemas.py"
                for v in VENDORS
                if not filecmp.cmp(
                    ROOT / "conformance/emulators" / v / "schemas.py",
                    checkout / "conformance/emulators" / v / "schemas.py",
                    shallow=False,
                )
            ),
        ]

    base, ours, noop = median(baseline_runs), median(scanwire_runs), median(noop_runs)
    print_table(
        f"regeneration of {len(VENDORS)} vendors (median of {args.rounds} runs; no-op: {args.noop_runs})",
        ["side", "median s", "min s", "max s"],
        [
            [name, f"{median(runs):.2f}", f"{min(runs):.2f}", f"{max(runs):.2f}"]
            for name, runs in (
                ("openapi-python-client alone (API, one process)", baseline_runs),
                ("scanwire generate --force", scanwire_runs),
                ("scanwire generate (nothing changed)", noop_runs),
            )
        ],
    )
    print(
        "\noutput of the forced regeneration vs the checkout's generated/: "
        + ("byte-identical" if not drift else f"{len(drift)} file(s) differ: {', '.join(drift[:5])}")
    )
    print(f"no-op regeneration: {noop:.2f} s (target <= {TARGET_NOOP} s)")
    print_ratio("scanwire/openapi-python-client", ours / base, f"<= {TARGET_RATIO:.2f}x")


if __name__ == "__main__":
    main()
