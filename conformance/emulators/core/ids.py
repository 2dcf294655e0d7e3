"""Deterministic ids and vendor time formats (same seed, same ids; time from the injectable clock)."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime

from conformance.emulators.core.store import Store

__all__ = ["epoch_ms", "guid", "iso_dotnet", "iso_ms_z", "iso_z", "sequential", "stable_guid"]

_NAMESPACE = uuid.UUID("5c1e7d2a-0b6f-4c51-9a57-3a8f0c2e9d41")


def sequential(store: Store, name: str) -> int:
    return store.next_id(name)


def guid(store: Store, name: str) -> str:
    """A GUID that depends only on the counter `name` and its next value (stable across runs)."""
    return str(uuid.uuid5(_NAMESPACE, f"{name}:{store.next_id(name)}"))


def stable_guid(name: str) -> str:
    """A GUID that depends only on `name` (one entity, one id: the same name always gives the same id)."""
    return str(uuid.uuid5(_NAMESPACE, name))


def iso_ms_z(ts: float) -> str:
    """2025-03-04T09:15:02.431Z (Soda, Advalidation style)."""
    return datetime.fromtimestamp(ts, UTC).strftime("%Y-%m-%dT%H:%M:%S.") + f"{int(ts * 1000) % 1000:03d}Z"


def iso_z(ts: float) -> str:
    """2024-01-01T00:00:01Z (whole seconds; Advalidation's SDK fixtures)."""
    return datetime.fromtimestamp(ts, UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def iso_dotnet(ts: float, offset: bool = True) -> str:
    """2024-03-22T19:56:21.4427686+00:00 (.NET DateTime, 7 fractional digits)."""
    base = (
        datetime.fromtimestamp(ts, UTC).strftime("%Y-%m-%dT%H:%M:%S.")
        + f"{int(ts * 10_000_000) % 10_000_000:07d}"
    )
    return base + ("+00:00" if offset else "")


def epoch_ms(ts: float) -> int:
    return round(ts * 1000)
