"""The resolved spec an emulator serves (`generated/<vendor>/openapi.resolved.yaml`), read once."""

from __future__ import annotations

import functools
from pathlib import Path
from typing import Any

import yaml

from conformance.emulators.core.validation import SpecValidator
from scanwire.paths import layout
from scanwire.specs import served_spec

__all__ = ["resolved_spec", "spec_validator"]


@functools.lru_cache(maxsize=16)
def _load_spec(path: str, mtime: float) -> str:
    return Path(path).read_text(encoding="utf-8")


@functools.lru_cache(maxsize=16)
def spec_validator(vendor: str, text: str, extra: tuple[str, ...]) -> SpecValidator:
    """openapi-core's validator of one spec text, built once (its construction is most of an emulator's)."""
    return SpecValidator(served_spec(yaml.load(text, Loader=yaml.CSafeLoader)), list(extra))


def resolved_spec(vendor: str) -> tuple[dict[str, Any], str]:
    """(the parsed spec as the server takes it (`served_spec`), its text); FileNotFoundError naming the
    command that writes it."""
    path = layout().resolved(vendor)
    if not path.exists():
        raise FileNotFoundError(f"{path} is missing: run `scanwire generate {vendor}` first")
    text = _load_spec(str(path), path.stat().st_mtime)
    return served_spec(yaml.load(text, Loader=yaml.CSafeLoader)), text
