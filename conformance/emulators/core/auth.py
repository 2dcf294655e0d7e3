"""The emulators' one authenticator, configured from the spec's `x-scanwire-auth` (what the clients read).

Kinds, as the client runtime knows them (`scanwire.runtime.auth`):

- `basic`: HTTP Basic; user and password are the first and second declared credentials (Invicti
  `user_id`/`token`, Soda `key_id`/`secret`);
- `api-key-header` / `prefixed-header`: one header whose value is a template over the credentials
  (`X-API-Key: {api_key}`, `Authorization: APIKEY {api_key}`); the template's text before the
  placeholder is a scheme word, compared case-blind (RFC 9110);
- `login-token`: the header carries a token the login operation issued (`Authorization: Basic {token}`);
  the backend owns the tokens (`Backend.account_for_token`).

Server-side keys, additive to the client's vocabulary: `query` (a parameter that carries the credential
when the header is absent: ThreadFix's legacy `?apiKey=`) and `case-insensitive` (credentials compared
case-blind: Invicti's GUID user id). Accounts are keyed by the declared credential names.

Permissions: an account's own credentials may do everything. An account may also list `members`, each
with its own credentials (same names) and `permissions` (the vendor's permission labels); an operation
whose spec declares `x-scanwire-permission: <label>` answers ForbiddenError to a member without it
(`Authenticator.check_permission`), as Soda's API does for a user without "Delete dataset".

Failures are AuthError with `kind`: `missing` (no credential), `invalid` (malformed), `unknown` (well
formed, matches no account) or `expired` (the backend's verdict on a token).
"""

from __future__ import annotations

import base64
import functools
import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Protocol

from conformance.emulators.core.errors import AuthError, ForbiddenError

__all__ = ["Authenticator", "Credentials", "TokenOwner"]

KINDS = ("basic", "api-key-header", "prefixed-header", "login-token")
_PLACEHOLDER = re.compile(r"\{(\w+)\}")


class Credentials(Protocol):
    """What the authenticator reads of a request."""

    def header(self, name: str) -> str | None: ...

    @property
    def raw_query(self) -> dict[str, Any]: ...


class TokenOwner(Protocol):
    def account_for_token(self, token: str, call: Any) -> str: ...


@dataclass(frozen=True)
class _Template:
    """`APIKEY {api_key}` -> scheme `APIKEY`, credential `api_key`."""

    scheme: str
    name: str

    @classmethod
    def parse(cls, value: str) -> _Template:
        found = _PLACEHOLDER.search(value)
        if found is None or value[found.end() :].strip():
            raise ValueError(f"x-scanwire-auth header value {value!r} must end with one {{credential}}")
        return cls(value[: found.start()].strip(), found.group(1))

    def read(self, header: str, raw: str) -> str:
        if not self.scheme:
            return raw.strip()
        scheme, _, value = raw.strip().partition(" ")
        if scheme.lower() != self.scheme.lower() or not value.strip():
            raise AuthError(f"{header} header must be `{self.scheme} <value>`", kind="invalid")
        return value.strip()


class Authenticator:
    """`authenticate(call, backend) -> account`, for the scheme the spec declares."""

    def __init__(self, spec: Mapping[str, Any], accounts: Mapping[str, Mapping[str, Any]]) -> None:
        self.kind = str(spec.get("kind"))
        if self.kind not in KINDS:
            raise ValueError(f"x-scanwire-auth.kind must be one of {', '.join(KINDS)}, not {self.kind!r}")
        self.names: list[str] = [str(n) for n in spec.get("credentials") or []]
        blind = {str(n) for n in spec.get("case-insensitive") or []}
        header = spec.get("header") or {"name": "Authorization", "value": "Basic {token}"}
        self.header = str(header["name"])
        self.template = _Template.parse(str(header["value"])) if self.kind != "basic" else None
        query = spec.get("query") or {}
        self.query: str | None = query.get("name")
        # The lookup key of each account: its credentials as the request carries them.
        self._accounts: dict[tuple[str, ...], str] = {}
        # The keys of members with limited permissions (account owners are not here: they may do all).
        self._limited: dict[tuple[str, ...], frozenset[str]] = {}
        required = [n for n in self.names if n not in set(spec.get("optional") or [])]
        if self.kind == "basic":
            required = self.names[:2]
        elif self.template is not None and self.kind != "login-token":
            required = [self.template.name]
        for account, creds in accounts.items():
            missing = [n for n in required if n not in creds]
            if missing and self.kind != "login-token":
                raise ValueError(f"account {account!r} lacks the credential(s) {', '.join(missing)}")
            if self.kind != "login-token":
                key = tuple(_fold(str(creds[n]), n in blind) for n in required)
                self._accounts[key] = account
                for member in creds.get("members") or []:
                    gaps = [n for n in required if n not in member]
                    if gaps:
                        raise ValueError(f"a member of account {account!r} lacks the credential(s) {gaps}")
                    member_key = tuple(_fold(str(member[n]), n in blind) for n in required)
                    self._accounts[member_key] = account
                    self._limited[member_key] = frozenset(member.get("permissions") or ())
        self._blind = [n in blind for n in required]

    def authenticate(self, call: Credentials, backend: TokenOwner) -> str:
        if self.kind == "login-token":
            return backend.account_for_token(self._presented(call)[0], call)
        account = self._accounts.get(self._key(call))  # one lookup per request: the poll is the hot path
        if account is None:
            raise AuthError("unknown credentials", kind="unknown")
        return account

    def check_permission(self, call: Credentials, permission: str) -> None:
        """ForbiddenError when the request's credentials are a member's without `permission` (after
        `authenticate` accepted them)."""
        if not self._limited or self.kind == "login-token":
            return
        granted = self._limited.get(self._key(call))
        if granted is not None and permission not in granted:
            raise ForbiddenError(f"Forbidden: the user lacks the permission {permission!r}")

    def _key(self, call: Credentials) -> tuple[str, ...]:
        return tuple(_fold(v, blind) for v, blind in zip(self._presented(call), self._blind, strict=True))

    def _presented(self, call: Credentials) -> tuple[str, ...]:
        if self.kind == "basic":
            raw = call.header(self.header)
            if not raw:
                raise AuthError(f"missing {self.header} header", kind="missing")
            scheme, _, value = raw.strip().partition(" ")
            if scheme.lower() != "basic" or not value.strip():
                raise AuthError(f"{self.header} header must be `Basic <value>`", kind="invalid")
            return _decode_basic(value.strip())
        return (self._header_or_query(call),)

    def _header_or_query(self, call: Credentials) -> str:
        assert self.template is not None
        raw = call.header(self.header)
        if raw is not None or self.query is None:
            if not raw or not raw.strip():
                raise AuthError(f"missing {self.header} header", kind="missing")
            return self.template.read(self.header, raw)
        value = call.raw_query.get(self.query)
        if isinstance(value, list):
            value = value[0]
        if not isinstance(value, str) or not value.strip():
            raise AuthError(f"no {self.header} header and no {self.query} parameter", kind="missing")
        return value.strip()


def _fold(value: str, blind: bool) -> str:
    return value.lower() if blind else value


@functools.lru_cache(maxsize=256)  # a client sends the same header on every request; failures are not kept
def _decode_basic(token: str) -> tuple[str, str]:
    try:
        user, sep, password = base64.b64decode(token, validate=True).decode("utf-8").partition(":")
    except (ValueError, UnicodeDecodeError):  # ValueError: non-ASCII characters (binascii.Error is one)
        raise AuthError("Authorization Basic value is not base64(user:password)", kind="invalid") from None
    if not sep:
        raise AuthError("Authorization Basic value has no ':' between user and password", kind="invalid")
    return user, password
