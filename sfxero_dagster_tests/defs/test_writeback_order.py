"""One sync writes each pushed invoice's status record to Salesforce once, complete with its online URL.

Found by the generative suite: the status write-back read the online URLs the identity write-back caches,
but did not depend on it, so in one run it went first, wrote every new invoice without its URL, and the
next run (re-reading the overlap window) wrote all of them again: a rerun that wrote to Salesforce."""

from __future__ import annotations

import dagster as dg

from .conftest import World

PUSH = dg.AssetSelection.groups("push")
WRITEBACK = dg.AssetSelection.groups("writeback")


def _sf_writes(world: World) -> list[str]:
    return [
        f"{r['method']} {r['path']}"
        for r in world.handle.salesforce.request_log
        if r["method"] in ("POST", "PATCH", "PUT", "DELETE") and "/oauth2/" not in r["path"]
    ]


def test_a_sync_writes_invoice_status_once_with_its_online_url(prepared_world: World) -> None:
    world = prepared_world
    world.materialize(PUSH | WRITEBACK)
    written = world.handle.salesforce.store.all("Xero_Invoice__c")
    assert written and all(r.get("Online_Url__c") for r in written)
    world.handle.salesforce.request_log.clear()
    world.handle.clock.advance(60)  # inside the overlap window: the same invoices are read again
    world.materialize(WRITEBACK)
    assert _sf_writes(world) == []
