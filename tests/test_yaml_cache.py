"""scanwire.yamlio's cache (used by `scanwire generate`): what comes back from it is exactly what parsing
and dumping give, a changed text or datum is never answered from it, and a damaged entry is ignored."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from scanwire import yamlio

TEXT = (
    "openapi: 3.1.0\nresponses:\n  200: {description: ok}\n  '404': {description: gone}\n"
    "when: 2024-03-22\nratio: 1.50\n"
)


@pytest.fixture
def cache(tmp_path: Path) -> Iterator[Path]:
    folder = tmp_path / "yaml-cache"
    yamlio.use_cache(folder)
    yield folder
    yamlio.use_cache(None)


def test_load__a_cached_document_is_the_parsed_one_with_its_types(cache: Path) -> None:
    fresh = yamlio.loads_yaml(TEXT)
    assert list(cache.iterdir()) and yamlio.loads_yaml(TEXT) == fresh
    again = yamlio.loads_yaml(TEXT)
    assert (
        list(again["responses"]) == [200, "404"] and again["when"] == "2024-03-22" and again["ratio"] == 1.5
    )
    assert again is not fresh and again["responses"] is not fresh["responses"]  # never shared


def test_load__a_changed_text_is_parsed_again(cache: Path) -> None:
    yamlio.loads_yaml(TEXT)
    assert yamlio.loads_yaml(TEXT.replace("gone", "moved"))["responses"]["404"] == {"description": "moved"}


def test_load__a_damaged_entry_is_ignored_and_errors_are_not_cached(cache: Path) -> None:
    yamlio.loads_yaml(TEXT)
    for entry in cache.iterdir():
        entry.write_bytes(b"\x00garbage")
    assert yamlio.loads_yaml(TEXT)["openapi"] == "3.1.0"
    with pytest.raises(Exception, match="duplicate key"):
        yamlio.loads_yaml("a: 1\na: 2\n")
    with pytest.raises(Exception, match="duplicate key"):
        yamlio.loads_yaml("a: 1\na: 2\n")


def test_dump__a_cached_text_is_the_dumped_one(cache: Path) -> None:
    data = yamlio.loads_yaml(TEXT)
    first = yamlio.dump_yaml(data)
    assert yamlio.dump_yaml(data) == first
    data["responses"]["200"] = data["responses"].pop(200)  # same values, a str key: another text
    assert yamlio.dump_yaml(data) != first
    yamlio.use_cache(None)
    assert yamlio.dump_yaml(yamlio.loads_yaml(TEXT)) == first
