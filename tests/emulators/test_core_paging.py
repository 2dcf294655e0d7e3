"""Server-side paging from `x-scanwire-paging` and the page parameters' own schemas."""

from __future__ import annotations

from types import SimpleNamespace
from typing import Any

import pytest

from conformance.emulators.core.errors import BadRequestError
from conformance.emulators.core.paging import PageRule

OPERATION = {
    "x-scanwire-paging": {
        "style": "page-number",
        "page": "page",
        "size": "pageSize",
        "first": 1,
        "items": "/List",
    },
    "parameters": [
        {"name": "page", "in": "query", "schema": {"type": "integer", "minimum": 1}},
        {
            "name": "pageSize",
            "in": "query",
            "schema": {"type": "integer", "minimum": 1, "maximum": 200, "default": 20},
        },
    ],
}


def _call(**query: Any) -> Any:
    return SimpleNamespace(path_params={}, query=query)


def test_page_rule__defaults_come_from_the_extension_and_the_parameter_schema() -> None:
    rule = PageRule.of(OPERATION)
    assert rule is not None
    assert rule.read(_call()) == (1, 20)
    page = rule.cut(list(range(45)), *rule.read(_call(page="3")))  # unvalidated: strings
    assert (page.number, page.index, page.items, page.total, page.pages, page.has_next) == (
        3,
        2,
        [40, 41, 42, 43, 44],
        45,
        3,
        False,
    )


@pytest.mark.parametrize(
    ("query", "fragment"),
    [
        ({"page": 0}, "page must be an integer at least 1"),
        ({"pageSize": 201}, "pageSize must be an integer between 1 and 200"),
        ({"page": "x"}, "page must be an integer"),
    ],
)
def test_page_rule__out_of_bounds_names_the_parameter(query: dict[str, Any], fragment: str) -> None:
    rule = PageRule.of(OPERATION)
    assert rule is not None
    with pytest.raises(BadRequestError, match=fragment) as caught:
        rule.read(_call(**query))
    assert caught.value.problems[0].field == next(iter(query))


def test_page_rule__operations_without_page_number_paging_have_none() -> None:
    assert PageRule.of({"x-scanwire-paging": {"style": "none", "items": "/Events"}}) is None
    assert PageRule.of({}) is None


def test_page_query__asks_the_store_for_that_page_only() -> None:
    from conformance.emulators.core.paging import page_query

    rule = PageRule.of(OPERATION)
    call = SimpleNamespace(
        path_params={},
        query={"page": "3", "pageSize": "5"},
        operation="GET /x",
        emulator=SimpleNamespace(paging={"GET /x": rule}),
    )
    asked: list[tuple[int, int]] = []

    def fetch(offset: int, limit: int) -> list[int]:
        asked.append((offset, limit))
        return list(range(offset, min(offset + limit, 12)))

    page = page_query(call, 12, fetch)  # type: ignore[arg-type]
    assert asked == [(10, 5)]
    assert (page.number, page.items, page.total, page.pages, page.has_next) == (3, [10, 11], 12, 3, False)
    beyond = page_query(SimpleNamespace(**{**vars(call), "query": {"page": "9"}}), 12, fetch)  # type: ignore[arg-type]
    assert beyond.items == [] and asked == [(10, 5)]  # past the end: the store is not asked
