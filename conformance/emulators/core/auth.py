"""Credential parsing shared by the vendor plugins (each decides what the credentials mean)."""

from __future__ import annotations

import base64
import functools

from conformance.emulators.core.errors import AuthError
from conformance.emulators.core.http import Call

__all__ = ["basic_credentials", "header_value"]


def header_value(call: Call, name: str, prefix: str | None = None) -> str:
    """The header's value (after `prefix `, case-insensitive); AuthError(kind=missing) when absent."""
    raw = call.header(name)
    if not raw:
        raise AuthError(f"missing {name} header", kind="missing")
    if prefix is None:
        return raw.strip()
    scheme, _, value = raw.strip().partition(" ")
    if scheme.lower() != prefix.lower() or not value.strip():
        raise AuthError(f"{name} header must be `{prefix} <value>`", kind="invalid")
    return value.strip()


def basic_credentials(call: Call) -> tuple[str, str]:
    """(user, password) of an HTTP Basic Authorization header."""
    return _decode_basic(header_value(call, "Authorization", "Basic"))


@functools.lru_cache(maxsize=256)  # a client sends the same header on every request; failures are not kept
def _decode_basic(token: str) -> tuple[str, str]:
    try:
        user, sep, password = base64.b64decode(token, validate=True).decode("utf-8").partition(":")
    except (ValueError, UnicodeDecodeError):  # ValueError: non-ASCII characters (binascii.Error is one)
        raise AuthError("Authorization Basic value is not base64(user:password)", kind="invalid") from None
    if not sep:
        raise AuthError("Authorization Basic value has no ':' between user and password", kind="invalid")
    return user, password
