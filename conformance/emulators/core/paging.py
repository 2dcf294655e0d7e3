"""Server-side paging, driven by the operation's `x-scanwire-paging` (what the clients' iterators read).

The extension names the page and size parameters and the first page number (Invicti 1, AppSpider and
Soda 0); the parameters' own schemas give the bounds (`minimum`, `maximum`) and the default size, unless
the extension's `default-size` says otherwise. `page_of(call, items)` reads both parameters (typed by
openapi-core, or strings when request validation is off), refuses values out of bounds with a
BadRequestError naming the parameter, and cuts the page; `page_query(call, total, fetch)` does the
same but asks the store for that page only (stored records: O(page), not O(records)). Each vendor then
writes its own envelope around the `Page` (Soda's Spring page, Invicti's PagedList, AppSpider's
TotalPages and Links).
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Generic, TypeVar

from conformance.emulators.core.errors import BadRequestError
from conformance.emulators.core.http import Call, int_param
from scanwire.runtime.paging import Paging

__all__ = ["Page", "PageRule", "page_of", "page_query", "paging_rules"]

T = TypeVar("T")


@dataclass(frozen=True)
class Page(Generic[T]):
    number: int  # as the client names it (counting from `first`)
    index: int  # 0-based
    size: int
    total: int  # items on all pages
    items: list[T]

    @property
    def pages(self) -> int:
        return math.ceil(self.total / self.size) if self.total else 0

    @property
    def offset(self) -> int:
        return self.index * self.size

    @property
    def has_next(self) -> bool:
        return self.index < self.pages - 1


@dataclass(frozen=True)
class _Bounds:
    minimum: int | None = None
    maximum: int | None = None
    default: int | None = None

    @classmethod
    def of(cls, op: Mapping[str, Any], name: str | None) -> _Bounds:
        for param in op.get("parameters") or []:
            if param.get("name") == name and param.get("in") == "query":
                schema = param.get("schema") or {}
                return cls(schema.get("minimum"), schema.get("maximum"), schema.get("default"))
        return cls()

    def check(self, name: str, value: int) -> int:
        low, high = self.minimum, self.maximum
        if (low is not None and value < low) or (high is not None and value > high):
            span = f"between {low} and {high}" if high is not None else f"at least {low}"
            rule = "minimum" if low is not None and value < low else "maximum"
            raise BadRequestError(
                f"{name} must be an integer {span}, not {value}",
                field=name,
                location="query",
                rule=rule,
                value=value,
            )
        return value


@dataclass(frozen=True)
class PageRule:
    paging: Paging
    page: _Bounds
    size: _Bounds

    @classmethod
    def of(cls, op: Mapping[str, Any]) -> PageRule | None:
        raw = op.get("x-scanwire-paging")
        if not raw or raw.get("style") != "page-number":
            return None
        paging = Paging.parse(raw)
        return cls(paging, _Bounds.of(op, paging.page), _Bounds.of(op, paging.size))

    def read(self, call: Call[Any]) -> tuple[int, int]:
        """(page number, size) as sent, or their defaults; BadRequestError names a parameter out of bounds."""
        name, size_name = self.paging.page or "page", self.paging.size or "size"
        number = int_param(call, name, self.paging.first)
        size = int_param(call, size_name, self.paging.default_size or self.size.default)
        assert number is not None
        if size is None:
            raise BadRequestError(
                f"{size_name} is required", field=size_name, location="query", rule="required"
            )
        return self.page.check(name, number), self.size.check(size_name, size)

    def cut(self, items: Sequence[T], number: int, size: int) -> Page[T]:
        index = number - self.paging.first
        return Page(number, index, size, len(items), list(items[index * size : (index + 1) * size]))


def paging_rules(operations: Mapping[str, Mapping[str, Any]]) -> dict[str, PageRule]:
    """The paged operations of a spec (keyed `METHOD /path`) and their rules."""
    return {key: rule for key, op in operations.items() if (rule := PageRule.of(op)) is not None}


def page_of(call: Call[Any], items: Sequence[T]) -> Page[T]:
    """The page of `items` the call asks for, by its operation's `x-scanwire-paging`."""
    rule: PageRule = call.emulator.paging[call.operation]
    return rule.cut(items, *rule.read(call))


def page_query(call: Call[Any], total: int, fetch: Callable[[int, int], list[T]]) -> Page[T]:
    """The page the call asks for, read from the store: `fetch(offset, limit)` is asked for that page only
    (`total` from an indexed count), so the cost grows with the page, not with what is stored."""
    rule: PageRule = call.emulator.paging[call.operation]
    number, size = rule.read(call)
    index = number - rule.paging.first
    offset = index * size
    items = fetch(offset, size) if 0 <= offset < total else []
    return Page(number, index, size, total, items)
