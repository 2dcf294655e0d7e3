"""Named setups for Soda (from Python or `POST /_emulator/scenario`)."""

from __future__ import annotations

from typing import Any

from conformance.emulators.soda.models import SodaBackend


def one_completed_scan(backend: SodaBackend) -> dict[str, Any]:
    scan = backend.seed_scan("acme", "completed", {"definition": "weekday_scan_schedule"}, None)
    return {"scanId": scan.id}


def one_running_scan(backend: SodaBackend) -> dict[str, Any]:
    scan = backend.seed_scan("acme", "started", {"definition": "weekday_scan_schedule"}, {"mode": "manual"})
    return {"scanId": scan.id}


def long_log(backend: SodaBackend) -> dict[str, Any]:
    """A completed scan with 250 log lines: three pages at size 100."""
    scan = backend.seed_scan("acme", None, {"definition": "orders_contract_daily", "logLines": 245}, None)
    scan = backend.engine.set_state(scan.id, "executing")
    scan = backend.engine.set_state(scan.id, "started")
    scan = backend.engine.set_state(scan.id, "completed")
    return {"scanId": scan.id, "logLines": scan.data["logCount"]}


def large_catalogue(backend: SodaBackend) -> dict[str, Any]:
    """250 more datasets (one check each) in acme's `lake` datasource: lists of several pages."""
    now = backend.clock.now()
    owner = backend.store.list("soda_user", "acme", limit=1)[0].id
    with backend.store.transaction():
        for i in range(250):
            backend.add_dataset("acme", f"events_{i:03d}", "lake", owner, now)
    return {"datasets": 250, "datasource": "lake"}
