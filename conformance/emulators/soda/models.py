"""Soda Cloud state: scans, their checks and logs; the other resources come from resources.py. No HTTP here
(routes.py does that)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, ClassVar

from conformance.emulators.core.engine import Scan
from conformance.emulators.core.errors import BadRequestError
from conformance.emulators.core.ids import guid, iso_ms_z, stable_guid
from conformance.emulators.core.plugin import Backend, Host
from conformance.emulators.soda.resources import SodaResources

__all__ = ["ACCOUNTS", "CHECKS_BY_STATE", "LOGS", "SodaBackend"]

LOGS = "soda_scan_log"  # one record per log line: {"scan", "index", "level", "message", "timestamp"}

# Two organisations so isolation can be tested; credentials named as in x-scanwire-auth. acme also has a
# member user who may view datasets and nothing else: the operations whose spec names another
# permission (x-scanwire-permission, the documented "## Authorization") answer them 403. INFERENCE: Soda
# grants dataset permissions per dataset through roles; here a member's hold on every dataset.
ACCOUNTS: dict[str, dict[str, Any]] = {
    "acme": {
        "key_id": "acme-key-id",
        "secret": "acme-secret",
        "members": [
            {
                "key_id": "acme-viewer-key-id",
                "secret": "acme-viewer-secret",
                "permissions": ["View dataset", "Access dataset profiling and sampling"],
            }
        ],
    },
    "globex": {"key_id": "globex-key-id", "secret": "globex-secret"},
}

# Check results consistent with each completed* variant (vendor-notes §5 INFERENCE: counts and
# checks[].evaluationStatus agree with the final state).
CHECKS_BY_STATE: dict[str, list[str]] = {
    "completed": ["pass", "pass"],
    "completedWithWarnings": ["pass", "warn"],
    "completedWithFailures": ["pass", "fail", "warn"],
    "completedWithErrors": ["pass", "notEvaluated"],
}
_COUNTS = {"notEvaluated": "errors", "fail": "failures", "warn": "warnings"}
_LEVEL = {"failed": "error", "timedOut": "error", "canceled": "warning", "completedWithErrors": "error"}
# States only reached after a runner picked the scan up and started it (queuing -> executing -> ...):
# a scan seeded straight into one of them gets the fields that run would have set.
_RAN = {"executing", "started", *CHECKS_BY_STATE}


class SodaBackend(SodaResources, Backend):
    SEEDS: ClassVar[dict[str, str]] = {"dataset": "seed_dataset", "userGroup": "seed_user_group"}

    organisation: ClassVar[dict[str, str]] = {"acme": "Acme Data", "globex": "Globex Analytics"}

    def __init__(self, emulator: Host) -> None:
        super().__init__(emulator)
        self.index_resources()
        self.store.index(LOGS, "scan")

    def reset(self) -> None:
        self.seed_catalogue()

    # -- operations -------------------------------------------------------------------------------

    def trigger_scan(self, account: str, definition: Any, data_timestamp: Any) -> Scan:
        if definition is None:
            raise BadRequestError("scanDefinition is required", field="scanDefinition", location="body")
        if not isinstance(definition, str):
            # An empty name is a string the spec allows (no minLength): the spec decides, not the emulator.
            raise BadRequestError("scanDefinition must be a string", field="scanDefinition", location="body")
        if data_timestamp is not None and not isinstance(data_timestamp, str):
            raise BadRequestError(
                "dataTimestamp must be an ISO 8601 date-time", field="dataTimestamp", location="body"
            )
        return self._new_scan(
            account, None, {"definition": definition, "dataTimestamp": data_timestamp}, None
        )

    def seed_scan(
        self, account: str, state: str | None, data: dict[str, Any], progression: dict[str, Any] | None
    ) -> Scan:
        definition = data.pop("definition", "seeded_scan")
        if not isinstance(definition, str) or not definition.strip():
            raise BadRequestError("data.definition must be a non-empty string")
        logs = data.get("logs", [])
        if not isinstance(logs, list) or not all(isinstance(line, dict) for line in logs):
            raise BadRequestError("data.logs must be a list of log line objects")
        log_lines = data.get("logLines", 0)
        if not isinstance(log_lines, int) or isinstance(log_lines, bool) or log_lines < 0:
            raise BadRequestError("data.logLines must be a non-negative integer")
        return self._new_scan(account, state, {"definition": definition, **data}, progression)

    def _new_scan(
        self, account: str, state: str | None, data: dict[str, Any], progression: dict[str, Any] | None
    ) -> Scan:
        if state is not None and (not isinstance(state, str) or state not in self.lifecycle.states):
            raise BadRequestError(f"{state!r} is not a state of this vendor")
        with self.store.transaction():  # a refused state or progression leaves nothing behind
            scan_id = guid(self.store, "soda-scan")
            definition = data["definition"]
            # A definition is one Soda Cloud entity: its id depends on its name only.
            data.setdefault(
                "scanDefinition",
                {"id": stable_guid(f"soda-definition:{definition}"), "name": definition},
            )
            # Log lines are records of their own kind (`scan` a top-level key): a scan with 100,000 lines
            # keeps a small document, and a page of its log reads that page only (issue 18).
            seeded = data.pop("logs", None) or []
            data["logCount"] = 0
            self._put_logs(scan_id, account, data, seeded)
            scan = self.engine.create(scan_id, account, data, progression=progression)
            if state is not None and state != scan.state:
                scan = self.engine.set_state(scan_id, state)
            return scan

    def status(self, account: str, scan_id: str) -> dict[str, Any]:
        return self.view(self.engine.read(scan_id, account))

    def cancel(self, account: str, scan_id: str) -> Scan:
        return self.engine.act(scan_id, account, "cancel")

    def logs(self, account: str, scan_id: str) -> tuple[int, Callable[[int, int], list[dict[str, Any]]]]:
        """(how many log lines the scan has, fetch one page of them, each with its index): read from the
        store by the page (a store written before the lines were records keeps them in the document)."""
        d = self.engine.get(scan_id, account).data
        kept = d.get("logs")
        if isinstance(kept, list):
            return len(kept), lambda offset, limit: [
                {"index": offset + i, **line} for i, line in enumerate(kept[offset : offset + limit])
            ]

        def fetch(offset: int, limit: int) -> list[dict[str, Any]]:
            rows = self.store.list(LOGS, account, where={"scan": scan_id}, offset=offset, limit=limit)
            return [{k: v for k, v in r.data.items() if k != "scan"} for r in rows]

        return int(d.get("logCount", 0)), fetch

    def test_login(self, account: str) -> dict[str, Any]:
        return {"organisationName": self.organisation.get(account, account)}

    # -- state ------------------------------------------------------------------------------------

    def on_transition(self, scan: Scan, old: str, new: str, cause: str) -> None:
        now = iso_ms_z(self.clock.now())
        d = scan.data
        if cause == "create":
            d["created"] = now
            d["scanTime"] = d.get("dataTimestamp") or now
        if new in _RAN:
            # `started` is set on entering executing (spec: "set once an agent/runner starts executing
            # the scan", vendor-notes §5 INFERENCE); a scan seeded further along gets them too.
            d.setdefault("submitted", now)
            d.setdefault("started", now)
            d.setdefault("agentId", f"runner-{scan.account}")
        if new == "started":
            # The runner started the scan itself: `started` moves to that moment (the field then agrees
            # with the state of the same name; while `executing` it tells when the pick-up happened).
            d["started"] = now
        if new in CHECKS_BY_STATE:
            statuses = CHECKS_BY_STATE[new]
            # The scan's findings: the same scan id always gives the same check ids (common.md §3).
            d["checks"] = [
                {"id": stable_guid(f"soda-scan-check:{scan.id}:{i}"), "evaluationStatus": s}
                for i, s in enumerate(statuses)
            ]
            for field in ("errors", "failures", "warnings"):
                d[field] = sum(1 for s in statuses if _COUNTS.get(s) == field)
            d["postProcessingStages"] = [{"name": "diagnosticWarehouse", "state": "ongoing", "started": now}]
        if new in self.lifecycle.terminal:
            d["ended"] = now
        self._log(scan, new, cause, now)

    def _log(self, scan: Scan, state: str, cause: str, now: str) -> None:
        level = _LEVEL.get(state, "info")
        lines = [{"level": level, "message": f"Scan state: {state} ({cause})", "timestamp": now}]
        if state in CHECKS_BY_STATE:
            extra = int(scan.data.get("logLines", 0))
            lines.extend(
                {"level": "debug", "message": f"Evaluated check {i + 1}", "timestamp": now}
                for i in range(extra)
            )
        kept = scan.data.get("logs")
        if isinstance(kept, list):  # a scan stored before log lines were records: its lines move out
            scan.data["logCount"] = 0
            del scan.data["logs"]
            lines = [*kept, *lines]
        self._put_logs(scan.id, scan.account, scan.data, lines)

    def _put_logs(
        self, scan_id: str, account: str, data: dict[str, Any], lines: list[dict[str, Any]]
    ) -> None:
        """Append log lines to a scan: one record each, numbered on from the document's `logCount`."""
        first = int(data.get("logCount", 0))
        for n, line in enumerate(lines, start=first):
            self.store.put(LOGS, f"{scan_id}:{n}", account, {"scan": scan_id, "index": n, **line})
        data["logCount"] = first + len(lines)

    def view(self, scan: Scan) -> dict[str, Any]:
        """The vendor's representation: unset fields are omitted, never null (Jackson NON_NULL)."""
        d = scan.data
        out: dict[str, Any] = {
            "id": scan.id,
            "cloudUrl": f"https://cloud.soda.io/scans/{scan.id}",
            "created": d["created"],
            "state": scan.state,
            "scanDefinition": d["scanDefinition"],
            "scanTime": d["scanTime"],
        }
        for key in (
            "submitted",
            "started",
            "ended",
            "errors",
            "failures",
            "warnings",
            "checks",
            "postProcessingStages",
        ):
            if key in d:
                out[key] = d[key]
        if "agentId" in d:
            out["agentId"] = out["runnerId"] = d["agentId"]
        return out
