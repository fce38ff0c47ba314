"""Links: Salesforce record ⇄ Xero record per tenant, with the hash of the last payload pushed."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import datetime

import duckdb
import pandas as pd

from sfxero_dagster.store.ledger.base import LedgerPart, _now
from sfxero_dagster.store.ledger.rows import Link


class Links(LedgerPart):
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
