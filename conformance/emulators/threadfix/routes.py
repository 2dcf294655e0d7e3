"""ThreadFix 2.x HTTP layer: parse, call one backend method, serialise. Keyed by the spec's paths."""

from __future__ import annotations

import re
from email.message import EmailMessage
from email.parser import BytesParser
from email.policy import HTTP
from typing import Any

from starlette.responses import Response

from conformance.emulators.core import AuthError, BadRequestError, Call
from conformance.emulators.threadfix.errors import UnrecognizedPathError, envelope
from conformance.emulators.threadfix.models import NoFilesError

__all__ = ["ROUTES", "authenticate", "check_body", "multipart_files"]

# `latest`, `legacy` or a 2.x release (`v2.4`, `v2.7.7`); anything else has no controller (vendor-notes
# §4 "API Versioning", FACT). No segment at all is the implicit legacy form.
VERSION = re.compile(r"latest|legacy|v2(\.\d+)+")
_JSON_RANGES = ("*/*", "application/*", "application/json")
UPLOAD_STARTED = "Scan upload process started."  # vendor-notes §4 FACT (TF-DOC Upload Scan)
UPLOAD = "POST /applications/{appId}/upload"


def authenticate(call: Call) -> str:
    """Route checks the catch-all would win, then `Authorization: APIKEY <key>` (or legacy `?apiKey=`)."""
    version = call.path_params.get("version")
    if version is not None and not VERSION.fullmatch(version):
        raise UnrecognizedPathError(f"unknown API version {version!r}")
    if not _accepts_json(call.header("accept")):
        # Controllers map with headers="Accept=application/json", which Spring treats as a produces
        # condition: no Accept (= */*) matches, an Accept that excludes JSON falls through to the
        # catch-all /rest/** 404 (TF-SRC ApplicationRestController, INFERENCE for the Pro build).
        raise UnrecognizedPathError("Accept excludes application/json")
    key = _api_key(call)
    for account, creds in call.emulator.plugin.accounts.items():
        if key == creds["api_key"]:
            return account
    raise AuthError("API key not found", kind="unknown")


def check_body(call: Call) -> None:
    """Plugin.check_body: what must be refused before the spec validation sees the body."""
    if call.operation == UPLOAD:
        _check_multipart(call)


def _check_multipart(call: Call) -> None:
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


def _api_key(call: Call) -> str:
    raw = call.header("authorization")
    if raw is not None:
        # RFC 9110 auth schemes are case-insensitive (INFERENCE: the docs only show `APIKEY`).
        scheme, _, value = raw.strip().partition(" ")
        if scheme.upper() != "APIKEY" or not value.strip():
            raise AuthError("Authorization must be `APIKEY <key>`", kind="invalid")
        return value.strip()
    # Older/community servers read request.getParameter("apiKey") (vendor-notes §4 FACT); a blank one
    # is the same failure as none (TF-SRC TFRestController.checkKey).
    legacy = call.query.get("apiKey")
    if isinstance(legacy, list):
        legacy = legacy[0]
    if not isinstance(legacy, str) or not legacy.strip():
        raise AuthError("no API key", kind="missing")
    return legacy.strip()


def _accepts_json(accept: str | None) -> bool:
    if accept is None or not accept.strip():
        return True
    ranges = [part.split(";")[0].strip().lower() for part in accept.split(",")]
    return any(r in _JSON_RANGES or r.endswith("+json") for r in ranges)


def _int(call: Call, name: str) -> int:
    value: Any = call.path_params[name]
    if isinstance(value, int):
        return value
    try:
        return int(str(value))
    except ValueError:
        raise BadRequestError(f"path parameter {name} must be an integer, not {value!r}") from None


def multipart_files(call: Call) -> list[tuple[str, bytes]]:
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


def upload_scan(call: Call) -> Response:
    app_id = _int(call, "appId")
    scan = call.backend.upload_scan(call.account, app_id, multipart_files(call))
    # The link is versioned since 2.8.8 (FACT); it repeats the prefix the client called (INFERENCE), so
    # an implicit-legacy client gets an unversioned link it can follow.
    version = call.path_params.get("version")
    prefix = "/threadfix/rest" + (f"/{version}" if version else "")
    href = f"{call.base_url}{prefix}/applications/{app_id}/pendingScan/{scan.id}/status"
    return envelope(UPLOAD_STARTED, "", links=[{"method": "GET", "rel": "related", "href": href}])


def get_pending_scan_status(call: Call) -> Response:
    pending = call.backend.pending_scan(call.account, _int(call, "appId"), _int(call, "pendingScanId"))
    # The top-level message repeats scanMessage (seed 003 sample output).
    return envelope(pending, pending["scanMessage"])


ROUTES = {
    UPLOAD: upload_scan,
    "GET /applications/{appId}/pendingScan/{pendingScanId}/status": get_pending_scan_status,
}
