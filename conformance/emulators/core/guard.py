"""The control plane's security: who may read credentials, reset state or inject faults (`/_emulator/`).

The control API hands out every account's credentials and can wipe or script the emulator, so:

- `scanwire emulate` binds loopback by default; another address needs `--allow-remote` and a control
  token (`--control-token` or `SCANWIRE_CONTROL_TOKEN`), and prints a warning (`check_bind`).
- With a token, every control request but the docs pages must carry it (`Authorization: Bearer <token>`
  or `X-Scanwire-Control-Token: <token>`), compared in constant time.
- Without a token (loopback), the `Host` must be a loopback name or address: a web page whose name was
  re-pointed at 127.0.0.1 (DNS rebinding) sends its own name and is refused. The docs pages (no
  secrets, `PUBLIC`) answer any host and need no token.
- A request carrying a foreign `Origin` (a web page on another site; browsers send it with every
  cross-site POST, even a "simple" one that skips the CORS preflight) is refused.
- A control request with a body must say `Content-Type: application/json`: a web page can send
  `text/plain` without a preflight, never `application/json`.

Refusals are plain JSON `{"error": ...}` (the control API's own envelope). Vendor routes are not
guarded: they authenticate with the vendor's own scheme.
"""

from __future__ import annotations

import hmac
import ipaddress
from typing import Any
from urllib.parse import urlsplit

from starlette.responses import JSONResponse

__all__ = ["TOKEN_ENV", "ControlGuard", "RemoteBindError", "check_bind", "is_loopback"]

TOKEN_ENV = "SCANWIRE_CONTROL_TOKEN"
TOKEN_HEADER = b"x-scanwire-control-token"
PUBLIC = frozenset({"/_emulator/docs", "/_emulator/openapi.json", "/_emulator/control/openapi.json"})
_BODY_METHODS = frozenset({"POST", "PUT", "PATCH", "DELETE"})


class RemoteBindError(ValueError):
    """A non-loopback bind without the explicit flag or without a control token."""


def is_loopback(host: str) -> bool:
    """Whether `host` (a name or an address, IPv6 possibly in brackets) is this machine only."""
    name = host.strip().strip("[]").rstrip(".").lower()
    if name == "localhost" or name.endswith(".localhost"):
        return True
    try:
        return ipaddress.ip_address(name).is_loopback
    except ValueError:
        return False


def check_bind(host: str, *, allow_remote: bool, token: str | None) -> str | None:
    """None for a loopback bind; the warning to print for an allowed remote one; RemoteBindError else."""
    if is_loopback(host):
        return None
    if not allow_remote:
        raise RemoteBindError(
            f"--host {host} would expose the control API (credentials, reset, faults) to the network; "
            "pass --allow-remote and a --control-token (or $" + TOKEN_ENV + ") to do it anyway"
        )
    if not token:
        raise RemoteBindError(
            f"--host {host} --allow-remote needs a control token: --control-token or ${TOKEN_ENV}"
        )
    return (
        f"warning: listening on {host}: anyone who can reach it can use the emulated vendor API; "
        "the control API needs the control token"
    )


def _host_of(value: str) -> str:
    """The host name of a `Host` header value (`name:port`, `[::1]:port`)."""
    return urlsplit("//" + value).hostname or ""


class ControlGuard:
    """ASGI wrapper refusing control requests that break the rules in the module docstring."""

    def __init__(self, app: Any, *, token: str | None = None, check_host: bool = False) -> None:
        self.app = app
        self.token = token.encode() if token else None
        # On a socket only (`scanwire emulate` turns it on): in-process clients name any host they like.
        self.check_host = check_host

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        if scope["type"] == "http" and (scope["path"] + "/").startswith("/_emulator/"):
            refusal = self.refusal(scope)
            if refusal is not None:
                status, message = refusal
                await JSONResponse({"error": message}, status_code=status)(scope, receive, send)
                return
        await self.app(scope, receive, send)

    def refusal(self, scope: Any) -> tuple[int, str] | None:
        headers: dict[bytes, bytes] = {}
        for name, value in scope["headers"]:
            headers.setdefault(name, value)
        host = headers.get(b"host", b"").decode("latin-1")
        origin = headers.get(b"origin")
        if origin is not None:
            own = f"{scope.get('scheme', 'http')}://{host}"
            if origin.decode("latin-1").rstrip("/").lower() != own.lower():
                return 403, "control requests from another origin (a web page) are refused"
        if self.token is not None:
            if scope["path"] not in PUBLIC and not self._has_token(headers):
                return 401, "the control API needs the control token (Authorization: Bearer <token>)"
        elif self.check_host and host and scope["path"] not in PUBLIC and not is_loopback(_host_of(host)):
            return 403, f"control requests must name a loopback host, not {host[:100]!r}"
        if scope["method"] in _BODY_METHODS:
            media = headers.get(b"content-type", b"").split(b";")[0].strip().lower()
            has_body = headers.get(b"content-length", b"0").strip() not in (b"0", b"") or (
                b"transfer-encoding" in headers
            )
            if (media or has_body) and media != b"application/json":
                return 415, "control requests with a body must be Content-Type: application/json"
        return None

    def _has_token(self, headers: dict[bytes, bytes]) -> bool:
        assert self.token is not None
        sent = headers.get(TOKEN_HEADER)
        if sent is None:
            scheme, _, value = headers.get(b"authorization", b"").partition(b" ")
            sent = value.strip() if scheme.lower() == b"bearer" else None
        return sent is not None and hmac.compare_digest(sent, self.token)
