"""What every part of the ledger shares: the locked DuckDB file, timestamps, JSON and WHERE clauses."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

from sfxero_dagster.store.duckfile import LockedDuckDB


def _now(now: datetime | None = None) -> datetime:
    return (now or datetime.now(UTC)).astimezone(UTC)


def _json(value: Any) -> str | None:
    return None if value is None else json.dumps(value, default=str, sort_keys=True)


class LedgerPart(LockedDuckDB):
    """Base of the ledger's parts (links, intents, events, queue, watermarks): one file, short transactions."""

    @staticmethod
    def _where(**filters: Any) -> tuple[str, list[Any]]:
        parts = [f"{k} = ?" for k, v in filters.items() if v is not None]
        params = [v for v in filters.values() if v is not None]
        return ("WHERE " + " AND ".join(parts) if parts else ""), params
