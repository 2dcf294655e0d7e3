"""ThreadFix 2.x HTTP layer: one handler per operation (named by its operationId), and the checks Spring's
request mapping makes before a controller (and its API key check) runs. The `APIKEY` header, its legacy
`?apiKey=` form and the errors are core's, configured by the spec."""

from __future__ import annotations

import re
from email.message import EmailMessage
from email.parser import BytesParser
from email.policy import HTTP

from starlette.responses import Response

from conformance.emulators.core.http import Call, path_int
from conformance.emulators.threadfix.errors import UnrecognizedPathError, envelope
from conformance.emulators.threadfix.models import NoFilesError, ThreadfixBackend

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
    if call.operation == UPLOAD:
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
