"""Invicti workflow tests share the emulator tests' fixtures (`http`, `clock`, control helpers)."""

from tests.emulators.conftest import clock, http  # noqa: F401  (pytest fixtures, used by name)
