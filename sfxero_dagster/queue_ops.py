"""Review-queue operations shared by the CLI and the Dagster job: list, show, ignore, reprocess.

Reprocessing re-reads what changed in Salesforce today (a person's fix), then re-validates, re-matches and
re-sends. Nothing is sent for a record that still fails; an item resolves itself when its record passes
the stage that raised it (validation and matching sync the queue; a push success links the record).
"""

from __future__ import annotations

import logging
from datetime import UTC, datetime

import dagster as dg

from sfxero_dagster.config import Settings, load_settings
from sfxero_dagster.store.ledger import Ledger, QueueItem


def open_ledger(settings: Settings) -> Ledger:
    return Ledger(settings.ledger_path)


def reprocess(settings: Settings | None = None, instance: dg.DagsterInstance | None = None) -> list[str]:
    """Pick up today's Salesforce changes, then validate, match, push and write back again; run ids."""
    from sfxero_dagster.runner import DOWNSTREAM, Runner

    logging.getLogger("dagster").setLevel(logging.WARNING)
    runner = Runner(settings or load_settings(), instance, quiet=True, tags={"sfxero/kind": "reprocess"})
    today = datetime.now(UTC).date().isoformat()
    return [runner.extract_day(today).run_id, runner.run(DOWNSTREAM).run_id]


def describe(item: QueueItem) -> str:
    lines = [
        f"item {item.item_id}: {item.reason_code} ({item.state}, seen {item.attempts}x)",
        f"  record : {item.sf_object} {item.sf_id}" + (f" line {item.line_id}" if item.line_id else ""),
        f"  field  : {item.field or '-'} = {item.value!r}",
        f"  message: {item.message or '-'}",
        f"  hint   : {item.hint or '-'}",
    ]
    if item.note:
        lines.append(f"  note   : {item.note}")
    if item.payload:
        lines.append(f"  detail : {item.payload}")
    return "\n".join(lines)
