"""The cross-vendor workflow helpers `iter_findings(scan)` and `download_report(scan, path, format=)`, read
from the lifecycle's `findings` and `report` roles. The vendors' own end-to-end jobs run them against the
emulators; here a vendor's spec data gets the two roles on operations it already has, so each rule of the
plumbing (paging or `items`, fixed params, format, streaming, errors, no partial file) is checked alone
against a respx router."""

from __future__ import annotations

import asyncio
import copy
from pathlib import Path
from typing import Any

import appspider_client
import httpx
import pytest
import respx
from scanwire_runtime import APIConnectionError, ApiError, NotFoundError
from scanwire_runtime.client import REPORT_ERROR_LIMIT, Vendor

BASE = "https://vendor.test"
ERRORS = {
    "Events": [{"Type": "Error", "Message": "crawler died", "Date": "/Date(1700000000000)/"}] * 3,
    "IsSuccess": True,
    "ErrorMessage": None,
    "Reason": None,
}
REPORT = bytes(range(256)) * 2048  # 512 KiB: several chunks


def vendor(
    findings: dict[str, Any] | None = None, report: dict[str, Any] | None = None, *, unpaged: bool = False
) -> Vendor[Any, Any]:
    spec = copy.deepcopy(appspider_client.VENDOR.spec)
    ops = spec["lifecycle"]["operations"]
    ops["findings"] = findings or {
        "operation": "GET /Scan/GetScanErrors",
        "id": {"in": "query", "name": "scanId"},
    }
    # GetScans stands in for a report operation: it has query parameters to carry the format and params.
    ops["report"] = report or {
        "operation": "GET /Scan/GetScans",
        "id": {"in": "query", "name": "configId"},
        "format": {"in": "query", "name": "pageSize"},
        "params": {"page": 3},
    }
    if unpaged:
        del spec["operations"]["getScanErrors"]["x-scanwire-paging"]
    return Vendor(
        spec,
        "appspider_client",
        appspider_client.VENDOR.client_class,
        appspider_client.VENDOR.async_client_class,
    )


def connect(v: Vendor[Any, Any], router: respx.Router) -> Any:
    return v.connect(
        BASE,
        auth=("u", "p"),
        transport=httpx.MockTransport(router.handler),
        timer=appspider_client.ManualTimer(),
    )


@pytest.fixture
def router() -> respx.Router:
    r = respx.Router(base_url=appspider_client.VENDOR.base_url(BASE), assert_all_called=False)
    r.post("/Authentication/Login").respond(json={"IsSuccess": True, "Token": "t0k"})
    return r


def test_iter_findings__typed_items_through_the_operations_paging(router: respx.Router) -> None:
    route = router.get("/Scan/GetScanErrors").respond(json=ERRORS)
    with connect(vendor(), router) as client:
        found = list(client._iter_findings("s-1"))
    assert [f.message for f in found] == ["crawler died"] * 3  # generated models, not dicts
    assert route.calls.last.request.url.params["scanId"] == "s-1"


def test_iter_findings__items_pointer_of_the_role_for_an_unpaged_operation(router: respx.Router) -> None:
    router.get("/Scan/GetScanErrors").respond(json=ERRORS)
    role = {
        "operation": "GET /Scan/GetScanErrors",
        "id": {"in": "query", "name": "scanId"},
        "items": {"in": "body", "pointer": "/Events"},
    }
    with connect(vendor(role, unpaged=True), router) as client:
        found = list(client._iter_findings("s-1"))
    assert [f.message for f in found] == ["crawler died"] * 3  # typed by the spec data's items-attribute


def test_download_report__streams_to_the_path_with_format_and_fixed_params(
    router: respx.Router, tmp_path: Path
) -> None:
    route = router.get("/Scan/GetScans").respond(content=REPORT, headers={"Content-Type": "application/zip"})
    with connect(vendor(), router) as client:
        path = client._download_report("cfg-9", tmp_path / "report.zip", "7")
    assert path == tmp_path / "report.zip" and path.read_bytes() == REPORT
    params = route.calls.last.request.url.params
    assert (params["configId"], params["pageSize"], params["page"]) == ("cfg-9", "7", "3")
    assert list(tmp_path.iterdir()) == [path]


def test_download_report__a_format_for_a_one_format_report_is_a_type_error(
    router: respx.Router, tmp_path: Path
) -> None:
    role = {"operation": "GET /Scan/GetScans", "id": {"in": "query", "name": "configId"}}
    with connect(vendor(report=role), router) as client, pytest.raises(TypeError, match="one format"):
        client._download_report("cfg-9", tmp_path / "r.xml", "pdf")


def test_download_report__an_error_status_raises_typed_and_writes_nothing(
    router: respx.Router, tmp_path: Path
) -> None:
    body = {"IsSuccess": False, "ErrorMessage": "no such config", "Reason": "x" * (3 * REPORT_ERROR_LIMIT)}
    router.get("/Scan/GetScans").respond(404, json=body)
    with connect(vendor(), router) as client, pytest.raises(NotFoundError):
        client._download_report("cfg-9", tmp_path / "r.zip")
    assert list(tmp_path.iterdir()) == []


def test_download_report__an_error_envelope_with_200_raises_and_writes_nothing(
    router: respx.Router, tmp_path: Path
) -> None:
    router.get("/Scan/GetScans").respond(200, json={"IsSuccess": False, "ErrorMessage": "report not ready"})
    with connect(vendor(), router) as client, pytest.raises(ApiError, match="report not ready"):
        client._download_report("cfg-9", tmp_path / "r.json")
    assert list(tmp_path.iterdir()) == []


def test_download_report__a_json_report_is_kept(router: respx.Router, tmp_path: Path) -> None:
    router.get("/Scan/GetScans").respond(200, json={"IsSuccess": True, "Findings": [1, 2]})
    with connect(vendor(), router) as client:
        path = client._download_report("cfg-9", tmp_path / "r.json")
    assert b'"Findings"' in path.read_bytes()


class _BreaksOff(httpx.SyncByteStream):
    def __iter__(self) -> Any:
        yield REPORT[:70000]
        raise httpx.ReadError("connection reset")


def test_download_report__a_connection_lost_mid_file_leaves_no_partial_file(
    router: respx.Router, tmp_path: Path
) -> None:
    router.get("/Scan/GetScans").mock(
        return_value=httpx.Response(200, headers={"Content-Type": "application/zip"}, stream=_BreaksOff())
    )
    with (
        connect(vendor(), router) as client,
        pytest.raises(APIConnectionError, match="connection reset") as caught,
    ):
        client._download_report("cfg-9", tmp_path / "r.zip")
    assert isinstance(caught.value.__cause__, httpx.ReadError)
    assert list(tmp_path.iterdir()) == []


def test_async_helpers(router: respx.Router, tmp_path: Path) -> None:
    router.get("/Scan/GetScanErrors").respond(json=ERRORS)
    router.get("/Scan/GetScans").respond(content=REPORT, headers={"Content-Type": "application/zip"})

    async def run() -> tuple[list[Any], Path]:
        v = vendor()
        async with v.connect_async(
            BASE,
            auth=("u", "p"),
            transport=httpx.MockTransport(router.async_handler),
            timer=appspider_client.ManualTimer(),
        ) as client:
            found = [f async for f in client._iter_findings("s-1")]
            return found, await client._download_report("cfg-9", tmp_path / "a.zip")

    found, path = asyncio.run(run())
    assert len(found) == 3 and path.read_bytes() == REPORT
