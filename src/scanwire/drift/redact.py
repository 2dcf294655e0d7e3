"""Redaction of observed traffic: nothing the proxy writes (report, cassette, log) holds a credential.

Three layers, each catching what the previous one might miss:

1. by place — the credential places the spec declares (`x-scanwire-auth`: its header, its login body
   fields and token; `securitySchemes`: apiKey headers, query parameters and cookies), plus the usual
   suspects (Authorization, Cookie, Set-Cookie, Proxy-Authorization) and fields named like secrets;
2. by value — every value seen in such a place (and its Basic-auth halves, base64 and URL-encoded
   forms) is remembered, with secrets given up front (`--secret`, `SCANWIRE_<VENDOR>_*`), and every
   occurrence anywhere in any text is replaced;
3. by pattern — configurable regular expressions (`email`, `hostname`, `ipv4`, `uuid` or your own).

Layer 2 runs over the final serialized text of every file written, so a secret cannot hide in a field
the first layer did not know about.
"""

from __future__ import annotations

import base64
import binascii
import json
import os
import re
from collections.abc import Iterable
from typing import Any
from urllib.parse import parse_qsl, quote, quote_plus, urlencode

__all__ = ["MASK", "PATTERNS", "Redactor"]

MASK = "***REDACTED***"
_ALWAYS_HEADERS = {
    "authorization",
    "proxy-authorization",
    "cookie",
    "set-cookie",
    "x-api-key",
    "x-auth-token",
}
# Field names (JSON or form bodies, query parameters) that carry secrets whatever the vendor.
_SECRET_FIELD = re.compile(
    r"pass(word)?|secret|token|api[-_]?key|apikey|access[-_]?key|client[-_]?secret|credential|session",
    re.IGNORECASE,
)
PATTERNS = {
    "email": r"[A-Za-z0-9._%+-]+@[A-Za-z0-9.-]+\.[A-Za-z]{2,}",
    "hostname": (
        r"\b(?:[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?\.)+"
        r"(?:com|net|org|io|dev|cloud|local|internal)\b"
    ),
    "ipv4": r"\b(?:\d{1,3}\.){3}\d{1,3}\b",
    "uuid": r"\b[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}\b",
}
_JSON_PAIR = re.compile(r'"((?:[^"\\]|\\.){1,200})"\s*:\s*"((?:[^"\\]|\\.)*)"')
_MIN_SECRET = 4  # shorter values would mask half the report ("1", "ok")


class Redactor:
    """Masks credentials of one vendor's traffic; learns secret values as it sees them."""

    def __init__(
        self,
        spec: dict[str, Any] | None = None,
        *,
        secrets: Iterable[str] = (),
        patterns: Iterable[str] = (),
        fields: Iterable[str] = (),
        vendor: str | None = None,
    ) -> None:
        self.headers = set(_ALWAYS_HEADERS)
        self.query: set[str] = set()
        self.fields = {f.lower() for f in fields}
        self._secrets: set[str] = set()
        self._regexes = [re.compile(PATTERNS.get(p, p)) for p in patterns]
        if spec is not None:
            self._from_spec(spec)
        if vendor:
            prefix = f"SCANWIRE_{vendor.upper()}_"
            for name, value in os.environ.items():
                if name.startswith(prefix) and name != f"{prefix}BASE_URL":
                    self.learn(value)
        for secret in secrets:
            self.learn(secret)

    def _from_spec(self, spec: dict[str, Any]) -> None:
        auth = (spec.get("info") or {}).get("x-scanwire-auth") or spec.get("x-scanwire-auth") or {}
        header = (auth.get("header") or {}).get("name")
        if header:
            self.headers.add(str(header).lower())
        self.fields.update(str(c).lower() for c in auth.get("credentials") or [])
        login = auth.get("login") or {}
        self.fields.update(str(k).lower() for k in (login.get("body") or {}))
        pointer = str((login.get("token") or {}).get("pointer") or "")
        if pointer:
            self.fields.add(pointer.rsplit("/", 1)[-1].lower())
        for scheme in ((spec.get("components") or {}).get("securitySchemes") or {}).values():
            if scheme.get("type") == "apiKey":
                where = scheme.get("in")
                name = str(scheme.get("name", "")).lower()
                if where == "header":
                    self.headers.add(name)
                elif where == "query":
                    self.query.add(name)
                elif where == "cookie":
                    self.headers.add("cookie")

    # -- learning -------------------------------------------------------------------------------

    def learn(self, value: str) -> None:
        """Remember a secret value, with the encodings it may travel in."""
        value = value.strip()
        if len(value) < _MIN_SECRET:
            return
        forms = {value, quote(value, safe=""), quote_plus(value), base64.b64encode(value.encode()).decode()}
        self._secrets.update(f for f in forms if len(f) >= _MIN_SECRET)

    def _learn_header(self, value: str, name: str = "") -> None:
        if name.lower() in ("cookie", "set-cookie"):
            # Each cookie's value on its own: a session id may show up again elsewhere. A Set-Cookie's
            # attributes (Path, Domain, Expires) follow its first `;` and are no secrets.
            pairs = value.split(";") if name.lower() == "cookie" else value.split(";")[:1]
            for part in pairs:
                self.learn(part.partition("=")[2])
            self.learn(value)
            return
        scheme, _, rest = value.partition(" ")
        rest = rest.strip()
        if not rest:
            self.learn(value)
            return
        self.learn(rest)
        self.learn(value)
        if scheme.lower() == "basic":
            try:
                user, _, password = base64.b64decode(rest, validate=True).decode().partition(":")
            except (binascii.Error, UnicodeDecodeError, ValueError):
                return
            self.learn(user)
            self.learn(password)

    # -- redaction --------------------------------------------------------------------------------

    def secret_field(self, name: str) -> bool:
        lowered = name.lower()
        return lowered in self.fields or bool(_SECRET_FIELD.search(lowered))

    def headers_of(self, headers: Iterable[tuple[str, str]]) -> list[tuple[str, str]]:
        out = []
        for name, value in headers:
            if name.lower() in self.headers or self.secret_field(name):
                self._learn_header(value, name)
                out.append((name, MASK))
            else:
                out.append((name, value))
        return out

    def query_of(self, query: str) -> str:
        if not query:
            return query
        pairs = parse_qsl(query, keep_blank_values=True)
        out = []
        for name, value in pairs:
            if name.lower() in self.query or self.secret_field(name):
                self.learn(value)
                out.append((name, MASK))
            else:
                out.append((name, value))
        return urlencode(out)

    def value_of(self, value: Any, depth: int = 0) -> Any:
        """A decoded JSON value with secret-named fields masked (their values learnt)."""
        if depth > 64:
            return MASK
        if isinstance(value, dict):
            out = {}
            for key, item in value.items():
                if self.secret_field(str(key)) and not isinstance(item, dict | list):
                    if item is not None:
                        self.learn(str(item))
                    out[key] = MASK
                else:
                    out[key] = self.value_of(item, depth + 1)
            return out
        if isinstance(value, list):
            return [self.value_of(v, depth + 1) for v in value]
        return value

    def body_of(self, body: bytes, content_type: str) -> bytes:
        """A body with secret fields masked (JSON and form bodies); other bodies are only text-scrubbed."""
        media = content_type.split(";")[0].strip().lower()
        if not body:
            return body
        if media.endswith("json"):
            try:
                return json.dumps(self.value_of(json.loads(body))).encode()
            except (ValueError, RecursionError):
                # Not JSON after all (truncated, hostile): mask `"secret-name": "value"` pairs in the text.
                return self._pairs(body.decode("utf-8", "replace")).encode()
        elif media == "application/x-www-form-urlencoded":
            return self.query_of(body.decode("utf-8", "replace")).encode()
        return body

    def _pairs(self, text: str) -> str:
        def mask(match: re.Match[str]) -> str:
            if not self.secret_field(match.group(1)):
                return match.group(0)
            self.learn(match.group(2))
            return f'"{match.group(1)}": "{MASK}"'

        return _JSON_PAIR.sub(mask, text)

    def text(self, text: str) -> str:
        """Every known secret value and every configured pattern masked in `text` (the last layer)."""
        for secret in sorted(self._secrets, key=len, reverse=True):
            if secret in text:
                text = text.replace(secret, MASK)
        for regex in self._regexes:
            text = regex.sub(MASK, text)
        return text
