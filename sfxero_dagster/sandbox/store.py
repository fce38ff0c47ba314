"""Durable record storage for the emulators: an in-memory index written through to SQLite.

Reads come from memory (fast enough for the large seed); every write is committed to SQLite before
the HTTP response is sent, so a restarted emulator sees exactly what a client was told had happened.
Decimals survive the round trip.
"""

from __future__ import annotations

import json
import sqlite3
import threading
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from decimal import Decimal
from pathlib import Path
from typing import Any

_DEC = "__decimal__"


def _encode(value: Any) -> Any:
    if isinstance(value, Decimal):
        return {_DEC: str(value)}
    raise TypeError(f"not serialisable: {type(value).__name__}")


def _decode(obj: dict) -> Any:
    if len(obj) == 1 and _DEC in obj:
        return Decimal(obj[_DEC])
    return obj


def dumps(value: Any) -> str:
    return json.dumps(value, default=_encode, separators=(",", ":"), ensure_ascii=False)


def loads(text: str) -> Any:
    return json.loads(text, object_hook=_decode)


class RecordStore:
    """Collections of JSON records keyed by id, plus a small key/value ``meta`` table.

    ``path=None`` keeps everything in memory (unit tests). Writes inside ``transaction()`` are
    committed together; outside one, each write commits on its own. ``find`` looks records up by a
    field's value through an index kept by every write (uniqueness checks and external-id upserts
    scanned every record of a kind per saved record, which made a 15,000-row Bulk job take minutes).
    """

    def __init__(self, path: str | Path | None = None) -> None:
        self.path = Path(path) if path else None
        self._lock = threading.RLock()
        self._data: dict[str, dict[str, Any]] = {}
        self._meta: dict[str, Any] = {}
        self._depth = 0
        # kind -> field -> (value key -> ordered ids, id -> value key)
        self._indexes: dict[str, dict[str, tuple[dict[str, dict[str, None]], dict[str, str]]]] = {}
        self._db: sqlite3.Connection | None = None
        if self.path is not None:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            self._db = sqlite3.connect(str(self.path), check_same_thread=False, isolation_level=None)
            self._db.execute("PRAGMA journal_mode=WAL")
            self._db.execute("PRAGMA synchronous=NORMAL")
            self._db.execute(
                "CREATE TABLE IF NOT EXISTS records (kind TEXT, id TEXT, data TEXT, PRIMARY KEY (kind, id))"
            )
            self._db.execute("CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT)")
            for kind, rid, data in self._db.execute("SELECT kind, id, data FROM records"):
                self._data.setdefault(kind, {})[rid] = loads(data)
            for key, value in self._db.execute("SELECT key, value FROM meta"):
                self._meta[key] = loads(value)

    # ----- transactions ---------------------------------------------------------------------------
    @contextmanager
    def transaction(self) -> Iterator[RecordStore]:
        with self._lock:
            outer = self._depth == 0
            if outer and self._db is not None:
                self._db.execute("BEGIN")
            self._depth += 1
            try:
                yield self
            except BaseException:
                self._depth -= 1
                if outer and self._db is not None:
                    self._db.execute("ROLLBACK")
                    self._reload()
                raise
            self._depth -= 1
            if outer and self._db is not None:
                self._db.execute("COMMIT")

    def _reload(self) -> None:
        assert self._db is not None
        self._data.clear()
        self._indexes.clear()
        self._meta.clear()
        for kind, rid, data in self._db.execute("SELECT kind, id, data FROM records"):
            self._data.setdefault(kind, {})[rid] = loads(data)
        for key, value in self._db.execute("SELECT key, value FROM meta"):
            self._meta[key] = loads(value)

    # ----- records --------------------------------------------------------------------------------
    def get(self, kind: str, rid: str) -> Any | None:
        return self._data.get(kind, {}).get(rid)

    def all(self, kind: str) -> list[Any]:
        with self._lock:
            return list(self._data.get(kind, {}).values())

    def items(self, kind: str) -> list[tuple[str, Any]]:
        with self._lock:
            return list(self._data.get(kind, {}).items())

    def count(self, kind: str) -> int:
        return len(self._data.get(kind, {}))

    def kinds(self) -> list[str]:
        return list(self._data)

    def put(self, kind: str, rid: str, record: Any) -> Any:
        with self._lock:
            self._data.setdefault(kind, {})[rid] = record
            self._reindex(kind, rid, record)
            if self._db is not None:
                self._db.execute(
                    "INSERT OR REPLACE INTO records (kind, id, data) VALUES (?, ?, ?)",
                    (kind, rid, dumps(record)),
                )
        return record

    def put_many(self, kind: str, records: Iterable[tuple[str, Any]]) -> int:
        rows = list(records)
        with self.transaction():
            bucket = self._data.setdefault(kind, {})
            for rid, rec in rows:
                bucket[rid] = rec
                self._reindex(kind, rid, rec)
            if self._db is not None:
                self._db.executemany(
                    "INSERT OR REPLACE INTO records (kind, id, data) VALUES (?, ?, ?)",
                    ((kind, rid, dumps(rec)) for rid, rec in rows),
                )
        return len(rows)

    def delete(self, kind: str, rid: str) -> bool:
        with self._lock:
            existed = self._data.get(kind, {}).pop(rid, None) is not None
            self._reindex(kind, rid, None)
            if self._db is not None:
                self._db.execute("DELETE FROM records WHERE kind = ? AND id = ?", (kind, rid))
            return existed

    # ----- lookups by value ------------------------------------------------------------------------
    @staticmethod
    def _value_key(value: Any) -> str | None:
        return None if value is None else str(value).lower()

    def _index(self, kind: str, field: str) -> tuple[dict[str, dict[str, None]], dict[str, str]]:
        fields = self._indexes.setdefault(kind, {})
        if field not in fields:
            by_value: dict[str, dict[str, None]] = {}
            by_id: dict[str, str] = {}
            for rid, rec in self._data.get(kind, {}).items():
                key = self._value_key(rec.get(field)) if isinstance(rec, dict) else None
                if key is not None:
                    by_value.setdefault(key, {})[rid] = None
                    by_id[rid] = key
            fields[field] = (by_value, by_id)
        return fields[field]

    def _reindex(self, kind: str, rid: str, record: Any) -> None:
        """Keep ``kind``'s indexes current after ``rid`` was written (``None``: deleted).

        The old key comes from the index itself, so a record changed in place before ``put`` is
        still moved correctly.
        """
        for field, (by_value, by_id) in self._indexes.get(kind, {}).items():
            new = self._value_key(record.get(field)) if isinstance(record, dict) else None
            old = by_id.get(rid)
            if old == new:
                continue
            if old is not None:
                ids = by_value[old]
                ids.pop(rid, None)
                if not ids:
                    del by_value[old]
                del by_id[rid]
            if new is not None:
                by_value.setdefault(new, {})[rid] = None
                by_id[rid] = new

    def find(self, kind: str, field: str, value: Any) -> list[Any]:
        """Records of ``kind`` whose ``field`` equals ``value`` compared as lower-cased text."""
        key = self._value_key(value)
        if key is None:
            return []
        with self._lock:
            by_value, _ = self._index(kind, field)
            bucket = self._data.get(kind, {})
            return [bucket[rid] for rid in by_value.get(key, ()) if rid in bucket]

    # ----- meta -----------------------------------------------------------------------------------
    def get_meta(self, key: str, default: Any = None) -> Any:
        return self._meta.get(key, default)

    def set_meta(self, key: str, value: Any) -> None:
        with self._lock:
            self._meta[key] = value
            if self._db is not None:
                self._db.execute(
                    "INSERT OR REPLACE INTO meta (key, value) VALUES (?, ?)", (key, dumps(value))
                )

    def delete_meta(self, key: str) -> bool:
        with self._lock:
            existed = self._meta.pop(key, None) is not None
            if self._db is not None:
                self._db.execute("DELETE FROM meta WHERE key = ?", (key,))
            return existed

    def clear(self) -> None:
        with self._lock:
            self._data.clear()
            self._meta.clear()
            self._indexes.clear()
            if self._db is not None:
                self._db.execute("DELETE FROM records")
                self._db.execute("DELETE FROM meta")

    def close(self) -> None:
        with self._lock:
            if self._db is not None:
                self._db.close()
                self._db = None
