"""Watermarks: per stream, advanced only after a successful run, and never backwards."""

from __future__ import annotations

from datetime import datetime

from sfxero_dagster.store.ledger.base import LedgerPart, _now


class Watermarks(LedgerPart):
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
