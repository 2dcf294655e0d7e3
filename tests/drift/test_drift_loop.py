"""The whole drift loop, per vendor, for every drift kind: drifted emulator -> proxy -> report ->
proposed overlay -> regenerated client (in a temporary checkout) parses the drifted answers ->
conformance against the drifted emulator is green with the overlay and red without it.

One regeneration per vendor with all five kinds combined (one overlay holding every action): each
regeneration costs about a second and a conformance run several, so per-kind ones would multiply the
loop's time by five for no extra coverage — each kind still has its own drifted answer, finding,
action and parse check, and the assertion messages name the kind.
"""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap
from pathlib import Path
from typing import Any

import pytest

from conformance.emulators.core.app import EmulatorSettings, build_emulator
from conformance.emulators.core.drift import DRIFT_KINDS
from conformance.suites.runner import ConformanceOptions, run_vendor
from scanwire import VENDORS
from scanwire.drift.cli import spec_before, write_checked
from scanwire.drift.propose import applicable, overlay_path, propose, render_overlay
from scanwire.drift.report import aggregate
from scanwire.generate import generate_vendor
from tests.helpers.drift import PROBES, watched
from tests.helpers.generation import copy_checkout

# What the comparison calls the deviation each injected drift produces.
FINDING = {
    "extra_field": "extra_field",
    "enum_value": "new_enum_value",
    "type_change": "type_mismatch",
    "null_value": "nullability",
    "status": "undocumented_status",
    "remove_required": "missing_required",
}
_MISSING = "<missing>"


def _changes(before: Any, after: Any, path: tuple[Any, ...] = ()) -> list[tuple[tuple[Any, ...], Any]]:
    """(path, new value or _MISSING) for every leaf that differs between two JSON values."""
    if isinstance(before, dict) and isinstance(after, dict):
        out = []
        for key in before.keys() | after.keys():
            if key not in after:
                out.append(((*path, key), _MISSING))
            elif key not in before:
                out.append(((*path, key), after[key]))
            else:
                out.extend(_changes(before[key], after[key], (*path, key)))
        return out
    if isinstance(before, list) and isinstance(after, list) and len(before) == len(after):
        return [
            c for i, (a, b) in enumerate(zip(before, after, strict=True)) for c in _changes(a, b, (*path, i))
        ]
    return [] if before == after and type(before) is type(after) else [(path, after)]


_PARSE = textwrap.dedent(
    """
    import json, sys, importlib
    import httpx
    from openapi_python_client.strings import snake_case
    vendor, tag, op_id, answers = sys.argv[1], sys.argv[2], sys.argv[3], json.loads(sys.argv[4])
    module = importlib.import_module(f"{vendor}_client.api.{tag}.{snake_case(op_id)}")
    package = importlib.import_module(f"{vendor}_client")
    client = package.Client(base_url="http://x", raise_on_unexpected_status=True)
    assert module.__file__.startswith(sys.argv[5]), module.__file__
    out = {}
    for kind, (status, body) in answers.items():
        response = httpx.Response(status, json=body)
        parsed = module._parse_response(client=client, response=response)
        out[kind] = [type(parsed).__name__, parsed.to_dict() if hasattr(parsed, "to_dict") else None]
    print(json.dumps(out, default=str))
    """
)


def _parse_with(package_root: Path, vendor: str, operation: dict[str, Any], answers: dict[str, Any]) -> Any:
    """Parse answers with the generated client found under `package_root` (a fresh interpreter, so the
    installed package of the same name is not the one imported)."""
    from openapi_python_client.strings import snake_case

    tag = snake_case(operation["tags"][0]) if operation.get("tags") else "default"
    result = subprocess.run(
        [
            sys.executable,
            "-c",
            _PARSE,
            vendor,
            tag,
            operation["operationId"],
            json.dumps(answers),
            str(package_root),
        ],
        capture_output=True,
        text=True,
        env={"PYTHONPATH": str(package_root), "PATH": "/usr/bin:/bin"},
        timeout=120,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    return json.loads(result.stdout)


def _conformance(vendor: str, rules: list[dict[str, Any]], tmp: Path) -> Any:
    """A short schemathesis run (all phases: the stateful one reaches the scans it creates) against an
    emulator drifting by `rules`, then the probe through the same emulator with its response validation
    on (openapi-core, the resolved spec in force): every rule must have changed at least one answer
    (fields only some scans carry are reached by the probe's scenario), and no answer may violate it."""
    built: list[Any] = []

    def drifted(slug: str) -> Any:
        emu = build_emulator(slug, settings=EmulatorSettings(rate_limits=False))
        for rule in rules:
            emu.drift.add(rule)
        built.append(emu)
        return emu

    options = ConformanceOptions(max_examples=5, emulator_factory=drifted, seed=1)
    run = run_vendor(vendor, options)
    emu = drifted(vendor)
    emu.settings.validate_responses = True
    w = watched(vendor, tmp, emu=emu)
    w.send("GET", PROBES[vendor].url(emu))
    idle = [
        r for r, s in zip(emu.drift.rules, built[0].drift.rules, strict=True) if not r.applied + s.applied
    ]
    assert not idle, f"{vendor}: conformance never reached a drifted answer of {idle}"
    return run, emu.violations


@pytest.mark.parametrize("vendor", VENDORS)
def test_drift_loop__every_kind_is_reported_proposed_and_accepted(
    vendor: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    probe = PROBES[vendor]
    w = watched(vendor, tmp_path / "reports")
    url = probe.url(w.emu)
    clean = w.send("GET", url)
    assert clean.status_code == 200, clean.text
    answers: dict[str, Any] = {}
    rules: list[dict[str, Any]] = []
    for kind in DRIFT_KINDS:
        w.emu.drift.clear()
        pinned = probe.fields.get(kind)
        rule = w.emu.drift.add(
            {"kind": kind, "operation": probe.operation, **({"field": pinned} if pinned else {})}
        )
        answer = w.send("GET", url)
        assert rule.applied == 1, f"{vendor}/{kind}: the drift found nothing to change"
        answers[kind] = (answer.status_code, answer.json())
        changed = _changes(clean.json(), answer.json())
        if kind != "status":
            assert len(changed) == 1, f"{vendor}/{kind}: expected one changed field, got {changed}"
        # Conformance pins the changed field: later answers (other scans) must drift the same one.
        name = str(changed[0][0][-1]) if changed else None
        if kind in probe.lifecycle_only:
            continue
        rules.append({"kind": kind, "operation": probe.operation, **({"field": name} if name else {})})

    summary = aggregate(vendor, w.observer.log_path)
    assert summary.exchanges == len(DRIFT_KINDS) + (2 if vendor == "appspider" else 1)  # + the login
    kinds = {f.kind for f in summary.findings if f.operation == probe.operation}
    for kind in DRIFT_KINDS:
        assert FINDING[kind] in kinds, f"{vendor}/{kind}: no {FINDING[kind]} finding in {sorted(kinds)}"

    lay = copy_checkout(tmp_path / "checkout", (vendor,))
    path = overlay_path(lay.overlays(vendor), "2026-01-01")
    proposal = applicable(propose(summary, w.emu.spec), spec_before(lay, vendor, path.name))
    evidence = {
        e["kind"]
        for a in proposal.actions
        for e in (
            a["x-scanwire-evidence"]
            if isinstance(a["x-scanwire-evidence"], list)
            else [a["x-scanwire-evidence"]]
        )
    }
    for kind in DRIFT_KINDS:
        assert FINDING[kind] in evidence, f"{vendor}/{kind}: no overlay action for it"
    assert not [f for f in proposal.unproposed if f.kind in FINDING.values()]

    # Accept the draft in a throw-away checkout (never the committed overlays/ or generated/).
    changes = write_checked(
        lay, vendor, render_overlay(vendor, summary, proposal, "2026-01-01"), path, w.emu.spec
    )
    assert changes, f"{vendor}: scanwire diff sees no client impact of the draft"
    generate_vendor(lay, vendor, force=True)

    operation = w.emu.operations[probe.operation]
    parsed = _parse_with(lay.generated(vendor), vendor, operation, answers)
    for kind, (status, body) in answers.items():
        type_name, as_dict = parsed[kind]
        assert as_dict is not None, (
            f"{vendor}/{kind}: the regenerated client gave {type_name} for HTTP {status}"
        )
        for where, value in _changes(clean.json(), body):
            node: Any = as_dict
            for part in where[:-1]:
                node = node[part]
            if value == _MISSING:
                assert where[-1] not in node, f"{vendor}/{kind}: {where} should stay absent"
            else:
                assert node.get(where[-1]) == value, (
                    f"{vendor}/{kind}: {where} parsed as {node.get(where[-1])!r}"
                )

    # Conformance against the drifted emulator: green with the draft accepted.
    monkeypatch.setenv("SCANWIRE_ROOT", str(lay.root))
    accepted, violations = _conformance(vendor, rules, tmp_path / "after")
    failures = [
        (op.label, name, tally.first_failure.message[:800] if tally.first_failure else "")
        for op in accepted.operations.values()
        for name, tally in op.checks.items()
        if tally.failed
    ]
    assert accepted.ok, f"{vendor}: {accepted.fatal or failures}"
    assert not violations, f"{vendor}: drifted answers violate the accepted spec: {violations}"


def test_drift_loop__without_the_overlay_conformance_fails(tmp_path: Path) -> None:
    """The check above can fail: the same drifted emulator against the committed spec is red."""
    vendor = "soda"
    rules = [{"kind": "status", "operation": PROBES[vendor].operation}]
    run, violations = _conformance(vendor, rules, tmp_path)
    assert violations
    assert not run.ok
    assert ("GET /api/v1/scans/{scanId}", "status_code_conformance") in run.failing_checks()
