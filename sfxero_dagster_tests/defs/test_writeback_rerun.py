"""A rerun of the write-backs writes nothing to Salesforce. Both found by the generative suite:

- the status write-back read the online URLs the identity write-back caches, but did not depend on it, so
  in one run it went first, wrote every new invoice without its URL, and the next run (re-reading the
  overlap window) wrote all of them again;
- a record deleted in Salesforce after its push (its invoice voided) kept its roll-up and identity
  updates pending: every run sent them again, failed with ENTITY_IS_DELETED, and the status write-back's
  watermark never moved again."""

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


def test_a_record_deleted_after_its_push_is_not_written_to_again(prepared_world: World) -> None:
    world = prepared_world
    world.materialize(PUSH | WRITEBACK)
    links = world.ledger.links_frame(xero_object="Invoices")
    opp = sorted(links.loc[links["sf_id"].str.startswith("006"), "sf_id"])[0]
    world.sf_control.call("POST", "act/delete", json={"id": opp})

    def sync() -> None:
        world.handle.clock.advance(600)
        world.materialize(dg.AssetSelection.groups("salesforce_extract"), partition_key=world.today())
        world.materialize(dg.AssetSelection.groups("staging", "matching") | PUSH | WRITEBACK)

    sync()  # the invoice is voided, its status and roll-ups written where the records still exist
    world.handle.salesforce.request_log.clear()
    sync()
    assert _sf_writes(world) == []
    assert world.ledger.queue_list(reason_code="salesforce_write_failed") == []
