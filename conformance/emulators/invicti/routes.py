"""Invicti HTTP layer: one handler per operation (named by its operationId); Basic auth, paging and errors
are core's, configured by the spec."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from starlette.responses import Response

from conformance.emulators.core.http import Call, header_of, json_response, set_headers
from conformance.emulators.core.paging import page_query
from conformance.emulators.core.ratelimit import Verdict
from conformance.emulators.invicti import reports
from conformance.emulators.invicti.errors import CONTENT_TYPE, HEADERS, action_of
from conformance.emulators.invicti.models import POLICY, PROFILE, WEBSITE, InvictiBackend

Invicti = Call[InvictiBackend]


def _json(body: object) -> Response:
    return json_response(body, media_type=CONTENT_TYPE)


def _int32(value: int) -> int:
    """`value` as a 32-bit two's-complement int holds it (what C# unchecked int arithmetic gives)."""
    return (value + 2**31) % 2**32 - 2**31


def _paged(call: Invicti, listing: tuple[int, Callable[[int, int], list[dict[str, Any]]]]) -> Response:
    """A ScanTaskListApiResult: PagedList's fields (an empty list has PageCount 0 and LastItemOnPage 0);
    `listing` is (how many, how to fetch a page): only the asked page is read from the store."""
    page = page_query(call, *listing)
    # The vendor computes these in a .NET int (unchecked): beyond 2**31 - 1 they wrap, as here, and never
    # leave the spec's int32 (INFERENCE: PagedList arithmetic in C#'s default unchecked context).
    first = _int32(page.offset + 1)
    last = _int32(first + page.size - 1)
    return _json(
        {
            "FirstItemOnPage": first,
            "HasNextPage": page.has_next,
            "HasPreviousPage": page.index > 0,
            "IsFirstPage": page.index == 0,
            "IsLastPage": page.index >= page.pages - 1,
            "LastItemOnPage": page.total if last > page.total else last,
            "List": page.items,
            "PageCount": page.pages,
            "PageNumber": page.number,
            "PageSize": page.size,
            "TotalItemCount": page.total,
        }
    )


def get_scan_detail(call: Invicti) -> Response:
    return _json(call.backend.detail(call.account, call.path_params["id"]))


def get_scan_status(call: Invicti) -> Response:
    return _json(call.backend.status(call.account, call.path_params["id"]))


def list_scans(call: Invicti) -> Response:
    return _paged(call, call.backend.list_scans(call.account))


def list_scans_by_state(call: Invicti) -> Response:
    q = call.query
    listing = call.backend.list_scans(
        call.account,
        state=q["scanTaskState"],
        start=q.get("startDate"),
        end=q.get("endDate"),
        target=q.get("targetUrlCriteria"),
    )
    return _paged(call, listing)


def cancel_scan(call: Invicti) -> Response:
    """cancel / pause / resume: the body is the bare scan id; the answer a bare result code."""
    action = action_of(call)
    assert action is not None  # routed only for the lifecycle's action operations
    return _json(call.backend.act(call.account, call.body, action))


pause_scan = resume_scan = cancel_scan


def new_scan(call: Invicti) -> Response:
    """201 with an array of ScanTaskModel, even for one scan (vendor-notes-workflow §2 FACT)."""
    return json_response(call.backend.launch(call.account, call.body or {}), 201, media_type=CONTENT_TYPE)


def get_scan_result(call: Invicti) -> Response:
    return _json(call.backend.findings(call.account, call.path_params["id"]))


def get_scan_report(call: Invicti) -> Response:
    """The report file with its format's media type, as an attachment (INFERENCE for all but Html)."""
    q = call.query
    fmt = str(q["format"])
    content = call.backend.report(call.account, str(q["id"]), fmt)
    name = f"{q['type']}-{q['id']}.{fmt.lower()}"
    media = reports.MEDIA_TYPES[fmt]
    if media.startswith("text/") or media.endswith(("xml", "json")):
        media += "; charset=utf-8"
    headers = {"Content-Disposition": f'attachment; filename="{name}"'}
    return Response(content, media_type=media, headers=headers)


def delete_scans(call: Invicti) -> Response:
    return _json(call.backend.delete(call.account, [str(i) for i in call.body]))


def new_scan_with_profile(call: Invicti) -> Response:
    body = call.body
    scan = call.backend.launch_with_profile(call.account, str(body["ProfileName"]), str(body["TargetUri"]))
    return json_response(scan, 201, media_type=CONTENT_TYPE)


def new_scan_from_scan(call: Invicti) -> Response:
    scan = call.backend.launch_like(call.account, str(call.body), "Full", complete=False)
    return json_response(scan, 201, media_type=CONTENT_TYPE)


def new_incremental_scan(call: Invicti) -> Response:
    scan = call.backend.launch_like(call.account, str(call.body["BaseScanId"]), "Incremental", complete=True)
    return json_response(scan, 201, media_type=CONTENT_TYPE)


def new_retest_scan(call: Invicti) -> Response:
    scan = call.backend.launch_like(call.account, str(call.body["BaseScanId"]), "Retest", complete=True)
    return json_response(scan, 201, media_type=CONTENT_TYPE)


def list_scans_by_website(call: Invicti) -> Response:
    q = call.query
    descending = q.get("initiatedDateSortType") == "Descending"
    return _paged(
        call, call.backend.list_by_website(call.account, q.get("websiteUrl"), q.get("targetUrl"), descending)
    )


def download_scan_file(call: Invicti) -> Response:
    scan_id = str(call.query["scanId"])
    content = call.backend.scan_file(call.account, scan_id)
    headers = {"Content-Disposition": f'attachment; filename="{scan_id}.zip"'}
    return Response(content, media_type="application/octet-stream", headers=headers)


def find_scan_profile(call: Invicti) -> Response:
    return _json(call.backend.find_profile(call.account, str(call.query["name"])))


def get_scan_profile(call: Invicti) -> Response:
    return _json(call.backend.profile(call.account, str(call.path_params["id"])))


def list_websites(call: Invicti) -> Response:
    return _paged(call, call.backend.listing(WEBSITE, call.account))


def list_scan_profiles(call: Invicti) -> Response:
    return _paged(call, call.backend.listing(PROFILE, call.account))


def list_scan_policies(call: Invicti) -> Response:
    return _paged(call, call.backend.listing(POLICY, call.account))


def get_website(call: Invicti) -> Response:
    return _json(call.backend.website(call.account, str(call.path_params["id"])))


def find_website(call: Invicti) -> Response:
    return _json(call.backend.find_website(call.account, str(call.query["query"])))


def new_website(call: Invicti) -> Response:
    return json_response(call.backend.new_website(call.account, call.body), 201, media_type=CONTENT_TYPE)


def update_website(call: Invicti) -> Response:
    return _json(call.backend.update_website(call.account, call.body))


def delete_website(call: Invicti) -> Response:
    return _json(call.backend.delete_website(call.account, str(call.body["RootUrl"])))


def decorate(call: Invicti, response: Response, verdict: Verdict | None) -> Response:
    set_headers(response, HEADERS)
    content_type = header_of(response, "content-type") or ""
    if content_type.startswith("application/json") and content_type != CONTENT_TYPE:
        response.headers["Content-Type"] = CONTENT_TYPE
    return response
