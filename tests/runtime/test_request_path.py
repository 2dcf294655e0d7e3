"""The runtime's request path shortcuts (bench/bench_client_overhead.py) keep httpx's and json's behaviour:
JSON answers are decoded with msgspec but accept exactly what json.loads accepts, the operation URL joined
by the runtime is the URL httpx would build, and cookies set by an answer are still kept and sent."""

from __future__ import annotations

import json
from typing import Any

import httpx
import pytest
from scanwire_runtime.errors import decode_json

from .conftest import example, package


@pytest.mark.parametrize(
    "content",
    [
        b'{"a": 1, "b": [true, null, 2.5, "\\u00e9"]}',
        b"123456789012345678901234567890",  # beyond 64 bits
        b'{"a": 1, "a": 2}',  # duplicate key: the last wins, as in json.loads
        b"NaN",  # json.loads extensions msgspec refuses
        b"[1e400, -Infinity]",
        b'"\\ud800"',  # a lone surrogate
        b"\xef\xbb\xbf{}",  # a UTF-8 byte order mark
    ],
)
def test_decode__accepts_what_json_loads_accepts(content: bytes) -> None:
    response = httpx.Response(200, content=content, headers={"Content-Type": "application/json"})
    decoded, value = decode_json(response)
    assert decoded
    expected = json.loads(content)
    assert json.dumps(value) == json.dumps(expected) and type(value) is type(expected)


@pytest.mark.parametrize("content", [b"{", b"<html></html>", b'{"a": 1} x', b"\xff\xfe"])
def test_decode__refuses_what_json_loads_refuses(content: bytes) -> None:
    response = httpx.Response(200, content=content, headers={"Content-Type": "application/json"})
    assert decode_json(response) == (False, None)


@pytest.mark.parametrize(
    ("vendor", "base_url", "url", "params"),
    [
        ("invicti", "https://vendor.test", "/api/1.0/scans/detail/a%2Fb", None),
        ("invicti", "https://vendor.test/", "/api/1.0/scans/detail/../x/./y", None),
        ("invicti", "https://vendor.test", "/api/1.0/scans/list", {"page": 2, "pageSize": 10}),
        ("appspider", "https://vendor.test", "/Scan/GetScanStatus", {"scanId": "é ?&"}),
        ("appspider", "https://vendor.test/custom/base/", "/Scan/GetScans", None),
        ("soda", "http://127.0.0.1:8080", "/api/v1/scans/%C3%A9", None),
        # Paths the PathJoiner leaves to httpx: what the parse would change, and what it must refuse.
        ("soda", "http://127.0.0.1:8080", "/api/v1/scans/%c3%a9", None),
        ("soda", "http://127.0.0.1:8080", "/api/v1/scans/%zz", None),
        ("soda", "http://127.0.0.1:8080", "/api/v1/scans/a b:c@d[e]", None),
        ("soda", "http://127.0.0.1:8080", "/api/v1/scans/.", None),
        ("soda", "http://127.0.0.1:8080", "/api/v1/scans/..%2F/..", None),
        ("soda", "http://127.0.0.1:8080", "/api/v1//scans/", None),
        ("soda", "HTTPS://User:P%40ss@Vendor.TEST:443/a/", "/api/v1/scans/x", None),
        ("soda", "http://[::1]:8080/base", "/api/v1/scans/x", None),
        ("soda", "https://bücher.example/", "/api/v1/scans/x", None),
        ("soda", "https://vendor.test/a%20b/", "/api/v1/scans/" + "x" * 3000, None),
        ("invicti", "https://vendor.test", "/api/1.0/scans/list", {}),
        ("invicti", "https://vendor.test", "/api/1.0/scans/list", {"a": []}),
        ("invicti", "https://vendor.test", "/api/1.0/scans/list", {"q": "a b", "flag": False, "n": [1.5, 2]}),
    ],
)
def test_request__joined_url_is_the_url_httpx_builds(
    vendor: str, base_url: str, url: str, params: dict[str, Any] | None
) -> None:
    client = package(vendor).connect(base_url, auth=("a",) * len(package(vendor).VENDOR.credentials()))
    try:
        kwargs: dict[str, Any] = {"method": "get", "url": url}
        if params is not None:
            kwargs["params"] = params
        ours = client._request(client.http, dict(kwargs))
        theirs = client.http.build_request(**kwargs)
        assert ours.url == theirs.url and str(ours.url).startswith(client.base_url)
        parts = ("scheme", "userinfo", "host", "port", "raw_path", "query", "fragment", "netloc")
        assert [getattr(ours.url, p) for p in parts] == [getattr(theirs.url, p) for p in parts]
        assert ours.headers.raw == theirs.headers.raw
    finally:
        client.close()


def test_request__cookies_set_by_an_answer_are_kept_and_sent(mocked: Any) -> None:
    client, router = mocked("soda", auth=("id", "secret"))
    status = {
        "cloudUrl": "https://cloud.soda.io/x",
        "created": "2024-03-22T13:56:26Z",
        "id": "abc",
        "state": "completed",
    }
    route = router.get(url__regex=r"/api/v1/scans/abc$").mock(
        side_effect=[
            httpx.Response(200, json=status),
            httpx.Response(200, json=status, headers={"Set-Cookie": "session=s1; Path=/"}),
            httpx.Response(200, json=status),
        ]
    )
    for _ in range(3):
        client.get_scan("abc")
    first, second, third = (call.request for call in route.calls)
    assert "cookie" not in first.headers and "cookie" not in second.headers
    assert third.headers["cookie"] == "session=s1"
    assert dict(client.http.cookies) == {"session": "s1"}


def test_generated_parser__decodes_like_response_json_and_reuses_the_runtime_body() -> None:
    from invicti_client.api.scans import get_scan_status
    from invicti_client.client import Client
    from scanwire_runtime.errors import DECODED_BODY, response_json

    raw = Client(base_url="https://vendor.test")
    for content in (
        b'{"State": "Queued", "x": NaN}',
        b"\xef\xbb\xbf{}",
        b'{"CompletedSteps": 12345678901234567890}',
    ):
        response = httpx.Response(200, content=content)
        assert json.dumps(response_json(response)) == json.dumps(response.json())
    broken = httpx.Response(200, content=b"{")
    with pytest.raises(json.JSONDecodeError):
        get_scan_status._parse_response(client=raw, response=broken)
    decoded = httpx.Response(200, content=b"not even json")
    decoded.extensions[DECODED_BODY] = example("invicti-getScanStatus-notes-queued")
    assert str(get_scan_status._parse_response(client=raw, response=decoded).state) == "Queued"


def test_path_joiner__builds_plain_paths_and_leaves_the_rest_to_httpx() -> None:
    from scanwire_runtime.urls import PathJoiner

    base = "https://vendor.test/AppSpiderEnterprise/rest/v1"
    join = PathJoiner(base + "/")
    assert join.fast
    built = join.url("/Scan/GetScanStatus/a%2Fb-c_d.e~f", {"scanId": "é ?&", "n": [1, 2], "x": None})
    assert isinstance(built, httpx.URL)
    expected = httpx.URL(
        base + "/Scan/GetScanStatus/a%2Fb-c_d.e~f", params={"scanId": "é ?&", "n": [1, 2], "x": None}
    )
    assert (str(built), built.raw_path) == (str(expected), expected.raw_path)
    assert str(join.url("/x", {})) == base + "/x" and join.url("/x", {}).query == b""  # type: ignore[union-attr]
    for path in ("/x/../y", "/x/./y", "/x/%zz", "/x/%2f", "/x y", "/x?q=1", "/x#f", "/x:y", "/" + "x" * 5000):
        assert join.url(path) is None, path
    assert join.url("/x", {"a": []}) is None  # httpx writes "/x?" for it
    # A base URL whose query or fragment the joined URL would have to drop: every URL parsed by httpx.
    assert not PathJoiner("https://vendor.test/base?tenant=1").fast
    assert PathJoiner("https://vendor.test/base?tenant=1").url("/x") is None


def test_typed_call__decoded_body_is_not_left_on_the_response(mocked: Any) -> None:
    """The body goes to the generated parser through the response's extensions and is taken off again
    (an httpx.Response lives until the cyclic collector runs); the answer and the model still have it."""
    from scanwire_runtime.errors import DECODED_BODY

    client, router = mocked("invicti", auth=("user", "token"))
    body = example("invicti-getScanStatus-notes-queued")
    router.get(url__regex=r"/api/1.0/scans/status/abc$").mock(return_value=httpx.Response(200, json=body))
    raw = client.with_raw_response.scans.get_scan_status("abc")
    assert str(raw.parsed.state) == "Queued"
    assert DECODED_BODY not in raw.http_response.extensions
    scan = client.get_scan("abc")
    assert scan.body == body and str(scan.model.state) == "Queued"


def test_request__query_parameters_of_the_httpx_client_are_still_merged() -> None:
    client = package("invicti").connect("https://vendor.test", auth=("u", "t"))
    try:
        client.http.params = {"tenant": "t1"}
        kwargs: dict[str, Any] = {"method": "get", "url": "/api/1.0/scans/list", "params": {"page": 2}}
        ours = client._request(client.http, dict(kwargs))
        assert ours.url == client.http.build_request(**kwargs).url
        assert ours.url.params["tenant"] == "t1" and ours.url.params["page"] == "2"
    finally:
        client.close()


def test_typed_call__url_built_by_the_runtime_is_retried_with_auth_and_headers(
    mocked: Any, timer: Any
) -> None:
    """A typed method's request (URL and query made by PathJoiner) is retried after a 503 (Retry-After
    honoured), carries the Basic credentials and the per-request headers on every attempt."""
    client, router = mocked("invicti", auth=("user", "token"))
    route = router.get(url__regex=r"/api/1.0/scans/list").mock(
        side_effect=[
            httpx.Response(503, headers={"Retry-After": "2"}),
            httpx.Response(200, json=example("invicti-listScans-notes-first-page")),
        ]
    )
    answer = client.with_options(headers={"X-Trace": "t1"}).scans.list_scans(page=3, page_size=7)
    assert answer.list_ is not None
    assert route.call_count == 2 and timer.sleeps == [2.0]
    expected = httpx.URL("https://vendor.test/api/1.0/scans/list", params={"page": 3, "pageSize": 7})
    basic = httpx.BasicAuth("user", "token")._auth_header
    for call in route.calls:
        assert call.request.url == expected and call.request.url.query == b"page=3&pageSize=7"
        assert call.request.headers["Authorization"] == basic and call.request.headers["X-Trace"] == "t1"
