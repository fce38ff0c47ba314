"""Events: every sync event with record-level context, append-only."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime

import pandas as pd

from sfxero_dagster.store.ledger.base import LedgerPart, _json, _now
from sfxero_dagster.store.ledger.rows import Event


class Events(LedgerPart):
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
