"""Invicti Enterprise state: scan tasks (ScanTaskModel), their progress, listings and actions. No HTTP."""

from __future__ import annotations

import copy
import io
import math
import re
import zipfile
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any, ClassVar

from conformance.emulators.core import BadRequestError, NotFoundError, Scan
from conformance.emulators.core.engine import DATA_KIND, KIND, READS_KIND
from conformance.emulators.core.ids import guid, iso_dotnet
from conformance.emulators.core.plugin import Backend, seed_field
from conformance.emulators.core.store import between, contains, one_of
from conformance.emulators.invicti import reports

__all__ = ["ACCOUNTS", "PROFILES", "InvictiBackend", "ReportNotReadyError", "timespan"]

WEBSITE, PROFILE, POLICY = "website", "scanprofile", "scanpolicy"
FINDING = "finding"  # one record per vulnerability, `scan` a top-level key (O(page) lists by scan)
# NewScanTaskApiModel members that are ScanTaskModel fields of the same name and meaning.
_LAUNCH_FIELDS = ("CrawlAndAttack", "FindAndFollowNewLinks", "MaxScanDuration", "Scope", "UrlRewriteMode")


class ReportNotReadyError(NotFoundError):
    """scans/report before the scan is Complete (INFERENCE: 404 with a Message, vendor-notes-workflow §2)."""

    def __init__(self, scan_id: str) -> None:
        super().__init__("The report is not available until the scan is complete.", scan_id=scan_id)


DETAIL = "/api/1.0/scans/detail/{id}"
QUEUED = frozenset({"Queued", "Delayed"})
ARCHIVED = frozenset({"Archiving", "AsyncArchiving", "Complete"})  # Phase=Complete iff (vendor-notes §2)
BUSY = frozenset({"Scanning", "Pausing"})  # the agent is working: this time counts in Duration
NOMINAL_SECONDS = 1426.6821882  # the seed's Duration: manual-mode scans progress at this pace
GUID = re.compile(r"^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$")
_COUNTS = ("Critical", "High", "Info", "BestPractice", "Low", "Medium")
# Fields on_transition keeps consistent with the state; data given when seeding may preset them.
_STATE_FIELDS = (
    "AgentId", "AgentName", "CompletedSteps", "EstimatedLaunchTime", "EstimatedSteps", "Duration",
    "FailureReason", "FailureReasonDescription", "FailureReasonString", "GlobalThreatLevel", "IsCompleted",
    "IsWebsiteLatestCompletedFullScanTask", "Percentage", "Phase", "StateChanged", "ThreatLevel",
    "TotalVulnerabilityCount", *(f"{g}Vulnerability{c}Count" for g in ("", "Global") for c in _COUNTS),
)  # fmt: skip
_STATUS_FIELDS = ("CompletedSteps", "EstimatedLaunchTime", "EstimatedSteps")  # ApiScanStatusModel, less State
_BUSY_READS = ("AgentId", "CrawlAndAttack", "EstimatedLaunchTime")  # what a running scan's poll reads
_DATE_FORMATS = ("%m/%d/%Y %H:%M:%S", "%m/%d/%Y")  # the documented MM/dd/yyyy HH:mm:ss, and its date part

# Two accounts so isolation can be tested; acme's user id is the seed scan's UserId.
ACCOUNTS = {
    "acme": {"user_id": "7d85ab71-641d-4fed-096f-b11404a17c3d", "token": "acme-invicti-api-token"},
    "globex": {"user_id": "2c4e6a80-1b3d-4f5e-a7c9-b1140a2c9f10", "token": "globex-invicti-api-token"},
}

# Per-account user data: the seed's user (acme, UTC-6 as its InitiatedTime shows) and a second one.
PROFILES: dict[str, dict[str, Any]] = {
    "acme": {"UserName": "Greg Sherman", "utc_offset_minutes": -360, "website": {}},
    "globex": {
        "UserName": "Hank Scorpio",
        "utc_offset_minutes": 60,
        "website": {
            "TargetUrl": "https://portal.globex.example/",
            "TargetUrlRoot": "https://portal.globex.example/",
            "WebsiteId": "5b0c2d1e-7f3a-4e9b-1c2d-b11d04a1b2c3",
            "WebsiteGroupIds": ["0e9d8c7b-6a5f-4e3d-0973-b11404a1c0de"],
            "WebsiteName": "Globex Portal",
            "WebsiteProtocol": "Https",
            "WebsiteUrl": "https://portal.globex.example/",
        },
    },
}


def timespan(seconds: float) -> str:
    """.NET TimeSpan text: `[d.]hh:mm:ss[.fffffff]` (vendor-notes §2: FACT form, INFERENCE day part)."""
    ticks = max(0, round(seconds * 10_000_000))
    days, rest = divmod(ticks, 864_000_000_000)
    hours, rest = divmod(rest, 36_000_000_000)
    minutes, rest = divmod(rest, 600_000_000)
    secs, fraction = divmod(rest, 10_000_000)
    text = (f"{days}." if days else "") + f"{hours:02d}:{minutes:02d}:{secs:02d}"
    return text + (f".{fraction:07d}" if fraction else "")


def _parse_date(name: str, raw: str | None) -> float | None:
    if raw is None or raw == "":
        return None
    for fmt in _DATE_FORMATS:
        try:
            return datetime.strptime(raw, fmt).replace(tzinfo=UTC).timestamp()
        except ValueError:
            pass
    try:  # ASP.NET binds ISO 8601 as well (INFERENCE); generated clients send it
        parsed = datetime.fromisoformat(raw.replace("Z", "+00:00"))
    except ValueError:
        raise BadRequestError(f"{name} '{raw}' is not a valid date; use MM/dd/yyyy HH:mm:ss") from None
    return (parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)).timestamp()


def _stamp(value: Any) -> float | None:
    """The POSIX time of a stored date (the list's date window compares these); None for a seeded value
    that is not a date, which never falls inside a window."""
    try:
        return datetime.fromisoformat(str(value)).timestamp()
    except ValueError:
        return None


class InvictiBackend(Backend):
    """Scan tasks of two accounts. `scan.data`: `fields` (ScanTaskModel values), `progress` (0..1)."""

    # listbystate filters on the state, then on the date window and the target: one index holds all
    # three, so a count or a page's pick reads index entries only (SQLite evaluates the target's
    # substring test on the indexed value), never the records.
    # listbywebsite filters on the target alone: its own index, in list order (issue 18).
    LIST_INDEXES = (("state", "when", "target"), ("target",))

    def reset(self) -> None:
        op = self.emulator.spec["paths"][DETAIL]["get"]
        self.template: dict[str, Any] = op["responses"]["200"]["content"]["application/json"]["examples"][
            "seed"
        ]["value"]
        self.properties = list(self.emulator.spec["components"]["schemas"]["ScanTaskModel"]["properties"])
        self.store.index(FINDING, "scan")
        self.store.index(WEBSITE, "RootUrl")
        self.store.index(WEBSITE, "Name")
        for account in ACCOUNTS:
            if not self.store.count(POLICY, account):
                self._seed_defaults(account)

    # -- websites, scan profiles, scan policies (vendor-notes-workflow §2) --------------------------

    def _seed_defaults(self, account: str) -> None:
        """Each account has the built-in policy "Default Security Checks" (FACT: the PolicyId default) and
        one primary scan profile using it (INFERENCE: illustrative)."""
        policy_id = guid(self.store, f"invicti-policy-{account}")
        self.store.put(
            POLICY,
            policy_id,
            account,
            {
                "Id": policy_id,
                "Name": "Default Security Checks",
                "Description": "The built-in policy scans/new uses when no PolicyId is given.",
                "Groups": [],
                "IsDefault": True,
                "IsShared": True,
                "IsAccountDefault": True,
                "OptimizerOptions": None,
                "NameWithAccessModifier": "Default Security Checks (Shared)",
            },
        )
        profile_id = guid(self.store, f"invicti-profile-{account}")
        self.store.put(
            PROFILE,
            profile_id,
            account,
            {
                "ProfileId": profile_id,
                "ProfileName": "Default",
                "IsPrimary": True,
                "IsShared": False,
                "PolicyId": policy_id,
                "WebsiteId": None,
                "TargetUri": None,
                "CreateType": "Website",
            },
        )

    def listing(self, kind: str, account: str) -> tuple[int, Callable[[int, int], list[dict[str, Any]]]]:
        """(how many, fetch one page): websites, profiles and policies read a page from the store."""
        total = self.store.count(kind, account)

        def fetch(offset: int, limit: int) -> list[dict[str, Any]]:
            return [r.data for r in self.store.list(kind, account, limit=limit, offset=offset)]

        return total, fetch

    def website(self, account: str, website_id: str) -> dict[str, Any]:
        record = self.store.get(WEBSITE, website_id)
        if record is None or record.account != account:
            raise NotFoundError("Website not found.", website_id=website_id)
        return record.data

    def find_website(self, account: str, query: str) -> dict[str, Any]:
        """websites/get?query=: by URL, else by name (the parameter is "The website name or URL")."""
        for key in ("RootUrl", "Name"):
            found = self.store.list(WEBSITE, account, where={key: query}, limit=1)
            if found:
                return found[0].data
        raise NotFoundError("Website not found.", query=query)

    SEEDS: ClassVar[dict[str, str]] = {"website": "seed_website"}

    def seed_website(self, account: str, data: dict[str, Any]) -> dict[str, Any]:
        """Control API kind `website`: `{RootUrl, Name, LicenseType?, Description?, ...}`, as websites/new
        (a root URL already taken is refused); LicenseType defaults to Subscription."""
        seed_field(data, "RootUrl")
        seed_field(data, "Name")
        license_type = seed_field(data, "LicenseType", required=False) or "Subscription"
        return self.new_website(account, {**data, "LicenseType": license_type})

    def new_website(self, account: str, body: dict[str, Any]) -> dict[str, Any]:
        root = str(body["RootUrl"])
        with self.store.transaction():
            if self.store.count(WEBSITE, account, where={"RootUrl": root}):
                raise BadRequestError(
                    f"A website with the root URL {root} already exists.", field="RootUrl", location="body"
                )
            website_id = guid(self.store, "invicti-website")
            now = iso_dotnet(self.clock.now())
            website = {
                "Id": website_id,
                "CreatedAt": now,
                "UpdatedAt": None,
                "RootUrl": root,
                "Name": body["Name"],
                "Description": body.get("Description"),
                "TechnicalContactEmail": body.get("TechnicalContactEmail"),
                "Groups": [
                    {"Id": guid(self.store, "invicti-group"), "Name": g} for g in body.get("Groups") or []
                ],
                "IsVerified": False,
                "LicenseType": body["LicenseType"],
                "AgentMode": body.get("AgentMode") or "Cloud",
                "Tags": list(body.get("Tags") or []),
            }
            self.store.put(WEBSITE, website_id, account, website)
        return website

    def update_website(self, account: str, body: dict[str, Any]) -> dict[str, Any]:
        """websites/update: the website is the one with this RootUrl (INFERENCE: the model has no Id)."""
        root = str(body["RootUrl"])
        with self.store.transaction():
            found = self.store.list(WEBSITE, account, where={"RootUrl": root}, limit=1)
            if not found:
                raise NotFoundError("Website not found.", root_url=root)
            website = found[0].data
            for key in ("Name", "Description", "TechnicalContactEmail", "LicenseType", "AgentMode", "Tags"):
                if key in body:
                    website[key] = body[key]
            website["UpdatedAt"] = iso_dotnet(self.clock.now())
            self.store.put(WEBSITE, website["Id"], account, website)
        return website

    def delete_website(self, account: str, root: str) -> str:
        """`OnGoingScanExisting` while a scan of the site is not finished (FACT: the result code; the rule
        is INFERENCE), `NotFound`, else `Ok`."""
        with self.store.transaction():
            found = self.store.list(WEBSITE, account, where={"RootUrl": root}, limit=1)
            if not found:
                return "NotFound"
            running = [s for s in self.lifecycle.states if s not in self.lifecycle.terminal]
            if self.store.count(KIND, account, where={"target": root, "state": one_of(*running)}):
                return "OnGoingScanExisting"
            self.store.delete(WEBSITE, found[0].id)
        return "Ok"

    # -- launch, results, reports, cleanup (vendor-notes-workflow §2) ------------------------------

    def launch(self, account: str, body: dict[str, Any]) -> list[dict[str, Any]]:
        """scans/new: one scan of TargetUri (or of the account's website), `Queued`, as a one-element list.

        CreateType WebsiteGroup would launch one scan per website of the group; the emulator has no
        groups and launches one (INFERENCE, x-note in the spec).
        """
        fields: dict[str, Any] = {k: body[k] for k in _LAUNCH_FIELDS if k in body and k in self.properties}
        target = body.get("TargetUri")
        if target:
            root = str(target)
            fields.update(TargetUrl=root, TargetUrlRoot=root, WebsiteUrl=root)
        fields["ScanType"] = "Full"
        with self.store.transaction():
            scan = self.seed_scan(account, None, fields, None)
            return [self.view(scan)]

    def launch_like(self, account: str, base_id: str, scan_type: str, complete: bool) -> dict[str, Any]:
        """newfromscan / incremental / retest: a new Queued scan of the base scan's target. Incremental and
        retest need a Complete base ("Currently running or cancelled scans are not valid", FACT)."""
        with self.store.transaction():
            base = self.engine.observe(self.engine.get(base_id, account))
            if complete and base.state != "Complete":
                raise BadRequestError(
                    f"Base scan should be in completed state; {base_id} is {base.state}.",
                    field="BaseScanId",
                    location="body",
                )
            f = base.data["fields"]
            fields = {
                k: f[k] for k in (*_LAUNCH_FIELDS, "TargetUrl", "TargetUrlRoot", "WebsiteUrl") if k in f
            }
            fields["ScanType"] = scan_type
            return self.view(self.seed_scan(account, None, fields, None))

    def launch_with_profile(self, account: str, profile_name: str, target: str) -> dict[str, Any]:
        """newwithprofile: the profile is named (FACT: clients send the name); unknown name → 400."""
        if not self.store.count(PROFILE, account, where={"ProfileName": profile_name}):
            raise BadRequestError(
                f"No scan profile named {profile_name!r}.", field="ProfileName", location="body"
            )
        return self.launch(account, {"TargetUri": target})[0]

    def scan_file(self, account: str, scan_id: str) -> bytes:
        """downloadscanfile: a zip holding the vulnerabilities XML (INFERENCE: the real scan file's
        format is Invicti's own); ReportNotReadyError before Complete."""
        xml = self.report(account, scan_id, "Xml")
        buffer = io.BytesIO()
        with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
            archive.writestr(f"{scan_id}.xml", xml)
        return buffer.getvalue()

    def find_profile(self, account: str, name: str) -> dict[str, Any]:
        found = self.store.list(PROFILE, account, where={"ProfileName": name}, limit=1)
        if not found:
            raise NotFoundError("Scan profile not found.", name=name)
        return found[0].data

    def profile(self, account: str, profile_id: str) -> dict[str, Any]:
        record = self.store.get(PROFILE, profile_id)
        if record is None or record.account != account:
            raise NotFoundError("Scan profile not found.", profile_id=profile_id)
        return record.data

    def list_by_website(
        self, account: str, website: str | None, target: str | None, descending: bool
    ) -> tuple[int, Callable[[int, int], list[dict[str, Any]]]]:
        """listbywebsite: scans whose target is the website's root URL (or contains targetUrl), by
        initiation date (INFERENCE: a scan's target URL is its website's RootUrl)."""
        where: dict[str, Any] = {}
        if website:
            where["target"] = website
        elif target:
            where["target"] = contains(target)
        total = self.engine.count(account, where=where)

        def fetch(offset: int, limit: int) -> list[dict[str, Any]]:
            with self.store.transaction():
                page = self.engine.page(
                    account, where=where, offset=offset, limit=limit, newest_first=descending
                )
                return [self._seen(scan) for scan in page]

        return total, fetch

    def findings(self, account: str, scan_id: str) -> list[dict[str, Any]]:
        """scans/result: the scan's vulnerabilities (VulnerabilityModel), none before it is Complete."""
        with self.store.transaction():
            scan = self.engine.observe(self.engine.get(scan_id, account))
        if scan.state != "Complete":
            return []
        records = self.store.list(FINDING, account, where={"scan": scan.id})
        return [reports.model(r.data) for r in records]

    def report(self, account: str, scan_id: str, fmt: str) -> bytes:
        """scans/report: the vulnerabilities report in `fmt`; ReportNotReadyError before Complete."""
        with self.store.transaction():
            scan = self.engine.observe(self.engine.get(scan_id, account))
        if scan.state != "Complete":
            raise ReportNotReadyError(scan.id)
        view = self.view(scan)
        view["Generated"] = iso_dotnet(self.clock.now())
        items = [r.data for r in self.store.list(FINDING, account, where={"scan": scan.id})]
        return reports.render(fmt, view, items)

    def delete(self, account: str, scan_ids: list[str]) -> str:
        """scans/delete: `OnGoingScanExisting` (nothing deleted) when one is not finished; the found ones
        are deleted, `SomeOfScansNotFound` when some were not (INFERENCE: vendor-notes-workflow §2)."""
        with self.store.transaction():
            found = [
                s for s in (self.engine.find(i) for i in scan_ids) if s is not None and s.account == account
            ]
            if any(s.state not in self.lifecycle.terminal for s in found):
                return "OnGoingScanExisting"
            for scan in found:
                for kind in (KIND, DATA_KIND, READS_KIND):
                    self.store.delete(kind, scan.id)
                for record in self.store.list(FINDING, account, where={"scan": scan.id}):
                    self.store.delete(FINDING, record.id)
        return "Ok" if len(found) == len(set(scan_ids)) else "SomeOfScansNotFound"

    def _store_findings(self, scan: Scan) -> None:
        """The scan's deterministic findings (seeded by its id), once, when it completes."""
        if self.store.count(FINDING, scan.account, where={"scan": scan.id}):
            return
        target = str(scan.data["fields"].get("TargetUrl") or "https://example.invalid/")
        for item in reports.findings(scan.id, target):
            self.store.put(FINDING, f"{scan.id}:{item['n']}", scan.account, {"scan": scan.id, **item})

    # -- operations -------------------------------------------------------------------------------

    def seed_scan(
        self, account: str, state: str | None, data: dict[str, Any], progression: dict[str, Any] | None
    ) -> Scan:
        """A scan of `account` in `state`; `data` sets ScanTaskModel fields (`Id`, `State` included).

        State-derived fields in `data` (Duration, counts, ...) hold until the scan's next transition.
        """
        data = dict(data)
        unknown = sorted(set(data) - set(self.properties))
        if unknown:
            raise BadRequestError(f"data: not ScanTaskModel fields: {', '.join(unknown)}")
        scan_id = str(data.pop("Id", None) or guid(self.store, "invicti-scan"))
        if not GUID.match(scan_id):
            raise BadRequestError(f"data.Id {scan_id!r} is not a GUID")
        state = state or data.pop("State", None)
        data.pop("State", None)
        failure = data.pop("FailureReason", None) or "ScanTargetNotReachable"  # shown once it fails
        fields = self._static_fields(account)
        fields.update(data)
        record = {"fields": fields, "progress": 0.0, "failure": failure}
        scan = self.engine.create(scan_id, account, record, progression=progression)
        if state is not None and state != scan.state:
            scan = self.engine.set_state(scan_id, state)
        scan.data["fields"].update(data)
        return self.engine.save(scan)

    def set_progress(self, scan_id: str, fraction: float) -> Scan:
        """Scenario helper: the share of the scan already done (0..1)."""
        scan = self.engine.get(scan_id)
        scan.data["progress"] = scan.data["base"] = fraction
        return self.engine.save(scan)

    def detail(self, account: str, scan_id: str) -> dict[str, Any]:
        # Only scans/status counts as a poll read; detail applies time-based steps, never read-based ones.
        with self.store.transaction():
            return self._seen(self.engine.observe(self.engine.get(scan_id, account)))

    def status(self, account: str, scan_id: str) -> dict[str, Any]:
        scan = self.engine.read(scan_id, account)
        if scan.state in BUSY:  # else nothing to keep: no transaction (the read is written behind)
            if not scan.data_touched:
                return self._busy_status(scan)
            scan = self._keep_progress(scan)
        return self._status_of(scan)

    def _busy_status(self, scan: Scan) -> dict[str, Any]:
        """A poll of a running scan that did not move: what `_keep_progress` keeps (progress, its fields,
        Duration), written into the stored document by SQLite's `json_set` from the few values it needs,
        without decoding or encoding the 96-field document. The summary kept with the engine's fields is
        not rewritten: a running scan's status is always worked out here, and the next save (any
        transition) refreshes it."""
        stored = self.store.pluck(
            DATA_KIND, scan.id, ("progress",), ("base",), *(("fields", k) for k in _BUSY_READS)
        )
        if stored is None or stored[0] is None:
            return self._status_of(self._keep_progress(scan))
        progress, base, agent, crawl_and_attack, launch = stored
        done = self._fraction_of(scan, float(progress), float(base or 0.0))
        values = self._progress_values(scan.state, done, agent, crawl_and_attack)
        values["Duration"] = timespan(self._busy_seconds(scan))
        changes: dict[tuple[str, ...], Any] = {("progress",): done}
        changes.update({("fields", k): v for k, v in values.items()})
        # Written behind, as the read count is (store.py): what the client saw is kept, without a commit.
        self.store.patch_paths_later(DATA_KIND, scan.id, changes)
        return {
            "CompletedSteps": values["CompletedSteps"],
            "EstimatedLaunchTime": launch,
            "EstimatedSteps": values["EstimatedSteps"],
            "State": scan.state,
        }

    def _status_of(self, scan: Scan) -> dict[str, Any]:
        """Four scalars of the view, from the summary kept with the engine's fields (the poll path: the
        96-field document is not decoded unless the poll moved the scan)."""
        summary = self.engine.summary(scan) or {}
        return {
            "CompletedSteps": summary.get("CompletedSteps"),
            "EstimatedLaunchTime": summary.get("EstimatedLaunchTime"),
            "EstimatedSteps": summary.get("EstimatedSteps"),
            "State": scan.state,
        }

    def summary(self, scan: Scan) -> dict[str, Any]:
        fields = scan.data["fields"]
        return {name: fields.get(name) for name in _STATUS_FIELDS}

    def list_scans(
        self,
        account: str,
        state: str | None = None,
        start: str | None = None,
        end: str | None = None,
        target: str | None = None,
    ) -> tuple[int, Callable[[int, int], list[dict[str, Any]]]]:
        """Newest first (INFERENCE); filters: state, start/end (StateChanged; Initiated if Queued), target.

        (how many match, how to fetch a page of views): filtered and counted in SQLite on the scan
        record's `state`, `when` and `target` keys (`list_keys`), after the due time-based steps."""
        low, high = _parse_date("startDate", start), _parse_date("endDate", end)
        where: dict[str, Any] = {}
        if state is not None:
            where["state"] = state
        if low is not None or high is not None:
            where["when"] = between(low, high)
        if target:
            where["target"] = contains(target)
        self.engine.catch_up()
        total = self.engine.count(account, where=where)

        def fetch(offset: int, limit: int) -> list[dict[str, Any]]:
            with self.store.transaction():
                page = self.engine.page(account, where=where, offset=offset, limit=limit, newest_first=True)
                return [self._seen(scan) for scan in page]

        return total, fetch

    def list_keys(self, scan: Scan) -> dict[str, Any]:
        f = scan.data["fields"]
        target = f.get("TargetUrl")
        return {
            "when": _stamp(f.get("Initiated" if scan.state == "Queued" else "StateChanged")),
            "target": None if target is None else str(target),
        }

    def act(self, account: str, scan_id: str, action: str) -> str:
        """cancel / pause / resume; an illegal one raises IllegalTransitionError (errors.py words it)."""
        self.engine.act(scan_id, account, action)
        return "Ok"

    # -- state ------------------------------------------------------------------------------------

    def on_transition(self, scan: Scan, old: str, new: str, cause: str) -> None:
        d = scan.data
        f = d["fields"]
        now = self.clock.now()
        if cause == "create":
            profile = PROFILES.get(scan.account, PROFILES["acme"])
            local = datetime.fromtimestamp(now, UTC) + timedelta(minutes=profile["utc_offset_minutes"])
            f["InitiatedTime"] = local.strftime("%d/%m/%Y %I:%M %p")  # the user's locale (seed format)
            f["InitiatedDate"] = local.strftime("%d/%m/%Y")
            f["InitiatedAt"] = f["Initiated"] = iso_dotnet(now)
        if new == "Scanning":
            d["base"] = d["progress"]
        elif new in ARCHIVED:
            d["progress"] = 1.0
        if new not in QUEUED | {"Cancelled", "Failed"} and f.get("AgentId") is None:
            f["AgentId"], f["AgentName"] = self.template["AgentId"], self.template["AgentName"]
        f["StateChanged"] = iso_dotnet(now)
        f["IsCompleted"] = new in self.lifecycle.terminal
        f["EstimatedLaunchTime"] = self._launch_minutes(scan, new)
        f["Duration"] = timespan(self._busy_seconds(scan))
        self._progress_fields(scan, new, d["progress"])
        self._outcome_fields(scan, new)
        if new == "Complete":
            self._store_findings(scan)

    def _launch_minutes(self, scan: Scan, state: str) -> int | None:
        if state == "Delayed":
            return 30  # postponed launch (INFERENCE: outside the time window or no free agent)
        if state != "Queued":
            return None
        # Counted by the state index; the scan itself is not ahead of itself (it may be stored as Queued).
        ahead = self.engine.count(scan.account, where={"state": "Queued"})
        stored = self.engine.find(scan.id)
        if stored is not None and stored.state == "Queued":
            ahead -= 1
        return 3 * (ahead + 1)  # three minutes per scan in the queue (the spec's notes-queued example)

    def _busy_seconds(self, scan: Scan) -> float:
        history = scan.history
        total = 0.0
        for i, (state, start, _cause) in enumerate(history):
            end = history[i + 1][1] if i + 1 < len(history) else self.clock.now()
            if state in BUSY:
                total += end - start
        return total

    def _progress_fields(self, scan: Scan, state: str, done: float) -> None:
        f = scan.data["fields"]
        f.update(self._progress_values(state, done, f.get("AgentId"), f.get("CrawlAndAttack")))

    def _progress_values(self, state: str, done: float, agent: Any, crawl_and_attack: Any) -> dict[str, Any]:
        """EstimatedSteps, CompletedSteps, Percentage and Phase of a scan `done` (0..1) in `state`."""
        launched = state not in QUEUED and not (state in {"Cancelled", "Failed"} and agent is None)
        estimated = int(self.template["EstimatedSteps"]) if launched else 0
        if state in ARCHIVED:
            phase = "Complete"
        elif done <= 0:
            phase = "Pending"
        elif done < 0.45:
            phase = "Crawling"
        elif done < 0.9:
            phase = "CrawlingAndAttacking" if crawl_and_attack else "Attacking"
        else:
            phase = "ReCrawling"
        return {
            "EstimatedSteps": estimated,
            "CompletedSteps": math.floor(done * estimated),
            "Percentage": math.floor(done * 100) if state in ARCHIVED else min(99, math.floor(done * 100)),
            "Phase": phase,
        }

    def _outcome_fields(self, scan: Scan, state: str) -> None:
        f, t = scan.data["fields"], self.template
        complete = state == "Complete"
        for key in ("TotalVulnerabilityCount", *(k for k in _STATE_FIELDS if k.endswith("Count"))):
            f[key] = t[key] if complete else 0
        f["ThreatLevel"] = t["ThreatLevel"] if complete else "Unknown"
        f["GlobalThreatLevel"] = t["GlobalThreatLevel"] if complete else "Unknown"
        f["IsWebsiteLatestCompletedFullScanTask"] = complete
        failed = state == "Failed"
        reason = str(scan.data["failure"])
        f["FailureReason"] = reason if failed else None
        f["FailureReasonString"] = re.sub(r"(?<=[a-z0-9])(?=[A-Z])", " ", reason) if failed else None
        f["FailureReasonDescription"] = (
            f"The scan failed ({reason}) while scanning {f.get('TargetUrl')}." if failed else None
        )

    def _fraction(self, scan: Scan) -> float:
        """Share of the scan done; grows while Scanning with reads or clock time, frozen otherwise."""
        d = scan.data
        return self._fraction_of(scan, float(d["progress"]), float(d.get("base", 0.0)))

    def _fraction_of(self, scan: Scan, progress: float, base: float) -> float:
        if scan.state != "Scanning":
            return progress
        prog = self.engine.progression_of(scan)
        if prog.mode == "reads":
            stint = (scan.reads + 1) / (prog.every + 1)
        else:
            elapsed = self.clock.now() - scan.entered
            stint = min(0.99, elapsed / (prog.every if prog.mode == "seconds" else NOMINAL_SECONDS))
        return max(progress, base + (1 - base) * stint)

    def _seen(self, scan: Scan) -> dict[str, Any]:
        """The view a client gets; what it saw of a running scan is kept, so progress never goes back."""
        return self.view(self._keep_progress(scan))

    def _keep_progress(self, scan: Scan) -> Scan:
        if scan.state in BUSY:
            scan.data["progress"] = self._fraction(scan)
            self._progress_fields(scan, scan.state, scan.data["progress"])
            scan.data["fields"]["Duration"] = timespan(self._busy_seconds(scan))
            self.engine.save(scan)
        return scan

    def _static_fields(self, account: str) -> dict[str, Any]:
        fields = {k: copy.deepcopy(v) for k, v in self.template.items() if k not in _STATE_FIELDS}
        fields.update(copy.deepcopy(PROFILES.get(account, PROFILES["acme"])["website"]))
        fields["UserId"] = self.emulator.accounts[account]["user_id"]
        fields["UserName"] = PROFILES.get(account, PROFILES["acme"])["UserName"]
        fields["ScanTaskGroupId"] = guid(self.store, "invicti-scan-group")
        fields["AgentId"] = fields["AgentName"] = None
        return fields

    def view(self, scan: Scan) -> dict[str, Any]:
        """All 96 ScanTaskModel properties in the vendor's order; nulls where the server sends nulls."""
        f = scan.data["fields"]
        out = {k: copy.deepcopy(f.get(k)) for k in self.properties}
        out["Id"] = scan.id
        out["State"] = scan.state
        return out
