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

The class is composed of one part per table family (``links``, ``intents``, ``events``, ``queue``,
``watermarks``; ``schema`` holds the migrations), so each file stays about one thing.
"""

from __future__ import annotations

from pathlib import Path

from sfxero_dagster.store.ledger.events import Events
from sfxero_dagster.store.ledger.intents import Intents
from sfxero_dagster.store.ledger.queue import ReviewQueue
from sfxero_dagster.store.ledger.rows import (
    Closure,
    Event,
    Intent,
    IntentIn,
    IntentState,
    Link,
    QueueItem,
    QueueItemIn,
    QueueState,
    RecoveryReport,
)
from sfxero_dagster.store.ledger.schema import MIGRATIONS, SCHEMA_VERSION, Schema
from sfxero_dagster.store.ledger.watermarks import Watermarks


class Ledger(Schema, Intents, Events, ReviewQueue, Watermarks):
    """Typed access to the sync state in one DuckDB file. Safe to use from several processes."""

    def __init__(
        self, path: str | Path, *, lock_timeout: float = 120.0, migrate_to: int | None = None
    ) -> None:
        """Open (creating and migrating) the ledger; ``migrate_to`` stops at an older schema version."""
        if str(path) == ":memory:":
            raise ValueError("the ledger needs a file: several processes share it")
        super().__init__(path, lock_timeout=lock_timeout)
        self.migrate(migrate_to)


__all__ = [
    "MIGRATIONS",
    "SCHEMA_VERSION",
    "Closure",
    "Event",
    "Intent",
    "IntentIn",
    "IntentState",
    "Ledger",
    "Link",
    "QueueItem",
    "QueueItemIn",
    "QueueState",
    "RecoveryReport",
]
