"""`scanwire validate`: the summary table; broken specs reported as file:line problems, never tracebacks."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from helpers.seeds import LAYOUT, shared_spec
from rich.console import Console
from typer.testing import CliRunner

from scanwire import VENDORS, cli
from scanwire.cli import app
from scanwire.specs import iter_examples, iter_operations

COLUMNS = ["vendor", "operations", "schemas", "examples", "states", "errors", "problems"]
OPERATIONS = {"advalidation": 14, "invicti": 27, "appspider": 32, "threadfix": 16, "soda": 23}
STATES = {"advalidation": 5, "invicti": 11, "appspider": 18, "threadfix": 12, "soda": 12}

# Uncoloured output; rich reads COLUMNS only when a console is created, hence also the fixture below.
ENV = {"COLUMNS": "400", "NO_COLOR": "1", "TERM": "dumb"}
CHECKOUT = {**ENV, "SCANWIRE_ROOT": str(LAYOUT.root), "SCANWIRE_SHARED": str(LAYOUT.shared)}


@pytest.fixture(autouse=True)
def wide_consoles(monkeypatch: pytest.MonkeyPatch) -> None:
    """Consoles wide enough that rich never folds a file path or a table row (whatever the terminal)."""
    monkeypatch.setattr(cli, "console", Console(width=400, no_color=True))
    monkeypatch.setattr(cli, "err_console", Console(stderr=True, width=400, no_color=True))


def _rows(output: str) -> dict[str, list[str]]:
    """Table rows by vendor, read from rich's box drawing (or ASCII fallback)."""
    rows = {}
    for line in output.splitlines():
        cells = [c.strip() for c in re.split(r"[│┃|]", line)[1:-1]]
        if cells and (cells[0] in VENDORS or cells[0] == "vendor"):
            rows[cells[0]] = cells
    return rows


def _expected_row(vendor: str) -> list[str]:
    doc = shared_spec(vendor).doc
    errors = sum(
        1 for _, _, op in iter_operations(doc) for code in op.get("responses") or {} if str(code)[0] in "45"
    )
    return [
        vendor,
        str(OPERATIONS[vendor]),
        str(len(doc["components"]["schemas"])),
        str(sum(1 for _ in iter_examples(doc))),
        str(STATES[vendor]),
        str(errors),
        "0",
    ]


def test_validate__prints_every_vendor_and_exits_0() -> None:
    result = CliRunner().invoke(app, ["validate"], env=CHECKOUT)
    assert result.exit_code == 0, result.output
    assert result.exception is None or isinstance(result.exception, SystemExit)
    rows = _rows(result.stdout)
    assert rows.pop("vendor") == COLUMNS
    assert list(rows) == list(VENDORS)
    assert rows == {vendor: _expected_row(vendor) for vendor in VENDORS}
    assert result.stderr == ""


def test_validate__one_vendor_lists_only_that_vendor() -> None:
    result = CliRunner().invoke(app, ["validate", "soda"], env=CHECKOUT)
    assert result.exit_code == 0, result.output
    assert list(_rows(result.stdout)) == ["vendor", "soda"]


def test_validate__unknown_vendor_is_a_message_not_a_traceback() -> None:
    proc = subprocess.run(
        [str(Path(sys.executable).with_name("scanwire")), "validate", "acunetix"],
        capture_output=True,
        text=True,
        env={**os.environ, **ENV},
        check=False,
    )
    assert proc.returncode == 2
    assert "Traceback" not in proc.stderr + proc.stdout
    assert "unknown vendor acunetix" in proc.stderr


# -- broken copies of one vendor ---------------------------------------------------------------------


def _checkout(tmp_path: Path, vendor: str) -> tuple[Path, Path]:
    """A scratch checkout holding one vendor's spec and overlays; returns (root, spec path)."""
    lay = LAYOUT
    root = tmp_path / "checkout"
    shutil.copytree(lay.spec(vendor).parent, root / "specs" / vendor)
    shutil.copytree(lay.overlays(vendor), root / "overlays" / vendor)
    return root, root / "specs" / vendor / "openapi.yaml"


def _edit(spec: Path, old: str, new: str) -> int:
    """Replace the one line equal to `old` by `new`; its 1-based line number."""
    lines = spec.read_text(encoding="utf-8").splitlines(keepends=True)
    hits = [i for i, line in enumerate(lines) if line.rstrip("\n") == old]
    assert len(hits) == 1, f"{old!r} occurs {len(hits)} times in {spec}"
    lines[hits[0]] = new + "\n" if new else ""
    spec.write_text("".join(lines), encoding="utf-8")
    return hits[0] + 1


def _validate(root: Path, vendor: str) -> Any:
    env = {**ENV, "SCANWIRE_ROOT": str(root), "SCANWIRE_SHARED": str(LAYOUT.shared)}
    result = CliRunner().invoke(app, ["validate", vendor], env=env)
    assert result.exception is None or isinstance(result.exception, SystemExit), result.exception
    return result


def test_validate__broken_yaml_names_file_line_and_problem(tmp_path: Path) -> None:
    root, spec = _checkout(tmp_path, "advalidation")
    line = _edit(
        spec, "  title: Advalidation API (scanwire transcription)", "  title: Advalidation: API: broken"
    )
    result = _validate(root, "advalidation")
    assert result.exit_code == 1
    assert f"{spec}:{line}: [yaml]: OpenAPI spec is not valid YAML: mapping values are not allowed here" in (
        result.stderr.splitlines()
    )
    assert _rows(result.stdout)["advalidation"] == ["advalidation", "-", "-", "-", "-", "-", "1"]
    assert "Traceback" not in result.output


def test_validate__response_without_description_names_file_line_and_problem(tmp_path: Path) -> None:
    root, spec = _checkout(tmp_path, "advalidation")
    line = _edit(spec, "          description: The API key is valid; the user it belongs to.", "")
    result = _validate(root, "advalidation")
    assert result.exit_code == 1
    # the response object now starts on the line that held its description
    assert result.stderr.splitlines()[0] == (
        f"{spec}:{line}: [openapi] at $['paths']['/users/me']['get']['responses'][200]: "
        '"description" is a required property'
    )
    assert _rows(result.stdout)["advalidation"][-1] == "1"
    assert "Traceback" not in result.output


def test_validate__lifecycle_with_an_unknown_state_names_file_line_and_problem(tmp_path: Path) -> None:
    root, spec = _checkout(tmp_path, "soda")
    _edit(spec, "      to: executing", "      to: running")
    transitions = spec.read_text(encoding="utf-8").splitlines().index("  transitions:") + 1
    result = _validate(root, "soda")
    assert result.exit_code == 1
    errors = result.stderr.splitlines()
    # lifecycle consistency problems point at the transitions list (its first item)
    first = f"{spec}:{transitions + 1}: [lifecycle] at $['x-scanwire-lifecycle']['transitions']: "
    assert errors[0] == first + "transition queuing -> running names undeclared state 'running'"
    assert all(e.startswith(first) for e in errors[:-1])
    assert errors[-1] == f"{len(errors) - 1} problem(s)"
    row = _rows(result.stdout)["soda"]
    assert (row[4], row[-1]) == ("?", str(len(errors) - 1))
    assert "Traceback" not in result.output


def test_validate__dangling_ref_is_a_problem_not_a_traceback(tmp_path: Path) -> None:
    root, spec = _checkout(tmp_path, "threadfix")
    _edit(
        spec,
        '                $ref: "#/components/schemas/PendingScanStatusResponse"',
        '                $ref: "#/components/schemas/PendingScanStatusRespons"',
    )
    result = _validate(root, "threadfix")
    assert result.exit_code == 1
    assert re.search(rf"^{re.escape(str(spec))}:\d+: \[\w+\].*PendingScanStatusRespons", result.stderr, re.M)


def test_validate__operation_with_empty_responses_is_a_problem_not_a_traceback(tmp_path: Path) -> None:
    root, spec = _checkout(tmp_path, "advalidation")
    text = spec.read_text(encoding="utf-8")
    start = text.index("  /users/me:")
    start = text.index("      responses:\n", start)
    end = text.index("  /creatives/{creativeId}/rescan:", start)
    spec.write_text(text[:start] + "      responses:\n" + text[end:], encoding="utf-8")
    result = _validate(root, "advalidation")
    assert result.exit_code == 1
    assert re.search(rf"^{re.escape(str(spec))}:\d+: \[openapi\]", result.stderr, re.M), result.stderr


def test_validate__broken_spec_through_the_console_script_exits_1(tmp_path: Path) -> None:
    root, spec = _checkout(tmp_path, "threadfix")
    line = _edit(spec, "  version: 2.x", "  version: [2.x")
    proc = subprocess.run(
        [str(Path(sys.executable).with_name("scanwire")), "validate", "threadfix"],
        capture_output=True,
        text=True,
        env={**os.environ, **ENV, "SCANWIRE_ROOT": str(root), "SCANWIRE_SHARED": str(LAYOUT.shared)},
        check=False,
    )
    assert proc.returncode == 1, proc.stderr
    assert "Traceback" not in proc.stderr + proc.stdout
    problem = re.search(
        rf"^{re.escape(str(spec))}:(\d+): \[yaml\]: OpenAPI spec is not valid YAML: ", proc.stderr, re.M
    )
    assert problem is not None, proc.stderr
    assert int(problem.group(1)) >= line
    assert "threadfix" in _rows(proc.stdout)


@pytest.mark.parametrize("vendor", VENDORS)
def test_validate__each_vendor_copy_is_clean_outside_the_checkout(tmp_path: Path, vendor: str) -> None:
    """The scratch checkout itself is sound, so the failures above come from the edits alone."""
    root, _ = _checkout(tmp_path, vendor)
    result = _validate(root, vendor)
    assert result.exit_code == 0, result.stderr
    assert _rows(result.stdout)[vendor] == _expected_row(vendor)
