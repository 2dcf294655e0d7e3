"""Named setups for ThreadFix (from Python or `POST /_emulator/scenario`); ids in the result."""

from __future__ import annotations

from typing import Any

from conformance.emulators.core import Scan
from conformance.emulators.threadfix.models import ThreadfixBackend


def _ids(scan: Scan) -> dict[str, Any]:
    return {"appId": scan.data["appId"], "pendingScanId": int(scan.id), "scanId": scan.data.get("scanId")}


def one_completed_scan(backend: ThreadfixBackend) -> dict[str, Any]:
    """The seed 003 sample: contoso.fpr on application 6, processed (DONE, scanId set)."""
    return _ids(backend.seed_scan("acme", "DONE", {"appId": 6}, None))


def one_queued_scan(backend: ThreadfixBackend) -> dict[str, Any]:
    """An upload nobody processes until the control API advances it."""
    return _ids(backend.seed_scan("acme", None, {"appId": 1295}, {"mode": "manual"}))


def interrupted_scan(backend: ThreadfixBackend) -> dict[str, Any]:
    """Processing interrupted while merging (error true, errorMessage set)."""
    scan = backend.seed_scan("acme", "CHANNEL_MERGING", {"appId": 6, "name": "broken.fpr"}, None)
    return _ids(backend.engine.set_state(scan.id, "SCAN_INTERRUPTED"))


def remote_import_finished(backend: ThreadfixBackend) -> dict[str, Any]:
    """A remote-provider pull that ended in FINISHED_FINDING_PULLING instead of DONE."""
    return _ids(
        backend.seed_scan("acme", "FINISHED_FINDING_PULLING", {"appId": 6, "name": "remote-pull.xml"}, None)
    )


def deleted_scan(backend: ThreadfixBackend) -> dict[str, Any]:
    """A processed scan deleted from the UI: queued for delete, deleted on the next poll."""
    scan = backend.seed_scan("acme", "DONE", {"appId": 6}, None)
    return _ids(backend.delete_scan(scan.id))


def two_teams(backend: ThreadfixBackend) -> dict[str, Any]:
    """One processed scan per team, for isolation tests."""
    return {
        "acme": _ids(backend.seed_scan("acme", "DONE", {"appId": 6}, None)),
        "globex": _ids(backend.seed_scan("globex", "DONE", {"appId": 42}, None)),
    }


def team_with_imported_scan(backend: ThreadfixBackend) -> dict[str, Any]:
    """Issue 16 resources seeded in one go: a new team, an application in it and an uploaded scan file
    processed to DONE (imported scan, its deterministic vulnerabilities and the file to download)."""
    team = backend.create_team("acme", "Seeded team")
    app = backend.create_application("acme", team["id"], {"name": "Seeded app", "uniqueId": "seeded-1"})
    pending = backend.upload_scan("acme", app["id"], [("seeded.xml", b"<OWASPZAPReport/>")])
    done = backend.engine.set_state(pending.id, "DONE")
    return {
        "teamId": team["id"],
        "appId": app["id"],
        "pendingScanId": int(done.id),
        "scanId": done.data["scanId"],
    }
