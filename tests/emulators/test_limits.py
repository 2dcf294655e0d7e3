"""Hostile input in-process (issue 15 #1-#4, #6, #7, #9, #10): conformance/emulators/core/limits.py and
where the pipeline uses it, the control API's refusals, bounded faults, Invicti paging and empty values.
The same attacks against a served emulator, with memory and latency measured: test_hostile_input.py."""

from __future__ import annotations

import asyncio
import base64
import json
from collections.abc import Callable
from typing import Any

import httpx
import pytest

from conformance.emulators.core import Emulator, build_emulator
from conformance.emulators.core.limits import (
    ECHO_LIMIT,
    MAX_JSON_DEPTH,
    MESSAGE_LIMIT,
    cap,
    json_depth,
    loads_json,
)
from conformance.emulators.core.transport import SyncASGITransport
from conformance.emulators.invicti import Plugin as InvictiPlugin
from conformance.emulators.soda import Plugin as SodaPlugin

ACME = (SodaPlugin.accounts["acme"]["key_id"], SodaPlugin.accounts["acme"]["secret"])
INVICTI = (InvictiPlugin.accounts["acme"]["user_id"], InvictiPlugin.accounts["acme"]["token"])
DEEP = b"[" * 100_000 + b"]" * 100_000
JSON = {"content-type": "application/json"}


def client(emu: Emulator, **kwargs: Any) -> httpx.Client:
    return httpx.Client(transport=SyncASGITransport(emu), base_url="http://127.0.0.1", **kwargs)


@pytest.fixture
def soda() -> Emulator:
    return build_emulator("soda", max_body=64 * 1024)


def scans_of(emu: Emulator) -> int:
    return len(client(emu).get("/_emulator/scans").json())


# -- limits.py units ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "depth"),
    [(b"{}", 1), (b'{"a": [1, {"b": []}]}', 4), (b'"[[[[["', 0), (b'["\\"[[["]', 1), (DEEP, 100_000)],
)
def test_json_depth__counts_brackets_outside_strings(text: bytes, depth: int) -> None:
    assert json_depth(text) == depth


@pytest.mark.parametrize("text", [b"NaN", b'{"a": Infinity}', b"[-Infinity]", b'{"a": 1e999}'])
def test_loads_json__non_finite_numbers_are_refused(text: bytes) -> None:
    with pytest.raises(Exception, match="number"):
        loads_json(text)


def test_cap__long_values_are_cut_with_an_ellipsis_and_reprs_unwrapped() -> None:
    text = cap("Value {'name': '" + "x" * 100_000 + "'} <ValidationError: 'bad thing'>")
    assert (
        len(text) <= MESSAGE_LIMIT + 1
        and "x" * ECHO_LIMIT + "…" in text
        and "x" * (ECHO_LIMIT + 1) not in text
    )
    assert "<ValidationError" not in text and "'bad thing'" in text
    assert cap("short message") == "short message"


# -- #1 request size, authentication first ---------------------------------------------------------


def test_request_size__body_over_the_limit_is_413_in_the_vendor_envelope_and_stores_nothing(
    soda: Emulator,
) -> None:
    http = client(soda, auth=ACME)
    response = http.post("/api/v1/scans", data={"scanDefinition": "x" * 100_000})
    assert response.status_code == 413
    assert response.json() == {"code": "error", "message": "request body larger than 65536 bytes"}
    assert scans_of(soda) == 0
    assert http.post("/api/v1/scans", data={"scanDefinition": "nightly"}).status_code == 201


def _asgi(emu: Emulator, headers: list[tuple[bytes, bytes]], receive: Any) -> tuple[int, bytes]:
    sent: list[Any] = []

    async def send(message: Any) -> None:
        sent.append(message)

    scope = {
        "type": "http", "http_version": "1.1", "method": "POST", "scheme": "http", "path": "/api/v1/scans",
        "raw_path": b"/api/v1/scans", "query_string": b"", "root_path": "", "headers": headers,
        "client": ("127.0.0.1", 1), "server": ("127.0.0.1", 80),
    }  # fmt: skip
    asyncio.run(emu(scope, receive, send))
    return sent[0]["status"], b"".join(m.get("body", b"") for m in sent[1:])


def test_request_size__unauthenticated_body_is_never_read(soda: Emulator) -> None:
    async def receive() -> Any:
        raise AssertionError("the body of an unauthenticated request was read")

    status, body = _asgi(soda, [(b"host", b"127.0.0.1"), (b"content-length", b"100000000")], receive)
    assert status == 401 and json.loads(body)["code"] == "unauthorized"


def test_request_size__declared_length_over_the_limit_is_refused_before_reading(soda: Emulator) -> None:
    async def receive() -> Any:
        raise AssertionError("a body declared too large was read")

    auth = b"Basic " + base64.b64encode(f"{ACME[0]}:{ACME[1]}".encode())
    headers = [(b"host", b"127.0.0.1"), (b"authorization", auth), (b"content-length", b"100000000")]
    status, _ = _asgi(soda, headers, receive)
    assert status == 413


def test_request_size__chunked_body_stops_being_read_past_the_limit(soda: Emulator) -> None:
    reads = 0

    async def receive() -> Any:
        nonlocal reads
        reads += 1
        return {"type": "http.request", "body": b"x" * 16 * 1024, "more_body": True}  # endless

    auth = b"Basic " + base64.b64encode(f"{ACME[0]}:{ACME[1]}".encode())
    status, _ = _asgi(soda, [(b"host", b"127.0.0.1"), (b"authorization", auth)], receive)
    assert status == 413 and reads == 5  # 4 chunks fit in 64 KiB, the 5th passes it


# -- #2 echoes are capped ---------------------------------------------------------------------------


def test_error_echo__megabytes_of_bad_field_get_a_short_answer_without_reprs() -> None:
    emu = build_emulator("soda")
    response = client(emu, auth=ACME).post(
        "/api/v1/scans", data={"scanDefinition": "nightly", "dataTimestamp": "y" * 3_000_000}
    )
    assert response.status_code == 400 and len(response.content) < 4 * MESSAGE_LIMIT
    assert "…" in response.json()["message"] and "<ValidationError" not in response.text


def test_error_echo__appspider_bad_body_is_answered_briefly() -> None:
    emu = build_emulator("appspider")
    body = b'{"name": "' + b"x" * 3_000_000 + b'", "password": 1}'
    response = client(emu).post(
        "/AppSpiderEnterprise/rest/v1/Authentication/Login", content=body, headers=JSON
    )
    assert response.status_code == 400 and len(response.content) < 4 * MESSAGE_LIMIT
    assert "<ValidationError" not in response.text


# -- #3 non-ASCII Basic credentials ---------------------------------------------------------------------


@pytest.mark.parametrize(
    ("vendor", "path"), [("soda", "/api/v1/scans/x"), ("invicti", "/api/1.0/scans/status/x")]
)
@pytest.mark.parametrize(
    "value", ["Basic " + "é" * 8, "Basic " + base64.b64encode("é:é".encode("latin-1")).decode()]
)
def test_basic_auth__non_ascii_credentials_are_the_vendors_401(
    emulator: Callable[..., Emulator], vendor: str, path: str, value: str
) -> None:
    emu = emulator(vendor)
    response = client(emu).get(path, headers={"Authorization": value.encode("latin-1")})
    assert response.status_code == 401 and not emu.errors


# -- #4 JSON nested 100,000 deep -------------------------------------------------------------------------


def test_json_depth__invicti_route_answers_its_400_envelope(emulator: Callable[..., Emulator]) -> None:
    emu = emulator("invicti")
    response = client(emu, auth=INVICTI).post("/api/1.0/scans/cancel", content=DEEP, headers=JSON)
    assert response.status_code == 400 and f"at most {MAX_JSON_DEPTH}" in response.text and not emu.errors


def test_json_depth__appspider_route_answers_its_400_envelope(emulator: Callable[..., Emulator]) -> None:
    emu = emulator("appspider")
    response = client(emu).post(
        "/AppSpiderEnterprise/rest/v1/Authentication/Login", content=DEEP, headers=JSON
    )
    assert response.status_code == 400 and response.json()["IsSuccess"] is False and not emu.errors


def test_json_depth__control_api_answers_plain_json_400(soda: Emulator) -> None:
    response = client(soda).post("/_emulator/faults", content=DEEP, headers=JSON)
    assert response.status_code == 400 and "levels deep" in response.json()["error"]


# -- #6 non-finite numbers on the control API ----------------------------------------------------------


@pytest.mark.parametrize(
    ("path", "method", "body"),
    [
        ("/_emulator/faults", "POST", b'{"kind": "delay", "seconds": NaN}'),
        ("/_emulator/progression", "PUT", b'{"mode": "reads", "every": Infinity}'),
        ("/_emulator/scans", "POST", b'{"progression": {"mode": "reads", "every": -Infinity}}'),
        ("/_emulator/settings", "PATCH", b'{"token_ttl": 1e999}'),
    ],
)
def test_control__non_finite_numbers_are_422_and_state_stays_readable(
    soda: Emulator, path: str, method: str, body: bytes
) -> None:
    http = client(soda)
    response = http.request(method, path, content=body, headers=JSON)
    assert response.status_code == 422 and "number" in response.json()["error"]
    for after in ("/state", "/faults", "/progression", "/scans"):
        assert http.get("/_emulator" + after).status_code == 200


# -- #7 bounded faults ----------------------------------------------------------------------------------


@pytest.mark.parametrize("seconds", [61, 1e9])
def test_fault__delay_beyond_the_bound_is_refused(soda: Emulator, seconds: float) -> None:
    response = client(soda).post("/_emulator/faults", json={"kind": "delay", "seconds": seconds})
    assert response.status_code == 400 and "from 0 to 60" in response.json()["error"]


# -- #9 Invicti paging stays in int32 ------------------------------------------------------------------


@pytest.mark.parametrize("page", [2147483647, 107374183])
def test_list_scans__huge_page_stays_within_int32(emulator: Callable[..., Emulator], page: int) -> None:
    emu = emulator("invicti")
    answer = client(emu, auth=INVICTI).get("/api/1.0/scans/list", params={"page": page, "pageSize": 20})
    assert answer.status_code == 200
    body = answer.json()
    assert body["List"] == []
    for field in ("FirstItemOnPage", "LastItemOnPage"):
        assert -(2**31) <= body[field] < 2**31


# -- #10 empty values follow the spec ----------------------------------------------------------------


def test_list_scans_by_state__empty_target_criteria_is_allowed_as_the_spec_says(
    emulator: Callable[..., Emulator],
) -> None:
    emu = emulator("invicti")
    response = client(emu, auth=INVICTI).get(
        "/api/1.0/scans/listbystate?scanTaskState=Complete&targetUrlCriteria="
    )
    assert response.status_code == 200, response.text


def test_list_scans__empty_integer_is_absent_by_the_spec_tolerance(emulator: Callable[..., Emulator]) -> None:
    # Invicti's x-scanwire-tolerance: an empty optional query value is absent (the default page);
    # a value that is not empty and not an integer is still refused.
    emu = emulator("invicti")
    assert client(emu, auth=INVICTI).get("/api/1.0/scans/list?page=").json()["PageNumber"] == 1
    assert client(emu, auth=INVICTI).get("/api/1.0/scans/list?page=x").status_code == 400


def test_error_echo__unknown_long_path_is_capped_in_the_404(emulator: Callable[..., Emulator]) -> None:
    emu = emulator("invicti")
    response = client(emu).get("/api/1.0/nothing/" + "a" * 30_000)
    assert response.status_code == 404 and len(response.content) < 4 * MESSAGE_LIMIT
