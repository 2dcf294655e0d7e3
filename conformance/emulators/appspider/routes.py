"""AppSpider HTTP layer: parse, call one backend method, serialise. Keyed by the spec's own paths.

Ids documented as `guid[]` arrive as one value or a one-element list, in the query string, a form body
or a JSON body (vendor-notes §3 Request encoding quirks, FACT); they are normalised to lower-case strings
because .NET compares GUIDs case-insensitively.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import urlencode

from starlette.responses import Response

from conformance.emulators.core import BadRequestError, Call, json_response
from conformance.emulators.core.auth import header_value
from conformance.emulators.core.http import param

__all__ = ["ROUTES", "authenticate"]

_OK: dict[str, Any] = {"IsSuccess": True, "ErrorMessage": None, "Reason": None}
_REQUIRED = "Required parameters not provided"


def authenticate(call: Call) -> str:
    """`Authorization: Basic <raw login token>` (vendor-notes §3, FACT); the account is the token's client."""
    account, user = call.backend.resolve_token(header_value(call, "Authorization", "Basic"))
    call.extras["user"] = user
    return str(account)


# -- parsing ---------------------------------------------------------------------------------------


def _ids(call: Call, name: str) -> list[str]:
    # param() falls back to the raw query: the actions also take `scanId` there, undeclared (AS-PY).
    value = param(call, name)
    values = value if isinstance(value, list) else [] if value in (None, "") else [value]
    return [str(v).strip().lower() for v in values if str(v).strip()]


def _one_id(call: Call, name: str, *, required: bool = True) -> str | None:
    ids = _ids(call, name)
    if len(ids) > 1:
        raise BadRequestError(f"{name}: one value expected, {len(ids)} given")
    if not ids and required:
        raise BadRequestError(_REQUIRED)
    return ids[0] if ids else None


def _int(call: Call, name: str) -> int | None:
    value = call.query.get(name, call.raw_query.get(name))
    if value is None:
        return None
    try:
        number = int(value)
    except (TypeError, ValueError):
        raise BadRequestError(f"{name} must be an integer") from None
    if number < (1 if name == "pageSize" else 0):
        raise BadRequestError(f"{name} is out of range")
    return number


def ok(**fields: Any) -> Response:
    return json_response({**fields, **_OK})


# -- handlers --------------------------------------------------------------------------------------


def login(call: Call) -> Response:
    body = call.body if isinstance(call.body, dict) else {}
    name, password, client_id = body.get("name"), body.get("password"), body.get("clientId")
    if not isinstance(name, str) or not isinstance(password, str):
        raise BadRequestError(_REQUIRED)
    token = call.backend.login(name, password, None if client_id in (None, "") else str(client_id))
    return json_response({"IsSuccess": True, "Token": token, "ErrorMessage": None, "Reason": None})


def get_scans(call: Call) -> Response:
    page, size = _int(call, "page"), _int(call, "pageSize")
    if (page is None) != (size is None):
        raise BadRequestError(_REQUIRED)
    config_ids = _ids(call, "configId")
    result = call.backend.list_scans(call.account, config_ids, page, size)
    if page is not None and size is not None:
        result["Links"] = _links(call, config_ids, page, size, result["TotalPages"])
    return ok(**result)


def _links(call: Call, config_ids: list[str], page: int, size: int, pages: int) -> list[dict[str, str]]:
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


def run_scan(call: Call) -> Response:
    config_name = param(call, "configName")
    scan = call.backend.run_scan(
        call.account,
        call.extras["user"],
        _one_id(call, "configId", required=False),
        None if config_name is None else str(config_name),
    )
    return json_response(
        {"IsSuccess": True, "Scan": call.backend.view(scan), "ErrorMessage": None, "Reason": None}
    )


def _action(action: str) -> Any:
    def handler(call: Call) -> Response:
        call.backend.act(call.account, _one_id(call, "scanId"), action)
        return ok()

    handler.__name__ = f"{action}_scan"
    return handler


def _action_all(action: str) -> Any:
    def handler(call: Call) -> Response:
        call.backend.act_all(call.account, action)
        return ok()

    handler.__name__ = f"{action}_all_scans"
    return handler


def get_scan_status(call: Call) -> Response:
    return ok(Status=call.backend.status(call.account, _one_id(call, "scanId")))


def is_scan_active(call: Call) -> Response:
    return ok(Result=call.backend.is_active(call.account, _one_id(call, "scanId")))


def is_scan_finished(call: Call) -> Response:
    return ok(Result=call.backend.is_finished(call.account, _one_id(call, "scanId")))


def has_report(call: Call) -> Response:
    return ok(Result=call.backend.has_report(call.account, _one_id(call, "scanId")))


def get_scan_errors(call: Call) -> Response:
    return ok(Events=call.backend.errors(call.account, _one_id(call, "scanId")))


def get_scan_statuses(call: Call) -> Response:
    return ok(Statuses=call.backend.status_names())


def has_scan_imported(call: Call) -> Response:
    imported, status = call.backend.imported(call.account, _one_id(call, "scanId"))
    return ok(IsImported=imported, Status=status)


ROUTES = {
    "POST /Authentication/Login": login,
    "GET /Scan/GetScans": get_scans,
    "POST /Scan/RunScan": run_scan,
    "POST /Scan/CancelScan": _action("cancel"),
    "POST /Scan/PauseScan": _action("pause"),
    "POST /Scan/ResumeScan": _action("resume"),
    "POST /Scan/StopScan": _action("stop"),
    "POST /Scan/PauseAllScans": _action_all("pause"),
    "POST /Scan/ResumeAllScans": _action_all("resume"),
    "POST /Scan/StopAllScans": _action_all("stop"),
    "POST /Scan/CancelAllScans": _action_all("cancel"),
    "GET /Scan/GetScanStatus": get_scan_status,
    "GET /Scan/IsScanActive": is_scan_active,
    "GET /Scan/IsScanFinished": is_scan_finished,
    "GET /Scan/HasReport": has_report,
    "GET /Scan/GetScanErrors": get_scan_errors,
    "GET /Scan/GetScanStatuses": get_scan_statuses,
    "GET /Scan/HasScanImported": has_scan_imported,
}
