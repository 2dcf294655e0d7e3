"""Where things live in a scanwire checkout (specs, overlays, generated packages, vendor documents)."""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

from scanwire import VENDORS

__all__ = ["Layout", "UnknownVendorError", "check_vendors", "layout"]


class UnknownVendorError(ValueError):
    """A vendor slug that is not one of scanwire's five."""


def check_vendors(names: list[str] | tuple[str, ...] | None) -> list[str]:
    """The vendors asked for, in canonical order; all five when none are named."""
    if not names:
        return list(VENDORS)
    unknown = [n for n in names if n not in VENDORS]
    if unknown:
        raise UnknownVendorError(f"unknown vendor {', '.join(unknown)!s}; choose from {', '.join(VENDORS)}")
    return [v for v in VENDORS if v in names]


@dataclass(frozen=True)
class Layout:
    root: Path

    @property
    def shared(self) -> Path:
        return Path(os.environ.get("SCANWIRE_SHARED", self.root.parent / "shared"))

    @property
    def seeds(self) -> Path:
        return self.shared / "seeds"

    def spec(self, vendor: str) -> Path:
        return self.root / "specs" / vendor / "openapi.yaml"

    def overlays(self, vendor: str) -> Path:
        return self.root / "overlays" / vendor

    def generated(self, vendor: str) -> Path:
        return self.root / "generated" / vendor

    def resolved(self, vendor: str) -> Path:
        return self.generated(vendor) / "openapi.resolved.yaml"

    def emulator(self, vendor: str) -> Path:
        return self.root / "conformance" / "emulators" / vendor


def _find_root() -> Path:
    """The checkout to work on: $SCANWIRE_ROOT; else the checkout holding the working directory (found
    upwards, as git finds its repository); else the one this package was installed from; else the cwd.
    A venv's `scanwire` run inside another checkout works on that checkout, not on its own."""
    env = os.environ.get("SCANWIRE_ROOT")
    if env:
        return Path(env).resolve()
    cwd = Path.cwd().resolve()
    for candidate in (cwd, *cwd.parents):
        if (candidate / "specs").is_dir() and (candidate / "overlays").is_dir():
            return candidate
    here = Path(__file__).resolve().parents[2]
    if (here / "specs").is_dir():
        return here
    return cwd


def layout() -> Layout:
    return Layout(_find_root())
