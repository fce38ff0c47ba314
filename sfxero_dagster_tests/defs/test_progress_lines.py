"""Long steps say how far they are: pages read, batches sent and records written show as run log lines."""

from __future__ import annotations

import re

import dagster as dg

from .conftest import World
from .test_push import PUSH


def _messages(world: World, result: dg.ExecuteInProcessResult) -> list[str]:
    return [r.user_message or "" for r in world.instance.all_logs(result.run_id)]


def test_push_and_writeback_log_progress_with_totals_and_rate(prepared_world: World) -> None:
    world = prepared_world
    pushed = _messages(world, world.materialize(PUSH))
    done = [
        m
        for m in pushed
        if re.fullmatch(r"Xero au: Invoices writes: [\d,]+/[\d,]+ \(100%\) records, [\d,.]+/s", m)
    ]
    assert len(done) == 1, pushed
    au = next(t["tenantId"] for t in world.handle.xero.info()["tenants"] if t["key"] == "au")
    links = world.ledger.links_frame(xero_object="Invoices")
    assert done[0].startswith(f"Xero au: Invoices writes: {(links['tenant_id'] == au).sum():,}/")
    written = _messages(world, world.materialize(dg.AssetSelection.keys("salesforce/xero_ids")))
    assert any(
        re.fullmatch(r"Salesforce \w+ written: [\d,]+/[\d,]+ \(100%\) records, [\d,.]+/s", m) for m in written
    ), written
