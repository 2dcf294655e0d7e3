"""Soda Cloud HTTP layer: one handler per operation (named by its operationId), each parses, calls one
backend method and serialises. Auth (HTTP Basic key id / secret), paging and errors are core's."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from starlette.responses import Response

from conformance.emulators.core.errors import BadRequestError
from conformance.emulators.core.http import Call, json_response
from conformance.emulators.core.paging import Page, page_query
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


def _spring(page: Page[Any]) -> Response:
    """Soda's Spring page envelope (every list of the API)."""
    pages = max(1, page.pages)  # Spring's Page: an empty list is one empty page
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


def _paged(call: Soda, listing: tuple[int, Callable[[int, int], list[Any]]]) -> Response:
    return _spring(page_query(call, *listing))


def _text(call: Soda, name: str) -> str | None:
    value = call.query.get(name)
    return str(value) if value not in (None, "") else None


def _json_object(call: Soda) -> dict[str, Any]:
    if not isinstance(call.body, dict):
        raise BadRequestError("a JSON object body is required", location="body")
    return call.body


def get_scan_logs(call: Soda) -> Response:
    return _paged(call, call.backend.logs(call.account, call.path_params["scanId"]))


def list_checks(call: Soda) -> Response:
    check_ids = call.query.get("checkIds")
    if check_ids is not None:
        others = sorted({"page", "size", "datasetId"} & set(call.raw_query))
        if others:
            raise BadRequestError(
                f"checkIds can't be combined with other query parameters ({', '.join(others)})",
                field="checkIds",
                location="query",
            )
    return _paged(call, call.backend.checks_page(call.account, _text(call, "datasetId"), check_ids))


def list_datasets(call: Soda) -> Response:
    listing = call.backend.datasets_page(
        call.account, _text(call, "from"), _text(call, "datasourceName"), _text(call, "search")
    )
    return _paged(call, listing)


def list_dataset_attributes(call: Soda) -> Response:
    return _paged(call, call.backend.attributes_page(call.account))


def list_dataset_roles(call: Soda) -> Response:
    return _paged(call, call.backend.roles_page(call.account))


def update_dataset(call: Soda) -> Response:
    dataset_id = call.path_params["datasetId"]
    return json_response(call.backend.update_dataset(call.account, dataset_id, _json_object(call)))


def delete_dataset(call: Soda) -> Response:
    return json_response(call.backend.delete_dataset(call.account, call.path_params["datasetId"]))


def get_dataset_profiling(call: Soda) -> Response:
    return json_response(call.backend.profiling(call.account, call.path_params["datasetId"]))


def get_dataset_metric_monitoring(call: Soda) -> Response:
    return json_response(call.backend.metric_monitoring(call.account, call.path_params["datasetId"]))


def get_dataset_diagnostics_warehouse(call: Soda) -> Response:
    return json_response(call.backend.diagnostics_warehouse(call.account, call.path_params["datasetId"]))


def list_dataset_responsibilities(call: Soda) -> Response:
    return _paged(call, call.backend.responsibilities(call.account, call.path_params["datasetId"]))


def update_dataset_responsibilities(call: Soda) -> Response:
    dataset_id = call.path_params["datasetId"]
    call.backend.replace_responsibilities(call.account, dataset_id, _json_object(call))
    location = f"{call.base_url}/api/v1/datasets/{dataset_id}/responsibilities"
    return Response(status_code=201, headers={"Location": location})


def update_incident(call: Soda) -> Response:
    incident_id = call.path_params["incidentId"]
    return json_response(call.backend.update_incident(call.account, incident_id, _json_object(call)))


def list_users(call: Soda) -> Response:
    return _paged(call, call.backend.users_page(call.account, _text(call, "search")))


def list_user_groups(call: Soda) -> Response:
    return _paged(call, call.backend.groups_page(call.account, _text(call, "search")))


def create_user_group(call: Soda) -> Response:
    # 200 as the spec declares (its description text says 201: x-note on the operation).
    group_id = call.backend.create_group(call.account, _json_object(call))
    return Response(status_code=200, headers={"Location": f"{call.base_url}/api/v1/userGroups/{group_id}"})


def get_user_group(call: Soda) -> Response:
    return json_response(call.backend.get_group(call.account, call.path_params["userGroupId"]))


def update_user_group(call: Soda) -> Response:
    group_id = call.path_params["userGroupId"]
    return json_response(call.backend.update_group(call.account, group_id, _json_object(call)))


def delete_user_group(call: Soda) -> Response:
    call.backend.delete_group(call.account, call.path_params["userGroupId"])
    return json_response({})


def test_login(call: Soda) -> Response:
    return json_response(call.backend.test_login(call.account))
