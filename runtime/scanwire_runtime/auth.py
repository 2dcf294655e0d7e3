"""Authentication as httpx.Auth flows, built from the spec's `x-scanwire-auth` extension.

Kinds (the vocabulary of `overlays/<vendor>/30-codegen-runtime-auth.yaml`):

- `basic`: HTTP Basic from two credentials (Invicti user id + API token, Soda key id + secret);
- `api-key-header` / `prefixed-header`: one header whose value is a template over the credentials
  (Advalidation `X-API-Key: {api_key}`, ThreadFix `Authorization: APIKEY {api_key}`);
- `login-token`: a login operation answers a token that later requests carry (AppSpider
  `Authorization: Basic {token}`); a request refused with one of `relogin-on` (401) logs in again and is
  sent once more. Logging in is part of the auth flow, so it goes through the same transport (retries,
  in-process emulators) as every other request.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Generator, Mapping, Sequence
from typing import Any

import httpx

from .errors import AuthenticationError, ErrorSpec, ScanwireError, raise_for_response
from .lifecycle import Location
from .retry import RETRY_EXTENSION

__all__ = [
    "BasicAuth",
    "HeaderAuth",
    "LoginTokenAuth",
    "credentials_for",
    "credentials_from_env",
    "env_var",
    "make_auth",
]

KINDS = ("basic", "api-key-header", "prefixed-header", "login-token")


class BasicAuth(httpx.BasicAuth):
    """HTTP Basic: `Authorization: Basic base64(username:password)`."""


class HeaderAuth(httpx.Auth):
    """One header with a fixed value on every request (`X-API-Key: ...`, `Authorization: APIKEY ...`)."""

    def __init__(self, name: str, value: str) -> None:
        self.name = name
        self.value = value

    def auth_flow(self, request: httpx.Request) -> Generator[httpx.Request, httpx.Response, None]:
        request.headers[self.name] = self.value
        yield request

    def __repr__(self) -> str:
        return f"HeaderAuth({self.name!r}, <redacted>)"


class LoginTokenAuth(httpx.Auth):
    """Log in once, send the token, log in again when the server says the token expired.

    `login_request(base_url)` builds the login request; `read_token` turns the login answer into the
    token or raises AuthenticationError. `connect()` binds the API's base URL (`bind`). Concurrent
    requests that all find the token expired may each log in once; that is harmless (the vendor issues
    another token).
    """

    requires_response_body = True

    def __init__(
        self,
        login_request: Callable[[str], httpx.Request],
        read_token: Callable[[httpx.Response], str],
        *,
        header: str = "Authorization",
        value: str = "{token}",
        relogin_on: Sequence[int] = (401,),
        base_url: str | None = None,
    ) -> None:
        self.base_url = base_url
        self._login_request = login_request
        self._read_token = read_token
        self.header = header
        self.value = value
        self.relogin_on = frozenset(relogin_on)
        self.token: str | None = None
        self.logins = 0

    def bind(self, base_url: str) -> None:
        if self.base_url is None:
            self.base_url = base_url

    def _login(self) -> httpx.Request:
        if self.base_url is None:
            raise ScanwireError("LoginTokenAuth has no base URL: pass it to connect(), which binds it")
        request = self._login_request(self.base_url)
        # Logging in changes nothing on the server: safe to retry although it is a POST.
        request.extensions = {**request.extensions, RETRY_EXTENSION: True}
        return request

    def _accept(self, response: httpx.Response) -> None:
        self.token = self._read_token(response)
        self.logins += 1

    def auth_flow(self, request: httpx.Request) -> Generator[httpx.Request, httpx.Response, None]:
        if self.token is None:
            self._accept((yield self._login()))
        request.headers[self.header] = self.value.format(token=self.token)
        response = yield request
        if response.status_code in self.relogin_on:
            self._accept((yield self._login()))
            request.headers[self.header] = self.value.format(token=self.token)
            yield request

    def __repr__(self) -> str:
        return f"LoginTokenAuth(logins={self.logins})"


def credentials_for(
    spec: Mapping[str, Any], vendor: str, args: Sequence[Any], named: Mapping[str, Any]
) -> dict[str, str]:
    """Positional and named credentials matched to the names the extension declares."""
    names: list[str] = list(spec.get("credentials") or [])
    optional = set(spec.get("optional") or [])
    if len(args) > len(names):
        raise TypeError(f"{vendor} takes {len(names)} credentials ({', '.join(names)}), {len(args)} given")
    values = dict(zip(names, args, strict=False))
    for key, value in named.items():
        if key not in names:
            raise TypeError(f"{vendor} has no credential {key!r}; its credentials are {', '.join(names)}")
        if key in values:
            raise TypeError(f"{vendor} credential {key!r} given twice")
        values[key] = value
    missing = [n for n in names if n not in optional and values.get(n) in (None, "")]
    if missing:
        raise TypeError(f"{vendor} needs the credentials {', '.join(names)}; missing {', '.join(missing)}")
    return {k: str(v) for k, v in values.items() if v is not None}


def env_var(vendor: str, name: str) -> str:
    """The environment variable of one credential: `SCANWIRE_<VENDOR>_<NAME>` (`SCANWIRE_SODA_KEY_ID`)."""
    return f"SCANWIRE_{vendor.upper()}_{name.upper()}"


def credentials_from_env(
    spec: Mapping[str, Any], vendor: str, environ: Mapping[str, str] | None = None
) -> dict[str, str] | None:
    """The credentials `x-scanwire-auth` names, read from `SCANWIRE_<VENDOR>_<NAME>`; None when none is set.

    Some set but a required one missing is a TypeError naming the variables to set.
    """
    env = os.environ if environ is None else environ
    names: list[str] = list(spec.get("credentials") or [])
    optional = set(spec.get("optional") or [])
    found = {n: env[env_var(vendor, n)] for n in names if env.get(env_var(vendor, n))}
    if not found:
        return None
    missing = [env_var(vendor, n) for n in names if n not in optional and n not in found]
    if missing:
        raise TypeError(
            f"{vendor}: credentials from the environment are incomplete; set {', '.join(missing)} "
            f"(found {', '.join(env_var(vendor, n) for n in found)})"
        )
    return found


def _fill(template: Any, values: Mapping[str, str]) -> Any:
    """A login body with its `{name}` placeholders filled; members whose credential is absent are dropped."""
    if isinstance(template, Mapping):
        out = {}
        for key, item in template.items():
            filled = _fill(item, values)
            if filled is not None:
                out[key] = filled
        return out
    if isinstance(template, str) and template.startswith("{") and template.endswith("}"):
        return values.get(template[1:-1])
    return template


def make_auth(
    spec: Mapping[str, Any],
    values: Mapping[str, str],
    *,
    vendor: str,
    errors: ErrorSpec,
) -> httpx.Auth:
    """The httpx.Auth the extension describes, for credentials already matched by `credentials_for`."""
    kind = spec.get("kind")
    if kind == "basic":
        names = list(spec.get("credentials") or [])
        return BasicAuth(values[names[0]], values[names[1]])
    if kind in ("api-key-header", "prefixed-header"):
        header = spec["header"]
        return HeaderAuth(header["name"], str(header["value"]).format(**values))
    if kind == "login-token":
        login = spec["login"]
        operation = str(login["operation"])
        method, _, path = operation.partition(" ")
        token_at = Location.parse(login["token"])
        assert token_at is not None

        def login_request(base_url: str) -> httpx.Request:
            return httpx.Request(
                method, base_url.rstrip("/") + path, json=_fill(login.get("body") or {}, values)
            )

        def read_token(response: httpx.Response) -> str:
            body = raise_for_response(
                response, errors, vendor=vendor, operation=f"login ({operation})", expects_json=True
            )
            token = token_at.extract(body, response.headers)
            if not isinstance(token, str) or not token:
                raise AuthenticationError(
                    "login answered without a token",
                    vendor=vendor,
                    operation=f"login ({operation})",
                    method=response.request.method,
                    url=str(response.request.url),
                    status=response.status_code,
                    envelope=body,
                )
            return token

        header = spec.get("header") or {}
        return LoginTokenAuth(
            login_request,
            read_token,
            header=header.get("name", "Authorization"),
            value=header.get("value", "{token}"),
            relogin_on=spec.get("relogin-on") or (401,),
        )
    raise ValueError(f"{vendor}: x-scanwire-auth.kind must be one of {', '.join(KINDS)}, not {kind!r}")
