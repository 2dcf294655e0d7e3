"""Soda Cloud state: scans, their checks and logs. No HTTP here (routes.py does that)."""

from __future__ import annotations

from typing import Any, ClassVar

from conformance.emulators.core import BadRequestError, Scan
from conformance.emulators.core.app import Backend
from conformance.emulators.core.ids import guid, iso_ms_z

__all__ = ["CHECKS_BY_STATE", "SodaBackend"]

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


class SodaBackend(Backend):
    organisation: ClassVar[dict[str, str]] = {"acme": "Acme Data", "globex": "Globex Analytics"}

    # -- operations -------------------------------------------------------------------------------

    def trigger_scan(self, account: str, definition: str, data_timestamp: str | None) -> Scan:
        if not definition.strip():
            raise BadRequestError("scanDefinition must not be empty")
        return self._new_scan(
            account, None, {"definition": definition, "dataTimestamp": data_timestamp}, None
        )

    def seed_scan(
        self, account: str, state: str | None, data: dict[str, Any], progression: dict[str, Any] | None
    ) -> Scan:
        return self._new_scan(
            account, state, {"definition": data.pop("definition", "seeded_scan"), **data}, progression
        )

    def _new_scan(
        self, account: str, state: str | None, data: dict[str, Any], progression: dict[str, Any] | None
    ) -> Scan:
        scan_id = guid(self.store, "soda-scan")
        definition = data["definition"]
        data.setdefault(
            "scanDefinition", {"id": guid(self.store, f"soda-definition:{definition}"), "name": definition}
        )
        data.setdefault("logs", [])
        scan = self.engine.create(scan_id, account, data, progression=progression)
        if state is not None and state != scan.state:
            scan = self.engine.set_state(scan_id, state)
        return scan

    def status(self, account: str, scan_id: str) -> dict[str, Any]:
        return self.view(self.engine.read(scan_id, account))

    def cancel(self, account: str, scan_id: str) -> Scan:
        return self.engine.act(scan_id, account, "cancel")

    def logs(self, account: str, scan_id: str, page: int, size: int) -> dict[str, Any]:
        scan = self.engine.get(scan_id, account)
        lines = scan.data.get("logs", [])
        total = len(lines)
        pages = max(1, -(-total // size))
        chunk = lines[page * size : (page + 1) * size]
        return {
            "content": [{"index": page * size + i, **line} for i, line in enumerate(chunk)],
            "first": page == 0,
            "last": page >= pages - 1,
            "number": page,
            "size": size,
            "totalElements": total,
            "totalPages": pages,
        }

    def test_login(self, account: str) -> dict[str, Any]:
        return {"organisationName": self.organisation.get(account, account)}

    # -- state ------------------------------------------------------------------------------------

    def on_transition(self, scan: Scan, old: str, new: str, cause: str) -> None:
        now = iso_ms_z(self.clock.now())
        d = scan.data
        if cause == "create":
            d["created"] = now
            d["scanTime"] = d.get("dataTimestamp") or now
        if new == "executing":
            d.setdefault("submitted", now)
            d.setdefault("agentId", f"runner-{scan.account}")
        if new == "started":
            d.setdefault("submitted", now)
            d.setdefault("started", now)
            d.setdefault("agentId", f"runner-{scan.account}")
        if new in CHECKS_BY_STATE:
            statuses = CHECKS_BY_STATE[new]
            d["checks"] = [{"id": guid(self.store, "soda-check"), "evaluationStatus": s} for s in statuses]
            for field in ("errors", "failures", "warnings"):
                d[field] = sum(1 for s in statuses if _COUNTS.get(s) == field)
            d["postProcessingStages"] = [{"name": "diagnosticWarehouse", "state": "ongoing", "started": now}]
        if new in self.lifecycle.terminal:
            d["ended"] = now
        self._log(scan, new, cause, now)

    def _log(self, scan: Scan, state: str, cause: str, now: str) -> None:
        logs: list[dict[str, Any]] = scan.data.setdefault("logs", [])
        level = _LEVEL.get(state, "info")
        logs.append({"level": level, "message": f"Scan state: {state} ({cause})", "timestamp": now})
        if state in CHECKS_BY_STATE:
            extra = int(scan.data.get("logLines", 0))
            logs.extend(
                {"level": "debug", "message": f"Evaluated check {i + 1}", "timestamp": now}
                for i in range(extra)
            )

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
