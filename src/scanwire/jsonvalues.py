"""What the toolchain asks of decoded JSON values, below every module that walks schemas (scanwire.diff,
scanwire.drift.schemawalk): one reading for both."""

from __future__ import annotations

from typing import Any

__all__ = ["json_type"]


def json_type(value: Any) -> str:
    """The JSON Schema type name of a decoded JSON value."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, int):
        return "integer"
    if isinstance(value, float):
        return "number"
    if isinstance(value, str):
        return "string"
    if isinstance(value, list):
        return "array"
    return "object"
