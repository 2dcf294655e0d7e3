"""AppSpider Enterprise state: users and clients, login tokens, scans, their findings and reports (configs,
engine groups and engines in configs.py). No HTTP here."""

from __future__ import annotations

import base64
import hashlib
from collections.abc import Callable
from typing import Any, ClassVar

from conformance.emulators.appspider.configs import ConfigNameNotUniqueError, ConfigStore
from conformance.emulators.appspider.findings import crawled_links_xml, findings_for, report_zip, summary_xml
from conformance.emulators.core import (
    AuthError,
    BadRequestError,
    EmulatorError,
    ForbiddenError,
    IllegalTransitionError,
    NotFoundError,
    Scan,
    ScanNotFoundError,
)
from conformance.emulators.core.ids import guid, iso_ms_z
from conformance.emulators.core.plugin import Backend, Host, seed_field
from conformance.emulators.core.store import one_of

__all__ = [
    "ACCOUNTS",
    "CONFIGS",
    "AppSpiderBackend",
    "ClientNotFoundError",
    "ConfigNotFoundError",
    "InvalidClientIdError",
    "ReportNotReadyError",
    "ScanNotAllowedError",
    "ScanStartFailedError",
]

# Accounts that own scans are *clients* (tenants). `acme-admin` belongs to two clients, so its login must
# name one (vendor-notes §3 Multi-client accounts, FACT); client ids reuse the spec's `notes-multi-client`
# example so a client author can copy them.
ACCOUNTS: dict[str, dict[str, str]] = {
    "webshop": {
        "username": "scanner-ci",
        "password": "correct horse battery staple",
        "client_id": "3f9a6c1e-2d47-4b8a-9e53-7c1d0b6e2f84",
        "clientName": "Webshop",
    },
    "acme-web": {
        "username": "acme-admin",
        "password": "acme-password",
        "client_id": "7d3e9c14-58b2-4a6f-9e01-c2b4a8f6d359",
        "clientName": "Acme Web Team",
    },
    "acme-mobile": {
        "username": "acme-admin",
        "password": "acme-password",
        "client_id": "1b6f0a82-c39d-47e5-8a14-5e2d7c9b0f68",
        "clientName": "Acme Mobile Team",
    },
}

# Scan configs per client (name -> target hosts), created by reset().
CONFIGS: dict[str, dict[str, list[str]]] = {
    "webshop": {
        "shop.example.com weekly": ["shop.example.com"],
        "shop.example.com nightly": ["shop.example.com", "api.shop.example.com"],
    },
    "acme-web": {"www.acme.test full": ["www.acme.test"]},
    "acme-mobile": {"m.acme.test api": ["m.acme.test"], "m.acme.test login": ["m.acme.test"]},
}

# GetScans `Status` codes are documented for six states only (lifecycle `codes`, PyAppSpider, FACT) and
# the spec's ScanStatusCode enum admits no other value. Every other state shows the code of the nearest
# documented state, chosen so that a sequence of listing codes is still legal per the lifecycle:
# queued / pausing / blackout-pending scans are "in progress" (Running), resuming / blacked-out ones
# "Paused", a cancel or stop heads for Stopped through Stopping (no code for Stopped: the listing cannot
# show its end, GetScanStatus can), Hanged is a failure, a report failure after completion reuses the
# only post-completion failure code (Vuln Load Failed), a report rebuild still lists as Completed.
CODE_FOLD = {
    "Starting": "Running",
    "StartingCloud": "Running",
    "Pausing": "Running",
    "PendingPauseByBlackout": "Running",
    "Resuming": "Paused",
    "PausedByBlackout": "Paused",
    "Canceling": "Stopping",
    "Stopped": "Stopping",
    "Hanged": "Failed",
    "ReportError": "VulnLoadFailed",
    "ReportRegenerating": "Completed",
}
# HasScanImported turns true once the scan has been read this many times since it completed
# (vendor-notes §3 Lifecycle INFERENCE: "IsImported becomes true some time after Completed").
IMPORT_AFTER_READS = 2
_EVENTS = {
    "Failed": "Scan failed: the scan engine reported an error",
    "Hanged": "Scan hanged: the scan engine stopped responding",
    "VulnLoadFailed": "Vulnerabilities load from scan report failed",
    "ReportError": "Scan report download failed",
}
_ACTION_WORDS = {"cancel": "canceled", "pause": "paused", "resume": "resumed", "stop": "stopped"}


class InvalidClientIdError(AuthError):
    """A multi-client user logged in without (or with a foreign) clientId; `clients` is name -> id."""

    def __init__(self, clients: dict[str, str]) -> None:
        super().__init__("Invalid clientId", kind="other")
        self.clients = clients


class ScanNotAllowedError(ForbiddenError):
    def __init__(self, scan_id: str) -> None:
        super().__init__("User does not have permissions to access scan", scan_id=scan_id)


class ScanStartFailedError(EmulatorError):
    reason = "scan_start_failed"


class ConfigNotFoundError(NotFoundError):
    def __init__(self, config_id: str) -> None:
        super().__init__("Config Id does not exist in client", config_id=config_id)


class ReportNotReadyError(EmulatorError):
    """A report or findings call for a scan without a report (vendor-notes-workflow §3 INFERENCE)."""

    reason = "report_not_ready"


class ClientNotFoundError(NotFoundError):
    def __init__(self, name: str) -> None:
        super().__init__("No Client Found", client_name=name)


def dotnet_time(ts: float) -> str:
    """2024-04-02T14:11:09.317 (.NET DateTime without offset; vendor-notes §3 INFERENCE)."""
    return iso_ms_z(ts)[:-1]


class AppSpiderBackend(ConfigStore, Backend):
    # GetScans filters on the scan's config (configId).
    LIST_INDEXES = (("config",),)

    def __init__(self, emulator: Host) -> None:
        super().__init__(emulator)
        self.setup_kinds()

    def reset(self) -> None:
        # Configs persist with the store: a restart on the same SQLite file keeps their ids.
        if self.store.count("config"):
            return
        for account, configs in CONFIGS.items():
            group, _ = self.engine_group_for(account, f"{ACCOUNTS[account]['clientName']} engines")
            for name, hosts in configs.items():
                self.add_config(account, ACCOUNTS[account]["client_id"], name, hosts, group)

    SEEDS: ClassVar[dict[str, str]] = {"config": "seed_config"}

    def seed_config(self, account: str, data: dict[str, Any]) -> dict[str, Any]:
        """Control API kind `config`: `{name, hosts: [...]}` on the client's engine group (the name must be
        free in the client, as SaveConfig requires)."""
        name, hosts = seed_field(data, "name"), data.get("hosts") or []
        if not isinstance(hosts, list) or not all(isinstance(h, str) and h for h in hosts):
            raise BadRequestError("data.hosts: a list of host names", field="data.hosts")
        if self.config_by_name(account, name) is not None:
            raise ConfigNameNotUniqueError(name)
        group = self.engine_groups(account)[0]["Id"]
        made = self.add_config(account, ACCOUNTS[account]["client_id"], name.strip(), hosts, group)
        return self.config(account, made["Id"])

    # -- clients ----------------------------------------------------------------------------------

    def clients_of(self, user: str) -> list[dict[str, str]]:
        """The clients the user's name opens (a client administrator sees their clients, AS-DOC2)."""
        return [
            {"ClientId": i["client_id"], "ClientName": i["clientName"]}
            for i in ACCOUNTS.values()
            if i["username"] == user
        ]

    def client(self, user: str, name: str) -> dict[str, Any]:
        for info in ACCOUNTS.values():
            if info["username"] == user and info["clientName"].lower() == name.strip().lower():
                return {
                    "ClientId": info["client_id"],
                    "ClientName": info["clientName"],
                    "LoweredClientName": info["clientName"].lower(),
                    "Address": None,
                    "Email": None,
                    "Phone": None,
                    "Mobile": None,
                    "Notes": None,
                    "DefaultTimeZone": "UTC",
                    "DefendEnabled": False,
                    "EnhancedServices": False,
                }
        raise ClientNotFoundError(name)

    # -- authentication ---------------------------------------------------------------------------

    def login(self, name: str, password: str, client_id: str | None) -> str:
        mine = {a: i for a, i in ACCOUNTS.items() if (i["username"], i["password"]) == (name, password)}
        if not mine:
            raise AuthError("Invalid user name or password")
        if client_id is None and len(mine) == 1:
            return self.issue_token(next(iter(mine)), name)
        chosen = [a for a, i in mine.items() if i["client_id"] == (client_id or "").lower()]
        if not chosen:
            raise InvalidClientIdError({i["clientName"]: i["client_id"] for i in mine.values()})
        return self.issue_token(chosen[0], name)

    def issue_token(self, account: str, user: str, ttl: float | None = None) -> str:
        seed = guid(self.store, "appspider-token")
        token = base64.b64encode(hashlib.sha256(seed.encode()).digest()[:30]).decode()
        ttl = self.emulator.settings.token_ttl if ttl is None else ttl
        self.store.put("token", token, account, {"user": user, "expires": self.clock.now() + ttl})
        return token

    def account_for_token(self, token: str, call: Any) -> str:
        """`login-token` auth (core.auth): the client of a live token; the call keeps the user name."""
        account, call.extras["user"] = self.resolve_token(token)
        return account

    def resolve_token(self, token: str) -> tuple[str, str]:
        """(client account, user name) of a live token; AuthError when unknown or expired."""
        record = self.store.get("token", token)
        if record is None:
            raise AuthError("Authorization token is invalid or expired")
        if self.clock.now() >= record.data["expires"]:
            self.store.delete("token", token)
            raise AuthError("Authorization token is invalid or expired", kind="expired")
        return record.account, record.data["user"]

    # -- configs ----------------------------------------------------------------------------------

    def configs(self, account: str) -> list[dict[str, Any]]:
        return [r.data for r in self.store.list("config", account)]

    def find_config(self, account: str, config_id: str | None, config_name: str | None) -> dict[str, Any]:
        # configId wins when both are given (Rapid7's Jenkins plugin sends only the id).
        if config_id is not None:
            record = self.store.get("config", config_id)
            if record is not None and record.account == account:
                return record.data
        elif config_name is not None:
            found = self.config_by_name(account, config_name)
            if found is not None:
                return found
        if config_id is not None:
            raise ScanStartFailedError("Scan config with 'configId' doesn't exist in client")
        raise ScanStartFailedError("Scan config with 'configName' not found in client")

    # -- scans ------------------------------------------------------------------------------------

    def run_scan(self, account: str, user: str, config_id: str | None, config_name: str | None) -> Scan:
        if config_id is None and not config_name:
            raise BadRequestError("Required parameters not provided")
        config = self.find_config(account, config_id, config_name)
        return self._new_scan(account, user, config, None, None)

    def seed_scan(
        self, account: str, state: str | None, data: dict[str, Any], progression: dict[str, Any] | None
    ) -> Scan:
        name = data.pop("configName", None) or self.configs(account)[0]["Name"]
        user = data.pop("user", ACCOUNTS[account]["username"])
        scan = self._new_scan(account, user, self.find_config(account, None, name), progression, data)
        if state is not None and state != scan.state:
            scan = self.engine.set_state(scan.id, state)
        return scan

    def _new_scan(
        self,
        account: str,
        user: str,
        config: dict[str, Any],
        progression: dict[str, Any] | None,
        extra: dict[str, Any] | None,
    ) -> Scan:
        data = {
            "ConfigId": config["Id"],
            "Name": config["Name"],
            "EngineGroupId": config["EngineGroupId"],
            "engine": config["EngineId"],
            "Targets": config["Targets"],
            "StartedBy": user,
            "events": [],
            **(extra or {}),
        }
        return self.engine.create(guid(self.store, "appspider-scan"), account, data, progression=progression)

    # Every poll (GetScanStatus, IsScanActive, IsScanFinished, HasReport, HasScanImported) is a read of the
    # scan: it counts towards `reads` progression and applies due steps.

    def status(self, account: str, scan_id: str) -> str | None:
        return self.status_text(self.engine.read(scan_id, account).state)

    def is_active(self, account: str, scan_id: str) -> bool:
        return self.engine.read(scan_id, account).state not in self.lifecycle.terminal

    def is_finished(self, account: str, scan_id: str) -> bool:
        return self.engine.read(scan_id, account).state in self.lifecycle.terminal

    def has_report(self, account: str, scan_id: str) -> bool:
        # The report exists once the scan completed (vuln loading may still fail); a report download
        # failure, a rebuild or a deletion leaves none to fetch (vendor-notes §3 Lifecycle, INFERENCE).
        return self._has_report(self.engine.read(scan_id, account))

    def _has_report(self, scan: Scan) -> bool:
        return scan.state in ("Completed", "VulnLoadFailed") or (
            scan.state == "Stopped" and bool(scan.data.get("stoppedWhileRunning"))
        )

    # -- findings and reports ---------------------------------------------------------------------

    def reported_scan(self, account: str, scan_id: str) -> Scan:
        """The scan, when it has a report; ReportNotReadyError when it has none (yet)."""
        scan = self.engine.read(scan_id, account)
        if not self._has_report(scan):
            shown = self.status_text(scan.state) or scan.state
            raise ReportNotReadyError(f"The scan has no report: its status is '{shown}'", scan_id=scan_id)
        return scan

    def finding_listing(self, account: str, scan_id: str | None) -> tuple[dict[str, Any] | None, int]:
        """(store filter, how many) of a findings list: one scan's (ReportNotReadyError without a report),
        counted by the tally its document keeps (`findings`, set when they were made: one scan may have
        100,000, and counting them walks as many index entries), or all of the client's."""
        if scan_id is None:
            return None, self.store.count("finding", account)
        scan = self.reported_scan(account, scan_id)
        where = {"scan": scan.id}
        kept = scan.data.get("findings")
        if isinstance(kept, int) and not isinstance(kept, bool):
            return where, kept
        return where, self.store.count("finding", account, where=where)

    def finding_page(
        self, account: str, where: dict[str, Any] | None, offset: int, limit: int | None
    ) -> list[dict[str, Any]]:
        """One page of findings, read from the store (never every finding of the client)."""
        page = self.store.list("finding", account, where=where, offset=offset, limit=limit)
        return [{k: v for k, v in r.data.items() if k != "scan"} for r in page]

    def _report_parts(self, account: str, scan_id: str) -> tuple[dict[str, Any], list[dict[str, Any]]]:
        scan = self.reported_scan(account, scan_id)
        found = [r.data for r in self.store.list("finding", account, where={"scan": scan.id})]
        return {**scan.data, "Name": scan.data.get("Name") or scan.data["ConfigId"]}, found

    def summary_xml(self, account: str, scan_id: str) -> bytes:
        return summary_xml(*self._report_parts(account, scan_id))

    def crawled_links_xml(self, account: str, scan_id: str) -> bytes:
        return crawled_links_xml(*self._report_parts(account, scan_id))

    def report_zip(self, account: str, scan_id: str) -> bytes:
        return report_zip(*self._report_parts(account, scan_id))

    def imported(self, account: str, scan_id: str) -> tuple[bool, str | None]:
        scan = self.engine.read(scan_id, account)
        return self.is_imported(scan), self.status_text(scan.state)

    def errors(self, account: str, scan_id: str) -> list[dict[str, Any]]:
        # The document lists ScanIsNotAllowed only for GetScanErrors: another client's scan answers it
        # there and ScanNotFound everywhere else (INFERENCE).
        scan = self.engine.find(scan_id)
        if scan is None:
            raise ScanNotFoundError(scan_id)
        if scan.account != account:
            raise ScanNotAllowedError(scan_id)
        events: list[dict[str, Any]] = self.engine.observe(scan).data["events"]
        return events

    def list_scans(
        self, account: str, config_ids: list[str] | None
    ) -> tuple[int, Callable[[int, int | None], list[dict[str, Any]]]]:
        """(how many scans match, how to fetch a page of GetScans items), oldest first; counted and
        paged in SQLite on the scan record's `config` key, after the due time-based steps."""
        for config_id in config_ids or []:
            record = self.store.get("config", config_id)
            if record is None or record.account != account:
                raise ConfigNotFoundError(config_id)
        where = {"config": one_of(*config_ids)} if config_ids else None
        self.engine.catch_up()
        total = self.engine.count(account, where=where)

        def fetch(offset: int, limit: int | None) -> list[dict[str, Any]]:
            with self.store.transaction():
                return [
                    self.view(s) for s in self.engine.page(account, where=where, offset=offset, limit=limit)
                ]

        return total, fetch

    def list_keys(self, scan: Scan) -> dict[str, Any]:
        return {"config": scan.data.get("ConfigId")}

    def act(self, account: str, scan_id: str, action: str) -> Scan:
        return self.engine.act(scan_id, account, action)

    def delete_configs_with_scans(self, account: str, config_ids: list[str], delete_report: bool) -> None:
        """DeleteConfigs: with `deleteReport`, the configs' finished scans start deleting with their
        reports (the lifecycle's `delete` trigger, "Deleting All"); the others are left alone (INFERENCE)."""
        self.delete_configs(account, config_ids)
        if not delete_report:
            return
        for scan in self.engine.all(account):
            if scan.data["ConfigId"] in config_ids:
                try:
                    self.engine.act(scan.id, account, "delete")
                except IllegalTransitionError:
                    continue

    def act_all(self, account: str, action: str) -> list[str]:
        """The action on every scan of the client where the lifecycle allows it; ids of those moved."""
        moved = []
        # Only scans in a state the action leaves from (by the state index, after due steps).
        self.engine.catch_up()
        where = {
            "state": one_of(*(s for s in self.lifecycle.states if self.lifecycle.after_action(s, action)))
        }
        for scan in self.engine.page(account, where=where):
            try:
                moved.append(self.engine.act(scan.id, account, action).id)
            except IllegalTransitionError:
                continue
        return moved

    # -- vocabularies (read from the spec, never re-declared) ------------------------------------

    def status_text(self, state: str) -> str | None:
        """GetScanStatus's display string: the first ScanStatusText value that names the state."""
        for value in self.emulator.spec["components"]["schemas"]["ScanStatusText"]["enum"]:
            if self.lifecycle.canonical(value) == state:
                return str(value)
        return None  # ReportRegenerating has no display string in the document

    def status_names(self) -> list[str]:
        return list(self.emulator.spec["components"]["schemas"]["ScanStatusName"]["enum"])

    def status_code(self, scan: Scan) -> int:
        state = scan.state
        if state == "StartDeleteWithReports":
            # A scan being deleted keeps listing as the finished state it was deleted from.
            before = [s for s, _, _ in scan.history if s != state]
            state = before[-1] if before else "Completed"
        by_state = {name: code for code, name in sorted(self.lifecycle.codes.items())}
        return by_state[CODE_FOLD.get(state, state)]

    def action_refusal(self, exc: IllegalTransitionError) -> str:
        shown = self.status_text(exc.state) or exc.state
        return f"Scan cannot be {_ACTION_WORDS.get(exc.action, exc.action)}: its status is '{shown}'"

    def is_imported(self, scan: Scan) -> bool:
        return scan.state == "Completed" and scan.reads >= IMPORT_AFTER_READS

    # -- state ------------------------------------------------------------------------------------

    def on_transition(self, scan: Scan, old: str, new: str, cause: str) -> None:
        now = dotnet_time(self.clock.now())
        d = scan.data
        if cause == "create":
            d.setdefault("StartTime", now)
        if new in ("Running", "Completed", "Stopping", "Failed", "Hanged") and d.get("EngineId") is None:
            d["EngineId"] = d["engine"]
        if new == "Completed":
            d["CompletionTime"] = d.get("CompletionTime") or now
        if new == "Stopped":
            d["StopTime"] = now
            # A stopped scan keeps the report of what it scanned; a canceled one never ran.
            d["stoppedWhileRunning"] = old == "Stopping"
        if (new == "Completed" or d.get("stoppedWhileRunning")) and not d.get("findings"):
            # Findings appear with the report, once per scan, the same ones for the same scan id.
            found = findings_for(scan.id, d["Targets"], now)
            for finding in found:
                self.store.put("finding", finding["Id"], scan.account, {"scan": scan.id, **finding})
            d["findings"] = len(found)
        if new in _EVENTS:
            d.setdefault("events", []).append({"Type": "Error", "Date": now, "Message": _EVENTS[new]})

    def view(self, scan: Scan) -> dict[str, Any]:
        """A GetScans item."""
        d = scan.data
        return {
            "Id": scan.id,
            "EngineGroupId": d["EngineGroupId"],
            "EngineId": d.get("EngineId"),
            "Token": None,
            "Status": self.status_code(scan),
            "StartTime": d.get("StartTime"),
            "WindowsScanStart": None,
            "WindowScanStop": None,
            "StopTime": d.get("StopTime"),
            "CompletionTime": d.get("CompletionTime"),
            "StartedBy": d["StartedBy"],
            "ConfigId": d["ConfigId"],
            "IsApproveRequired": False,
            "IsMonitoring": False,
            "IsUploaded": False,
            "IsImported": self.is_imported(scan),
            "Targets": d["Targets"],
        }
