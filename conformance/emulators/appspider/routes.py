"""AppSpider HTTP layer: one handler per operation (named by its operationId); the login token auth,
paging and errors are core's, configured by the spec.

Ids documented as `guid[]` arrive as one value or a one-element list, in the query string, a form body
or a JSON body (vendor-notes §3 Request encoding quirks, FACT); they are normalised to lower-case strings
because .NET compares GUIDs case-insensitively.
"""

from __future__ import annotations

import email.policy
import json
from email.parser import BytesParser
from typing import Any
from urllib.parse import parse_qs, urlencode

from starlette.responses import Response

from conformance.emulators.appspider.models import ACCOUNTS, AppSpiderBackend
from conformance.emulators.core.errors import BadRequestError
from conformance.emulators.core.http import Call, int_param, json_response, param
from conformance.emulators.core.paging import page_query

AppSpider = Call[AppSpiderBackend]

_OK: dict[str, Any] = {"IsSuccess": True, "ErrorMessage": None, "Reason": None}
_REQUIRED = "Required parameters not provided"


# -- parsing ---------------------------------------------------------------------------------------


def _ids(call: AppSpider, name: str) -> list[str]:
    # param() falls back to the raw query: the actions also take `scanId` there, undeclared (AS-PY).
    value = param(call, name)
    if call.content_type == "application/x-www-form-urlencoded" and name not in call.query:
        # A repeated form field is a list (`configIds=a&configIds=b`); the typed body may keep one.
        sent = parse_qs(call.raw_body.decode("utf-8", "replace")).get(name)
        value = sent if sent and len(sent) > 1 else value
    values = value if isinstance(value, list) else [] if value in (None, "") else [value]
    return [str(v).strip().lower() for v in values if str(v).strip()]


def _maybe_id(call: AppSpider, name: str) -> str | None:
    ids = _ids(call, name)
    if len(ids) > 1:
        raise BadRequestError(f"{name}: one value expected, {len(ids)} given", field=name)
    return ids[0] if ids else None


def _one_id(call: AppSpider, name: str) -> str:
    found = _maybe_id(call, name)
    if found is None:
        raise BadRequestError(_REQUIRED, field=name, rule="required")
    return found


def ok(**fields: Any) -> Response:
    return json_response({**fields, **_OK})


# -- handlers --------------------------------------------------------------------------------------


def login(call: AppSpider) -> Response:
    body = call.body if isinstance(call.body, dict) else {}
    name, password, client_id = body.get("name"), body.get("password"), body.get("clientId")
    if not isinstance(name, str) or not isinstance(password, str):
        raise BadRequestError(_REQUIRED, location="body", rule="required")
    token = call.backend.login(name, password, None if client_id in (None, "") else str(client_id))
    return json_response({"IsSuccess": True, "Token": token, "ErrorMessage": None, "Reason": None})


def get_scans(call: AppSpider) -> Response:
    config_ids = _ids(call, "configId")
    total, fetch = call.backend.list_scans(call.account, config_ids)
    if int_param(call, "page") is None and int_param(call, "pageSize") is None:
        return ok(Scans=fetch(0, None))  # unpaged: the vendor answers every scan
    if int_param(call, "page") is None or int_param(call, "pageSize") is None:
        raise BadRequestError(_REQUIRED, rule="required")  # documented only together (seed 002)
    page = page_query(call, total, fetch)
    links = _links(call, config_ids, page.number, page.size, page.pages)
    return ok(Scans=page.items, TotalCount=page.total, TotalPages=page.pages, Links=links)


def _links(call: AppSpider, config_ids: list[str], page: int, size: int, pages: int) -> list[dict[str, str]]:
    base = f"{call.emulator.prefixes[0]}/Scan/GetScans?"

    def href(number: int) -> str:
        return base + urlencode(
            [*(("configId", c) for c in config_ids), ("page", number), ("pageSize", size)]
        )

    links = [{"Rel": "self", "Href": href(page)}]
    if page > 0 and pages:
        links.append({"Rel": "prev", "Href": href(min(page, pages) - 1)})
    if page < pages - 1:
        links.append({"Rel": "next", "Href": href(page + 1)})
    return links


def run_scan(call: AppSpider) -> Response:
    config_name = param(call, "configName")
    scan = call.backend.run_scan(
        call.account,
        call.extras["user"],
        _maybe_id(call, "configId"),
        None if config_name is None else str(config_name),
    )
    return json_response(
        {"IsSuccess": True, "Scan": call.backend.view(scan), "ErrorMessage": None, "Reason": None}
    )


def _action(action: str) -> Any:
    def handler(call: AppSpider) -> Response:
        call.backend.act(call.account, _one_id(call, "scanId"), action)
        return ok()

    return handler


def _action_all(action: str) -> Any:
    def handler(call: AppSpider) -> Response:
        call.backend.act_all(call.account, action)
        return ok()

    return handler


cancel_scan, pause_scan, resume_scan, stop_scan = map(_action, ("cancel", "pause", "resume", "stop"))
cancel_all_scans, pause_all_scans, resume_all_scans, stop_all_scans = map(
    _action_all, ("cancel", "pause", "resume", "stop")
)


def get_scan_status(call: AppSpider) -> Response:
    return ok(Status=call.backend.status(call.account, _one_id(call, "scanId")))


def is_scan_active(call: AppSpider) -> Response:
    return ok(Result=call.backend.is_active(call.account, _one_id(call, "scanId")))


def is_scan_finished(call: AppSpider) -> Response:
    return ok(Result=call.backend.is_finished(call.account, _one_id(call, "scanId")))


def has_report(call: AppSpider) -> Response:
    return ok(Result=call.backend.has_report(call.account, _one_id(call, "scanId")))


def get_scan_errors(call: AppSpider) -> Response:
    return ok(Events=call.backend.errors(call.account, _one_id(call, "scanId")))


def get_scan_statuses(call: AppSpider) -> Response:
    return ok(Statuses=call.backend.status_names())


def has_scan_imported(call: AppSpider) -> Response:
    imported, status = call.backend.imported(call.account, _one_id(call, "scanId"))
    return ok(IsImported=imported, Status=status)


# -- scan configs, engines, clients ------------------------------------------------------------------


def get_configs(call: AppSpider) -> Response:
    return ok(Configs=call.backend.config_list(call.account))


def get_config(call: AppSpider) -> Response:
    return ok(Config=call.backend.config(call.account, _one_id(call, "id")))


def _client_id(call: AppSpider) -> str:
    return str(ACCOUNTS[call.account]["client_id"])


def _multipart(call: AppSpider) -> tuple[dict[str, str], dict[str, tuple[str, bytes]]]:
    """SaveConfig's multipart parts: (text fields, part name -> (file name, bytes) for file parts). Parsed
    from the raw body because request validation's decoding drops the file names GetAttachment needs."""
    header = f"Content-Type: {call.header('content-type')}\r\n\r\n".encode("latin-1")
    message = BytesParser(policy=email.policy.HTTP).parsebytes(header + call.raw_body)
    if not message.is_multipart():
        raise BadRequestError("multipart body without parts", location="body", rule="decode")
    fields: dict[str, str] = {}
    files: dict[str, tuple[str, bytes]] = {}
    for part in message.iter_parts():
        name = part.get_param("name", header="content-disposition")
        if not isinstance(name, str):
            continue
        raw = part.get_payload(decode=True)
        payload = raw if isinstance(raw, bytes) else b""
        file_name = part.get_filename()
        if file_name:
            files[name] = (file_name, payload)
        else:
            fields[name] = payload.decode("utf-8", "replace")
    return fields, files


def _config_json(text: Any) -> dict[str, Any]:
    """PyAppSpider's `Config` part: `{Name, EngineGroupId, ClientId, Id, ..., Xml}` as form-field names."""
    try:
        doc = json.loads(text.decode() if isinstance(text, bytes) else str(text))
    except (ValueError, UnicodeDecodeError):
        raise BadRequestError("Config: not a JSON object", field="Config", rule="decode") from None
    if not isinstance(doc, dict):
        raise BadRequestError("Config: not a JSON object", field="Config", rule="type")
    return {k[:1].lower() + k[1:]: v for k, v in doc.items()}


def save_config(call: AppSpider) -> Response:
    files: dict[str, tuple[str, bytes]] = {}
    if call.content_type == "multipart/form-data":
        parts, files = _multipart(call)
        fields = _config_json(parts.pop("Config")) if "Config" in parts else {}
        fields.update(parts)
    else:
        fields = dict(call.body) if isinstance(call.body, dict) else {}
    if "xml" not in fields and "scanconfigxml" in fields:  # Rapid7's Jenkins plugin name (AS-JENK)
        fields["xml"] = fields.pop("scanconfigxml")
    config = call.backend.save_config(call.account, _client_id(call), fields)
    for file_type, (file_name, content) in files.items():
        # A file part is attached under its part name (the file type) and its file name (INFERENCE).
        call.backend.attach(call.account, config["Id"], file_type, file_name, content)
    return ok()


def delete_configs(call: AppSpider) -> Response:
    config_ids = _ids(call, "configIds")
    if not config_ids:
        raise BadRequestError(_REQUIRED, field="configIds", rule="required")
    delete_report = param(call, "deleteReport")
    call.backend.delete_configs_with_scans(
        call.account, config_ids, delete_report is True or str(delete_report).lower() == "true"
    )
    return ok()


def get_attachment(call: AppSpider) -> Response:
    config_id, file_name, file_type = (param(call, n) for n in ("configId", "fileName", "fileType"))
    if config_id in (None, "") or not file_name or not file_type:
        raise BadRequestError(_REQUIRED, rule="required")
    content = call.backend.attachment(call.account, str(config_id), str(file_type), str(file_name))
    return _file(content, "application/octet-stream", str(file_name))


def get_engine_groups_for_client(call: AppSpider) -> Response:
    return ok(EngineGroups=call.backend.engine_groups(call.account))


def get_all_engine_groups(call: AppSpider) -> Response:
    return ok(EngineGroups=call.backend.engine_groups(None))


def get_engines(call: AppSpider) -> Response:
    return ok(Engines=call.backend.engines())


def get_clients(call: AppSpider) -> Response:
    return json_response({"Clients": call.backend.clients_of(call.extras["user"]), **_OK, "Links": []})


def get_client(call: AppSpider) -> Response:
    name = param(call, "clientName")
    if name in (None, ""):
        raise BadRequestError(_REQUIRED, field="clientName", rule="required")
    return ok(Client=call.backend.client(call.extras["user"], str(name)))


# -- findings and reports ------------------------------------------------------------------------------


def get_vulnerabilities(call: AppSpider) -> Response:
    where, total = call.backend.finding_listing(call.account, _maybe_id(call, "scanId"))
    page, size = int_param(call, "page"), int_param(call, "pageSize")
    if page is None and size is None:
        return ok(Findings=call.backend.finding_page(call.account, where, 0, None), TotalCount=total)
    if page is None or size is None:
        raise BadRequestError(_REQUIRED, rule="required")  # only together, as paged GetScans
    result = page_query(
        call, total, lambda offset, limit: call.backend.finding_page(call.account, where, offset, limit)
    )
    return ok(Findings=result.items, TotalCount=total, TotalPages=result.pages)


def _file(content: bytes, media_type: str, file_name: str) -> Response:
    disposition = f'attachment; filename="{file_name}"'
    return Response(content, media_type=media_type, headers={"Content-Disposition": disposition})


def get_vulnerabilities_summary_xml(call: AppSpider) -> Response:
    return Response(call.backend.summary_xml(call.account, _one_id(call, "scanId")), media_type="text/xml")


def get_report_zip(call: AppSpider) -> Response:
    content = call.backend.report_zip(call.account, _one_id(call, "scanId"))
    return _file(content, "application/zip", "ReportAllFiles.zip")


def get_crawled_links_xml(call: AppSpider) -> Response:
    return Response(
        call.backend.crawled_links_xml(call.account, _one_id(call, "scanId")), media_type="text/xml"
    )
