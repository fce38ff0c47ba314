"""The review queue from the command line: list, show, ignore, and retry after a fix in Salesforce."""

from __future__ import annotations

import pytest
from click.testing import CliRunner

from sfxero_dagster.cli import main

from .conftest import World, seed_manifest
from .test_push import PUSH, xero_records


def run(*args: str) -> str:
    result = CliRunner().invoke(main, ["queue", *args])
    assert result.exit_code == 0, result.output
    return result.output


def test_fix_in_salesforce_then_retry_resolves_the_item_and_creates_the_invoice_once(
    prepared_world: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("DAGSTER_HOME", raising=False)
    world = prepared_world
    world.materialize(PUSH)
    planted = seed_manifest()["unmapped_tax_code"][0]
    (item,) = world.ledger.queue_list(sf_id=planted["id"])
    listing = run("list", "--reason", "unmapped_tax_code")
    assert planted["id"] in listing and "1 item(s)" in listing
    shown = run("show", str(item.item_id))
    assert "LUX_TAX" in shown and "hint" in shown

    world.handle.clock.advance(600)
    world.sf_control.call("POST", "act/edit", json={"id": planted["line"], "fields": {"Tax_Code__c": "GST"}})
    out = run("retry", "--record", planted["id"])
    assert f"resolved  {item.item_id}  unmapped_tax_code" in out and "0 still open" in out
    number = (
        world.warehouse.read("stg_invoice_headers").set_index("sf_id").loc[planted["id"], "invoice_number"]
    )
    assert [i["InvoiceNumber"] for i in xero_records(world, "Invoice")].count(number) == 1
    run("retry")  # again: nothing new, nothing duplicated
    assert [i["InvoiceNumber"] for i in xero_records(world, "Invoice")].count(number) == 1

    other = world.ledger.queue_list(reason_code="missing_email")[0]
    assert "ignored" in run("ignore", str(other.item_id), "--note", "cash customer, no e-mail")
    ids = [line.split()[0] for line in run("list", "--reason", "missing_email").splitlines()[:-1]]
    assert str(other.item_id) not in ids
    assert "cash customer" in run("show", str(other.item_id))


def test_the_queue_asset_lists_open_items_with_links(prepared_world: World) -> None:
    import dagster as dg

    world = prepared_world
    result = world.materialize(dg.AssetSelection.keys("review_queue"))
    meta = result.get_asset_materialization_events()[0].materialization.metadata
    open_items = world.ledger.queue_list()
    assert meta["open"].value == len(open_items) > 0
    planted = seed_manifest()["unmapped_tax_code"][0]["id"]
    assert f"/{planted})" in meta["items"].value and meta["reason_unmapped_tax_code"].value == 1
    job = world.defs().resolve_job_def("reprocess_review_queue")
    assert dg.AssetKey("review_queue") in job.asset_layer.executable_asset_keys
