"""ThreadFix 2.x state: teams, their applications, the pending scans uploaded to them, the scans they
import (with the uploaded files) and the vulnerabilities those scans find. No HTTP here.

Findings are made when a pending scan reaches DONE: a `random.Random` seeded from the imported scan id
picks them (same scan id -> same vulnerabilities), stored one record each with the filterable keys (scan,
app, team, severity) at the top level, so the vulnerability search reads one page from SQLite."""

from __future__ import annotations

import base64
import random
from typing import Any, ClassVar

from conformance.emulators.core import BadRequestError, ForbiddenError, NotFoundError, Scan, ScanNotFoundError
from conformance.emulators.core.ids import epoch_ms, sequential
from conformance.emulators.core.plugin import Backend, seed_field

__all__ = [
    "ACCOUNTS",
    "APPLICATIONS",
    "ApplicationNotFoundError",
    "CreationFailedError",
    "ImportedScanNotFoundError",
    "NoFilesError",
    "ScanTypeError",
    "TeamNotFoundError",
    "ThreadfixBackend",
    "UrlRestrictedError",
]

# Each account is one team whose API key may only touch its own applications. Ids 6 and 1295 are the
# appIds of the documented samples (seed 003 sample call; vendor-notes §4 upload answer).
APPLICATIONS: dict[str, list[tuple[int, str]]] = {
    "acme": [(6, "Contoso Web"), (1295, "Contoso API")],
    "globex": [(42, "Globex Portal")],
}
APP_KIND = "application"
TEAM_KIND = "team"
SCAN_KIND = "imported_scan"
FILE_KIND = "scan_file"
VULN_KIND = "vulnerability"
# The seeded teams (one per account). New ids start above every seeded one (INFERENCE: ids are
# server-wide sequences; the offsets only keep new records clear of the documented sample ids).
TEAMS = {"acme": 1, "globex": 2}
_NEW_TEAM_BASE, _NEW_APP_BASE = 100, 2000
# Severity intValue -> name (TF-SRC GenericSeverity, vendor-notes-workflow §4 FACT).
SEVERITIES = {1: "Info", 2: "Low", 3: "Medium", 4: "High", 5: "Critical"}
CRITICALITY = {"1": "Low", "2": "Medium", "3": "High", "4": "Critical"}
# (CWE id, CWE name, path, parameter) the deterministic findings draw from (INFERENCE: illustrative).
_WEAKNESSES = [
    (
        79,
        "Improper Neutralization of Input During Web Page Generation ('Cross-site Scripting')",
        "/search",
        "q",
    ),
    (
        89,
        "Improper Neutralization of Special Elements used in an SQL Command ('SQL Injection')",
        "/login",
        "user",
    ),
    (352, "Cross-Site Request Forgery (CSRF)", "/account", None),
    (614, "Sensitive Cookie in HTTPS Session Without 'Secure' Attribute", "/", None),
    (200, "Exposure of Sensitive Information to an Unauthorized Actor", "/debug", None),
    (601, "URL Redirection to Untrusted Site ('Open Redirect')", "/redirect", "next"),
]
# Set when processing is interrupted; vendor-notes §4 only says errorMessage is set (INFERENCE: wording).
_IMPORTED = ("DONE", "SCAN_QUEUED_FOR_DELETE", "SCAN_DELETED")
INTERRUPTED_MESSAGE = "Scan processing was interrupted: the scan file could not be parsed."


# One team per account, each with its own key; acme's is the documented example key (TF-DOC API
# Authentication, vendor-notes §4).
ACCOUNTS = {
    "acme": {"api_key": "r31OPbW9LEAYnnAskBjYRACYmF2mGOmWgQAKmtPYE5YY", "team": "Acme"},
    "globex": {"api_key": "Gx7kQ2mZt9VbLw4RfN8cYs1HdJp6UaE3oTi5XyKqWM0B", "team": "Globex"},
}


class ApplicationNotFoundError(NotFoundError):
    """No application with that id (ApplicationRestController.APPLICATION_LOOKUP_FAILED, TF-SRC)."""

    reason = "application_not_found"


class UrlRestrictedError(ForbiddenError):
    """The API key may not touch this application (another team's): TFRestController.RESTRICTED_URL_ERROR."""


class TeamNotFoundError(NotFoundError):
    """No team with that id or name (TeamRestController, TF-SRC)."""

    reason = "team_not_found"


class ImportedScanNotFoundError(NotFoundError):
    """No imported scan with that id ("No scan exists for requested id", ScansRestController, TF-SRC)."""

    reason = "imported_scan_not_found"


class CreationFailedError(BadRequestError):
    """A create the controller refuses; the message is the vendor's failure text."""


class NoFilesError(BadRequestError):
    """An upload without a file part (UploadScanServiceImpl: "No files selected.", TF-SRC)."""


class ScanTypeError(BadRequestError):
    """A file ThreadFix cannot recognise as any scanner's output (UploadScanServiceImpl, TF-SRC)."""


class ThreadfixBackend(Backend):
    # -- applications -----------------------------------------------------------------------------

    def reset(self) -> None:
        # Runs on every start too (Emulator.__init__): put() keeps existing rows, so a restart keeps state.
        for kind, keys in (
            (APP_KIND, ("team",)),
            (SCAN_KIND, ("app",)),
            (VULN_KIND, ("scan",)),
            (VULN_KIND, ("app",)),
            # A team's or an application's counts per severity (in every /teams item): index entries.
            (VULN_KIND, ("team", "severity")),
            (VULN_KIND, ("app", "severity")),
            (TEAM_KIND, ("name",)),
        ):
            self.store.index(kind, *keys)
        for account, apps in APPLICATIONS.items():
            team = TEAMS[account]
            if self.store.get(TEAM_KIND, str(team)) is None:
                self.store.put(TEAM_KIND, str(team), account, {"id": team, "name": ACCOUNTS[account]["team"]})
            for app_id, name in apps:
                if self.store.get(APP_KIND, str(app_id)) is None:
                    self.store.put(APP_KIND, str(app_id), account, _new_app(app_id, name, team))

    # -- teams ------------------------------------------------------------------------------------

    def team(self, account: str, team_id: int) -> dict[str, Any]:
        record = self.store.get(TEAM_KIND, str(team_id))
        if record is None or record.account != account:
            # Another account's team is invisible to this key (INFERENCE: per-team keys, see ACCOUNTS).
            raise TeamNotFoundError("Team Lookup failed.")
        return record.data

    def team_by_name(self, account: str, name: str) -> dict[str, Any]:
        found = self.store.list(TEAM_KIND, account, where={"name": name}, limit=1)
        if not found:
            raise TeamNotFoundError(f"No team found with name '{name}'")
        return found[0].data

    def teams(self, account: str) -> tuple[int, Any]:
        """(count, fetch(offset, limit)) of the account's teams, for page_query."""
        return self.store.count(TEAM_KIND, account), lambda offset, limit: [
            r.data for r in self.store.list(TEAM_KIND, account, limit=limit, offset=offset)
        ]

    SEEDS: ClassVar[dict[str, str]] = {"team": "seed_team", "application": "seed_application"}

    def seed_team(self, account: str, data: dict[str, Any]) -> dict[str, Any]:
        """Control API kind `team`: `{name}`, as POST /teams/new."""
        return self.team_view(self.create_team(account, seed_field(data, "name")), account)

    def seed_application(self, account: str, data: dict[str, Any]) -> dict[str, Any]:
        """Control API kind `application`: `{teamId, name, url?}`, as POST
        /teams/{teamId}/applications/new."""
        return self.application_view(self.create_application(account, seed_field(data, "teamId", int), data))

    def create_team(self, account: str, name: str | None) -> dict[str, Any]:
        if name is None:
            raise CreationFailedError('"name" parameter was not present, new Team creation failed.')
        if "<" in name or ">" in name:
            raise CreationFailedError("No HTML characters are allowed in custom names.")
        if not name.strip() or self.store.count(TEAM_KIND, account, where={"name": name}):
            # INFERENCE: a blank or taken name is refused like any invalid team.
            raise CreationFailedError("New Team creation failed.")
        team_id = _NEW_TEAM_BASE + sequential(self.store, "threadfix-team")
        return self.store.put(TEAM_KIND, str(team_id), account, {"id": team_id, "name": name}).data

    def team_view(self, team: dict[str, Any], account: str) -> dict[str, Any]:
        apps = [
            self.application_view(r.data, brief=True)
            for r in self.store.list(APP_KIND, account, where={"team": team["id"]})
        ]
        counts = self._counts(account, {"team": team["id"]})
        return {"id": team["id"], "name": team["name"], **counts, "applications": apps}

    # -- applications (create / views) ------------------------------------------------------------

    def create_application(self, account: str, team_id: int, form: dict[str, Any]) -> dict[str, Any]:
        try:
            team = self.team(account, team_id)
        except TeamNotFoundError:
            raise CreationFailedError("Invalid Team ID.") from None
        name = form.get("name")
        url = form.get("url")
        if not isinstance(name, str) or not name.strip():
            raise CreationFailedError("New Application creation failed.")
        if url is not None and not str(url).startswith(("http://", "https://")):
            raise CreationFailedError("New Application creation failed.")
        if self.store.count(APP_KIND, account, where={"team": team["id"], "name": name}):
            # INFERENCE: names are unique within a team (ThreadFix UI rule).
            raise CreationFailedError("New Application creation failed.")
        app_id = _NEW_APP_BASE + sequential(self.store, "threadfix-application")
        data = _new_app(app_id, name, team["id"])
        data.update(
            {
                "url": url,
                "description": form.get("description"),
                "uniqueId": form.get("uniqueId"),
                "criticality": str(form.get("applicationCriticality") or "1"),
                "testEnvironment": form.get("testEnvironment"),
                "isInternal": bool(form.get("isInternal")),
            }
        )
        return self.store.put(APP_KIND, str(app_id), account, data).data

    def lookup_application(
        self, account: str, team_name: str, name: str | None, unique_id: str | None
    ) -> dict[str, Any]:
        if name is None and unique_id is None:
            raise CreationFailedError("Application lookup failed. Check your ID.")
        team = self.team_by_name(account, team_name)
        where: dict[str, Any] = {"team": team["id"]}
        if unique_id is not None:
            where["uniqueId"] = unique_id
        else:
            where["name"] = name
        found = self.store.list(APP_KIND, account, where=where, limit=2)
        if len(found) > 1:
            raise CreationFailedError("More than one application found. Check your search criteria.")
        if not found:
            raise ApplicationNotFoundError("Application lookup failed. Check your ID.")
        return found[0].data

    def applications_by_unique_id(self, account: str, unique_id: str) -> list[dict[str, Any]]:
        return [r.data for r in self.store.list(APP_KIND, account, where={"uniqueId": unique_id}, limit=100)]

    def application_view(self, app: dict[str, Any], *, brief: bool = False) -> dict[str, Any]:
        crit = app.get("criticality", "1")
        view: dict[str, Any] = {
            "id": app["id"],
            "name": app["name"],
            "url": app.get("url"),
            "applicationCriticality": {"id": int(crit), "name": CRITICALITY[crit]},
            "description": app.get("description"),
            "releaseFrequency": "UNKNOWN",
            "testEnvironment": app.get("testEnvironment"),
            "isInternal": app.get("isInternal", False),
        }
        if brief:
            return view
        account = self._account_of_app(app["id"])
        team = self.store.get(TEAM_KIND, str(app.get("team")))
        scans = [
            self._scan_summary(r.data)
            for r in self.store.list(SCAN_KIND, account, where={"app": app["id"]}, limit=1000)
        ]
        view.update(
            {
                "uniqueId": app.get("uniqueId"),
                "policyStatuses": [],
                "grcApplication": None,
                "scans": scans,
                **self._counts(account, {"app": app["id"]}),
                "unassignedVulnCount": 0,
                "waf": None,
                "organization": {"name": team.data["name"] if team else None, "id": app.get("team")},
            }
        )
        return view

    def _account_of_app(self, app_id: int) -> str:
        record = self.store.get(APP_KIND, str(app_id))
        return record.account if record else ""

    def _counts(self, account: str, where: dict[str, Any]) -> dict[str, int]:
        counts = {
            f"{SEVERITIES[i].lower()}VulnCount": self.store.count(
                VULN_KIND, account, where={**where, "severity": i}
            )
            for i in (1, 2, 3, 4, 5)
        }
        counts["totalVulnCount"] = sum(counts.values())
        return counts

    # -- imported scans and vulnerabilities -------------------------------------------------------

    def imported_scan(self, account: str, scan_id: int) -> dict[str, Any]:
        record = self.store.get(SCAN_KIND, str(scan_id))
        if record is None or record.account != account or record.data.get("deleted"):
            raise ImportedScanNotFoundError("No scan exists for requested id")
        return record.data

    def scans_of(self, account: str, app_id: int) -> list[dict[str, Any]]:
        self.application(account, app_id)
        found = [r.data for r in self.store.list(SCAN_KIND, account, where={"app": app_id}, limit=10000)]
        found = [s for s in found if not s.get("deleted")]
        if not found:
            raise ImportedScanNotFoundError(f"No scans associated with application: {app_id}")
        return [self._scan_summary(s) for s in found]

    def _scan_summary(self, scan: dict[str, Any]) -> dict[str, Any]:
        return {
            "id": scan["id"],
            "importTime": scan["importTime"],
            "updatedDate": scan["importTime"],
            "buildId": None,
            "scannerName": scan["scannerName"],
        }

    def scan_details(self, account: str, scan_id: int) -> dict[str, Any]:
        scan = self.imported_scan(account, scan_id)
        vulns = [r.data for r in self.store.list(VULN_KIND, account, where={"scan": scan_id}, limit=10000)]
        counts = {
            f"number{SEVERITIES[i]}Vulnerabilities": sum(v["severity"] == i for v in vulns)
            for i in SEVERITIES
        }
        findings = [
            {
                "id": v["id"],
                "vulnerabilityType": v["cweName"],
                "severity": SEVERITIES[v["severity"]],
                "path": v["path"],
                "parameter": v["parameter"],
            }
            for v in vulns
        ]
        return {
            **self._scan_summary(scan),
            "numberTotalVulnerabilities": len(vulns),
            **counts,
            "findings": findings,
        }

    def scan_file(self, account: str, scan_id: int, name: str | None) -> tuple[str, bytes]:
        scan = self.imported_scan(account, scan_id)
        files = self.store.get(FILE_KIND, str(scan["pending"]))
        entries = files.data["files"] if files else []
        for entry in entries:
            if name is None or entry["name"] == name:
                return entry["name"], base64.b64decode(entry["content"])
        raise ImportedScanNotFoundError(f"No scan file named '{name}' in scan {scan_id}")

    def delete_imported_scan(self, account: str, scan_id: int) -> Scan:
        """T11: queue the deletion, followed through the pending scan (DONE -> SCAN_QUEUED_FOR_DELETE)."""
        scan = self.imported_scan(account, scan_id)
        return self.engine.act(str(scan["pending"]), account, "delete")

    def search_vulnerabilities(self, account: str, where: dict[str, Any]) -> tuple[int, Any]:
        return self.store.count(VULN_KIND, account, where=where), lambda offset, limit: [
            _vuln_view(r.data)
            for r in self.store.list(VULN_KIND, account, where=where, limit=limit, offset=offset)
        ]

    def _import(self, scan: Scan) -> None:
        """At DONE: the imported scan record and its deterministic vulnerabilities."""
        d = scan.data
        scan_id = d["scanId"]
        app = self.store.get(APP_KIND, str(d["appId"]))
        team = app.data.get("team") if app else None
        self.store.put(
            SCAN_KIND,
            str(scan_id),
            scan.account,
            {
                "id": scan_id,
                "app": d["appId"],
                "pending": int(scan.id),
                "importTime": d["modified"],
                "scannerName": _scanner_of(d["name"]),
                "deleted": False,
            },
        )
        rng = random.Random(f"threadfix-scan-{scan_id}")
        for n in range(rng.randint(3, 6)):
            cwe, cwe_name, path, parameter = rng.choice(_WEAKNESSES)
            vuln_id = scan_id * 1000 + n + 1
            self.store.put(
                VULN_KIND,
                str(vuln_id),
                scan.account,
                {
                    "id": vuln_id,
                    "scan": scan_id,
                    "app": d["appId"],
                    "team": team,
                    "severity": rng.randint(1, 5),
                    "cwe": cwe,
                    "cweName": cwe_name,
                    "path": path,
                    "parameter": parameter,
                    "channel": _scanner_of(d["name"]),
                },
            )

    def _forget(self, scan: Scan) -> None:
        """At SCAN_DELETED: the imported scan and its vulnerabilities are gone."""
        scan_id = scan.data.get("scanId")
        if scan_id is None:
            return
        self.store.patch(SCAN_KIND, str(scan_id), {"deleted": True})
        for record in self.store.list(VULN_KIND, scan.account, where={"scan": scan_id}):
            self.store.delete(VULN_KIND, record.id)

    def application(self, account: str, app_id: int) -> dict[str, Any]:
        record = self.store.get(APP_KIND, str(app_id))
        if record is None:
            raise ApplicationNotFoundError(f"application {app_id} not found")
        if record.account != account:
            raise UrlRestrictedError(f"application {app_id} belongs to another team")
        return record.data

    def applications(self, account: str) -> list[dict[str, Any]]:
        return [r.data for r in self.store.list(APP_KIND, account)]

    # -- operations -------------------------------------------------------------------------------

    def upload_scan(self, account: str, app_id: int, files: list[tuple[str, bytes]]) -> Scan:
        """Queue the uploaded files as one pending scan (since 2.4.5 the upload only queues, FACT)."""
        self.application(account, app_id)
        if not files:
            raise NoFilesError("No files selected.")
        if any(not content for _, content in files):
            raise ScanTypeError("Failed to determine the scan type.")
        scan = self._new_scan(account, app_id, [name for name, _ in files], None, None, {})
        self.store.put(
            FILE_KIND,
            scan.id,
            account,
            {
                "files": [
                    {"name": name, "content": base64.b64encode(content).decode("ascii")}
                    for name, content in files
                ]
            },
        )
        return scan

    def upload_multi(self, account: str, app_id: int, files: list[tuple[str, bytes]]) -> Scan:
        """T12: all files must be of one scanner type (UploadScanServiceImpl, TF-SRC)."""
        self.application(account, app_id)
        if len({_scanner_of(name) for name, _ in files}) > 1:
            raise ScanTypeError("Scans are not of the same type.")
        return self.upload_scan(account, app_id, files)

    def pending_scan(self, account: str, app_id: int, pending_scan_id: int) -> dict[str, Any]:
        """Poll a pending scan: counts a read (progression) and answers the vendor's PendingScan."""
        self.application(account, app_id)
        scan = self.engine.get(str(pending_scan_id), account)
        if scan.data["appId"] != app_id:
            raise ScanNotFoundError(str(pending_scan_id))
        return self.view(self.engine.read(scan.id, account))

    def delete_scan(self, pending_scan_id: str) -> Scan:
        """Control only: the UI's scan deletion (DONE -> SCAN_QUEUED_FOR_DELETE); no API operation exists."""
        return self.engine.act(pending_scan_id, None, "delete")

    def seed_scan(
        self, account: str, state: str | None, data: dict[str, Any], progression: dict[str, Any] | None
    ) -> Scan:
        """Control API: `data` may set appId (one of the account's), fileNames or name, errorMessage."""
        app_id = data.pop("appId", None) or self.applications(account)[0]["id"]
        if not isinstance(app_id, int) or isinstance(app_id, bool):
            raise BadRequestError("data.appId must be an integer")
        self.application(account, app_id)
        names = data.pop("fileNames", None) or [data.pop("name", "contoso.fpr")]
        if not isinstance(names, list) or not all(isinstance(n, str) and n for n in names):
            raise BadRequestError("data.fileNames must be a list of file names")
        return self._new_scan(account, app_id, names, state, progression, data)

    def _new_scan(
        self,
        account: str,
        app_id: int,
        names: list[str],
        state: str | None,
        progression: dict[str, Any] | None,
        extra: dict[str, Any],
    ) -> Scan:
        scan_id = str(sequential(self.store, "threadfix-pending-scan"))
        files = [{"id": sequential(self.store, "threadfix-file-data"), "originalName": n} for n in names]
        data = {"appId": app_id, "name": names[0], "fileDataList": files, "scanId": None, **extra}
        scan = self.engine.create(scan_id, account, data, progression=progression)
        if state is not None and state != scan.state:
            scan = self.engine.set_state(scan_id, state)
        return scan

    # -- state ------------------------------------------------------------------------------------

    def on_transition(self, scan: Scan, old: str, new: str, cause: str) -> None:
        d = scan.data
        d["modified"] = epoch_ms(self.clock.now())
        # scanId is only added once the status is DONE (2.7.7 change note, vendor-notes §4 FACT); the
        # deletion states that follow DONE keep it.
        if new in _IMPORTED and d.get("scanId") is None:
            d["scanId"] = sequential(self.store, "threadfix-scan")
        if new == "DONE" and self.store.get(SCAN_KIND, str(d["scanId"])) is None:
            self._import(scan)
        if new == "SCAN_DELETED":
            self._forget(scan)
        if new == "SCAN_INTERRUPTED":
            d.setdefault("errorMessage", INTERRUPTED_MESSAGE)

    def status_text(self, state: str) -> str:
        """The UI text of a status, read from the spec's PendingScanStatus (seed 003 status table)."""
        schema = self.emulator.spec["components"]["schemas"]["PendingScanStatus"]
        return str(dict(zip(schema["enum"], schema["x-enum-descriptions"], strict=True)).get(state, state))

    def view(self, scan: Scan) -> dict[str, Any]:
        """The PendingScan object, fields in the order of the seed 003 sample output."""
        d = scan.data
        interrupted = scan.state == "SCAN_INTERRUPTED"
        return {
            "id": int(scan.id),
            "modifiedDate": d["modified"],
            # `active` is ThreadFix's soft-delete flag (INFERENCE): only a deleted scan is inactive.
            "active": scan.state != "SCAN_DELETED",
            "fileDataList": d["fileDataList"],
            "appId": d["appId"],
            "errorMessage": d.get("errorMessage") if interrupted else None,
            "status": scan.state,
            "error": interrupted,
            "scanId": d.get("scanId"),
            "type": "upload",
            "name": d["name"],
            # The sample shows time == modifiedDate (INFERENCE: both are the last status change).
            "time": d["modified"],
            "scanMessage": self.status_text(scan.state),
        }


def _new_app(app_id: int, name: str, team: int) -> dict[str, Any]:
    return {"id": app_id, "name": name, "team": team, "criticality": "1", "uniqueId": None}


def _scanner_of(file_name: str) -> str:
    """The scanner a file name points at (INFERENCE: ThreadFix sniffs content; the extension stands in)."""
    ext = file_name.rsplit(".", 1)[-1].lower() if "." in file_name else ""
    return {"fpr": "Fortify", "xml": "OWASP Zed Attack Proxy", "json": "Checkmarx"}.get(ext, "Manual")


def _vuln_view(v: dict[str, Any]) -> dict[str, Any]:
    sev = v["severity"]
    return {
        "id": v["id"],
        "vulnId": str(v["id"]),
        "genericVulnerability": {"id": v["cwe"], "name": v["cweName"]},
        "genericSeverity": {
            "id": sev,
            "intValue": sev,
            "name": SEVERITIES[sev],
            "displayName": SEVERITIES[sev],
        },
        "active": True,
        "hidden": False,
        "isFalsePositive": False,
        "parameter": v["parameter"],
        "path": v["path"],
        "calculatedFilePath": None,
        "channelNames": [v["channel"]],
        "findingDescription": f"{v['cweName']} at {v['path']}",
        "findingRecommendation": None,
    }
