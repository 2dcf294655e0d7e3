"""Soda Cloud HTTP layer: one handler per operation (named by its operationId), each parses, calls one
backend method and serialises. Auth (HTTP Basic key id / secret), paging and errors are core's."""

from __future__ import annotations

from starlette.responses import Response

from conformance.emulators.core.errors import BadRequestError
from conformance.emulators.core.http import Call, json_response
from conformance.emulators.core.paging import page_of
from conformance.emulators.soda.models import SodaBackend

Soda = Call[SodaBackend]


def trigger_scan(call: Soda) -> Response:
    if not isinstance(call.body, dict):
        raise BadRequestError(
            "a form body (application/x-www-form-urlencoded) with scanDefinition is required", location="body"
        )
    scan = call.backend.trigger_scan(
        call.account, call.body.get("scanDefinition"), call.body.get("dataTimestamp")
    )
    location = f"{call.base_url}/api/v1/scans/{scan.id}"
    return Response(status_code=201, headers={"Location": location, "X-Soda-Scan-Id": scan.id})


def get_scan_status(call: Soda) -> Response:
    return json_response(call.backend.status(call.account, call.path_params["scanId"]))


def cancel_scan(call: Soda) -> Response:
    scan = call.backend.cancel(call.account, call.path_params["scanId"])
    return Response(status_code=200, headers={"Location": f"{call.base_url}/api/v1/scans/{scan.id}"})


def get_scan_logs(call: Soda) -> Response:
    page = page_of(call, call.backend.logs(call.account, call.path_params["scanId"]))
    pages = max(1, page.pages)  # Spring's Page: an empty log is one empty page
    return json_response(
        {
            "content": page.items,
            "first": page.index == 0,
            "last": page.index >= pages - 1,
            "number": page.number,
            "size": page.size,
            "totalElements": page.total,
            "totalPages": pages,
        }
    )


def test_login(call: Soda) -> Response:
    return json_response(call.backend.test_login(call.account))
