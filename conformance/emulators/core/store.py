"""SQLite state for an emulator: generic JSON records, counters and settings, safe under concurrency.

One Store belongs to one Emulator instance (never a module global). `:memory:` for tests; a file path
for servers, so a restarted server keeps its scans. Every write runs in one transaction under a lock,
so concurrent requests (threads or tasks) never lose or duplicate a record.

Written behind: a status poll's bookkeeping (its read count, a running scan's progress) is the one write
most requests make, and committing it was most of a poll's cost (issue 18). `bump_later` and
`patch_paths_later` keep such a write in memory; it reaches SQLite in one transaction with the others
(`flush`): at the start of the next write transaction (so it always lands before any later write), before
any read that would see the record it changes (`get`, `list`, `count`, ... of that kind), at most
`LATER_SECONDS` after it was made or once `LATER_MOST` are kept (checked on every deferral; a server also
flushes on a timer), and when the store closes. A point read made for the poll itself sees them without
flushing (`get_counted` adds a pending count, `pluck` a pending value at the same path). What a crash of
the process can lose is the last fraction of a second of read counts and progress, never a state change.

Kept for polls: `get_counted` (a scan's record and its read count, what every status poll reads first)
and `pluck` (what a running scan's poll reads of its document) keep what they read, outside
transactions, until this store writes that record (every write method drops the entries of the records
it changes; a bulk write, a rollback or `clear` drops them all) or another connection commits to the file
(SQLite's `PRAGMA data_version`, asked on every use, or once in a `request()`: 3 us where the two reads
took 12).
"""

from __future__ import annotations

import functools
import json
import re
import sqlite3
import threading
import time
from collections.abc import Iterable, Mapping
from contextlib import AbstractContextManager
from dataclasses import dataclass
from pathlib import Path
from types import TracebackType
from typing import Any

import msgspec

__all__ = ["Condition", "Plus", "Record", "Store", "between", "contains", "none_of", "one_of", "plus"]

_SCHEMA = """
CREATE TABLE IF NOT EXISTS records (
    kind TEXT NOT NULL,
    id TEXT NOT NULL,
    account TEXT NOT NULL,
    seq INTEGER NOT NULL,
    data TEXT NOT NULL,
    PRIMARY KEY (kind, id)
);
CREATE INDEX IF NOT EXISTS records_by_account ON records (kind, account, seq);
CREATE INDEX IF NOT EXISTS records_by_seq ON records (kind, seq);
CREATE TABLE IF NOT EXISTS counters (name TEXT PRIMARY KEY, value INTEGER NOT NULL);
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
"""

# How many records of each kind an account holds, kept by triggers (so a bulk insert straight into
# `records` keeps it too): an unfiltered count is one row, not a walk over every index entry (issue 18).
_TALLIES = """
CREATE TABLE IF NOT EXISTS tallies (
    kind TEXT NOT NULL, account TEXT NOT NULL, n INTEGER NOT NULL, PRIMARY KEY (kind, account)
);
CREATE TRIGGER IF NOT EXISTS tally_insert AFTER INSERT ON records BEGIN
    INSERT INTO tallies (kind, account, n) VALUES (new.kind, new.account, 1)
    ON CONFLICT(kind, account) DO UPDATE SET n = n + 1;
END;
CREATE TRIGGER IF NOT EXISTS tally_delete AFTER DELETE ON records BEGIN
    UPDATE tallies SET n = n - 1 WHERE kind = old.kind AND account = old.account;
END;
CREATE TRIGGER IF NOT EXISTS tally_move AFTER UPDATE OF kind, account ON records
WHEN old.kind != new.kind OR old.account != new.account BEGIN
    UPDATE tallies SET n = n - 1 WHERE kind = old.kind AND account = old.account;
    INSERT INTO tallies (kind, account, n) VALUES (new.kind, new.account, 1)
    ON CONFLICT(kind, account) DO UPDATE SET n = n + 1;
END;
"""


# One encoder for every write (`json.dumps` with options builds a new one per call); keys sorted.
_ENCODER = json.JSONEncoder(sort_keys=True)
_KEY = re.compile(r"^\w+$")
_KIND = re.compile(r"^[\w.:-]+$")
LATER_SECONDS = 0.5  # written-behind writes wait at most this long (see the module docstring)
LATER_MOST = 16384  # ... and at most this many records are kept (a few MiB)
HOT_MOST = 16384  # records `get_counted` keeps (then it starts again)


@dataclass(frozen=True)
class Condition:
    """A filter on one top-level key of a record's data, evaluated by SQLite (never by decoding records).

    Built with `between`, `contains` and `one_of`; a plain value in `where` means equality."""

    op: str  # "between" | "contains" | "in"
    values: tuple[Any, ...]

    def sql(self, column: str) -> tuple[str, list[Any]]:
        if self.op == "between":
            low, high = self.values
            parts, args = [], []
            if low is not None:
                parts.append(f"{column} >= ?")
                args.append(low)
            if high is not None:
                parts.append(f"{column} <= ?")
                args.append(high)
            return (" AND ".join(parts) or "1"), args
        if self.op == "contains":
            # instr on lower() rather than LIKE: no wildcard characters to escape in the user's text.
            return f"instr(lower(COALESCE({column}, '')), ?) > 0", [str(self.values[0]).lower()]
        if self.op == "not in":
            # A missing key (SQL NULL) is not one of the values either.
            if not self.values:
                return "1", []
            marks = ", ".join("?" * len(self.values))
            return f"({column} IS NULL OR {column} NOT IN ({marks}))", list(self.values)
        if not self.values:
            return "0", []
        return f"{column} IN ({', '.join('?' * len(self.values))})", list(self.values)


def between(low: Any = None, high: Any = None) -> Condition:
    """low <= value <= high (either end None: open); compares as SQLite does (text, or numbers)."""
    return Condition("between", (low, high))


def contains(text: str) -> Condition:
    """The value, as text, contains `text`, case-blind."""
    return Condition("contains", (text,))


def one_of(*values: Any) -> Condition:
    """The value is one of `values` (none given: matches nothing)."""
    return Condition("in", values)


def none_of(*values: Any) -> Condition:
    """The value is none of `values` (a missing or null value counts as none of them)."""
    return Condition("not in", values)


@dataclass(frozen=True)
class Plus:
    """For `Store.patch_where`: the record's own value of `key` plus `delta` (computed by SQLite)."""

    key: str
    delta: float


def plus(key: str, delta: float) -> Plus:
    return Plus(key, delta)


def _column(key: str) -> str:
    """The SQL expression of a top-level data key (the same text in indexes and queries, so SQLite can use
    an expression index)."""
    if not _KEY.match(key):
        raise ValueError(f"cannot filter on key {key!r}")
    return f"json_extract(data, '$.\"{key}\"')"


def _kind_is(kind: str) -> str:
    """`kind = '<kind>'` as a literal (a partial index is used only when the query names its kind so):
    kinds are the emulators' own names (word characters and dots); anything else is refused."""
    if not _KIND.match(kind):
        raise ValueError(f"cannot query kind {kind!r}")
    return f"kind = '{kind}'"


def _crossed(paths: Iterable[tuple[str, ...]], others: Mapping[tuple[str, ...], Any]) -> bool:
    """Whether one of `paths` lies above or below one of `others` (the same path aside): a value kept
    at one would not be the value at the other."""
    above = {o[:i] for o in others for i in range(1, len(o))}
    return any(
        p not in others and (p in above or any(p[:i] in others for i in range(1, len(p)))) for p in paths
    )


@functools.lru_cache(maxsize=512)
def _json_path(path: tuple[str, ...]) -> str:
    """`$."a"."b"` for ("a", "b"); keys are word characters only (they go into the SQL text)."""
    if not path or not all(_KEY.match(part) for part in path):
        raise ValueError(f"cannot address path {path!r}")
    return "$" + "".join(f'."{part}"' for part in path)


def _column_key(key: str) -> str:
    _column(key)  # checks the key
    return key


def _where(where: Mapping[str, Any] | None) -> tuple[str, list[Any]]:
    if not where:
        return "", []
    parts, args = [], []
    for key, value in where.items():
        column = _column(key)
        if isinstance(value, Condition):
            text, more = value.sql(column)
        elif value is None:
            text, more = f"{column} IS NULL", []
        else:
            if isinstance(value, bool):
                value = int(value)  # json_extract answers JSON true/false as 1/0
            text, more = f"{column} = ?", [value]
        parts.append(f"({text})")
        args += more
    return " AND " + " AND ".join(parts), args


_DECODER = msgspec.json.Decoder()


def _decode(text: str) -> Any:
    """A stored document: msgspec (a status poll decodes two), json.loads for what it refuses and
    json.dumps wrote (NaN, Infinity)."""
    try:
        return _DECODER.decode(text)
    except msgspec.DecodeError:
        return json.loads(text)


class Record:
    """One stored record. Its `data` is decoded from the stored JSON on first access: a caller that needs
    only some of what it fetched (a scan's engine fields, not its vendor document) pays for no more."""

    __slots__ = ("_data", "_text", "account", "id", "kind", "seq")

    def __init__(
        self,
        kind: str,
        id: str,
        account: str,
        seq: int,
        data: dict[str, Any] | None = None,
        *,
        text: str | None = None,
    ) -> None:
        self.kind, self.id, self.account, self.seq = kind, id, account, seq
        self._data: dict[str, Any] = {} if data is None else data
        self._text = text

    @property
    def data(self) -> dict[str, Any]:
        if self._text is not None:
            self._data, self._text = _decode(self._text), None
        return self._data

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Record):
            return NotImplemented
        return (self.kind, self.id, self.account, self.seq, self.data) == (
            other.kind,
            other.id,
            other.account,
            other.seq,
            other.data,
        )

    __hash__ = None  # type: ignore[assignment]  # mutable, compared by value (as the dataclass it was)

    def __repr__(self) -> str:
        return f"Record({self.kind!r}, {self.id!r}, {self.account!r}, {self.seq}, {self.data!r})"


class Store:
    def __init__(self, path: str | Path = ":memory:") -> None:
        self.path = str(path)
        if self.path != ":memory:":
            Path(self.path).parent.mkdir(parents=True, exist_ok=True)
        self._lock = threading.RLock()
        self._db = sqlite3.connect(self.path, check_same_thread=False, isolation_level=None)
        if self.path != ":memory:":
            self._db.execute("PRAGMA journal_mode=WAL")
            self._db.execute("PRAGMA busy_timeout=5000")
            # WAL's usual pairing: a commit survives the emulator crashing, only an OS crash or power
            # loss may drop the last ones; without it every request that counts a poll waits on fsync.
            self._db.execute("PRAGMA synchronous=NORMAL")
        self._db.executescript(_SCHEMA)
        with self._lock:
            fresh = not self._db.execute("SELECT 1 FROM sqlite_master WHERE name = 'tallies'").fetchone()
            self._db.executescript(_TALLIES)
            if fresh:  # a store written before the tallies were kept: count once
                self._db.execute(
                    "INSERT INTO tallies (kind, account, n) "
                    "SELECT kind, account, COUNT(*) FROM records GROUP BY kind, account"
                )
        self._depth = 0
        self._transaction = _Transaction(self)
        self._request = _Request(self)
        # Written behind (module docstring): (kind, id, key) -> delta; (kind, id) -> {path: value}.
        self._later_counts: dict[tuple[str, str, str], int] = {}
        self._later_paths: dict[tuple[str, str], dict[tuple[str, ...], Any]] = {}
        self._later_kinds: set[str] = set()
        self._later_ids: set[tuple[str, str]] = set()
        self._later_since = 0.0
        # What get_counted and pluck read (module docstring): (kind, id) -> {what was asked: answer};
        # get_counted's counter kind -> its record's kind (a write of either drops the entry).
        self._hot: dict[tuple[str, str], dict[Any, Any]] = {}
        self._hot_counters: dict[str, str] = {}
        self._seen_version: int | None = None
        # Within one request (`request()`), other connections' commits are looked for once.
        self._request_checked: bool | None = None
        self.settings_version = 0  # moves on every meta_set and clear: readers may cache settings by it

    def close(self) -> None:
        with self._lock:
            self.flush()
            self._db.close()

    # -- written behind ---------------------------------------------------------------------------

    def bump_later(self, kind: str, id: str, key: str) -> None:
        """`bump` written behind: add 1 to a top-level number of an existing record (module docstring).
        The record must exist by then (a bump of a missing record is lost, as `bump` changes nothing)."""
        with self._lock:
            slot = (kind, id, key)
            self._later_counts[slot] = self._later_counts.get(slot, 0) + 1
            self._deferred(kind, id)

    def patch_paths_later(self, kind: str, id: str, changes: Mapping[tuple[str, ...], Any]) -> None:
        """`patch_paths` written behind (module docstring); a later value at the same path replaces it."""
        with self._lock:
            self._later_paths.setdefault((kind, id), {}).update(changes)
            self._deferred(kind, id)

    def _deferred(self, kind: str, id: str) -> None:
        if not self._later_kinds:
            self._later_since = time.monotonic()
        self._later_kinds.add(kind)
        self._later_ids.add((kind, id))
        if (
            len(self._later_counts) + len(self._later_paths) >= LATER_MOST
            or time.monotonic() - self._later_since >= LATER_SECONDS
        ):
            self.flush()

    def pending_count(self, kind: str, id: str, key: str) -> int:
        """What `bump_later` added to that number and is not written yet."""
        return self._later_counts.get((kind, id, key), 0)

    def flush(self) -> None:
        """Write what is written behind, in one transaction (nothing to do: no SQL at all)."""
        if self._later_kinds:
            with self.transaction():  # the transaction writes them first (_Transaction.__enter__)
                pass

    def _write_later(self) -> None:
        """Inside a transaction: the written-behind writes, then forgotten; kept when one fails (the
        transaction is rolled back, and the next one tries them again)."""
        counts, paths = self._later_counts, self._later_paths
        by_sql: dict[str, list[tuple[Any, ...]]] = {}
        for (kind, id, key), delta in counts.items():
            column = _column(key)
            sql = (
                f"UPDATE records SET data = json_set(data, '$.\"{key}\"', COALESCE({column}, 0) + ?) "
                "WHERE kind=? AND id=?"
            )
            by_sql.setdefault(sql, []).append((delta, kind, id))
        for sql, rows in by_sql.items():
            self._db.executemany(sql, rows)
        # What get_counted and pluck keep is brought up to date rather than dropped: the written-behind
        # writes are the polls' own, and each scan would otherwise be read again after every flush.
        for (kind, id, _key), delta in counts.items():
            main = self._hot_counters.get(kind)
            kept = self._hot.get((main, id)) if main is not None else None
            if kept is not None and kind in kept:
                row, stored = kept[kind]
                kept[kind] = (row, None if stored is None else stored + delta)
        for (kind, id), changes in paths.items():
            self._patch_paths(kind, id, changes, keep=True)
        self._later_counts, self._later_paths = {}, {}
        self._later_kinds, self._later_ids = set(), set()

    def _settle(self, kind: str, id: str | None = None) -> None:
        """Before a read of `kind` (of one record: `id`) that would see a write still kept behind."""
        if kind in self._later_kinds and (id is None or (kind, id) in self._later_ids):
            self.flush()

    def transaction(self) -> AbstractContextManager[None]:
        """One atomic unit; nested calls join the outer transaction."""
        return self._transaction

    # -- records ----------------------------------------------------------------------------------

    def put(self, kind: str, id: str, account: str, data: dict[str, Any]) -> Record:
        """Insert or replace; a replaced record keeps its position (seq)."""
        text = _ENCODER.encode(data)
        with self.transaction():
            self._changed(kind, id)
            # One statement for the usual case (saving a record that exists), two for a new one.
            row = self._db.execute(
                "UPDATE records SET account=?, data=? WHERE kind=? AND id=? RETURNING seq",
                (account, text, kind, id),
            ).fetchone()
            if row is not None:
                return Record(kind, id, account, row[0], data)
            seq = self.next_id(f"seq:{kind}")
            self._db.execute(
                "INSERT INTO records (kind, id, account, seq, data) VALUES (?, ?, ?, ?, ?)",
                (kind, id, account, seq, text),
            )
        return Record(kind, id, account, seq, data)

    def patch(self, kind: str, id: str, changes: Mapping[str, Any]) -> bool:
        """Set top-level keys of a stored record in place, by SQLite's `json_set` (the rest of the record
        is not decoded and encoded again in Python); False when there is no such record."""
        for key in changes:
            if not _KEY.match(key):
                raise ValueError(f"cannot patch key {key!r}")
        return self.patch_paths(kind, id, {(key,): value for key, value in changes.items()})

    def patch_where(
        self, kind: str, changes: Mapping[str, Any], *, where: Mapping[str, Any] | None = None
    ) -> int:
        """`patch` for every record of `kind` matching `where`, in one UPDATE; a value may be `plus(key,
        delta)` (that record's own value of `key` plus delta). Returns how many records changed."""
        if not changes:
            return 0
        sets: list[str] = []
        args: list[Any] = []
        for key, value in changes.items():
            if not _KEY.match(key):
                raise ValueError(f"cannot patch key {key!r}")
            if isinstance(value, Plus):
                sets.append(f"'$.\"{key}\"', {_column(value.key)} + ?")
                args.append(value.delta)
            else:
                sets.append(f"'$.\"{key}\"', json(?)")
                args.append(_ENCODER.encode(value))
        clause, more = _where(where)
        with self.transaction():
            self._changed(kind)
            cursor = self._db.execute(
                f"UPDATE records SET data = json_set(data, {', '.join(sets)}) WHERE {_kind_is(kind)}{clause}",
                (*args, *more),
            )
            return cursor.rowcount

    def pluck(self, kind: str, id: str, *paths: tuple[str, ...]) -> tuple[Any, ...] | None:
        """Values at `paths` (tuples of object keys) inside one record's data, read by SQLite without
        decoding the record in Python (a missing path: None); None when there is no such record. A value
        written behind at the same path is the one answered (one at a path above or below: flushed).
        Kept as `get_counted` keeps its records (module docstring): a running scan's poll asks the same
        paths of the same document every time, which SQLite parses once per path."""
        if not paths:
            return None
        later = self._later_paths.get((kind, id))
        if later is not None and _crossed(paths, later):
            self.flush()
            later = None
        with self._lock:
            row = self._kept(kind, id, paths)
            if row is None:
                columns = ", ".join(f"json_extract(data, '{_json_path(p)}')" for p in paths)
                row = self._db.execute(
                    f"SELECT {columns} FROM records WHERE kind=? AND id=?", (kind, id)
                ).fetchone()
                if row is None:
                    return None
                self._keep(kind, id, paths, row)
        # json_extract answers JSON true/false as 1/0 and objects as text; only scalars are asked here.
        if later is None:
            return tuple(row)
        return tuple(later.get(p, value) for p, value in zip(paths, row, strict=True))

    def patch_paths(self, kind: str, id: str, changes: Mapping[tuple[str, ...], Any]) -> bool:
        """`patch` at nested paths (tuples of object keys): SQLite's `json_set` rewrites them in place,
        the rest of the record is never decoded in Python. False when there is no such record."""
        if not changes:
            return self.get(kind, id) is not None
        with self.transaction():
            return self._patch_paths(kind, id, changes)

    def _patch_paths(
        self, kind: str, id: str, changes: Mapping[tuple[str, ...], Any], *, keep: bool = False
    ) -> bool:
        """The UPDATE of `patch_paths`. `keep`: what pluck keeps of the record takes the new values
        (those at a path above or below a changed one are dropped); else all of it is dropped."""
        kept = self._hot.get((kind, id)) if keep else None
        if kept is not None and all(isinstance(what, tuple) and not _crossed(what, changes) for what in kept):
            for what, row in kept.items():
                kept[what] = tuple(changes.get(p, value) for p, value in zip(what, row, strict=True))
        else:
            self._changed(kind, id)
        sets, args = [], []
        for path, value in changes.items():
            sets.append(f"'{_json_path(path)}', json(?)")
            args.append(_ENCODER.encode(value))
        cursor = self._db.execute(
            f"UPDATE records SET data = json_set(data, {', '.join(sets)}) WHERE kind=? AND id=?",
            (*args, kind, id),
        )
        return cursor.rowcount > 0

    def missing(self, kind: str, key: str, *, limit: int | None = None) -> list[str]:
        """Ids of records of `kind` whose data has no `key` at all (null counts as present): records
        written before that key was kept, for a one-time upgrade."""
        self._settle(kind)
        sql = f"SELECT id FROM records WHERE kind=? AND json_type(data, '$.\"{_column_key(key)}\"') IS NULL"
        args: list[Any] = [kind]
        if limit is not None:
            sql += " LIMIT ?"
            args.append(limit)
        with self._lock:
            return [row[0] for row in self._db.execute(sql, args)]

    def bump(self, kind: str, id: str, key: str, account: str | None = None) -> Record | None:
        """Add 1 to a top-level number of a record (missing: 0) and return the record as it now is, in
        one statement; None (nothing changed) when there is no such record, or it is another account's."""
        column = _column(key)
        sql = (
            f"UPDATE records SET data = json_set(data, '$.\"{key}\"', COALESCE({column}, 0) + 1) "
            "WHERE kind=? AND id=?"
        )
        args: list[Any] = [kind, id]
        if account is not None:
            sql += " AND account=?"
            args.append(account)
        with self.transaction():
            self._changed(kind, id)
            row = self._db.execute(sql + " RETURNING kind, id, account, seq, data", args).fetchone()
        return Record(row[0], row[1], row[2], row[3], text=row[4]) if row else None

    def get_many(self, kind: str, ids: list[str]) -> dict[str, Record]:
        """The records of `kind` with these ids (by the primary key), keyed by id; absent ones left out."""
        self._settle(kind)
        out: dict[str, Record] = {}
        for start in range(0, len(ids), 500):  # SQLite's limit on bound parameters is far above this
            chunk = ids[start : start + 500]
            marks = ", ".join("?" * len(chunk))
            with self._lock:
                rows = self._db.execute(
                    f"SELECT kind, id, account, seq, data FROM records WHERE kind=? AND id IN ({marks})",
                    (kind, *chunk),
                ).fetchall()
            for r in rows:
                out[r[1]] = Record(r[0], r[1], r[2], r[3], text=r[4])
        return out

    def get_counted(self, kind: str, id: str, counter: str, key: str) -> tuple[Record, int | None] | None:
        """The record, and the number at top-level `key` of the record of kind `counter` with the same id
        (None without one), the count written behind included. None: no such record. (Two primary-key
        reads: 11 us together, where one LEFT JOIN of the two took 21; kept, module docstring.)"""
        self._settle(kind, id)
        with self._lock:
            kept = self._kept(kind, id, counter)
            if kept is None:
                row = self._db.execute(
                    "SELECT kind, id, account, seq, data FROM records WHERE kind=? AND id=?", (kind, id)
                ).fetchone()
                if row is None:
                    return None
                counted = self._db.execute(
                    f"SELECT {_column(key)} FROM records WHERE kind=? AND id=?", (counter, id)
                ).fetchone()
                stored = None if counted is None or counted[0] is None else int(counted[0])
                kept = (row, stored)
                if self._keep(kind, id, counter, kept):
                    self._hot_counters[counter] = kind
        row, count = kept
        if count is not None:
            count += self._later_counts.get((counter, id, key), 0)
        return Record(row[0], row[1], row[2], row[3], text=row[4]), count

    def request(self) -> AbstractContextManager[None]:
        """One request's reads: what get_counted and pluck keep is checked against other connections'
        commits once in it (at its first use), not at every use (a running scan's poll makes two)."""
        return self._request

    def _kept(self, kind: str, id: str, what: Any) -> Any:
        """What `_keep` kept of the record for `what` (None: nothing, or inside a transaction)."""
        if self._depth:
            return None
        if self._request_checked is not True:
            version = self._db.execute("PRAGMA data_version").fetchone()[0]
            if version != self._seen_version:  # another connection wrote: nothing kept holds
                self._hot.clear()
                self._seen_version = version
            if self._request_checked is False:
                self._request_checked = True
        kept = self._hot.get((kind, id))
        return None if kept is None else kept.get(what)

    def _keep(self, kind: str, id: str, what: Any, value: Any) -> bool:
        """Keep `value` read from the record for `what`, unless inside a transaction (never what it
        has not committed); whether it was kept."""
        if self._depth:
            return False
        if len(self._hot) >= HOT_MOST:
            self._hot.clear()
        self._hot.setdefault((kind, id), {})[what] = value
        return True

    def _changed(self, kind: str, id: str | None = None) -> None:
        """Drop what get_counted and pluck keep of a record this store writes (id None: of every
        record)."""
        if not self._hot:
            return
        if id is None:
            self._hot.clear()
            return
        self._hot.pop((kind, id), None)
        main = self._hot_counters.get(kind)
        if main is not None:
            self._hot.pop((main, id), None)

    def get(self, kind: str, id: str) -> Record | None:
        self._settle(kind, id)
        with self._lock:
            row = self._db.execute(
                "SELECT kind, id, account, seq, data FROM records WHERE kind=? AND id=?", (kind, id)
            ).fetchone()
        return Record(row[0], row[1], row[2], row[3], text=row[4]) if row else None

    def list(
        self,
        kind: str,
        account: str | None = None,
        *,
        where: Mapping[str, Any] | None = None,
        limit: int | None = None,
        offset: int = 0,
        newest_first: bool = False,
    ) -> list[Record]:
        """Records of `kind` in insertion order (or newest first), filtered in SQLite; with `limit`, only
        that page is read (and nothing is decoded until a record's `data` is used)."""
        self._settle(kind)
        filters = f"FROM records WHERE {_kind_is(kind)}"
        args: list[Any] = []
        if account is not None:
            filters += " AND account=?"
            args.append(account)
        clause, more = _where(where)
        filters += clause
        args += more
        order = " ORDER BY seq DESC" if newest_first else " ORDER BY seq"
        columns = "SELECT kind, id, account, seq, data "
        if limit is None:
            sql = columns + filters + order
        else:
            # The page's rows are picked from an index alone (rowid and seq are in every index), then
            # only those rows are read: a filter whose index cannot give seq order sorts integers, not
            # whole records.
            page = f"SELECT rowid {filters}{order} LIMIT ? OFFSET ?"
            sql = f"{columns}FROM records WHERE rowid IN ({page}){order}"
            args += [limit, offset]
        with self._lock:
            rows = self._db.execute(sql, args).fetchall()
        return [Record(r[0], r[1], r[2], r[3], text=r[4]) for r in rows]

    def count(self, kind: str, account: str | None = None, *, where: Mapping[str, Any] | None = None) -> int:
        self._settle(kind)
        if not where:  # the tallies the triggers keep: one row per account
            sql, targs = "SELECT COALESCE(SUM(n), 0) FROM tallies WHERE kind=?", [kind]
            if account is not None:
                sql += " AND account=?"
                targs.append(account)
            with self._lock:
                return int(self._db.execute(sql, targs).fetchone()[0])
        sql = f"SELECT COUNT(*) FROM records WHERE {_kind_is(kind)}"
        args: list[Any] = []
        if account is not None:
            sql += " AND account=?"
            args.append(account)
        clause, more = _where(where)
        with self._lock:
            return int(self._db.execute(sql + clause, [*args, *more]).fetchone()[0])

    def index(self, kind: str, *keys: str, by_account: bool = True) -> None:
        """An index on (account, the data keys..., seq) for records of `kind`, so lists that filter on those
        keys read only the matching rows (call when the backend is built; idempotent). `by_account=False`
        leaves the account out, for queries across accounts (the engine's due scans)."""
        if not _KEY.match(kind.replace(".", "_")) or not keys:
            raise ValueError(f"cannot index kind {kind!r} on {keys!r}")
        name = "ix_" + "_".join([kind.replace(".", "_"), *keys]) + ("" if by_account else "_all")
        columns = ", ".join([*(["account"] if by_account else []), *(_column(k) for k in keys), "seq"])
        with self.transaction():
            # Partial (this kind's rows only): writing a record of another kind (a scan's 3.5 kB vendor
            # document) does not work out these JSON expressions for it. Queries name the kind as a
            # literal (`_kind_is`) so SQLite may use it. An index of the same name made before, over
            # every row, is replaced.
            made = self._db.execute("SELECT sql FROM sqlite_master WHERE type='index' AND name=?", (name,))
            row = made.fetchone()
            if row is not None and " WHERE " not in str(row[0]):
                self._db.execute(f"DROP INDEX {name}")
            self._db.execute(
                f"CREATE INDEX IF NOT EXISTS {name} ON records (kind, {columns}) WHERE {_kind_is(kind)}"
            )

    def delete(self, kind: str, id: str | None = None) -> None:
        with self.transaction():
            self._changed(kind, id)
            if id is None:
                self._db.execute("DELETE FROM records WHERE kind=?", (kind,))
            else:
                self._db.execute("DELETE FROM records WHERE kind=? AND id=?", (kind, id))

    # -- counters and settings --------------------------------------------------------------------

    def next_id(self, name: str) -> int:
        """A seeded counter: 1, 2, 3, ... per name, persistent across restarts."""
        with self.transaction():
            self._db.execute(
                "INSERT INTO counters (name, value) VALUES (?, 1) "
                "ON CONFLICT(name) DO UPDATE SET value = value + 1",
                (name,),
            )
            return int(self._db.execute("SELECT value FROM counters WHERE name=?", (name,)).fetchone()[0])

    def meta_get(self, key: str, default: Any = None) -> Any:
        with self._lock:
            row = self._db.execute("SELECT value FROM meta WHERE key=?", (key,)).fetchone()
        return json.loads(row[0]) if row else default

    def meta_set(self, key: str, value: Any) -> None:
        self.settings_version += 1
        with self.transaction():
            self._db.execute(
                "INSERT OR REPLACE INTO meta (key, value) VALUES (?, ?)", (key, _ENCODER.encode(value))
            )

    def clear(self) -> None:
        """Forget every record, counter and setting (the control API's reset)."""
        self.settings_version += 1
        with self.transaction():
            self._changed("", None)
            for table in ("records", "tallies", "counters", "meta"):
                self._db.execute(f"DELETE FROM {table}")


class _Request:
    """`Store.request()` (a class for the cost, as `_Transaction`)."""

    __slots__ = ("_store",)

    def __init__(self, store: Store) -> None:
        self._store = store

    def __enter__(self) -> None:
        self._store._request_checked = False

    def __exit__(self, *exc: object) -> None:
        self._store._request_checked = None


class _Transaction:
    """`Store.transaction()`: a class rather than a generator-based context manager, which cost more
    than the SQL of a status poll's nested units (each layer makes its own; the nested ones only count)."""

    __slots__ = ("_store",)

    def __init__(self, store: Store) -> None:
        self._store = store

    def __enter__(self) -> None:
        store = self._store
        store._lock.acquire()
        try:
            if store._depth == 0:
                store._db.execute("BEGIN IMMEDIATE")
                if store._later_kinds:  # written behind: lands before anything this unit writes
                    try:
                        store._write_later()
                    except BaseException:
                        store._hot.clear()  # some of it may have been brought up to date already
                        store._db.execute("ROLLBACK")
                        raise
        except BaseException:
            store._lock.release()
            raise
        store._depth += 1

    def __exit__(
        self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        store = self._store
        try:
            store._depth -= 1
            if store._depth == 0:
                if kind is not None:
                    store._hot.clear()  # an entry dropped by a write undone may have been read again
                store._db.execute("COMMIT" if kind is None else "ROLLBACK")
        finally:
            store._lock.release()
