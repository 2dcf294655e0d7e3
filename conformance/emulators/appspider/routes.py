"""AppSpider HTTP layer: one handler per operation (named by its operationId); the login token auth,
paging and errors are core's, configured by the spec.

Ids documented as `guid[]` arrive as one value or a one-element list, in the query string, a form body
or a JSON body (vendor-notes §3 Request encoding quirks, FACT); they are normalised to lower-case strings
because .NET compares GUIDs case-insensitively.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import urlencode

from starlette.responses import Response

from conformance.emulators.appspider.models import AppSpiderBackend
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
