"""ThreadFix 2.x HTTP layer: one handler per operation (named by its operationId), and the checks Spring's
request mapping makes before a controller (and its API key check) runs. The `APIKEY` header, its legacy
`?apiKey=` form and the errors are core's, configured by the spec."""

from __future__ import annotations

import re
from email.message import EmailMessage
from email.parser import BytesParser
from email.policy import HTTP
from typing import Any

from starlette.responses import Response

from conformance.emulators.core.errors import BadRequestError
from conformance.emulators.core.http import Call, param, path_int
from conformance.emulators.core.paging import page_query
from conformance.emulators.threadfix.errors import UnrecognizedPathError, envelope
from conformance.emulators.threadfix.models import NoFilesError, TeamNotFoundError, ThreadfixBackend

__all__ = ["PREFIXES", "multipart_files"]

Threadfix = Call[ThreadfixBackend]
# A URL without the version segment is an implicit `legacy` call (vendor-notes §4 FACT).
PREFIXES = ["/threadfix/rest"]

# `latest`, `legacy` or a 2.x release (`v2.4`, `v2.7.7`); anything else has no controller (vendor-notes
# §4 "API Versioning", FACT). No segment at all is the implicit legacy form.
VERSION = re.compile(r"latest|legacy|v2(\.\d+)+")
_JSON_RANGES = ("*/*", "application/*", "application/json")
UPLOAD_STARTED = "Scan upload process started."  # vendor-notes §4 FACT (TF-DOC Upload Scan)
UPLOAD = "POST /applications/{appId}/upload"
UPLOAD_MULTI = "POST /applications/{appId}/upload/multi"
DELETE_QUEUED = "Successfully queued scan to be deleted."  # vendor-notes-workflow §4 T11 FACT


def route_check(call: Threadfix) -> None:
    """What Spring's mapping decides before the API key is looked at: the catch-all wins these."""
    version = call.path_params.get("version")
    if version is not None and not VERSION.fullmatch(version):
        raise UnrecognizedPathError(f"unknown API version {version!r}")
    if not _accepts_json(call.header("accept")):
        # Controllers map with headers="Accept=application/json", which Spring treats as a produces
        # condition: no Accept (= */*) matches, an Accept that excludes JSON falls through to the
        # catch-all /rest/** 404 (TF-SRC ApplicationRestController, INFERENCE for the Pro build).
        raise UnrecognizedPathError("Accept excludes application/json")


def check_body(call: Threadfix) -> None:
    """A body openapi-core's multipart decoder must not see (it asserts instead of reporting)."""
    if call.operation in (UPLOAD, UPLOAD_MULTI):
        _check_multipart(call)


def _check_multipart(call: Threadfix) -> None:
    # openapi-core's multipart decoder asserts (a crash, not a finding) on a body without parts or a
    # part without a name, so such bodies are refused before validation runs: no file reaches Spring's
    # file map either ("No files selected.", UploadScanServiceImpl, TF-SRC).
    content_type = call.header("content-type") or ""
    if not content_type.lower().startswith("multipart/"):
        return
    message = _parse_multipart(content_type, call.raw_body)
    if not message.is_multipart() or any(
        part.get_param("name", header="content-disposition") is None for part in message.iter_parts()
    ):
        raise NoFilesError("No files selected.")


def _accepts_json(accept: str | None) -> bool:
    if accept is None or not accept.strip():
        return True
    ranges = [part.split(";")[0].strip().lower() for part in accept.split(",")]
    return any(r in _JSON_RANGES or r.endswith("+json") for r in ranges)


def multipart_files(call: Threadfix) -> list[tuple[str, bytes]]:
    """(original file name, content) of every file part, whatever its field name.

    Spring's `MultipartRequest.getMultiFileMap()` yields every part that carries a filename (TF-SRC
    ApplicationRestController.uploadScan); openapi-core's multipart decoding drops the filename, so the
    raw body is read again here with the standard library's MIME parser.
    """
    content_type = call.header("content-type") or ""
    if not content_type.lower().startswith("multipart/form-data"):
        return []
    message = _parse_multipart(content_type, call.raw_body)
    if not message.is_multipart():
        return []
    files = []
    for part in message.iter_parts():
        name = part.get_filename()
        if name is not None:
            payload = part.get_payload(decode=True)
            files.append((name, payload if isinstance(payload, bytes) else b""))
    return files


def _parse_multipart(content_type: str, body: bytes) -> EmailMessage:
    head = b"Content-Type: " + content_type.encode("latin-1", "replace") + b"\r\n\r\n"
    message = BytesParser(policy=HTTP).parsebytes(head + body)
    assert isinstance(message, EmailMessage)  # policy HTTP builds EmailMessage objects
    return message


def upload_scan(call: Threadfix) -> Response:
    app_id = path_int(call, "appId")
    scan = call.backend.upload_scan(call.account, app_id, multipart_files(call))
    # The link is versioned since 2.8.8 (FACT); it repeats the prefix the client called (INFERENCE), so
    # an implicit-legacy client gets an unversioned link it can follow.
    version = call.path_params.get("version")
    prefix = "/threadfix/rest" + (f"/{version}" if version else "")
    href = f"{call.base_url}{prefix}/applications/{app_id}/pendingScan/{scan.id}/status"
    return envelope(UPLOAD_STARTED, "", links=[{"method": "GET", "rel": "related", "href": href}])


def get_pending_scan_status(call: Threadfix) -> Response:
    pending = call.backend.pending_scan(
        call.account, path_int(call, "appId"), path_int(call, "pendingScanId")
    )
    # The top-level message repeats scanMessage (seed 003 sample output).
    return envelope(pending, pending["scanMessage"])


# -- teams, applications, scans, vulnerabilities (vendor-notes-workflow §4, T1-T14) ----------------


def _status_link(call: Threadfix, app_id: int, pending_id: str) -> list[dict[str, str]]:
    version = call.path_params.get("version")
    prefix = "/threadfix/rest" + (f"/{version}" if version else "")
    href = f"{call.base_url}{prefix}/applications/{app_id}/pendingScan/{pending_id}/status"
    return [{"method": "GET", "rel": "related", "href": href}]


def _text(call: Threadfix, name: str) -> str | None:
    value = param(call, name)
    return None if value is None else str(value)


def _bounded_int(call: Threadfix, name: str, default: int, low: int, high: int | None) -> int:
    raw = param(call, name)
    if raw is None or raw == "":
        return default
    try:
        value = int(raw)
    except (TypeError, ValueError):
        raise BadRequestError(
            f"{name} must be an integer, not {raw!r}", field=name, location="query"
        ) from None
    if value < low or (high is not None and value > high):
        span = f"between {low} and {high}" if high is not None else f"at least {low}"
        raise BadRequestError(f"{name} must be {span}, not {value}", field=name, location="query")
    return value


def get_all_teams(call: Threadfix) -> Response:
    backend = call.backend
    total, fetch = backend.teams(call.account)
    page = page_query(call, total, fetch)
    if total == 0:
        raise TeamNotFoundError("No organizations found.")
    return envelope([backend.team_view(t, call.account) for t in page.items])


def get_team_by_id(call: Threadfix) -> Response:
    team = call.backend.team(call.account, path_int(call, "teamId"))
    return envelope(call.backend.team_view(team, call.account))


def lookup_team(call: Threadfix) -> Response:
    team = call.backend.team_by_name(call.account, _text(call, "name") or "")
    return envelope(call.backend.team_view(team, call.account))


def create_team(call: Threadfix) -> Response:
    team = call.backend.create_team(call.account, _text(call, "name"))
    return envelope(call.backend.team_view(team, call.account))


def create_application(call: Threadfix) -> Response:
    form = call.body if isinstance(call.body, dict) else {}
    app = call.backend.create_application(call.account, path_int(call, "teamId"), dict(form))
    return envelope(call.backend.application_view(app))


def get_application_by_id(call: Threadfix) -> Response:
    app = call.backend.application(call.account, path_int(call, "appId"))
    return envelope(call.backend.application_view(app))


def lookup_application(call: Threadfix) -> Response:
    app = call.backend.lookup_application(
        call.account, str(call.path_params["teamName"]), _text(call, "name"), _text(call, "uniqueId")
    )
    return envelope(call.backend.application_view(app))


def lookup_applications_in_all_teams(call: Threadfix) -> Response:
    apps = call.backend.applications_by_unique_id(call.account, _text(call, "uniqueId") or "")
    return envelope([call.backend.application_view(a) for a in apps])


def list_scans(call: Threadfix) -> Response:
    return envelope(call.backend.scans_of(call.account, path_int(call, "appId")))


def get_scan_details(call: Threadfix) -> Response:
    return envelope(call.backend.scan_details(call.account, path_int(call, "scanId")))


def delete_scan(call: Threadfix) -> Response:
    pending = call.backend.delete_imported_scan(call.account, path_int(call, "scanId"))
    links = _status_link(call, pending.data["appId"], pending.id)
    return envelope(DELETE_QUEUED, "", links=links)


def upload_multiple_scans(call: Threadfix) -> Response:
    app_id = path_int(call, "appId")
    scan = call.backend.upload_multi(call.account, app_id, multipart_files(call))
    return envelope(UPLOAD_STARTED, "", links=_status_link(call, app_id, scan.id))


def search_vulnerabilities(call: Threadfix) -> Response:
    where: dict[str, Any] = {}
    for name, key in (
        ("teams[0].id", "team"),
        ("applications[0].id", "app"),
        ("genericSeverities[0].intValue", "severity"),
    ):
        if param(call, name) not in (None, ""):
            where[key] = _bounded_int(call, name, 0, 1, None)
    for name in ("path", "parameter"):
        if _text(call, name):
            where[name] = _text(call, name)
    size = _bounded_int(call, "numberVulnerabilities", 10000, 1, 10000)
    number = _bounded_int(call, "page", 1, 1, None)
    total, fetch = call.backend.search_vulnerabilities(call.account, where)
    offset = (number - 1) * size
    return envelope(fetch(offset, size) if offset < total else [])


def download_scan(call: Threadfix) -> Response:
    name, content = call.backend.scan_file(
        call.account, path_int(call, "scanId"), _text(call, "scanFileName")
    )
    safe = name.replace('"', "")
    return Response(
        content,
        media_type="application/octet-stream",
        headers={"Content-Disposition": f'attachment; filename="{safe}"'},
    )
