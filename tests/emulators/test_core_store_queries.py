"""The store's filtered, paged lists: the filter runs in SQLite, a page reads only its rows, and an index
declared with `Store.index` is the one SQLite uses."""

from __future__ import annotations

from typing import Any

import pytest

from conformance.emulators.core import store as store_module
from conformance.emulators.core.store import Store, between, contains, one_of


@pytest.fixture
def store() -> Store:
    s = Store()
    for n in range(1, 31):
        s.put(
            "thing",
            f"t{n}",
            "acme" if n % 3 else "other",
            {"n": n, "state": "done" if n % 2 else "open", "url": f"https://Site{n}.example/", "on": n > 25},
        )
    s.put("other.kind", "x", "acme", {"n": 1, "state": "done"})
    return s


def ids(records: list[Any]) -> list[str]:
    return [r.id for r in records]


def test_where_equality_account_and_order(store: Store) -> None:
    done = store.list("thing", "acme", where={"state": "done"})
    assert ids(done) == [f"t{n}" for n in range(1, 31) if n % 2 and n % 3]
    assert store.count("thing", "acme", where={"state": "done"}) == len(done)
    newest = store.list("thing", "acme", where={"state": "done"}, newest_first=True)
    assert ids(newest) == list(reversed(ids(done)))


def test_conditions(store: Store) -> None:
    assert ids(store.list("thing", where={"n": between(5, 8)})) == ["t5", "t6", "t7", "t8"]
    assert ids(store.list("thing", where={"n": between(None, 2)})) == ["t1", "t2"]
    assert ids(store.list("thing", where={"n": between(29)})) == ["t29", "t30"]
    assert ids(store.list("thing", where={"url": contains("SITE1")})) == ["t1"] + [
        f"t{n}" for n in range(10, 20)
    ]
    assert ids(store.list("thing", where={"n": one_of(3, 4, 99)})) == ["t3", "t4"]
    assert store.list("thing", where={"n": one_of()}) == []
    assert ids(store.list("thing", where={"on": True}))[:1] == ["t26"]
    assert store.count("thing", where={"on": False}) == 25
    assert store.count("thing", where={"missing": None}) == 30


def test_a_page_reads_only_its_rows(store: Store, monkeypatch: pytest.MonkeyPatch) -> None:
    decoded: list[str] = []
    real = store_module._decode

    def counting(text: str) -> Any:
        decoded.append(text)
        return real(text)

    monkeypatch.setattr(store_module, "_decode", counting)  # every stored document goes through it
    page = store.list("thing", "acme", where={"state": "open"}, limit=3, offset=2, newest_first=True)
    assert [r.data["n"] for r in page] == [22, 20, 16]
    assert len(decoded) == 3  # the three records of the page, none of the others


def test_documents_msgspec_refuses_still_decode(store: Store) -> None:
    """json.dumps writes NaN and Infinity, msgspec refuses them: the store falls back to json.loads."""
    store.put("thing", "odd", "acme", {"x": float("nan"), "y": float("inf"), "big": 10**30})
    data = store.get("thing", "odd").data  # type: ignore[union-attr]
    assert data["x"] != data["x"] and data["y"] == float("inf") and data["big"] == 10**30


def test_declared_index_is_used(store: Store) -> None:
    store.index("thing", "state")
    store.index("thing", "state")  # idempotent
    sql = (
        "EXPLAIN QUERY PLAN SELECT id FROM records WHERE kind=? AND account=? "
        "AND json_extract(data, '$.\"state\"') = ? ORDER BY seq LIMIT 5"
    )
    plan = " ".join(str(row) for row in store._db.execute(sql, ("thing", "acme", "done")).fetchall())
    assert "ix_thing_state" in plan


@pytest.mark.parametrize("key", ["a.b", "x'; DROP TABLE records; --", ""])
def test_keys_that_are_not_plain_names_are_refused(store: Store, key: str) -> None:
    with pytest.raises(ValueError, match="key"):
        store.list("thing", where={key: 1})
    assert store.count("thing") == 30
