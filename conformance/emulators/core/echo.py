"""Echoes of client input in error messages, capped (limits.py tells why): the one module errors.py needs.

Each quoted run of a message is cut to `ECHO_LIMIT` characters with an ellipsis, a message to
`MESSAGE_LIMIT`, so a 10 MB bad field gets a short answer; Python reprs (`<ValidationError: '...'>`)
become their text.
"""

from __future__ import annotations

import re

__all__ = ["ECHO_LIMIT", "MESSAGE_LIMIT", "PROBLEMS_LIMIT", "cap"]

ECHO_LIMIT = 200  # characters of one echoed value
MESSAGE_LIMIT = 2000  # characters of one error message
PROBLEMS_LIMIT = 20  # findings listed in one error answer

_REPR = re.compile(r"<\w+(?:Error|Exception): (.*?)>", re.DOTALL)
# An unquoted run; the slack keeps a quoted value already cut (plus its quotes and brackets) whole.
_LONG_RUN = re.compile(r"[^\s…]{" + str(ECHO_LIMIT + 20) + ",}")
_QUOTED = re.compile(r"('|\")([^'\"]{" + str(ECHO_LIMIT + 1) + r",})\1")


def cap(text: str, limit: int = MESSAGE_LIMIT) -> str:
    """`text` with reprs unwrapped, each long quoted value or unbroken run cut to ECHO_LIMIT characters
    with an ellipsis, and the whole cut to `limit`."""
    if len(text) <= ECHO_LIMIT and "<" not in text:  # the usual short message
        return text
    if len(text) > 1_000_000:  # a huge echo: the regexes below stay linear, but need not read it all
        text = text[:1_000_000]
    text = _REPR.sub(r"\1", text)
    text = _QUOTED.sub(lambda m: m.group(1) + m.group(2)[:ECHO_LIMIT] + "…" + m.group(1), text)
    text = _LONG_RUN.sub(lambda m: m.group(0)[:ECHO_LIMIT] + "…", text)
    return text if len(text) <= limit else text[:limit] + "…"
