"""Page iterators (runtime/paging.py + each vendor's x-scanwire-paging) on respx routers: where pages
start, how the answer says there is more, typed items, and that an empty page always ends the loop."""

from __future__ import annotations

import asyncio
from typing import Any

import httpx

from .conftest import example, package


def invicti_page(number: int, ids: list[str], has_next: bool) -> dict[str, Any]:
    page = example("invicti-listScans-notes-first-page")
    template = page["List"][0]
    page.update(
        PageNumber=number,
        HasNextPage=has_next,
        IsLastPage=not has_next,
        List=[{**template, "Id": i} for i in ids],
    )
    return page


def test_invicti__pages_start_at_1_and_stop_when_has_next_page_is_false(mocked: Any) -> None:
    client, router = mocked("invicti", auth=("user", "token"))
    pages = {
        1: invicti_page(1, ["a", "b"], True),
        2: invicti_page(2, ["c", "d"], True),
        3: invicti_page(3, ["e"], False),
    }
    route = router.get("/api/1.0/scans/list").mock(
        side_effect=lambda request: httpx.Response(200, json=pages[int(request.url.params["page"])])
    )
    scans = list(client.iter_scans(page_size=2))
    assert [s.id for s in scans] == ["a", "b", "c", "d", "e"]
    assert type(scans[0]).__name__ == "ScanTaskModel"
    assert [dict(c.request.url.params) for c in route.calls] == [
        {"page": str(n), "pageSize": "2"} for n in (1, 2, 3)
    ]


def test_invicti__a_paged_operation_through_its_resource(mocked: Any) -> None:
    client, router = mocked("invicti", auth=("user", "token"))
    route = router.get("/api/1.0/scans/listbystate").mock(
        return_value=httpx.Response(200, json=invicti_page(1, ["a"], False))
    )
    state = package("invicti").models.ScanTaskState.COMPLETE
    page = client.scans.list_scans_by_state(scan_task_state=state, page_size=5)
    assert [s.id for s in page.list_] == ["a"] and type(page).__name__ == "ScanTaskListApiResult"
    assert dict(route.calls.last.request.url.params) == {
        "scanTaskState": "Complete",
        "page": "1",
        "pageSize": "5",
    }


def appspider_page(number: int, total_pages: int, count: int) -> dict[str, Any]:
    page = example("appspider-getScans-seed-paged")
    template = page["Scans"][0]
    page["Scans"] = [
        {**template, "Id": f"0e6c2b71-9d4a-4c3f-b8e2-6f1a5d7c9b{number}{i}"} for i in range(count)
    ]
    page["TotalPages"] = total_pages
    return page


def test_appspider__pages_start_at_0_and_stop_at_total_pages(mocked: Any) -> None:
    aps = package("appspider")
    client, router = mocked("appspider", auth=aps.HeaderAuth("Authorization", "Basic t"))
    route = router.get("/Scan/GetScans").mock(
        side_effect=lambda request: httpx.Response(
            200, json=appspider_page(int(request.url.params["page"]), 3, 2)
        )
    )
    scans = list(client.iter_scans())
    assert len(scans) == 6 and type(scans[0]).__name__ == "Scan"
    assert [dict(c.request.url.params) for c in route.calls] == [
        {"page": str(n), "pageSize": "100"} for n in (0, 1, 2)
    ]


def test_appspider__events_come_in_one_answer(mocked: Any) -> None:
    aps = package("appspider")
    client, router = mocked("appspider", auth=aps.HeaderAuth("Authorization", "Basic t"))
    body = example("appspider-getScanErrors-seed-events")
    route = router.get("/Scan/GetScanErrors").mock(return_value=httpx.Response(200, json=body))
    events = list(client.iter_scan_logs("0e6c2b71-9d4a-4c3f-b8e2-6f1a5d7c9b23"))
    assert len(events) == len(body["Events"]) > 0 and type(events[0]).__name__ == "ScanErrorEvent"
    assert route.call_count == 1
    assert route.calls.last.request.url.params["scanId"] == "0e6c2b71-9d4a-4c3f-b8e2-6f1a5d7c9b23"


def soda_page(number: int, last: bool, count: int) -> dict[str, Any]:
    page = example("soda-getScanLogs-notes-single-page")
    entry = page["content"][0]
    page.update(
        number=number,
        last=last,
        first=number == 0,
        content=[{**entry, "index": number * 100 + i} for i in range(count)],
    )
    return page


def test_soda__logs_pages_start_at_0_and_stop_when_last(mocked: Any) -> None:
    client, router = mocked("soda", auth=("id", "secret"))
    route = router.get("/api/v1/scans/abc/logs").mock(
        side_effect=[
            httpx.Response(200, json=soda_page(0, False, 100)),
            httpx.Response(200, json=soda_page(1, True, 5)),
        ]
    )
    entries = list(client.iter_scan_logs("abc", page_size=100))
    assert [e.index for e in entries] == list(range(105))
    assert [dict(c.request.url.params) for c in route.calls] == [
        {"page": "0", "size": "100"},
        {"page": "1", "size": "100"},
    ]


def test_an_empty_page_ends_the_iteration_whatever_the_flags_say(mocked: Any) -> None:
    client, router = mocked("soda", auth=("id", "secret"))
    route = router.get("/api/v1/scans/abc/logs").mock(
        side_effect=[
            httpx.Response(200, json=soda_page(0, False, 3)),
            httpx.Response(200, json=soda_page(1, False, 0)),
        ]
    )
    assert len(list(client.iter_scan_logs("abc"))) == 3 and route.call_count == 2


def test_async_iteration(mocked_async: Any) -> None:
    client, router = mocked_async("invicti", auth=("user", "token"))
    pages = {1: invicti_page(1, ["a"], True), 2: invicti_page(2, ["b"], False)}
    router.get("/api/1.0/scans/list").mock(
        side_effect=lambda request: httpx.Response(200, json=pages[int(request.url.params["page"])])
    )

    async def main() -> list[str]:
        async with client:
            return [scan.id async for scan in client.iter_scans()]

    assert asyncio.run(main()) == ["a", "b"]
