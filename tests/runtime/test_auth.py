"""Authentication (runtime/auth.py + each vendor's x-scanwire-auth) on respx routers: header and Basic
schemes, AppSpider's login token with re-login on expiry, and credential checking."""

from __future__ import annotations

import asyncio
import base64
import json
from typing import Any

import httpx
import pytest

from .conftest import example, package

aps = package("appspider")
SCAN = "0e6c2b71-9d4a-4c3f-b8e2-6f1a5d7c9b23"


def login_ok(token: str) -> httpx.Response:
    body = example("appspider-login-notes-token")
    body["Token"] = token
    return httpx.Response(200, json=body)


def running() -> httpx.Response:
    return httpx.Response(200, json=example("appspider-getScanStatus-notes-running"))


def expired() -> httpx.Response:
    return httpx.Response(
        401,
        json={
            "IsSuccess": False,
            "ErrorMessage": "Authorization token is invalid or expired",
            "Reason": "InvalidCredentials",
        },
    )


def test_appspider__logs_in_once_and_sends_the_raw_token(mocked: Any) -> None:
    client, router = mocked("appspider", auth=("scanner-ci", "pw"))
    login = router.post("/Authentication/Login").mock(return_value=login_ok("T1"))
    status = router.get("/Scan/GetScanStatus").mock(return_value=running())
    client.get_scan(SCAN)
    client.get_scan(SCAN)
    assert login.call_count == 1 and json.loads(login.calls.last.request.content) == {
        "name": "scanner-ci",
        "password": "pw",
    }
    assert [c.request.headers["Authorization"] for c in status.calls] == ["Basic T1", "Basic T1"]


def test_appspider__expired_token_logs_in_again_and_repeats_the_request(mocked: Any) -> None:
    client, router = mocked("appspider", auth=("scanner-ci", "pw"))
    login = router.post("/Authentication/Login").mock(side_effect=[login_ok("T1"), login_ok("T2")])
    sent: list[str] = []  # read at send time: the repeated request is the same object, re-headed
    answers = iter([running(), expired(), running()])
    router.get("/Scan/GetScanStatus").mock(
        side_effect=lambda r: sent.append(r.headers["Authorization"]) or next(answers)
    )
    client.get_scan(SCAN)
    assert client.get_scan(SCAN).status.raw == "Running"
    assert login.call_count == 2
    assert sent == ["Basic T1", "Basic T1", "Basic T2"]


def test_appspider__refused_again_after_relogin_is_an_authentication_error(mocked: Any) -> None:
    client, router = mocked("appspider", auth=("scanner-ci", "pw"))
    login = router.post("/Authentication/Login").mock(side_effect=[login_ok("T1"), login_ok("T2")])
    router.get("/Scan/GetScanStatus").mock(return_value=expired())
    with pytest.raises(aps.AuthenticationError, match="invalid or expired"):
        client.get_scan(SCAN)
    assert login.call_count == 2


def test_appspider__multi_client_login_failure_carries_the_clients(mocked: Any) -> None:
    client, router = mocked("appspider", auth=("acme-admin", "pw"))
    router.post("/Authentication/Login").mock(
        return_value=httpx.Response(401, json=example("appspider-login-notes-multi-client"))
    )
    with pytest.raises(aps.AuthenticationError) as caught:
        client.get_scan(SCAN)
    assert caught.value.code == "Invalid clientId" and caught.value.envelope["Clients"]


def test_appspider__client_id_goes_into_the_login_body(mocked: Any) -> None:
    client, router = mocked("appspider", auth=aps.auth("acme-admin", "pw", client_id="7d3e9c14"))
    login = router.post("/Authentication/Login").mock(return_value=login_ok("T"))
    router.get("/Scan/GetScanStatus").mock(return_value=running())
    client.get_scan(SCAN)
    assert json.loads(login.calls.last.request.content) == {
        "name": "acme-admin",
        "password": "pw",
        "clientId": "7d3e9c14",
    }


def test_appspider__login_is_retried_although_it_is_a_post(mocked: Any, timer: Any) -> None:
    client, router = mocked("appspider", auth=("scanner-ci", "pw"))
    login = router.post("/Authentication/Login").mock(side_effect=[httpx.Response(503), login_ok("T")])
    router.get("/Scan/GetScanStatus").mock(return_value=running())
    client.get_scan(SCAN)
    assert login.call_count == 2 and len(timer.sleeps) == 1


def test_appspider__login_without_a_token_is_an_authentication_error(mocked: Any) -> None:
    client, router = mocked("appspider", auth=("scanner-ci", "pw"))
    router.post("/Authentication/Login").mock(return_value=login_ok(""))
    with pytest.raises(aps.AuthenticationError, match="without a token"):
        client.get_scan(SCAN)


def test_appspider__async_relogin(mocked_async: Any) -> None:
    client, router = mocked_async("appspider", auth=("scanner-ci", "pw"))
    login = router.post("/Authentication/Login").mock(side_effect=[login_ok("T1"), login_ok("T2")])
    router.get("/Scan/GetScanStatus").mock(side_effect=[expired(), running()])

    async def main() -> str:
        async with client:
            return str((await client.get_scan(SCAN)).status.raw)

    assert asyncio.run(main()) == "Running" and login.call_count == 2


@pytest.mark.parametrize(
    ("vendor", "credentials", "header", "value"),
    [
        ("advalidation", "adv-key", "X-API-Key", "adv-key"),
        ("threadfix", "tf-key", "Authorization", "APIKEY tf-key"),
        (
            "soda",
            ("key-id", "secret"),
            "Authorization",
            "Basic " + base64.b64encode(b"key-id:secret").decode(),
        ),
        ("invicti", ("user", "token"), "Authorization", "Basic " + base64.b64encode(b"user:token").decode()),
    ],
)
def test_static_credentials_become_the_documented_header(
    mocked: Any, vendor: str, credentials: Any, header: str, value: str
) -> None:
    client, router = mocked(vendor, auth=credentials)
    route = router.route().mock(return_value=httpx.Response(599))
    with pytest.raises(package(vendor).ApiError):
        client.call(next(iter(package(vendor).VENDOR.operations)), **_dummy_params(vendor))
    assert route.calls.last.request.headers[header] == value


def _dummy_params(vendor: str) -> dict[str, Any]:
    return {"advalidation": {"scanId": 1}, "threadfix": {"appId": 1, "pendingScanId": 1}}.get(
        vendor, {"id": "x", "scanId": "x"}
    )


def test_credentials_are_checked_against_the_vendor_names() -> None:
    with pytest.raises(TypeError, match=r"soda needs the credentials key_id, secret; missing secret"):
        package("soda").auth("only-id")
    with pytest.raises(TypeError, match="advalidation takes 1 credentials"):
        package("advalidation").auth("a", "b")
    with pytest.raises(TypeError, match="has no credential 'token'"):
        package("appspider").auth("n", "p", token="x")
    assert isinstance(package("threadfix").auth(api_key="k"), httpx.Auth)
