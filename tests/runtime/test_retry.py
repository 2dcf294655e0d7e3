"""Retries (runtime/retry.py) through a generated client on a respx router: backoff with jitter,
Retry-After, attempt limits, idempotency rules and transport errors. No test sleeps: the ManualTimer
records every computed wait."""

from __future__ import annotations

import asyncio
import importlib
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime
from typing import Any

import httpx
import pytest
import scanwire_runtime.retry

from .conftest import example, package

soda = package("soda")
STATUS = "/api/v1/scans/abc"


def soda_status(state: str = "completed") -> httpx.Response:
    body = {
        "cloudUrl": "https://cloud.soda.io/x",
        "created": "2024-03-22T13:56:26Z",
        "id": "abc",
        "state": state,
    }
    return httpx.Response(200, json=body)


def error(status: int, **headers: str) -> httpx.Response:
    return httpx.Response(status, json={"code": "x", "message": f"HTTP {status}"}, headers=headers)


def test_retry__429_and_503_back_off_exponentially_with_jitter(mocked: Any, timer: Any) -> None:
    client, router = mocked("soda", auth=("id", "secret"))
    route = router.get(STATUS).mock(side_effect=[error(429), error(503), error(502), soda_status()])
    assert client.get_scan("abc").status.raw == "completed"
    assert route.call_count == 4
    policy = soda.RetryPolicy()
    assert len(timer.sleeps) == 3
    for n, wait in enumerate(timer.sleeps, start=1):
        base = policy.initial * 2 ** (n - 1)
        assert base <= wait <= base + policy.jitter


def test_retry__retry_after_seconds_is_honoured(mocked: Any, timer: Any) -> None:
    client, router = mocked("soda", auth=("id", "secret"))
    router.get(STATUS).mock(side_effect=[error(429, **{"Retry-After": "7"}), soda_status()])
    client.get_scan("abc")
    assert timer.sleeps == [7.0]


def test_retry__retry_after_http_date_is_honoured(mocked: Any, timer: Any) -> None:
    client, router = mocked("soda", auth=("id", "secret"))
    when = format_datetime(datetime.now(UTC) + timedelta(seconds=30), usegmt=True)
    router.get(STATUS).mock(side_effect=[error(503, **{"Retry-After": when}), soda_status()])
    client.get_scan("abc")
    assert len(timer.sleeps) == 1 and 27 <= timer.sleeps[0] <= 30


def test_retry__retry_after_beyond_the_cap_is_not_waited_for(mocked: Any, timer: Any) -> None:
    client, router = mocked("soda", auth=("id", "secret"), retry=soda.RetryPolicy(max_retry_after=60))
    route = router.get(STATUS).mock(return_value=error(429, **{"Retry-After": "600"}))
    with pytest.raises(soda.RateLimitedError) as caught:
        client.get_scan("abc")
    assert (route.call_count, timer.sleeps, caught.value.retry_after, caught.value.status) == (
        1,
        [],
        600.0,
        429,
    )


def test_retry__gives_up_after_max_attempts_and_raises_server_error(mocked: Any, timer: Any) -> None:
    policy = soda.RetryPolicy(max_attempts=4, initial=10, max_wait=15, jitter=0)
    client, router = mocked("soda", auth=("id", "secret"), retry=policy)
    route = router.get(STATUS).mock(return_value=error(500))
    with pytest.raises(soda.ServerError) as caught:
        client.get_scan("abc")
    assert route.call_count == 4
    assert timer.sleeps == [10, 15, 15]  # 10, 20 -> capped at max_wait, 40 -> capped
    assert caught.value.status == 500 and caught.value.envelope == {"code": "x", "message": "HTTP 500"}


def test_retry__post_is_not_retried_by_default(mocked: Any, timer: Any) -> None:
    client, router = mocked("soda", auth=("id", "secret"))
    route = router.post("/api/v1/scans").mock(side_effect=[error(503), httpx.Response(201)])
    with pytest.raises(soda.ServerError):
        client.start_scan(scan_definition="nightly")
    assert (route.call_count, timer.sleeps) == (1, [])


def test_retry__post_is_retried_when_the_policy_says_so(mocked: Any, timer: Any) -> None:
    client, router = mocked("soda", auth=("id", "secret"), retry=soda.RetryPolicy(retry_non_idempotent=True))
    started = httpx.Response(201, headers={"X-Soda-Scan-Id": "s1"})
    route = router.post("/api/v1/scans").mock(side_effect=[error(429, **{"Retry-After": "2"}), started])
    assert client.start_scan(scan_definition="nightly").id == "s1"
    assert (route.call_count, timer.sleeps) == (2, [2.0])


def test_retry__request_extension_forces_or_forbids_a_retry(timer: Any) -> None:
    retry = scanwire_runtime.retry
    calls: list[str] = []

    def handler(request: httpx.Request) -> httpx.Response:
        calls.append(request.method)
        return httpx.Response(503) if len(calls) == 1 else httpx.Response(200)

    transport = retry.RetryTransport(httpx.MockTransport(handler), retry.RetryPolicy(jitter=0), timer)
    with httpx.Client(transport=transport, base_url="https://vendor.test") as http:
        forced = http.build_request("POST", "/login", extensions={retry.RETRY_EXTENSION: True})
        assert http.send(forced).status_code == 200
        calls.clear()
        forbidden = http.build_request("GET", "/x", extensions={retry.RETRY_EXTENSION: False})
        assert http.send(forbidden).status_code == 503
    assert calls == ["GET"]


def test_retry__connect_errors_are_retried_even_for_a_post(mocked: Any, timer: Any) -> None:
    client, router = mocked("soda", auth=("id", "secret"))
    started = httpx.Response(201, headers={"X-Soda-Scan-Id": "s1"})
    route = router.post("/api/v1/scans").mock(side_effect=[httpx.ConnectError("refused"), started])
    assert client.start_scan(scan_definition="nightly").id == "s1"
    assert route.call_count == 2 and len(timer.sleeps) == 1


def test_retry__connect_errors_can_be_left_to_the_caller(mocked: Any) -> None:
    client, router = mocked("soda", auth=("id", "secret"), retry=soda.RetryPolicy(retry_connect_errors=False))
    router.post("/api/v1/scans").mock(side_effect=httpx.ConnectError("refused"))
    with pytest.raises(
        soda.APIConnectionError, match=r"triggerScan: POST .* ConnectError: refused"
    ) as caught:
        client.start_scan(scan_definition="nightly")
    # The runtime's own error with httpx's chained (it used to be a bare httpx.ConnectError).
    error = caught.value
    assert isinstance(error, soda.ScanwireError) and not isinstance(error, soda.APITimeoutError)
    assert isinstance(error.__cause__, httpx.ConnectError) and error.cause is error.__cause__


def test_retry__read_timeouts_are_retried_for_get_only(mocked: Any, timer: Any) -> None:
    client, router = mocked("soda", auth=("id", "secret"))
    get = router.get(STATUS).mock(side_effect=[httpx.ReadTimeout("slow"), soda_status()])
    post = router.post("/api/v1/scans").mock(side_effect=httpx.ReadTimeout("slow"))
    assert client.get_scan("abc").status.normalized is soda.NormalizedStatus.SUCCEEDED
    with pytest.raises(soda.APITimeoutError) as caught:
        client.start_scan(scan_definition="nightly")
    assert isinstance(caught.value, soda.APIConnectionError) and isinstance(
        caught.value.__cause__, httpx.ReadTimeout
    )
    assert (caught.value.method, caught.value.url) == ("POST", "https://vendor.test/api/v1/scans")
    assert (get.call_count, post.call_count) == (2, 1)


def test_retry__disabled_policy_sends_each_request_once(mocked: Any, timer: Any) -> None:
    client, router = mocked("soda", auth=("id", "secret"), retry=soda.RetryPolicy.disabled())
    route = router.get(STATUS).mock(return_value=error(503))
    with pytest.raises(soda.ServerError):
        client.get_scan("abc")
    assert (route.call_count, timer.sleeps) == (1, [])


def test_retry__generated_functions_through_raw_are_retried_too(mocked: Any, timer: Any) -> None:
    from soda_client.api.scans import get_scan_status

    client, router = mocked("soda", auth=("id", "secret"))
    router.get(STATUS).mock(side_effect=[error(429, **{"Retry-After": "1"}), soda_status("executing")])
    parsed = get_scan_status.sync("abc", client=client.raw)
    assert parsed is not None and str(parsed.state) == "executing"
    assert timer.sleeps == [1.0]


def test_retry__async_client_honours_retry_after(mocked_async: Any, timer: Any) -> None:
    client, router = mocked_async("soda", auth=("id", "secret"))
    route = router.get(STATUS).mock(
        side_effect=[error(429, **{"Retry-After": "3"}), error(500), soda_status()]
    )

    async def main() -> str:
        async with client:
            return str((await client.get_scan("abc")).status.raw)

    assert asyncio.run(main()) == "completed"
    assert route.call_count == 3 and timer.sleeps[0] == 3.0 and 1.0 <= timer.sleeps[1] <= 1.5


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [({"max_attempts": 0}, "at least 1"), ({"initial": -1}, "negative")],
)
def test_retry__policy_rejects_nonsense(kwargs: dict[str, Any], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        soda.RetryPolicy(**kwargs)


def test_retry__429_on_a_post_is_retried_after_retry_after(mocked: Any, timer: Any) -> None:
    # A 429 was not processed, so a POST may be sent again (it used to come back as RateLimitedError).
    client, router = mocked("soda", auth=("id", "secret"))
    started = httpx.Response(201, headers={"X-Soda-Scan-Id": "s1"})
    route = router.post("/api/v1/scans").mock(side_effect=[error(429, **{"Retry-After": "3"}), started])
    assert client.start_scan(scan_definition="nightly").id == "s1"
    assert (route.call_count, timer.sleeps) == (2, [3.0])


def test_options__per_request_timeout_retry_and_headers_are_never_a_body(mocked: Any, timer: Any) -> None:
    client, router = mocked("soda", auth=("id", "secret"))
    route = router.get(STATUS).mock(side_effect=[error(503), soda_status()])
    quick = client.with_options(timeout=1.5, retry=soda.RetryPolicy.disabled(), headers={"X-Trace": "t1"})
    with pytest.raises(soda.ServerError):
        quick.get_scan("abc")  # the per-request policy: no retry
    assert client.get_scan("abc").status.terminal  # the client's own options are untouched
    first, second = (call.request for call in route.calls)
    assert first.extensions["timeout"] == httpx.Timeout(1.5).as_dict() and first.headers["X-Trace"] == "t1"
    assert first.content == b"" and first.url.query == b""
    assert "X-Trace" not in second.headers and second.extensions["timeout"] == httpx.Timeout(30.0).as_dict()
    with pytest.raises(TypeError, match="unexpected keyword argument 'timout'"):
        client.scans.get_scan_status("abc", timout=1)


# -- a Retry-After that is not a wait (Advalidation: x-rate-limit.retry-after: bucket-size) ----------

adv = package("advalidation")
ADV_LIMIT = adv.VENDOR.spec["extensions"]["x-rate-limit"]
ONE_TOKEN = 1.0 / float(ADV_LIMIT["refill-per-second"])  # the wait for one token of the IP bucket


def adv_limited(**headers: str) -> httpx.Response:
    # What the vendor answers on an empty bucket: Retry-After is the bucket size, whatever the wait.
    bucket = str(ADV_LIMIT["capacity"])
    return httpx.Response(
        429,
        json={"error": {"responseCode": 429, "issues": []}},
        headers={
            "Retry-After": bucket,
            "X-RateLimit-IPLimit": bucket,
            "X-RateLimit-IPRemaining": "0",
            **headers,
        },
    )


def adv_scan() -> httpx.Response:
    return httpx.Response(200, json=example("advalidation-getScan-notes-finished"))


def test_retry__bucket_size_retry_after_waits_one_token_not_the_header(mocked: Any, timer: Any) -> None:
    assert ADV_LIMIT["retry-after"] == "bucket-size" and float(ADV_LIMIT["capacity"]) != ONE_TOKEN
    client, router = mocked("advalidation", auth="key")
    route = router.get("/scans/301").mock(side_effect=[adv_limited(), adv_limited(), adv_scan()])
    assert client.get_scan(301).status.raw == "finished"
    assert (route.call_count, timer.sleeps) == (3, [ONE_TOKEN, ONE_TOKEN])


def test_retry__bucket_size_retry_after_on_a_post_too(mocked: Any, timer: Any) -> None:
    client, router = mocked("advalidation", auth="key")
    rescanned = httpx.Response(200, json=example("advalidation-getScan-notes-queued"))
    route = router.post("/creatives/101/rescan").mock(side_effect=[adv_limited(), rescanned])
    answer = importlib.import_module("advalidation_client.api.scans.rescan_creative").sync_detailed(
        101, client=client.raw
    )
    assert answer.status_code == 200
    assert (route.call_count, timer.sleeps) == (2, [ONE_TOKEN])


def test_retry__bucket_size_rate_limited_error_carries_the_token_wait(mocked: Any, timer: Any) -> None:
    client, router = mocked("advalidation", auth="key", retry=adv.RetryPolicy.disabled())
    router.get("/scans/301").mock(return_value=adv_limited())
    with pytest.raises(adv.RateLimitedError) as caught:
        client.get_scan(301)
    assert (caught.value.status, caught.value.retry_after, timer.sleeps) == (429, ONE_TOKEN, [])


def test_retry__bucket_size_reading_leaves_other_statuses_and_vendors_alone(mocked: Any, timer: Any) -> None:
    # Advalidation's 503 Retry-After is still seconds; Invicti's and Soda's 429 Retry-After are the wait.
    client, router = mocked("advalidation", auth="key")
    router.get("/scans/301").mock(side_effect=[error(503, **{"Retry-After": "15"}), adv_scan()])
    client.get_scan(301)
    inv_client, inv_router = mocked("invicti", auth=("u", "t"))
    limited = httpx.Response(429, json={"Message": "Too many requests."}, headers={"Retry-After": "15"})
    done = httpx.Response(200, json=example("invicti-getScanStatus-notes-complete"))
    inv_router.get("/api/1.0/scans/status/x").mock(side_effect=[limited, done])
    inv_client.get_scan("x")
    soda_client, soda_router = mocked("soda", auth=("id", "secret"))
    soda_router.get(STATUS).mock(side_effect=[error(429, **{"Retry-After": "15"}), soda_status()])
    soda_client.get_scan("abc")
    assert timer.sleeps == [15.0, 15.0, 15.0]


def test_retry__bucket_size_without_retry_after_backs_off_as_usual(mocked: Any, timer: Any) -> None:
    client, router = mocked("advalidation", auth="key", retry=adv.RetryPolicy(jitter=0))
    bare = httpx.Response(429, json={"error": {"responseCode": 429, "issues": []}})
    router.get("/scans/301").mock(side_effect=[bare, adv_scan()])
    client.get_scan(301)
    assert timer.sleeps == [adv.RetryPolicy().initial]


def test_retry__bucket_size_async_client(mocked_async: Any, timer: Any) -> None:
    client, router = mocked_async("advalidation", auth="key")
    route = router.get("/scans/301").mock(side_effect=[adv_limited(), adv_scan()])

    async def main() -> str:
        async with client:
            return str((await client.get_scan(301)).status.raw)

    assert asyncio.run(main()) == "finished"
    assert (route.call_count, timer.sleeps) == (2, [ONE_TOKEN])


def test_retry__policy_that_ignores_retry_after_ignores_the_bucket_size_too(mocked: Any, timer: Any) -> None:
    client, router = mocked(
        "advalidation", auth="key", retry=adv.RetryPolicy(respect_retry_after=False, jitter=0)
    )
    router.get("/scans/301").mock(side_effect=[adv_limited(), adv_scan()])
    client.get_scan(301)
    assert timer.sleeps == [adv.RetryPolicy().initial]


@pytest.mark.parametrize(
    ("raw", "message"),
    [
        (
            {"capacity": 15, "refill-per-second": 1, "retry-after": "minutes"},
            "must be one of seconds, bucket-size",
        ),
        ({"capacity": 15, "retry-after": "bucket-size"}, "needs a positive refill-per-second, not None"),
        (
            {"capacity": 15, "refill-per-second": 0, "retry-after": "bucket-size"},
            "positive refill-per-second",
        ),
    ],
)
def test_retry__retry_after_reading_rejects_a_bad_extension(raw: dict[str, Any], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        scanwire_runtime.errors.RetryAfter.from_rate_limit(raw)
