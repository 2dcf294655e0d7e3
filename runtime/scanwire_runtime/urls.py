"""Absolute request URLs without httpx parsing each one again.

`httpx.URL(text)` validates and normalizes the whole URL on every call (a scan of every character,
the host parsed as an IP address or IDNA name, each component re-quoted): about 8 us, the largest single
cost of a typed request after decoding the answer (bench/bench_client_overhead.py). A typed client's
URLs are its base URL (parsed once, when the client is made) plus an operation path the runtime
has already percent-quoted. For such a path the parse changes nothing, so `PathJoiner` makes the URL
from the base URL's parsed parts with the path swapped in.

It leans on httpx's internal `URL._uri_reference` (a NamedTuple of the parsed parts). It is used only when
it proves, at construction, to give exactly the URL `httpx.URL(text)` gives for a probe path; with an
httpx whose internals differ, or a base URL with a query or fragment, every URL is parsed as before.
A path the parse could change (a dot segment, a character httpx would quote, a `%` not followed by two
hex digits, a very long one) is parsed as before too.

Query parameters are encoded by `httpx.QueryParams`, as httpx does, and put in the same URL: httpx would
otherwise parse the whole URL once more to add them (even none: `params={}`, which the generated
`_get_kwargs` of every operation with query parameters passes).
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

import httpx

__all__ = ["PathJoiner"]

# Unreserved characters, "/", and percent escapes: what urllib.parse.quote(..., safe="") leaves of a
# path parameter, and every path template of the five specs. httpx neither quotes nor decodes these.
# (One character class, then the escapes apart: an alternation per character costs ~1 us a path.)
_PLAIN_PATH = re.compile(r"/[A-Za-z0-9\-._~/%]*")
_BAD_ESCAPE = re.compile(r"%(?![0-9A-F]{2})")
# What urllib.parse.urlencode (httpx.QueryParams) writes, none of which httpx quotes again.
_PLAIN_QUERY = re.compile(r"(?:[A-Za-z0-9\-._~+=&]|%[0-9A-F]{2})+")
# "." and ".." segments are removed by httpx (RFC 3986 remove_dot_segments): left to httpx.
_DOT_SEGMENT = re.compile(r"/\.\.?(?:/|$)")
# Longer paths go through httpx, which is the one to refuse a URL over its limit (65,536 characters).
_MAX_PATH = 2048
_PROBE = "/scanwire-probe/a-b_c.d~e/%2F%C3%A9"
_PROBE_PARAMS: dict[str, Any] = {"a": "b c/&=?#", "d": [1, 2], "e": "é", "f": True, "g": None}


class PathJoiner:
    """`joiner.url(path, params)`: the absolute httpx.URL of `base_url` + `path` (`path` starting with "/")
    with the query `params` make (as `httpx.Client.build_request` would build it), or None when httpx
    must build it from the text (`base_url` + `path`, and `params` given to httpx)."""

    def __init__(self, base_url: str) -> None:
        self.base_url = base_url.rstrip("/")
        self._make: Callable[[str, str | None], httpx.URL] | None = None
        try:
            reference: Any = httpx.URL(self.base_url + "/")._uri_reference  # httpx internals: checked below
            if reference.query is not None or reference.fragment is not None:
                return
            prefix = reference.path.rstrip("/")
            # The parts as a list, path and query swapped in per URL (NamedTuple._replace costs ~1 us).
            template = list(reference)
            at_path, at_query = reference._fields.index("path"), reference._fields.index("query")
            new_reference = reference._make

            def make(path: str, query: str | None) -> httpx.URL:
                values = template.copy()
                values[at_path] = prefix + path
                values[at_query] = query
                url: httpx.URL = object.__new__(httpx.URL)
                url._uri_reference = new_reference(values)
                return url

            proofs = [
                (make(_PROBE, None), httpx.URL(self.base_url + _PROBE)),
                (
                    make(_PROBE, str(httpx.QueryParams(_PROBE_PARAMS))),
                    httpx.URL(self.base_url + _PROBE, params=_PROBE_PARAMS),
                ),
            ]
        except (AttributeError, TypeError, ValueError, httpx.InvalidURL):
            return
        parts = ("scheme", "userinfo", "host", "port", "raw_path", "query", "fragment")
        if all(
            made == parsed
            and str(made) == str(parsed)
            and all(getattr(made, p) == getattr(parsed, p) for p in parts)
            for made, parsed in proofs
        ):
            self._make = make

    @property
    def fast(self) -> bool:
        """Whether URLs are built from the parsed base URL (False: each is parsed by httpx)."""
        return self._make is not None

    def url(self, path: str, params: Any = None) -> httpx.URL | None:
        make = self._make
        if (
            make is None
            or len(path) > _MAX_PATH
            or _PLAIN_PATH.fullmatch(path) is None
            or ("%" in path and _BAD_ESCAPE.search(path) is not None)
            or ("." in path and _DOT_SEGMENT.search(path) is not None)
        ):
            return None
        query = None
        if params:
            query = str(httpx.QueryParams(params))
            if len(query) > _MAX_PATH or _PLAIN_QUERY.fullmatch(query) is None:
                return None
        return make(path, query)
