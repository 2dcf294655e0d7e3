"""Advalidation state: users, creatives and their scans. No HTTP here (routes.py does that)."""

from __future__ import annotations

import copy
from datetime import UTC, datetime
from typing import Any

from conformance.emulators.core import BadRequestError, ForbiddenError, NotFoundError, Scan
from conformance.emulators.core.ids import sequential
from conformance.emulators.core.plugin import Backend
from scanwire.runtime.lifecycle import NormalizedStatus

__all__ = [
    "ACCOUNTS",
    "CHECKS_BY_FORMAT",
    "CREATIVES",
    "USERS",
    "AdvalidationBackend",
    "CreativeNotFoundError",
    "iso_z",
]

# Two accounts so isolation can be tested; the keys are opaque strings like the vendor's.
ACCOUNTS = {
    "acme": {"api_key": "adv-acme-4f1c2b7e9d"},
    "globex": {"api_key": "adv-globex-8a3e6d0c51"},
}

CREATIVE = "creative"
# Ids in ranges of their own, so a creative id passed as a scan id (or the reverse) is a 404, not a
# silent hit; 300 is the first scan id of the vendor's SDK fixtures (vendor-notes §1).
CREATIVE_BASE, SCAN_BASE = 100, 300

USERS: dict[str, dict[str, Any]] = {
    "acme": {"id": 1, "email": "api-user@acme.example", "name": "Acme Ad Ops"},
    "globex": {"id": 2, "email": "api-user@globex.example", "name": "Globex Trafficking"},
}

# The creatives each account owns after a reset; each gets a finished `initial` scan (vendor-notes §1:
# scan ids are found in creative.latestScanStatus.id, so every creative has been scanned once).
CREATIVES: dict[str, list[dict[str, str]]] = {
    "acme": [
        {"name": "Leaderboard 728x90", "format": "display"},
        {"name": "Pre-roll 30s", "format": "video"},
    ],
    "globex": [{"name": "Medium rectangle 300x250", "format": "display"}],
}


def _check(
    name: str, value: Any, formatted: str, phrase: str, result: str, **attributes: str
) -> dict[str, Any]:
    attrs = [
        {"name": k, "description": f"Specification limit: {k}", "value": v} for k, v in attributes.items()
    ]
    return {
        "name": name,
        "value": value,
        "valueFormatted": formatted,
        "valuePhrase": phrase,
        "result": result,
        "attributes": attrs,
        "extended": None,
    }


# CheckResult lists as the vendor SDK types them (vendor-notes §1 FACT: name, value, valueFormatted,
# valuePhrase, result pass|fail|warn, attributes, extended); the values themselves are illustrative.
CHECKS_BY_FORMAT: dict[str, list[dict[str, Any]]] = {
    "display": [
        _check("Test_Display_Filesize", "120000", "120 KB", "File size is 120 KB", "pass"),
        _check("Test_Display_Dimensions", "728x90", "728x90", "Dimensions are 728x90", "pass"),
    ],
    "video": [
        _check("Test_Video_Duration", 31.5, "31.5 s", "Duration is 31.5 seconds", "fail", maxDuration="30"),
        _check("Test_Video_Bitrate", 2400, "2400 kbps", "Bitrate is 2400 kbps", "warn", maxBitrate="2000"),
        _check("Test_Video_Audio", True, "Yes", "The video has an audio track", "pass"),
    ],
}
_CHECK_FIELDS = ("name", "value", "valueFormatted", "valuePhrase", "result", "attributes", "extended")
_ISSUE_RESULTS = ("warn", "fail")  # nbIssues = recursive warns + recursive fails (seed, nbIssues)
_SEED_FIELDS = {"creativeId", "sequenceType", "tests", "isInconclusive", "inconclusiveReason"}


def iso_z(ts: float) -> str:
    """2024-01-01T00:00:01Z: whole seconds with Z, as in the vendor SDK fixtures (vendor-notes §1 FACT)."""
    return datetime.fromtimestamp(ts, UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _ordered(check: dict[str, Any]) -> dict[str, Any]:
    """A CheckResult in the SDK's field order (the store keeps JSON with sorted keys)."""
    return {**{k: check[k] for k in _CHECK_FIELDS if k in check}, **check}


class CreativeNotFoundError(NotFoundError):
    reason = "creative_not_found"

    def __init__(self, creative_id: int) -> None:
        super().__init__(f"creative {creative_id} not found", creative_id=creative_id)


class AdvalidationBackend(Backend):
    # -- operations -------------------------------------------------------------------------------

    def current_user(self, account: str) -> dict[str, Any]:
        return dict(USERS[account])

    def get_scan(self, account: str, scan_id: int, include_checks: bool) -> dict[str, Any]:
        """The poll: counts a read (progresses the scan) only once ownership is established."""
        self._owned_scan(account, scan_id)
        return self.view(self.engine.read(str(scan_id), account), include_checks=include_checks)

    def rescan(self, account: str, creative_id: int) -> dict[str, Any]:
        """A new Scan (new id, sequenceType manual) of the creative (vendor-notes §1 FACT)."""
        creative = self._owned_creative(account, creative_id)
        scan = self._new_scan(account, creative, "manual", None, {})
        return self.view(scan)

    def seed_scan(
        self, account: str, state: str | None, data: dict[str, Any], progression: dict[str, Any] | None
    ) -> Scan:
        """Control API: a scan of one of `account`'s creatives, walked to `state` along the lifecycle."""
        unknown = set(data) - _SEED_FIELDS
        if unknown:
            raise BadRequestError(
                f"unknown scan field(s) {', '.join(sorted(unknown))}; known: {sorted(_SEED_FIELDS)}"
            )
        if state is not None and state not in self.lifecycle.states:
            raise BadRequestError(
                f"{state!r} is not a state of this vendor; known: {sorted(self.lifecycle.states)}"
            )
        if "tests" in data and not (
            isinstance(data["tests"], list) and all(isinstance(t, dict) for t in data["tests"])
        ):
            raise BadRequestError("tests must be a list of CheckResult objects")
        fields = dict(data)
        creative_id = fields.pop("creativeId", None)
        if creative_id is None:
            creative = self.creatives(account)[0]
        elif isinstance(creative_id, int) and not isinstance(creative_id, bool):
            creative = self._owned_creative(account, creative_id)
        else:
            raise BadRequestError("creativeId must be an integer")
        sequence = fields.pop("sequenceType", "manual")
        return self._new_scan(account, creative, str(sequence), state, fields, progression)

    def creatives(self, account: str) -> list[dict[str, Any]]:
        return [r.data for r in self.store.list(CREATIVE, account)]

    # -- state ------------------------------------------------------------------------------------

    def reset(self) -> None:
        """Creatives and their initial scans; a store reopened from a file keeps its own."""
        if self.store.count(CREATIVE):
            return
        for account, creatives in CREATIVES.items():
            for spec in creatives:
                creative_id = CREATIVE_BASE + sequential(self.store, "advalidation-creative")
                creative = {"id": creative_id, **spec}
                self.store.put(CREATIVE, str(creative_id), account, creative)
                self._new_scan(account, creative, "initial", "finished", {})

    def _new_scan(
        self,
        account: str,
        creative: dict[str, Any],
        sequence: str,
        state: str | None,
        fields: dict[str, Any],
        progression: dict[str, Any] | None = None,
    ) -> Scan:
        scan_id = str(SCAN_BASE + sequential(self.store, "advalidation-scan"))
        data = {
            "creativeId": creative["id"],
            "format": creative["format"],
            "sequenceType": sequence,
            **fields,
        }
        scan = self.engine.create(scan_id, account, data, progression=progression)
        if state is not None and state != scan.state:
            # Walk auto edges so the history stays legal; states only an action reaches (cancelled) are set.
            for step in self.lifecycle.path_to(scan.state, final=state) or [state]:
                scan = self.engine.set_state(scan_id, step)
        return scan

    def on_transition(self, scan: Scan, old: str, new: str, cause: str) -> None:
        now = iso_z(self.clock.now())
        d = scan.data
        if cause == "create":
            d["createdAt"] = now
            d.setdefault("updatedAt", None)
            return
        d["updatedAt"] = now
        if new not in self.lifecycle.terminal:
            return
        d["finishedAt"] = now
        # Verdict fields only for a scan that was analysed (vendor-notes §1 INFERENCE: nbIssues only
        # for finished; the SDK fixtures show isInconclusive false once finished).
        if self.lifecycle.states[new] is NormalizedStatus.SUCCEEDED:
            tests = d.get("tests")
            if tests is None:
                tests = copy.deepcopy(CHECKS_BY_FORMAT.get(d.get("format", ""), []))
                d["tests"] = tests
            d["nbIssues"] = sum(1 for t in tests if t.get("result") in _ISSUE_RESULTS)
            d.setdefault("isInconclusive", False)

    def view(self, scan: Scan, include_checks: bool = False) -> dict[str, Any]:
        """The vendor's Scan: every field present, null until known (vendor SDK fixtures)."""
        d = scan.data
        finished = self.lifecycle.states[scan.state] is NormalizedStatus.SUCCEEDED
        return {
            "id": int(scan.id),
            "createdAt": d["createdAt"],
            "updatedAt": d.get("updatedAt"),
            "finishedAt": d.get("finishedAt") if scan.state in self.lifecycle.terminal else None,
            "sequenceType": d["sequenceType"],
            "nbIssues": d.get("nbIssues") if finished else None,
            "tests": [_ordered(t) for t in d.get("tests") or []] if finished and include_checks else None,
            "processingStatus": scan.state,
            "isInconclusive": d.get("isInconclusive") if finished else None,
            "inconclusiveReason": d.get("inconclusiveReason") if finished else None,
        }

    # -- ownership --------------------------------------------------------------------------------

    def _owned_scan(self, account: str, scan_id: int) -> Scan:
        # 403 for another account's object, 404 for an unknown id: the seed documents both answers
        # ("does not have permission to access or update requested object" / "not found").
        scan = self.engine.get(str(scan_id))
        if scan.account != account:
            raise ForbiddenError(f"scan {scan_id} belongs to another account", scan_id=scan_id)
        return scan

    def _owned_creative(self, account: str, creative_id: int) -> dict[str, Any]:
        record = self.store.get(CREATIVE, str(creative_id))
        if record is None:
            raise CreativeNotFoundError(creative_id)
        if record.account != account:
            raise ForbiddenError(
                f"creative {creative_id} belongs to another account", creative_id=creative_id
            )
        return record.data
