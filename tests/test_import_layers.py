"""The import graph (import-linter, contracts in pyproject.toml): CLI above the conformance suites, above the
emulators, above the toolchain; vendor emulators on core and not on each other; no cycle between siblings."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from importlinter import configuration
from importlinter.application.use_cases import lint_imports

ROOT = Path(__file__).resolve().parents[1]


def test_imports__run_downwards_without_cycles(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(ROOT)
    configuration.configure()  # what the `lint-imports` command does first: readers, graph builder
    kept = lint_imports(config_filename=os.fspath(ROOT / "pyproject.toml"), cache_dir=None, no_logo=True)
    report = capsys.readouterr().out
    assert kept, report
    assert "0 broken" in report and "3 kept" in report, report
