"""Named setups for Invicti (from Python or `POST /_emulator/scenario`)."""

from __future__ import annotations

import copy
from typing import Any

from conformance.emulators.invicti.models import InvictiBackend

MANUAL = {"mode": "manual"}


def one_completed_scan(backend: InvictiBackend) -> dict[str, Any]:
    """The seed's scan (001_9e26a9530099dad2.txt), field for field, in acme's account."""
    scan = backend.seed_scan("acme", None, copy.deepcopy(backend.template), None)
    return {"scanId": scan.id}


def queued_scans(backend: InvictiBackend) -> dict[str, Any]:
    """Three acme scans waiting for an agent (manual progression: they stay queued)."""
    ids = [backend.seed_scan("acme", "Queued", {}, MANUAL).id for _ in range(3)]
    return {"scanIds": ids}


def one_running_scan(backend: InvictiBackend) -> dict[str, Any]:
    """One acme scan half way through (the spec's notes-scanning example), moved only by the control API."""
    scan = backend.seed_scan("acme", "Scanning", {}, MANUAL)
    backend.set_progress(scan.id, 0.5)
    return {"scanId": scan.id}


def one_paused_scan(backend: InvictiBackend) -> dict[str, Any]:
    """One acme scan paused half way (manual progression)."""
    scan = backend.seed_scan("acme", "Scanning", {}, MANUAL)
    backend.set_progress(scan.id, 0.5)
    backend.engine.set_state(scan.id, "Paused")
    return {"scanId": scan.id}


def many_scans(backend: InvictiBackend) -> dict[str, Any]:
    """25 completed acme scans (two pages of 20) and 2 globex scans, for paging and isolation."""
    acme = [backend.seed_scan("acme", "Complete", {}, None).id for _ in range(25)]
    globex = [backend.seed_scan("globex", "Complete", {}, None).id for _ in range(2)]
    return {"acme": acme, "globex": globex}
