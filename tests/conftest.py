"""Shared pytest setup for scanwire's own tests: where the checkout is, as a Layout."""

from __future__ import annotations

from pathlib import Path

import pytest

from scanwire.paths import Layout

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="session")
def lay() -> Layout:
    """The checkout under test (never SCANWIRE_ROOT, so a stray environment cannot redirect the tests)."""
    return Layout(ROOT)
