"""The fast conformance pass of `make test`: every emulator against its own spec, all four phases.

Schemathesis drives each in-process emulator with positive and negative data (examples, coverage,
fuzzing, stateful chains). Every emulator must pass every check on every operation of its spec, never
answer 5xx, and its own response validation must have seen no violation. `scanwire conformance`
(default 25 examples) and `make bench` run the same suite bigger.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from conformance.suites.runner import ConformanceOptions, run_vendor
from scanwire.paths import VENDORS, layout
from scanwire.specs import iter_operations
from scanwire.yamlio import load_yaml

FAST = ConformanceOptions(max_examples=8)
# Vendors whose workflow no OpenAPI link can chain, and why (the stateful phase has nothing to follow).
# ThreadFix chains since issue 16: createTeam -> createApplication -> upload / read / list scans.
NO_LINKS: dict[str, str] = {}


def _spec_operations(vendor: str) -> set[str]:
    doc = load_yaml(layout().resolved(vendor), "spec").data
    return {f"{method} {path}" for method, path, _ in iter_operations(doc)}


@pytest.mark.parametrize("vendor", VENDORS)
def test_emulator__passes_its_own_conformance_suite(vendor: str) -> None:
    run = run_vendor(vendor, FAST)
    failing = run.failing_checks()
    errors = {op.label: op.errors for op in run.operations.values() if op.errors}
    assert (run.fatal, failing, errors) == (None, {}, {})
    assert not [s for s in run.statuses if s.startswith("5")], run.statuses
    # Every operation of the spec was exercised, each with at least max-examples cases (the fresh-values
    # fuzzing pass tops up the ones whose inputs ran out).
    assert set(run.operations) == _spec_operations(vendor)
    assert {op.label: op.cases for op in run.operations.values() if op.cases < FAST.max_examples} == {}
    # Negative data reached the emulator and was refused as the vendor refuses it (4xx), not crashed on.
    assert any(s.startswith("4") for s in run.statuses), run.statuses
    if vendor in NO_LINKS:
        assert run.phases.get("stateful", 0) == 0, f"{vendor} chains now: drop it from NO_LINKS"
    else:
        assert run.phases.get("stateful", 0) > 0, run.phases


def test_operations_short_of_cases_are_fuzzed_again_with_fresh_values() -> None:
    """Soda's by-id operations take their one id from earlier answers; schemathesis runs out of distinct
    inputs after a few cases. The top-up pass brings each to max-examples; min_cases=0 turns it off."""
    fuzz_only = ConformanceOptions(max_examples=30, phases=("fuzzing",))
    topped = run_vendor("soda", fuzz_only)
    bare = run_vendor("soda", ConformanceOptions(max_examples=30, phases=("fuzzing",), min_cases=0))
    label = "DELETE /api/v1/datasets/{datasetId}"
    assert bare.operations[label].cases < 30, "schemathesis no longer runs out: the top-up may be obsolete"
    assert "fuzzing (fresh values)" not in bare.phases
    assert topped.operations[label].cases >= 30
    assert topped.phases["fuzzing (fresh values)"] > 0
    assert topped.ok, topped.failing_checks()
    # Only the operations short of their budget are fuzzed again, for at most what the shortest lacked.
    assert label in topped.topped_up and bare.topped_up == {}
    assert set(topped.topped_up) < set(topped.operations)
    assert all(topped.operations[op].cases >= 30 for op in topped.topped_up)
    most = max(topped.topped_up.values())
    assert topped.phases["fuzzing (fresh values)"] <= most * len(topped.topped_up)


def test_report_names_the_operations_fuzzed_again() -> None:
    from conformance.suites.report import render_markdown
    from conformance.suites.runner import OperationResult, VendorRun

    label = "DELETE /api/v1/datasets/{datasetId}"
    run = VendorRun("soda", "in-process emulator", {label: OperationResult(label, cases=30)}, 1.0)
    assert "fuzzed again" not in render_markdown([run])
    run.topped_up = {label: 26}
    assert f"`{label}` (+26)" in render_markdown([run])


def test_a_run_does_not_depend_on_the_runs_before_it(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """No example database: two runs with the same seed test the same number of cases per operation,
    and nothing is written under `.hypothesis/` (Hypothesis replayed and kept examples there)."""
    monkeypatch.chdir(tmp_path)  # where Hypothesis' default database would go
    opts = ConformanceOptions(max_examples=8, phases=("fuzzing", "stateful"))
    runs = [run_vendor("advalidation", opts) for _ in range(2)]
    counts = [{label: op.cases for label, op in run.operations.items()} for run in runs]
    assert counts[0] == counts[1]
    assert not (tmp_path / ".hypothesis").exists()
