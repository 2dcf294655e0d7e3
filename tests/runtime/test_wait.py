"""wait_for_scan on respx routers: polls until a terminal state, backs off, keeps to the poll operation's
rate limit, waits out a 429's Retry-After, and on timeout raises ScanTimeoutError with the last state."""

from __future__ import annotations

import asyncio
from typing import Any

import httpx
import pytest

from .conftest import example, package

soda = package("soda")
STATUS = "/api/v1/scans/abc"


def states(*names: str) -> list[httpx.Response]:
    out = []
    for name in names:
        body = example("soda-getScanStatus-notes-started")
        body["state"] = name
        out.append(httpx.Response(200, json=body))
    return out


def test_wait__polls_until_terminal_backing_off(mocked: Any, timer: Any) -> None:
    client, router = mocked("soda", auth=("id", "secret"))
    route = router.get(STATUS).mock(
        side_effect=states("queuing", "executing", "started", "completedWithWarnings")
    )
    final = client.wait_for_scan("abc", timeout=600, poll_interval=2, backoff=1.5)
    assert (final.id, final.status.raw, final.status.normalized, final.status.terminal) == (
        "abc",
        "completedWithWarnings",
        soda.NormalizedStatus.SUCCEEDED,
        True,
    )
    assert type(final.model).__name__ == "PublicApiScanStatusResponse"
    assert route.call_count == 4 and timer.sleeps == [2.0, 3.0, 4.5]


def test_wait__interval_is_capped_by_max_interval(mocked: Any, timer: Any) -> None:
    client, router = mocked("soda", auth=("id", "secret"))
    router.get(STATUS).mock(side_effect=states("queuing", "queuing", "queuing", "failed"))
    final = client.wait_for_scan("abc", poll_interval=10, backoff=2, max_interval=15)
    assert final.status.normalized is soda.NormalizedStatus.FAILED and timer.sleeps == [10, 15, 15]


def test_wait__never_polls_faster_than_the_spec_rate_limit(mocked: Any, timer: Any) -> None:
    # Soda getScanStatus: x-rate-limit 60 requests / 60 s -> at least 1 s between polls.
    client, router = mocked("soda", auth=("id", "secret"))
    router.get(STATUS).mock(side_effect=states("queuing", "executing", "canceled"))
    client.wait_for_scan("abc", poll_interval=0.1, backoff=1)
    assert timer.sleeps == [1.0, 1.0]


def test_wait__document_level_rate_limit_sets_the_floor_too(mocked: Any, timer: Any) -> None:
    # Advalidation: a bucket of 15 refilled 1 token/s per IP (document-level x-rate-limit).
    client, router = mocked("advalidation", auth="key")
    queued, finished = (
        example("advalidation-getScan-notes-queued"),
        example("advalidation-getScan-notes-finished"),
    )
    router.get("/scans/301").mock(
        side_effect=[httpx.Response(200, json=queued), httpx.Response(200, json=finished)]
    )
    assert client.wait_for_scan(301, poll_interval=0).status.raw == "finished"
    assert timer.sleeps == [1.0]


def test_wait__timeout_raises_with_the_last_state(mocked: Any, timer: Any) -> None:
    client, router = mocked("soda", auth=("id", "secret"))
    route = router.get(STATUS).mock(
        side_effect=states("queuing", "executing", "started", "started", "started")
    )
    with pytest.raises(soda.ScanTimeoutError) as caught:
        client.wait_for_scan("abc", timeout=10, poll_interval=4, backoff=1)
    err = caught.value
    assert route.call_count == 4 and timer.sleeps == [4, 4, 2]  # the last poll is at the deadline
    assert (err.scan_id, err.polls, err.elapsed, err.timeout) == ("abc", 4, 10, 10)
    assert err.last is not None and err.last.status.raw == "started"
    assert (
        str(err)
        == "scan abc not finished after 10s (timeout 10s, 4 polls, 0 transient errors retried, last state "
        "running ('started'))"
    )


def test_wait__a_429_that_outlasts_the_retries_is_waited_out(mocked: Any, timer: Any) -> None:
    inv = package("invicti")
    client, router = mocked("invicti", auth=("u", "t"), retry=inv.RetryPolicy.disabled())
    limited = httpx.Response(429, json={"Message": "Too many requests."}, headers={"Retry-After": "20"})
    done = httpx.Response(200, json=example("invicti-getScanStatus-notes-complete"))
    route = router.get("/api/1.0/scans/status/x").mock(side_effect=[limited, done])
    assert client.wait_for_scan("x", poll_interval=5).status.raw == "Complete"
    assert route.call_count == 2 and timer.sleeps == [20.0]


def test_wait__a_bucket_size_retry_after_is_waited_as_one_token(mocked: Any, timer: Any) -> None:
    # Advalidation's 429 says Retry-After: 15, the bucket size (x-rate-limit.retry-after: bucket-size):
    # the waiter waits for one token (1/refill-per-second s), not 15 s.
    adv = package("advalidation")
    limit = adv.VENDOR.spec["extensions"]["x-rate-limit"]
    client, router = mocked("advalidation", auth="key", retry=adv.RetryPolicy.disabled())
    bucket = str(limit["capacity"])
    limited = httpx.Response(
        429, json={"error": {"responseCode": 429, "issues": []}}, headers={"Retry-After": bucket}
    )
    done = httpx.Response(200, json=example("advalidation-getScan-notes-finished"))
    route = router.get("/scans/301").mock(side_effect=[limited, done])
    assert client.wait_for_scan(301, poll_interval=0).status.raw == "finished"
    assert route.call_count == 2 and timer.sleeps == [1.0 / float(limit["refill-per-second"])]


def test_wait__other_errors_end_the_wait_at_once(mocked: Any, timer: Any) -> None:
    client, router = mocked("soda", auth=("id", "secret"))
    gone = httpx.Response(404, json={"code": "not_found", "message": "no such scan"})
    router.get(STATUS).mock(side_effect=[*states("started"), gone])
    with pytest.raises(soda.NotFoundError):
        client.wait_for_scan("abc", poll_interval=1)
    assert len(timer.sleeps) == 1


def test_wait__rejects_nonsense(mocked: Any) -> None:
    client, _ = mocked("soda", auth=("id", "secret"))
    with pytest.raises(ValueError, match="backoff >= 1"):
        client.wait_for_scan("abc", backoff=0.5)


def test_wait__async_timeout(mocked_async: Any, timer: Any) -> None:
    client, router = mocked_async("soda", auth=("id", "secret"))
    router.get(STATUS).mock(side_effect=states("queuing", "queuing", "queuing"))

    async def main() -> None:
        async with client:
            await client.wait_for_scan("abc", timeout=3, poll_interval=1.5, backoff=1)

    with pytest.raises(soda.ScanTimeoutError) as caught:
        asyncio.run(main())
    assert caught.value.polls == 3 and caught.value.last is not None and timer.sleeps == [1.5, 1.5]


def test_wait__each_poll_gets_the_time_left_as_its_timeout(mocked: Any, timer: Any) -> None:
    # The deadline is hard: was 20 s for wait_for_scan(timeout=3) when one poll was slow.
    client, router = mocked("soda", auth=("id", "secret"))
    route = router.get(STATUS).mock(side_effect=states("queuing", "executing", "completed"))
    client.wait_for_scan("abc", timeout=10, poll_interval=4, backoff=1)
    reads = [call.request.extensions["timeout"]["read"] for call in route.calls]
    assert reads == [10.0, 6.0, 2.0]


def test_wait__timeouts_and_connection_errors_are_retried_until_the_deadline(mocked: Any, timer: Any) -> None:
    client, router = mocked("soda", auth=("id", "secret"))
    route = router.get(STATUS).mock(side_effect=httpx.ReadTimeout("slow"))
    with pytest.raises(soda.ScanTimeoutError) as caught:
        client.wait_for_scan("abc", timeout=10, poll_interval=2, backoff=1)
    error = caught.value
    assert (error.elapsed, error.polls, error.errors) == (10, route.call_count, route.call_count)
    assert isinstance(error.last_error, soda.APITimeoutError) and route.call_count == 6


def test_wait__a_burst_of_5xx_is_waited_out_until_the_deadline(mocked: Any, timer: Any) -> None:
    # One burst of 8 x 500 ended a 30 s wait after 8.5 s (the idempotent-request retries gave up first).
    client, router = mocked("soda", auth=("id", "secret"))
    burst = [httpx.Response(500, json={"code": "x", "message": "boom"}) for _ in range(8)]
    route = router.get(STATUS).mock(side_effect=[*burst, *states("completed")])
    final = client.wait_for_scan("abc", timeout=30, poll_interval=1, backoff=1)
    assert final.status.terminal and route.call_count == 9 and sum(timer.sleeps) < 30


def test_wait__5xx_until_the_deadline_is_a_timeout_that_counts_them(mocked: Any, timer: Any) -> None:
    client, router = mocked("soda", auth=("id", "secret"))
    route = router.get(STATUS).mock(return_value=httpx.Response(503, json={"code": "x", "message": "down"}))
    with pytest.raises(soda.ScanTimeoutError) as caught:
        client.wait_for_scan("abc", timeout=30, poll_interval=1, backoff=1)
    error = caught.value
    assert error.elapsed == 30 and error.errors == route.call_count and error.last is None
    assert isinstance(error.last_error, soda.ServerError)
