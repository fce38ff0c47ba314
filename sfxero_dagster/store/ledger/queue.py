"""The review queue: one item per (record, reason) that could not be synced, with attempts."""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from datetime import datetime
from typing import Any

import duckdb
import pandas as pd

from sfxero_dagster.store.ledger.base import LedgerPart, _json, _now
from sfxero_dagster.store.ledger.rows import QueueItem, QueueItemIn, QueueState


class ReviewQueue(LedgerPart):
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
