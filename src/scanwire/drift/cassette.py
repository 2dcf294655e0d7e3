"""Cassettes in VCR.py's YAML format (version 1): what the proxy records and `emulate --replay` serves.

The format is small (a list of request/response pairs, headers as lists of values) and written here
with PyYAML; a test loads every cassette the proxy writes with VCR.py itself, so pytest-recording users
can `@pytest.mark.vcr` with them. Everything in a cassette has been through the Redactor.
"""

from __future__ import annotations

import time
from collections import defaultdict
from dataclasses import dataclass, field
from http import HTTPStatus
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl, urlencode, urlsplit

import yaml

__all__ = ["CassetteWriter", "Interaction", "load_interactions"]

_MAX_INTERACTIONS = 500  # per file: the file is rewritten after each exchange, so a session rolls over


@dataclass
class Interaction:
    method: str
    uri: str
    request_headers: list[tuple[str, str]]
    request_body: bytes
    status: int
    response_headers: list[tuple[str, str]]
    response_body: bytes

    def to_vcr(self) -> dict[str, Any]:
        try:
            phrase = HTTPStatus(self.status).phrase
        except ValueError:
            phrase = ""
        return {
            "request": {
                "body": _body(self.request_body) if self.request_body else None,
                "headers": _headers(self.request_headers),
                "method": self.method.upper(),
                "uri": self.uri,
            },
            "response": {
                "body": {"string": _body(self.response_body)},
                "headers": _headers(self.response_headers),
                "status": {"code": self.status, "message": phrase},
            },
        }


def _headers(pairs: list[tuple[str, str]]) -> dict[str, list[str]]:
    out: dict[str, list[str]] = defaultdict(list)
    for name, value in pairs:
        out[name].append(value)
    return dict(out)


def _body(data: bytes) -> str | bytes:
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        return data  # PyYAML writes !!binary, which VCR.py reads back as bytes


@dataclass
class CassetteWriter:
    """Appends interactions to `<dir>/<name>-<n>.yaml`, rewriting the file after each one."""

    directory: Path
    name: str
    scrub: Any = None  # a final text filter over the whole file (Redactor.text)
    _items: list[dict[str, Any]] = field(default_factory=list)
    _file: Path | None = None

    def add(self, interaction: Interaction) -> Path:
        if self._file is None or len(self._items) >= _MAX_INTERACTIONS:
            self.directory.mkdir(parents=True, exist_ok=True)
            stamp = time.strftime("%Y%m%dT%H%M%S", time.gmtime())
            n = len(list(self.directory.glob(f"{self.name}-{stamp}-*.yaml")))
            self._file = self.directory / f"{self.name}-{stamp}-{n + 1}.yaml"
            self._items = []
        self._items.append(interaction.to_vcr())
        text = yaml.safe_dump(
            {"interactions": self._items, "version": 1}, sort_keys=False, allow_unicode=True
        )
        if self.scrub is not None:
            text = self.scrub(text)
        self._file.write_text(text, encoding="utf-8")
        return self._file


def request_key(method: str, uri: str) -> tuple[str, str, str]:
    """What a recorded request is matched on: method, path and the sorted query (host ignored)."""
    parts = urlsplit(uri)
    query = urlencode(sorted(parse_qsl(parts.query, keep_blank_values=True)))
    return method.upper(), parts.path or "/", query


def load_interactions(directory: Path) -> dict[tuple[str, str, str], list[dict[str, Any]]]:
    """Every interaction of every cassette in `directory`, by request key, in recorded order."""
    if not directory.is_dir():
        raise FileNotFoundError(f"{directory}: no such cassette directory")
    out: dict[tuple[str, str, str], list[dict[str, Any]]] = defaultdict(list)
    for path in sorted(directory.glob("*.yaml")) + sorted(directory.glob("*.yml")):
        try:
            doc = yaml.safe_load(path.read_text(encoding="utf-8"))
        except yaml.YAMLError as exc:
            raise ValueError(f"{path}: not a YAML cassette: {exc}") from None
        items = doc.get("interactions") if isinstance(doc, dict) else None
        if not isinstance(items, list):
            raise ValueError(f"{path}: not a VCR.py cassette (no `interactions` list)")
        for i, item in enumerate(items):
            try:
                request, response = item["request"], item["response"]
                key = request_key(str(request["method"]), str(request["uri"]))
                int(response["status"]["code"])
            except (KeyError, TypeError, ValueError):
                raise ValueError(
                    f"{path}: interaction {i} lacks request.method/uri or response.status.code"
                ) from None
            out[key].append(response)
    return dict(out)
