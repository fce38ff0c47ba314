"""The sync ledger: durable sync state in DuckDB, behind a small typed API.

What it holds and why:

- **links** Salesforce record ⇄ Xero record per tenant, with the hash of the last payload pushed
  successfully. Delta pushes compare against it, so an unchanged record is never sent again.
- **intents** a write recorded *before* it is sent (idempotency key, natural key). A crash between
  "sent" and "recorded" leaves the intent pending; recovery looks the record up in Xero by its natural
  key (ContactNumber, InvoiceNumber) and links it instead of sending it twice. Closing is idempotent:
  an intent closes once, so an outcome can never be applied twice.
- **events** every sync event with record-level context (append-only).
- **review_queue** records that could not be synced, one item per (record, reason), with attempts.
- **watermarks** per stream, advanced only after a successful run, and never backwards.

DuckDB allows one writing process per file. Every operation therefore runs in a short transaction on a
connection opened for it, under an inter-process file lock; no connection is held across network calls.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Literal

import duckdb
import pandas as pd

from sfxero_dagster.core.duckfile import LockedDuckDB

IntentState = Literal["pending", "succeeded", "failed", "abandoned"]
QueueState = Literal["open", "resolved", "ignored"]


def _now(now: datetime | None = None) -> datetime:
    return (now or datetime.now(UTC)).astimezone(UTC)


def _json(value: Any) -> str | None:
    return None if value is None else json.dumps(value, default=str, sort_keys=True)


# ----- migrations -------------------------------------------------------------------------------------
MIGRATIONS: list[tuple[int, list[str]]] = [
    (
        1,
        [
            """CREATE TABLE links (
                tenant_id VARCHAR NOT NULL, sf_object VARCHAR NOT NULL, sf_id VARCHAR NOT NULL,
                xero_object VARCHAR NOT NULL, xero_id VARCHAR, xero_number VARCHAR, payload_hash VARCHAR,
                pushed_at TIMESTAMPTZ, updated_at TIMESTAMPTZ NOT NULL,
                PRIMARY KEY (tenant_id, sf_object, sf_id, xero_object))""",
            "CREATE INDEX links_xero_id ON links (xero_id)",
            """CREATE TABLE intents (
                intent_id VARCHAR PRIMARY KEY, idempotency_key VARCHAR, run_id VARCHAR, tenant_id VARCHAR,
                target VARCHAR NOT NULL, sf_object VARCHAR, sf_id VARCHAR, xero_object VARCHAR,
                natural_key VARCHAR, payload_hash VARCHAR, state VARCHAR NOT NULL, created_at TIMESTAMPTZ NOT NULL,
                closed_at TIMESTAMPTZ, outcome VARCHAR)""",
            "CREATE INDEX intents_state ON intents (state)",
            "CREATE SEQUENCE events_seq",
            """CREATE TABLE events (
                event_id BIGINT PRIMARY KEY DEFAULT nextval('events_seq'), occurred_at TIMESTAMPTZ NOT NULL,
                run_id VARCHAR, stream VARCHAR, sf_object VARCHAR, sf_id VARCHAR, tenant_id VARCHAR,
                action VARCHAR NOT NULL, http_status INTEGER, error_code VARCHAR, message VARCHAR, context VARCHAR)""",
            "CREATE SEQUENCE review_seq",
            """CREATE TABLE review_queue (
                item_id BIGINT PRIMARY KEY DEFAULT nextval('review_seq'), sf_object VARCHAR NOT NULL,
                sf_id VARCHAR NOT NULL, tenant_id VARCHAR NOT NULL, reason_code VARCHAR NOT NULL,
                message VARCHAR, field VARCHAR, value VARCHAR, hint VARCHAR, payload VARCHAR,
                attempts INTEGER NOT NULL, state VARCHAR NOT NULL, note VARCHAR,
                first_seen TIMESTAMPTZ NOT NULL, last_seen TIMESTAMPTZ NOT NULL, resolved_at TIMESTAMPTZ,
                UNIQUE (sf_object, sf_id, tenant_id, reason_code))""",
            """CREATE TABLE watermarks (
                stream VARCHAR PRIMARY KEY, value VARCHAR NOT NULL, updated_at TIMESTAMPTZ NOT NULL, run_id VARCHAR)""",
        ],
    ),
    (
        2,
        [
            # Validation reports invoice problems per line; keep which line a queue item is about.
            "ALTER TABLE review_queue ADD COLUMN line_id VARCHAR",
            "ALTER TABLE events ADD COLUMN xero_id VARCHAR",
        ],
    ),
    (
        3,
        [
            # How a link came to be: 'created' (our push made the Xero record) or 'linked:<match rule>'.
            # A push may change a Xero contact it did not create only within what its origin allows.
            "ALTER TABLE links ADD COLUMN origin VARCHAR",
            """UPDATE links SET origin = CASE
                   WHEN xero_object <> 'Contacts' OR EXISTS (
                       SELECT 1 FROM intents i WHERE i.target = 'xero:Contacts:PUT' AND i.state = 'succeeded'
                           AND i.tenant_id = links.tenant_id AND i.sf_id = links.sf_id) THEN 'created'
                   ELSE 'linked' END""",
        ],
    ),
]
SCHEMA_VERSION = MIGRATIONS[-1][0]


# ----- rows -------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class Link:
    tenant_id: str
    sf_object: str
    sf_id: str
    xero_object: str
    xero_id: str | None
    xero_number: str | None = None
    payload_hash: str | None = None
    pushed_at: datetime | None = None
    origin: str | None = None  # 'created' or 'linked:<rule>'; the first one recorded is kept


@dataclass(frozen=True)
class IntentIn:
    target: str  # e.g. "xero:Invoices:PUT"
    tenant_id: str
    sf_object: str
    sf_id: str
    xero_object: str
    natural_key: str  # how to find the record in Xero after a crash (ContactNumber, InvoiceNumber)
    payload_hash: str
    idempotency_key: str | None = None
    run_id: str | None = None


@dataclass(frozen=True)
class Intent:
    intent_id: str
    target: str
    tenant_id: str
    sf_object: str
    sf_id: str
    xero_object: str
    natural_key: str
    payload_hash: str
    idempotency_key: str | None
    run_id: str | None
    state: str
    created_at: datetime
    closed_at: datetime | None
    outcome: dict | None


@dataclass(frozen=True)
class Closure:
    intent_id: str
    state: Literal["succeeded", "failed", "abandoned"]
    outcome: dict | None = None
    xero_id: str | None = None  # on success, the link is written in the same transaction
    xero_number: str | None = None


@dataclass(frozen=True)
class Event:
    action: str  # create, update, skip, fail, retry, void, writeback, match, resolve, ...
    run_id: str | None = None
    stream: str | None = None
    sf_object: str | None = None
    sf_id: str | None = None
    tenant_id: str | None = None
    xero_id: str | None = None
    http_status: int | None = None
    error_code: str | None = None
    message: str | None = None
    context: dict | None = None


@dataclass(frozen=True)
class QueueItemIn:
    sf_object: str
    sf_id: str
    reason_code: str
    message: str | None = None
    tenant_id: str | None = None
    field: str | None = None
    value: str | None = None
    hint: str | None = None
    payload: dict | None = None
    line_id: str | None = None


@dataclass(frozen=True)
class QueueItem:
    item_id: int
    sf_object: str
    sf_id: str
    tenant_id: str
    reason_code: str
    message: str | None
    field: str | None
    value: str | None
    hint: str | None
    payload: dict | None
    attempts: int
    state: str
    note: str | None
    first_seen: datetime
    last_seen: datetime
    resolved_at: datetime | None
    line_id: str | None = None


@dataclass
class RecoveryReport:
    linked: list[str] = field(default_factory=list)  # intent ids found in Xero and linked
    abandoned: list[str] = field(default_factory=list)  # not found: safe to send again


# ----- the ledger -------------------------------------------------------------------------------------
class Ledger(LockedDuckDB):
    """Typed access to the sync state in one DuckDB file. Safe to use from several processes."""

    def __init__(
        self, path: str | Path, *, lock_timeout: float = 120.0, migrate_to: int | None = None
    ) -> None:
        """Open (creating and migrating) the ledger; ``migrate_to`` stops at an older schema version."""
        if str(path) == ":memory:":
            raise ValueError("the ledger needs a file: several processes share it")
        super().__init__(path, lock_timeout=lock_timeout)
        self.migrate(migrate_to)

    def schema_version(self) -> int:
        with self._tx() as con:
            return self._version(con)

    @staticmethod
    def _version(con: duckdb.DuckDBPyConnection) -> int:
        con.execute(
            "CREATE TABLE IF NOT EXISTS schema_version (version INTEGER NOT NULL, applied_at TIMESTAMPTZ)"
        )
        row = con.execute("SELECT max(version) FROM schema_version").fetchone()
        return int(row[0]) if row and row[0] is not None else 0

    def migrate(self, target: int | None = None) -> int:
        """Apply pending migrations in order (each in the same transaction as its version row)."""
        target = SCHEMA_VERSION if target is None else target
        with self._tx() as con:
            current = self._version(con)
            for version, statements in MIGRATIONS:
                if current < version <= target:
                    for sql in statements:
                        con.execute(sql)
                    con.execute("INSERT INTO schema_version VALUES (?, ?)", [version, _now()])
                    current = version
            return current

    # --- links ---
    def upsert_links(self, links: Iterable[Link], now: datetime | None = None) -> int:
        rows = list(links)
        if not rows:
            return 0
        with self._tx() as con:
            self._upsert_links(con, rows, _now(now))
        return len(rows)

    @staticmethod
    def _upsert_links(con: duckdb.DuckDBPyConnection, rows: Sequence[Link], now: datetime) -> None:
        df = pd.DataFrame(
            [
                {
                    "tenant_id": r.tenant_id,
                    "sf_object": r.sf_object,
                    "sf_id": r.sf_id,
                    "xero_object": r.xero_object,
                    "xero_id": r.xero_id,
                    "xero_number": r.xero_number,
                    "payload_hash": r.payload_hash,
                    "pushed_at": r.pushed_at or now,
                    "updated_at": now,
                    "origin": r.origin,
                }
                for r in rows
            ]
        ).drop_duplicates(["tenant_id", "sf_object", "sf_id", "xero_object"], keep="last")
        con.register("incoming_links", df)
        con.execute(
            """INSERT INTO links (tenant_id, sf_object, sf_id, xero_object, xero_id, xero_number, payload_hash,
                   pushed_at, updated_at, origin)
               SELECT tenant_id, sf_object, sf_id, xero_object, xero_id, xero_number,
                   payload_hash, pushed_at, updated_at, origin FROM incoming_links
               ON CONFLICT (tenant_id, sf_object, sf_id, xero_object) DO UPDATE SET
                   origin = CASE WHEN excluded.xero_id IS NOT NULL AND excluded.xero_id IS DISTINCT FROM links.xero_id
                       THEN coalesce(excluded.origin, links.origin) ELSE coalesce(links.origin, excluded.origin) END,
                   xero_id = coalesce(excluded.xero_id, links.xero_id),
                   xero_number = coalesce(excluded.xero_number, links.xero_number),
                   payload_hash = coalesce(excluded.payload_hash, links.payload_hash),
                   pushed_at = excluded.pushed_at, updated_at = excluded.updated_at"""
        )
        con.unregister("incoming_links")

    def get_link(self, tenant_id: str, sf_object: str, sf_id: str, xero_object: str) -> Link | None:
        with self._tx() as con:
            row = con.execute(
                """SELECT tenant_id, sf_object, sf_id, xero_object, xero_id, xero_number, payload_hash, pushed_at,
                   origin FROM links WHERE tenant_id=? AND sf_object=? AND sf_id=? AND xero_object=?""",
                [tenant_id, sf_object, sf_id, xero_object],
            ).fetchone()
        return Link(*row) if row else None

    def link_by_xero_id(self, xero_id: str) -> list[Link]:
        with self._tx() as con:
            rows = con.execute(
                """SELECT tenant_id, sf_object, sf_id, xero_object, xero_id, xero_number, payload_hash, pushed_at,
                   origin FROM links WHERE xero_id=? ORDER BY tenant_id, sf_object, sf_id""",
                [xero_id],
            ).fetchall()
        return [Link(*r) for r in rows]

    def links_frame(self, tenant_id: str | None = None, xero_object: str | None = None) -> pd.DataFrame:
        """All links (optionally for one tenant/object) as a frame, for set-based delta comparisons."""
        where, params = self._where(tenant_id=tenant_id, xero_object=xero_object)
        with self._tx() as con:
            return con.execute(f"SELECT * FROM links {where} ORDER BY sf_id", params).df()

    # --- intents ---
    def record_intents(self, intents: Iterable[IntentIn], now: datetime | None = None) -> list[str]:
        """Record pending writes before sending them; returns their ids in order."""
        rows = list(intents)
        if not rows:
            return []
        ts = _now(now)
        ids = [str(uuid.uuid4()) for _ in rows]
        df = pd.DataFrame(
            [
                {
                    "intent_id": i,
                    "idempotency_key": r.idempotency_key,
                    "run_id": r.run_id,
                    "tenant_id": r.tenant_id,
                    "target": r.target,
                    "sf_object": r.sf_object,
                    "sf_id": r.sf_id,
                    "xero_object": r.xero_object,
                    "natural_key": r.natural_key,
                    "payload_hash": r.payload_hash,
                    "state": "pending",
                    "created_at": ts,
                    "closed_at": pd.NaT,
                    "outcome": None,
                }
                for i, r in zip(ids, rows, strict=True)
            ]
        )
        with self._tx() as con:
            con.register("incoming_intents", df)
            con.execute(
                """INSERT INTO intents SELECT intent_id, idempotency_key, run_id, tenant_id, target, sf_object,
                       sf_id, xero_object, natural_key, payload_hash, state, created_at,
                       CAST(closed_at AS TIMESTAMPTZ), outcome FROM incoming_intents"""
            )
            con.unregister("incoming_intents")
        return ids

    def close_intents(self, closures: Iterable[Closure], now: datetime | None = None) -> list[str]:
        """Close pending intents; a succeeded one writes its link in the same transaction.

        Returns the ids actually closed. An intent that is no longer pending is left alone, so the same
        outcome can never be applied twice (for example by a retried run and a recovery pass).
        """
        wanted = {c.intent_id: c for c in closures}
        if not wanted:
            return []
        ts = _now(now)
        with self._tx() as con:
            con.register("wanted", pd.DataFrame({"intent_id": list(wanted)}))
            pending = con.execute(
                """SELECT i.intent_id, tenant_id, sf_object, sf_id, xero_object, natural_key, payload_hash, target
                   FROM intents i JOIN wanted USING (intent_id) WHERE i.state = 'pending'"""
            ).fetchall()
            con.unregister("wanted")
            if not pending:
                return []
            updates = pd.DataFrame(
                [
                    {"intent_id": p[0], "state": wanted[p[0]].state, "outcome": _json(wanted[p[0]].outcome)}
                    for p in pending
                ]
            )
            con.register("updates", updates)
            con.execute(
                """UPDATE intents SET state = updates.state, outcome = updates.outcome, closed_at = ?
                   FROM updates WHERE intents.intent_id = updates.intent_id AND intents.state = 'pending'""",
                [ts],
            )
            con.unregister("updates")
            links = [
                Link(
                    p[1],
                    p[2],
                    p[3],
                    p[4],
                    wanted[p[0]].xero_id,
                    wanted[p[0]].xero_number or p[5],
                    p[6],
                    ts,
                    "created" if p[7].endswith(":PUT") else None,
                )
                for p in pending
                if wanted[p[0]].state == "succeeded"
            ]
            if links:
                self._upsert_links(con, links, ts)
        return [p[0] for p in pending]

    def close_intent(self, closure: Closure, now: datetime | None = None) -> bool:
        return bool(self.close_intents([closure], now))

    def pending_intents(self, tenant_id: str | None = None, target: str | None = None) -> list[Intent]:
        where, params = self._where(tenant_id=tenant_id, target=target)
        where = f"{where} AND state = 'pending'" if where else "WHERE state = 'pending'"
        return self._intents(where, params)

    def get_intent(self, intent_id: str) -> Intent | None:
        found = self._intents("WHERE intent_id = ?", [intent_id])
        return found[0] if found else None

    def _intents(self, where: str, params: list[Any]) -> list[Intent]:
        with self._tx() as con:
            rows = con.execute(
                f"""SELECT intent_id, target, tenant_id, sf_object, sf_id, xero_object, natural_key, payload_hash,
                       idempotency_key, run_id, state, created_at, closed_at, outcome
                    FROM intents {where} ORDER BY created_at, intent_id""",
                params,
            ).fetchall()
        return [Intent(*r[:-1], json.loads(r[-1]) if r[-1] else None) for r in rows]

    def recover_pending(
        self,
        resolver: Callable[[Intent], tuple[str, str | None] | None],
        *,
        tenant_id: str | None = None,
        target: str | None = None,
        now: datetime | None = None,
    ) -> RecoveryReport:
        """Resolve writes a crash left pending, before anything is resent.

        ``resolver(intent)`` looks the record up in the target system by its natural key and returns
        ``(xero_id, xero_number)`` when it exists (the write had committed: link it) or ``None`` (it
        never happened: abandon the intent so the record is sent again under a new intent).
        """
        report = RecoveryReport()
        closures = []
        for intent in self.pending_intents(tenant_id=tenant_id, target=target):
            found = resolver(intent)
            if found is not None:
                closures.append(
                    Closure(intent.intent_id, "succeeded", {"recovered": True}, found[0], found[1])
                )
            else:
                closures.append(Closure(intent.intent_id, "abandoned", {"recovered": True, "found": False}))
        closed = set(self.close_intents(closures, now))
        for c in closures:
            if c.intent_id in closed:
                (report.linked if c.state == "succeeded" else report.abandoned).append(c.intent_id)
        return report

    # --- events ---
    def log_events(self, events: Iterable[Event], now: datetime | None = None) -> int:
        rows = list(events)
        if not rows:
            return 0
        ts = _now(now)
        df = pd.DataFrame(
            [
                {
                    "occurred_at": ts,
                    "run_id": e.run_id,
                    "stream": e.stream,
                    "sf_object": e.sf_object,
                    "sf_id": e.sf_id,
                    "tenant_id": e.tenant_id,
                    "action": e.action,
                    "http_status": e.http_status if e.http_status is not None else pd.NA,
                    "error_code": e.error_code,
                    "message": e.message,
                    "context": _json(e.context),
                    "xero_id": e.xero_id,
                }
                for e in rows
            ]
        ).astype({"http_status": "Int32"})
        with self._tx() as con:
            con.register("incoming_events", df)
            con.execute(
                """INSERT INTO events (occurred_at, run_id, stream, sf_object, sf_id, tenant_id, action, http_status,
                       error_code, message, context, xero_id)
                   SELECT occurred_at, run_id, stream, sf_object, sf_id, tenant_id, action, http_status, error_code,
                       message, context, xero_id FROM incoming_events"""
            )
            con.unregister("incoming_events")
        return len(rows)

    def events(
        self, run_id: str | None = None, sf_id: str | None = None, action: str | None = None
    ) -> pd.DataFrame:
        where, params = self._where(run_id=run_id, sf_id=sf_id, action=action)
        with self._tx() as con:
            return con.execute(f"SELECT * FROM events {where} ORDER BY event_id", params).df()

    # --- review queue ---
    def queue_upsert(self, items: Iterable[QueueItemIn], now: datetime | None = None) -> int:
        """Open (or re-open) items; a record failing again for the same reason bumps attempts, never duplicates."""
        rows = list(items)
        if not rows:
            return 0
        ts = _now(now)
        df = self._queue_frame(rows)
        with self._tx() as con:
            self._queue_upsert(con, df, ts)
        return len(df)

    @staticmethod
    def _queue_frame(rows: Sequence[QueueItemIn]) -> pd.DataFrame:
        return pd.DataFrame(
            [
                {
                    "sf_object": i.sf_object,
                    "sf_id": i.sf_id,
                    "tenant_id": i.tenant_id or "",
                    "reason_code": i.reason_code,
                    "message": i.message,
                    "field": i.field,
                    "value": i.value,
                    "hint": i.hint,
                    "payload": _json(i.payload),
                    "line_id": i.line_id,
                }
                for i in rows
            ],
            columns=[
                "sf_object",
                "sf_id",
                "tenant_id",
                "reason_code",
                "message",
                "field",
                "value",
                "hint",
                "payload",
                "line_id",
            ],
        ).drop_duplicates(["sf_object", "sf_id", "tenant_id", "reason_code"], keep="last")

    @staticmethod
    def _queue_upsert(con: duckdb.DuckDBPyConnection, df: pd.DataFrame, ts: datetime) -> None:
        con.register("incoming_queue", df)
        con.execute(
            """INSERT INTO review_queue (sf_object, sf_id, tenant_id, reason_code, message, field, value, hint,
                   payload, attempts, state, first_seen, last_seen, line_id)
               SELECT sf_object, sf_id, tenant_id, reason_code, message, field, value, hint, payload, 1,
                   'open', ?, ?, line_id FROM incoming_queue
               ON CONFLICT (sf_object, sf_id, tenant_id, reason_code) DO UPDATE SET
                   message = excluded.message, field = excluded.field, value = excluded.value,
                   hint = excluded.hint, payload = excluded.payload, line_id = excluded.line_id,
                   attempts = review_queue.attempts + 1, last_seen = excluded.last_seen,
                   state = CASE WHEN review_queue.state = 'ignored' THEN 'ignored' ELSE 'open' END,
                   resolved_at = CASE WHEN review_queue.state = 'ignored' THEN review_queue.resolved_at END""",
            [ts, ts],
        )
        con.unregister("incoming_queue")

    def queue_sync(
        self,
        reason_codes: Iterable[str],
        items: Iterable[QueueItemIn],
        *,
        sf_objects: Iterable[str] | None = None,
        tenant_id: str | None = None,
        now: datetime | None = None,
    ) -> tuple[int, int]:
        """After a full pass of a stage: open ``items``, resolve every other open item of ``reason_codes``.

        A stage that re-checks every record (validation, matching) knows that an open item of its
        reasons (on ``sf_objects``, when given) which it did not raise again has been fixed (or its
        record deleted); ``tenant_id`` narrows that to one organisation. One transaction,
        so a reader never sees the queue half updated. Returns (opened or still open, resolved).
        """
        codes = sorted(set(reason_codes))
        df = self._queue_frame(list(items))
        ts = _now(now)
        with self._tx() as con:
            if len(df):
                self._queue_upsert(con, df, ts)
            if not codes:
                return len(df), 0
            objects = sorted(set(sf_objects or []))
            scope = f" AND sf_object IN ({', '.join('?' for _ in objects)})" if objects else ""
            if tenant_id is not None:  # a stage that re-checks one organisation's records
                scope += " AND tenant_id = ?"
                objects.append(tenant_id)
            con.register("still_failing", df[["sf_object", "sf_id", "tenant_id", "reason_code"]])
            resolved = con.execute(
                f"""UPDATE review_queue SET state = 'resolved', resolved_at = ?
                    WHERE state = 'open' AND reason_code IN ({", ".join("?" for _ in codes)}){scope}
                      AND NOT EXISTS (SELECT 1 FROM still_failing f WHERE f.sf_object = review_queue.sf_object
                          AND f.sf_id = review_queue.sf_id AND f.tenant_id = review_queue.tenant_id
                          AND f.reason_code = review_queue.reason_code)
                    RETURNING item_id""",
                [ts, *codes, *objects],
            ).fetchall()
            con.unregister("still_failing")
        return len(df), len(resolved)

    def queue_list(
        self,
        state: QueueState | None = "open",
        reason_code: str | None = None,
        sf_id: str | None = None,
        tenant_id: str | None = None,
    ) -> list[QueueItem]:
        where, params = self._where(state=state, reason_code=reason_code, sf_id=sf_id, tenant_id=tenant_id)
        return self._queue(where, params)

    def queue_get(self, item_id: int) -> QueueItem | None:
        found = self._queue("WHERE item_id = ?", [item_id])
        return found[0] if found else None

    def _queue(self, where: str, params: list[Any]) -> list[QueueItem]:
        with self._tx() as con:
            rows = con.execute(
                f"""SELECT item_id, sf_object, sf_id, tenant_id, reason_code, message, field, value, hint, payload,
                       attempts, state, note, first_seen, last_seen, resolved_at, line_id
                    FROM review_queue {where} ORDER BY item_id""",
                params,
            ).fetchall()
        return [QueueItem(*r[:9], json.loads(r[9]) if r[9] else None, *r[10:]) for r in rows]

    def queue_resolve_for_record(
        self,
        sf_object: str,
        sf_id: str,
        *,
        tenant_id: str | None = None,
        keep_reasons: Iterable[str] = (),
        now: datetime | None = None,
    ) -> int:
        """A later run succeeded for this record: resolve its open items (except ``keep_reasons``)."""
        keep = list(keep_reasons)
        sql = """UPDATE review_queue SET state = 'resolved', resolved_at = ?
                 WHERE sf_object = ? AND sf_id = ? AND state = 'open'"""
        params: list[Any] = [_now(now), sf_object, sf_id]
        if tenant_id is not None:
            sql += " AND tenant_id = ?"
            params.append(tenant_id)
        if keep:
            sql += f" AND reason_code NOT IN ({', '.join('?' for _ in keep)})"
            params.extend(keep)
        with self._tx() as con:
            return int(con.execute(sql + " RETURNING item_id", params).df().shape[0])

    def queue_resolve_records(
        self,
        records: Iterable[tuple[str, str]],
        tenant_id: str,
        reason_codes: Iterable[str],
        now: datetime | None = None,
    ) -> int:
        """Writes for these (sf_object, sf_id) succeeded in ``tenant_id``: resolve their open items of
        ``reason_codes`` (what Xero had rejected before) in one statement."""
        keys = pd.DataFrame(list(records), columns=["sf_object", "sf_id"]).drop_duplicates()
        codes = sorted(set(reason_codes))
        if keys.empty or not codes:
            return 0
        with self._tx() as con:
            con.register("succeeded", keys)
            rows = con.execute(
                f"""UPDATE review_queue SET state = 'resolved', resolved_at = ?
                    WHERE state = 'open' AND tenant_id = ? AND reason_code IN ({", ".join("?" for _ in codes)})
                      AND EXISTS (SELECT 1 FROM succeeded s WHERE s.sf_object = review_queue.sf_object
                          AND s.sf_id = review_queue.sf_id)
                    RETURNING item_id""",
                [_now(now), tenant_id, *codes],
            ).fetchall()
            con.unregister("succeeded")
        return len(rows)

    def queue_ignore(self, item_id: int, note: str, now: datetime | None = None) -> bool:
        if not note.strip():
            raise ValueError("ignoring a review item needs a note saying why")
        with self._tx() as con:
            rows = con.execute(
                """UPDATE review_queue SET state = 'ignored', note = ?, resolved_at = ?
                   WHERE item_id = ? AND state != 'ignored' RETURNING item_id""",
                [note, _now(now), item_id],
            ).fetchall()
        return bool(rows)

    def queue_counts(self, state: QueueState = "open") -> dict[str, int]:
        with self._tx() as con:
            rows = con.execute(
                "SELECT reason_code, count(*) FROM review_queue WHERE state = ? GROUP BY 1 ORDER BY 1",
                [state],
            ).fetchall()
        return {r[0]: int(r[1]) for r in rows}

    # --- watermarks ---
    def get_watermark(self, stream: str) -> str | None:
        with self._tx() as con:
            row = con.execute("SELECT value FROM watermarks WHERE stream = ?", [stream]).fetchone()
        return row[0] if row else None

    def advance_watermark(
        self, stream: str, value: str, run_id: str | None = None, now: datetime | None = None
    ) -> bool:
        """Move ``stream``'s watermark to ``value`` if that is later; call only after a successful run.

        Values are ISO-8601 UTC strings, which sort as they compare. Returns False (and changes nothing)
        for a value that is not later than the current one.
        """
        with self._tx() as con:
            row = con.execute("SELECT value FROM watermarks WHERE stream = ?", [stream]).fetchone()
            if row is not None and row[0] >= value:
                return False
            con.execute(
                """INSERT INTO watermarks VALUES (?, ?, ?, ?) ON CONFLICT (stream) DO UPDATE SET
                   value = excluded.value, updated_at = excluded.updated_at, run_id = excluded.run_id""",
                [stream, value, _now(now), run_id],
            )
        return True

    # --- helpers ---
    @staticmethod
    def _where(**filters: Any) -> tuple[str, list[Any]]:
        parts = [f"{k} = ?" for k, v in filters.items() if v is not None]
        params = [v for v in filters.values() if v is not None]
        return ("WHERE " + " AND ".join(parts) if parts else ""), params
