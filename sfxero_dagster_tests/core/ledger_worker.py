"""Child-process entry points for the ledger concurrency and crash tests (importable under spawn)."""

from __future__ import annotations

import os
import signal
import sys

from sfxero_dagster.store.ledger import Event, IntentIn, Ledger, Link, QueueItemIn


def hammer(path: str, worker: str, rounds: int) -> None:
    ledger = Ledger(path)
    for i in range(rounds):
        ledger.log_events([Event("create", run_id=worker, sf_id=f"{worker}-{i}-{j}") for j in range(5)])
        ids = ledger.record_intents(
            [
                IntentIn(
                    "xero:Invoices:PUT",
                    "t",
                    "Opportunity",
                    f"{worker}-{i}",
                    "Invoice",
                    f"SF-{worker}-{i}",
                    "h",
                )
            ]
        )
        ledger.upsert_links([Link("t", "Account", f"{worker}-{i}", "Contact", f"x-{worker}-{i}")])
        ledger.queue_upsert([QueueItemIn("Opportunity", f"{worker}-{i % 3}", "missing_sku")])
        ledger.advance_watermark(f"stream-{worker}", f"2026-01-01T00:00:{i:02d}Z")
        assert ids


def crash_with_open_intent(path: str) -> None:
    """Record an intent, then die the hard way before closing it (as a killed run would)."""
    ledger = Ledger(path)
    ledger.record_intents(
        [
            IntentIn("xero:Invoices:PUT", "t", "Opportunity", "006A", "Invoice", "SF-006A", "h1", "key-1"),
            IntentIn("xero:Invoices:PUT", "t", "Opportunity", "006B", "Invoice", "SF-006B", "h2", "key-1"),
        ]
    )
    sys.stdout.flush()
    os.kill(os.getpid(), signal.SIGKILL)
