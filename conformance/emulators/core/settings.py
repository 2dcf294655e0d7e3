"""Run-time settings of one emulator, changed through `PATCH /_emulator/settings`."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from conformance.emulators.core.engine import Progression
from conformance.emulators.core.errors import BadRequestError

__all__ = ["EmulatorSettings"]


@dataclass
class EmulatorSettings:
    rate_limits: bool = True
    validate_requests: bool = True
    validate_responses: bool = False
    token_ttl: float = 3600.0
    progression: dict[str, Any] | None = None

    def update(self, raw: dict[str, Any]) -> None:
        """Apply a control-API change; BadRequestError names the first bad field."""
        for key, value in raw.items():
            if key not in self.__dataclass_fields__:
                raise BadRequestError(f"settings: unknown field {key!r}")
            if key == "progression":
                Progression.parse(value)
            elif key == "token_ttl":
                if isinstance(value, bool) or not isinstance(value, int | float) or value <= 0:
                    raise BadRequestError("settings.token_ttl must be a positive number of seconds")
                value = float(value)
            elif not isinstance(value, bool):
                raise BadRequestError(f"settings.{key} must be true or false")
            setattr(self, key, value)

    def to_dict(self) -> dict[str, Any]:
        return {k: getattr(self, k) for k in self.__dataclass_fields__}
