"""The control plane's security (issue 15 #5): conformance/emulators/core/guard.py in-process, and the
`scanwire emulate` bind rules. Served checks (a real socket, a foreign Host) are in test_hostile_input.py."""

from __future__ import annotations

import httpx
import pytest

from conformance.emulators.core import build_emulator
from conformance.emulators.core.guard import RemoteBindError, check_bind, is_loopback
from conformance.emulators.core.transport import SyncASGITransport

TOKEN = "s3cret-control-token"


def client(
    token: str | None = None, check_host: bool = False, base: str = "http://127.0.0.1"
) -> httpx.Client:
    emu = build_emulator("soda", control_token=token)
    emu.guard.check_host = check_host
    return httpx.Client(transport=SyncASGITransport(emu), base_url=base)


def test_control__foreign_origin_is_refused_even_for_a_simple_request() -> None:
    http = client()
    # What a web page can send without a CORS preflight: text/plain, from its own origin.
    response = http.post(
        "/_emulator/reset",
        content=b"{}",
        headers={"Origin": "https://evil.test", "Content-Type": "text/plain"},
    )
    assert response.status_code == 403 and "origin" in response.json()["error"]
    assert http.get("/_emulator/accounts", headers={"Origin": "null"}).status_code == 403


def test_control__same_origin_page_is_served() -> None:
    # The emulator's own docs page (Swagger UI) calls the control API from the emulator's origin.
    http = client()
    assert http.get("/_emulator/accounts", headers={"Origin": "http://127.0.0.1"}).status_code == 200


def test_control__body_must_be_application_json() -> None:
    http = client()
    text = http.post(
        "/_emulator/faults",
        content=b'{"kind": "status", "status": 500}',
        headers={"Content-Type": "text/plain"},
    )
    assert text.status_code == 415 and "application/json" in text.json()["error"]
    untyped = http.post(
        "/_emulator/faults", content=b'{"kind": "status", "status": 500}', headers={"Content-Type": ""}
    )
    assert untyped.status_code == 415
    assert http.get("/_emulator/faults").json() == []
    assert http.post("/_emulator/reset").status_code == 200  # no body, no type: fine


def test_control__token_is_required_when_set() -> None:
    http = client(TOKEN)
    assert http.get("/_emulator/accounts").status_code == 401
    assert http.get("/_emulator/accounts", headers={"Authorization": "Bearer wrong"}).status_code == 401
    assert http.get("/_emulator/accounts", headers={"Authorization": f"Bearer {TOKEN}"}).status_code == 200
    assert http.post("/_emulator/reset", headers={"X-Scanwire-Control-Token": TOKEN}).status_code == 200
    assert http.get("/_emulator/docs").status_code == 200  # no secrets on the docs pages


def test_control__vendor_routes_are_not_guarded_by_the_control_token() -> None:
    http = client(TOKEN)
    assert http.get("/api/v1/scans/x", auth=("acme-key-id", "acme-secret")).status_code == 404


def test_control__foreign_host_is_refused_on_a_socket() -> None:
    # DNS rebinding: evil.test resolved to 127.0.0.1, the browser sends Host: evil.test.
    http = client(check_host=True, base="http://evil.test:8080")
    assert http.get("/_emulator/accounts").status_code == 403
    assert http.get("/_emulator/openapi.json").status_code == 200
    assert client(check_host=True, base="http://localhost:8080").get("/_emulator/accounts").status_code == 200


LOOPBACK = ["127.0.0.1", "127.3.2.1", "::1", "[::1]", "localhost"]
REMOTE = ["0.0.0.0", "192.168.1.5", "example.com"]


@pytest.mark.parametrize(("host", "loopback"), [(h, True) for h in LOOPBACK] + [(h, False) for h in REMOTE])
def test_is_loopback(host: str, loopback: bool) -> None:
    assert is_loopback(host) is loopback


def test_check_bind__remote_needs_the_flag_and_a_token() -> None:
    assert check_bind("127.0.0.1", allow_remote=False, token=None) is None
    with pytest.raises(RemoteBindError, match="--allow-remote"):
        check_bind("0.0.0.0", allow_remote=False, token=TOKEN)
    with pytest.raises(RemoteBindError, match="control token"):
        check_bind("0.0.0.0", allow_remote=True, token=None)
    warning = check_bind("0.0.0.0", allow_remote=True, token=TOKEN)
    assert warning is not None and warning.startswith("warning:")
