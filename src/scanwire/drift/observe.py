"""What the proxy does with each exchange: compare it with the spec, then write it down, redacted.

One JSON line per exchange goes to `<reports>/<vendor>.observations.jsonl` (operation, status, the
deviations with their redacted first example); `scanwire drift report` aggregates those lines. With a
record directory, the exchange also goes to a VCR.py cassette. The comparison sees the real bytes;
everything written has been through the Redactor, its final text pass included.
"""

from __future__ import annotations

import gzip
import json
import logging
import threading
import zlib
from pathlib import Path
from typing import Any

from scanwire.drift.cassette import CassetteWriter, Interaction
from scanwire.drift.compare import Exchange, SpecComparer
from scanwire.drift.redact import Redactor

__all__ = ["Observer", "decoded_body"]

log = logging.getLogger("scanwire.drift")


def decoded_body(body: bytes, encoding: str | None) -> bytes | None:
    """The body without its Content-Encoding (gzip, deflate); None when it cannot be decoded."""
    encoding = (encoding or "").strip().lower()
    if encoding in ("", "identity"):
        return body
    try:
        if encoding in ("gzip", "x-gzip"):
            return gzip.decompress(body)
        if encoding == "deflate":
            return zlib.decompress(body)
    except (OSError, zlib.error, EOFError):
        return None
    return None


class Observer:
    def __init__(
        self,
        vendor: str,
        spec: dict[str, Any],
        reports: Path,
        redactor: Redactor,
        record: Path | None = None,
        upstream: str = "",
    ) -> None:
        self.vendor = vendor
        self.comparer = SpecComparer(spec)
        self.redactor = redactor
        self.reports = reports
        reports.mkdir(parents=True, exist_ok=True)
        self.log_path = reports / f"{vendor}.observations.jsonl"
        self.upstream = upstream.rstrip("/")
        self.cassettes = CassetteWriter(record, vendor, scrub=redactor.text) if record is not None else None
        self._lock = threading.Lock()
        self.exchanges = 0
        self.deviations = 0

    def observe(self, ex: Exchange) -> list[dict[str, Any]]:
        """Compare, log and record one exchange; returns its (redacted) deviations."""
        operation, deviations = self.comparer.compare(ex)
        r = self.redactor
        # Redact the exchange first: its credential places teach the redactor the secret values.
        req_headers = r.headers_of(ex.request_headers)
        resp_headers = r.headers_of(ex.response_headers)
        query = r.query_of(ex.query)
        req_body = r.body_of(ex.request_body, ex.header("content-type", response=False) or "")
        resp_body = r.body_of(ex.response_body or b"", ex.header("content-type") or "")
        found = []
        for d in deviations:
            item = d.to_dict()
            item["example"] = (
                r.value_of(item["example"]) if not _secret_place(d.where, r) else "***REDACTED***"
            )
            found.append(item)
        record = {
            "time": ex.time,
            "operation": operation,
            "method": ex.method.upper(),
            "status": ex.status,
            "deviations": found,
        }
        line = r.text(json.dumps(record, default=str))
        with self._lock:
            self.exchanges += 1
            self.deviations += len(found)
            with self.log_path.open("a", encoding="utf-8") as fh:
                fh.write(line + "\n")
            if self.cassettes is not None:
                uri = f"{self.upstream}{ex.path}" + (f"?{query}" if query else "")
                # The recorded body is the decoded one: drop the encoding and length it no longer has.
                headers = [
                    (k, v)
                    for k, v in resp_headers
                    if k.lower() not in ("content-encoding", "content-length", "transfer-encoding")
                ]
                if ex.response_body is None:  # larger than the proxy inspects, or an unknown encoding
                    headers.append(("X-Scanwire-Body", "not recorded (too large or undecodable)"))
                self.cassettes.add(
                    Interaction(ex.method, uri, req_headers, req_body, ex.status, headers, resp_body)
                )
        for item in found:
            log.warning(
                r.text(f"{self.vendor} drift: {item['operation']} {item['status']}: {item['message']}")
            )
        return found


def _secret_place(where: str, redactor: Redactor) -> bool:
    """A deviation at a credential header or field: its example is never kept."""
    last = where.rsplit(".", 1)[-1]
    return where.lower() in redactor.headers or redactor.secret_field(last)
