"""Named setups for Advalidation (from Python or `POST /_emulator/scenario`)."""

from __future__ import annotations

from typing import Any

from conformance.emulators.advalidation.models import AdvalidationBackend
from conformance.emulators.core import Scan

_MANUAL = {"mode": "manual"}


def _ids(scan: Scan) -> dict[str, Any]:
    return {"scanId": int(scan.id), "creativeId": scan.data["creativeId"], "state": scan.state}


def one_completed_scan(backend: AdvalidationBackend) -> dict[str, Any]:
    """A finished manual scan of acme's video creative: one fail, one warn, one pass."""
    video = next(c for c in backend.creatives("acme") if c["format"] == "video")
    return _ids(backend.seed_scan("acme", "finished", {"creativeId": video["id"]}, None))


def one_queued_scan(backend: AdvalidationBackend) -> dict[str, Any]:
    """A queued scan that stays queued until advanced through the control API."""
    return _ids(backend.seed_scan("acme", None, {}, _MANUAL))


def one_running_scan(backend: AdvalidationBackend) -> dict[str, Any]:
    return _ids(backend.seed_scan("acme", "processing", {}, _MANUAL))


def one_failed_scan(backend: AdvalidationBackend) -> dict[str, Any]:
    return _ids(backend.seed_scan("acme", "failed", {}, None))


def one_canceled_scan(backend: AdvalidationBackend) -> dict[str, Any]:
    """Cancelled server-side (web UI or staff): the API itself has no cancel operation."""
    return _ids(backend.seed_scan("acme", "cancelled", {}, None))


def inconclusive_scan(backend: AdvalidationBackend) -> dict[str, Any]:
    """Finished without a verdict (the SDK's isInconclusive / inconclusiveReason fields)."""
    data = {"isInconclusive": True, "inconclusiveReason": "The creative could not be rendered"}
    return _ids(backend.seed_scan("acme", "finished", data, None))
