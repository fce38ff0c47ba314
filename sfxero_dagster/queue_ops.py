"""Review-queue operations shared by the CLI and the Dagster job: list, show, ignore, reprocess.

Reprocessing re-reads what changed in Salesforce today (a person's fix), then re-validates, re-matches and
re-sends. Nothing is sent for a record that still fails; an item resolves itself when its record passes
the stage that raised it (validation and matching sync the queue; a push success links the record).
"""

from __future__ import annotations

import logging
import os
from datetime import UTC, datetime
from pathlib import Path

import dagster as dg

from sfxero_dagster.config import load_config
from sfxero_dagster.store.ledger import Ledger, QueueItem

DOWNSTREAM = dg.AssetSelection.groups("staging", "matching", "push", "writeback", "operations")


def open_ledger(config_path: str) -> Ledger:
    cfg = load_config(config_path)
    return Ledger(cfg.storage.path(cfg.storage.ledger, Path(config_path).resolve().parent))


def reprocess(config_path: str, instance: dg.DagsterInstance | None = None) -> list[str]:
    """Pick up today's Salesforce changes, then validate, match, push and write back again; run ids."""
    from sfxero_dagster.definitions import domain_defs
    from sfxero_dagster.defs.resources import build_resources

    logging.getLogger("dagster").setLevel(logging.WARNING)
    cfg = load_config(config_path)
    assets = [a for d in domain_defs(cfg) for a in d.assets or []]
    resources = build_resources(config_path=config_path)
    instance = instance or (
        dg.DagsterInstance.get() if os.environ.get("DAGSTER_HOME") else dg.DagsterInstance.ephemeral()
    )
    today = datetime.now(UTC).date().isoformat()
    runs = []
    for selection, kwargs in (
        (dg.AssetSelection.groups("salesforce_extract"), {"partition_key": today}),
        (DOWNSTREAM, {}),
    ):
        result = dg.materialize(
            assets,
            selection=selection,
            resources=resources,
            instance=instance,
            tags={"sfxero/kind": "reprocess"},
            run_config={"loggers": {"console": {"config": {"log_level": "WARNING"}}}},
            **kwargs,
        )
        runs.append(result.run_id)
    return runs


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
