"""Page-by-page iteration, described per operation by the spec's `x-scanwire-paging` extension.

`{style: page-number, page, size, first, default-size?, items, last? | has-next? | total-pages?}`:
the page parameter starts at `first` (Invicti 1, AppSpider and Soda 0) and goes up by one; the items
are at the JSON pointer `items`; the answer says it was the last page through `last` (Soda), `has-next`
(Invicti) or `total-pages` (AppSpider). An empty page always ends the iteration. `{style: none, items}`
is a list that comes in one answer (AppSpider GetScanErrors).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from .lifecycle import resolve_pointer

__all__ = ["Paging"]

STYLES = ("page-number", "none")


@dataclass(frozen=True)
class Paging:
    style: str
    items: str
    page: str | None = None
    size: str | None = None
    first: int = 0
    default_size: int | None = None
    last: str | None = None
    has_next: str | None = None
    total_pages: str | None = None
    items_attribute: tuple[str, ...] = ()

    @classmethod
    def parse(cls, raw: Mapping[str, Any], items_attribute: Sequence[str] = ()) -> Paging:
        style = raw.get("style", "page-number")
        if style not in STYLES:
            raise ValueError(f"x-scanwire-paging.style must be one of {', '.join(STYLES)}, not {style!r}")
        if "items" not in raw:
            raise ValueError("x-scanwire-paging needs `items` (a JSON pointer to the list)")
        if style == "page-number" and not raw.get("page"):
            raise ValueError("x-scanwire-paging with style page-number needs `page` (the parameter name)")
        return cls(
            style=style,
            items=raw["items"],
            page=raw.get("page"),
            size=raw.get("size"),
            first=int(raw.get("first", 0)),
            default_size=raw.get("default-size"),
            last=raw.get("last"),
            has_next=raw.get("has-next"),
            total_pages=raw.get("total-pages"),
            items_attribute=tuple(items_attribute),
        )

    @property
    def paged(self) -> bool:
        return self.style == "page-number"

    def first_params(self, params: Mapping[str, Any]) -> dict[str, Any]:
        """The caller's parameters plus the first page (unless given) and the default page size."""
        out = dict(params)
        if self.page is not None:
            out.setdefault(self.page, self.first)
        if self.size is not None and self.default_size is not None:
            out.setdefault(self.size, self.default_size)
        return out

    def items_of(self, body: Any, model: Any = None) -> list[Any]:
        """The page's items: typed models when the parsed answer has them, else the JSON values."""
        if isinstance(model, list) and self.items == "":
            return model  # the answer is the array itself, parsed into models
        if model is not None and self.items_attribute:
            node = model
            for name in self.items_attribute:
                node = getattr(node, name, None)
            if isinstance(node, list):
                return node
        found = resolve_pointer(body, self.items)
        return list(found) if isinstance(found, list) else []

    def has_more(self, body: Any, page: int, count: int) -> bool:
        """Whether a page after `page` (which held `count` items) should be asked for."""
        if not self.paged or count == 0:
            return False
        if self.last is not None and resolve_pointer(body, self.last) is True:
            return False
        if self.has_next is not None and resolve_pointer(body, self.has_next) is False:
            return False
        if self.total_pages is not None:
            total = resolve_pointer(body, self.total_pages)
            if isinstance(total, int) and not isinstance(total, bool) and page - self.first + 1 >= total:
                return False
        return True
