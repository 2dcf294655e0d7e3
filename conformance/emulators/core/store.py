"""SQLite state for an emulator: generic JSON records, counters and settings, safe under concurrency.

One Store belongs to one Emulator instance (never a module global). `:memory:` for tests; a file path
for servers, so a restarted server keeps its scans. Every write runs in one transaction under a lock,
so concurrent requests (threads or tasks) never lose or duplicate a record.
"""

from __future__ import annotations

import json
import sqlite3
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

__all__ = ["Record", "Store"]

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
CREATE TABLE IF NOT EXISTS counters (name TEXT PRIMARY KEY, value INTEGER NOT NULL);
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
"""


@dataclass
class Record:
    kind: str
    id: str
    account: str
    seq: int
    data: dict[str, Any]


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
        self._depth = 0

    def close(self) -> None:
        with self._lock:
            self._db.close()

    @contextmanager
    def transaction(self) -> Iterator[None]:
        """One atomic unit; nested calls join the outer transaction."""
        with self._lock:
            if self._depth == 0:
                self._db.execute("BEGIN IMMEDIATE")
            self._depth += 1
            try:
                yield
            except BaseException:
                self._depth -= 1
                if self._depth == 0:
                    self._db.execute("ROLLBACK")
                raise
            self._depth -= 1
            if self._depth == 0:
                self._db.execute("COMMIT")

    # -- records ----------------------------------------------------------------------------------

    def put(self, kind: str, id: str, account: str, data: dict[str, Any]) -> Record:
        """Insert or replace; a replaced record keeps its position (seq)."""
        text = json.dumps(data, sort_keys=True)
        with self.transaction():
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

    def get(self, kind: str, id: str) -> Record | None:
        with self._lock:
            row = self._db.execute(
                "SELECT kind, id, account, seq, data FROM records WHERE kind=? AND id=?", (kind, id)
            ).fetchone()
        return Record(row[0], row[1], row[2], row[3], json.loads(row[4])) if row else None

    def list(
        self, kind: str, account: str | None = None, *, limit: int | None = None, offset: int = 0
    ) -> list[Record]:
        sql = "SELECT kind, id, account, seq, data FROM records WHERE kind=?"
        args: list[Any] = [kind]
        if account is not None:
            sql += " AND account=?"
            args.append(account)
        sql += " ORDER BY seq"
        if limit is not None:
            sql += " LIMIT ? OFFSET ?"
            args += [limit, offset]
        with self._lock:
            rows = self._db.execute(sql, args).fetchall()
        return [Record(r[0], r[1], r[2], r[3], json.loads(r[4])) for r in rows]

    def count(self, kind: str, account: str | None = None) -> int:
        sql = "SELECT COUNT(*) FROM records WHERE kind=?" + (" AND account=?" if account is not None else "")
        with self._lock:
            return int(
                self._db.execute(sql, (kind, account) if account is not None else (kind,)).fetchone()[0]
            )

    def delete(self, kind: str, id: str | None = None) -> None:
        with self.transaction():
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
        with self.transaction():
            self._db.execute(
                "INSERT OR REPLACE INTO meta (key, value) VALUES (?, ?)",
                (key, json.dumps(value, sort_keys=True)),
            )

    def clear(self) -> None:
        """Forget every record, counter and setting (the control API's reset)."""
        with self.transaction():
            for table in ("records", "counters", "meta"):
                self._db.execute(f"DELETE FROM {table}")
