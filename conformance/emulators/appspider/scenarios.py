"""Named setups for AppSpider (from Python or `POST /_emulator/scenario`)."""

from __future__ import annotations

from typing import Any

from conformance.emulators.appspider.models import ACCOUNTS, AppSpiderBackend

_MANUAL = {"mode": "manual"}


def _walk(backend: AppSpiderBackend, account: str, states: list[str], **data: Any) -> dict[str, Any]:
    """A scan taken through `states` one legal step at a time, then left where it is (manual)."""
    scan = backend.seed_scan(account, None, dict(data), _MANUAL)
    for state in states:
        scan = backend.engine.set_state(scan.id, state)
    return {"scanId": scan.id, "configId": scan.data["ConfigId"], "state": scan.state}


def one_completed_scan(backend: AppSpiderBackend) -> dict[str, Any]:
    return _walk(backend, "webshop", ["Running", "Completed"])


def one_running_scan(backend: AppSpiderBackend) -> dict[str, Any]:
    return _walk(backend, "webshop", ["Running"])


def one_paused_scan(backend: AppSpiderBackend) -> dict[str, Any]:
    return _walk(backend, "webshop", ["Running", "Pausing", "Paused"])


def waiting_for_cloud(backend: AppSpiderBackend) -> dict[str, Any]:
    """A scan queued for a cloud engine ("Waiting for Cloud"): still cancelable."""
    return _walk(backend, "webshop", ["StartingCloud"])


def one_failed_scan(backend: AppSpiderBackend) -> dict[str, Any]:
    """A failed scan with one event in its error log."""
    return _walk(backend, "webshop", ["Running", "Failed"])


def many_scans(backend: AppSpiderBackend) -> dict[str, Any]:
    """Five completed scans of the first webshop config and two of the second (paging)."""
    configs = [c["Name"] for c in backend.configs("webshop")]
    ids = [
        _walk(backend, "webshop", ["Running", "Completed"], configName=configs[0])["scanId"] for _ in range(5)
    ]
    ids += [
        _walk(backend, "webshop", ["Running", "Completed"], configName=configs[1])["scanId"] for _ in range(2)
    ]
    return {"scanIds": ids, "configIds": [c["Id"] for c in backend.configs("webshop")]}


def multi_client_login(backend: AppSpiderBackend) -> dict[str, Any]:
    """One running scan in each client of the multi-client user `acme-admin`."""
    scans = {
        account: _walk(backend, account, ["Running"])["scanId"] for account in ("acme-web", "acme-mobile")
    }
    user = ACCOUNTS["acme-web"]
    clients = {ACCOUNTS[a]["clientName"]: ACCOUNTS[a]["client_id"] for a in scans}
    return {"username": user["username"], "password": user["password"], "clients": clients, "scanIds": scans}


def expired_token(backend: AppSpiderBackend) -> dict[str, Any]:
    """A webshop token that has already expired, and a completed scan it would have read."""
    token = backend.issue_token("webshop", ACCOUNTS["webshop"]["username"], ttl=0)
    return {"token": token, **one_completed_scan(backend)}


def no_configs(backend: AppSpiderBackend) -> dict[str, Any]:
    """Every client without scan configs (nor scans): a job has to save its config first."""
    backend.store.delete("config")
    backend.store.delete("attachment")
    return {"configs": 0}
