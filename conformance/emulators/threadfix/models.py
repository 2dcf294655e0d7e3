"""ThreadFix 2.x state: teams' applications and the pending scans uploaded to them. No HTTP here."""

from __future__ import annotations

from typing import Any

from conformance.emulators.core import BadRequestError, ForbiddenError, NotFoundError, Scan, ScanNotFoundError
from conformance.emulators.core.ids import epoch_ms, sequential
from conformance.emulators.core.plugin import Backend

__all__ = [
    "ACCOUNTS",
    "APPLICATIONS",
    "ApplicationNotFoundError",
    "NoFilesError",
    "ScanTypeError",
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


class NoFilesError(BadRequestError):
    """An upload without a file part (UploadScanServiceImpl: "No files selected.", TF-SRC)."""


class ScanTypeError(BadRequestError):
    """A file ThreadFix cannot recognise as any scanner's output (UploadScanServiceImpl, TF-SRC)."""


class ThreadfixBackend(Backend):
    # -- applications -----------------------------------------------------------------------------

    def reset(self) -> None:
        # Runs on every start too (Emulator.__init__): put() keeps existing rows, so a restart keeps state.
        for account, apps in APPLICATIONS.items():
            for app_id, name in apps:
                self.store.put(APP_KIND, str(app_id), account, {"id": app_id, "name": name})

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
        return self._new_scan(account, app_id, [name for name, _ in files], None, None, {})

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
