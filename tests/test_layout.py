"""The layout of ../shared/STYLE.md §1: every vendor has every piece, under its one slug, and nothing else
sits where a vendor folder is expected."""

from __future__ import annotations

from pathlib import Path

import pytest

from scanwire.paths import VENDORS

ROOT = Path(__file__).resolve().parents[1]

PIECES = (
    "specs/{v}/openapi.yaml",
    "overlays/{v}/10-operation-ids.yaml",
    "overlays/{v}/codegen.yaml",
    "generated/{v}/openapi.resolved.yaml",
    "generated/{v}/generation.toml",
    "generated/{v}/pyproject.toml",
    "generated/{v}/CHANGELOG.md",
    "generated/{v}/{v}_client/__init__.py",
    "generated/{v}/{v}_client/spec_data.py",
    "generated/{v}/{v}_client/py.typed",
    "conformance/emulators/{v}/__init__.py",
    "conformance/emulators/{v}/models.py",
    "conformance/emulators/{v}/routes.py",
    "conformance/emulators/{v}/errors.py",
    "conformance/emulators/{v}/scenarios.py",
    "tests/emulators/test_{v}_emulator.py",
    "tests/typing/{v}_usage.py",
)
VENDOR_FOLDERS = ("specs", "overlays", "generated", "conformance/emulators")
SHARED_FOLDERS = {"conformance/emulators": {"core", "__pycache__"}}


@pytest.mark.parametrize("vendor", VENDORS)
def test_vendor__has_every_piece(vendor: str) -> None:
    missing = [p.format(v=vendor) for p in PIECES if not (ROOT / p.format(v=vendor)).is_file()]
    assert missing == []


@pytest.mark.parametrize("folder", VENDOR_FOLDERS)
def test_vendor_folders__are_named_by_the_slugs_only(folder: str) -> None:
    names = {p.name for p in (ROOT / folder).iterdir() if p.is_dir()}
    assert names - SHARED_FOLDERS.get(folder, set()) == set(VENDORS)


def test_readme__has_a_usage_section_per_vendor() -> None:
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    headings = {line[4:].strip().lower() for line in readme.splitlines() if line.startswith("### ")}
    assert set(VENDORS) <= headings
