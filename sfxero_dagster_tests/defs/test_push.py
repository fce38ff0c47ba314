"""Push to Xero against the seeded sandbox: exactly once, Xero's arithmetic, idempotent re-runs."""

from __future__ import annotations

from decimal import Decimal

import dagster as dg

from .conftest import World

PUSH = dg.AssetSelection.groups("push")


def prepared(world: World) -> World:
    world.extract_all()
    world.materialize(dg.AssetSelection.groups("xero_reference"))
    world.materialize(dg.AssetSelection.groups("staging", "matching"))
    return world


def _meta(result: dg.ExecuteInProcessResult, key: str) -> dict:
    mats = [m for m in result.get_asset_materialization_events() if m.asset_key.to_user_string() == key]
    return {k: v.value for k, v in mats[-1].materialization.metadata.items()}


def xero_records(world: World, kind: str) -> list[dict]:
    """Straight from the emulator's store: the ground truth of what exists in Xero."""
    return [
        r
        for t in world.handle.xero.info()["tenants"]
        for r in world.handle.xero.store.all(f"{t['tenantId']}/{kind}")
    ]


def test_every_valid_invoice_exists_once_with_our_totals_and_a_rerun_writes_nothing(world: World) -> None:
    prepared(world)
    first = world.materialize(PUSH)
    valid = world.warehouse.read("valid_invoice_headers")
    matches = world.warehouse.read("contact_matches")
    in_review = set(matches.loc[matches["action"] == "review", "sf_account_id"])
    # an invoice whose customer's contact match waits for a person waits too, visibly
    waiting = {i.sf_id for i in world.ledger.queue_list(reason_code="contact_pending_review")}
    assert waiting == set(valid.loc[valid["sf_account_id"].isin(in_review), "sf_id"]) != set()
    valid = valid.loc[~valid["sf_id"].isin(waiting)]
    links = world.ledger.links_frame(xero_object="Invoices")
    assert set(links["sf_id"]) == set(valid["sf_id"])
    assert _meta(first, "xero/au/invoices")["created"] + _meta(first, "xero/uk/invoices")["created"] == len(
        valid
    )
    for tenant in ("au", "uk"):
        meta = _meta(first, f"xero/{tenant}/invoices")
        assert meta["failed"] == 0 and meta["calls_per_record"] <= 0.05
    invoices = [i for i in xero_records(world, "Invoice") if i.get("Type") == "ACCREC"]
    numbers = [i["InvoiceNumber"] for i in invoices if i["InvoiceNumber"].startswith("SF-")]
    assert sorted(numbers) == sorted(valid["invoice_number"])  # each exactly once
    from sfxero_dagster.config import load_config
    from sfxero_dagster.defs.push.assets import load_plan

    cfg = load_config(world.config_path)
    by_number = {i["InvoiceNumber"]: i for i in invoices}
    # what we computed with Xero's arithmetic is what Xero posted
    checked = 0
    for tenant in cfg.xero.tenants:
        for p in load_plan("Invoices", tenant, cfg, world.warehouse, world.ledger):
            if p.expected:
                inv = by_number[p.natural_key]
                assert Decimal(str(inv["Total"])) == Decimal(p.expected["total"]), p.natural_key
                assert Decimal(str(inv["TotalTax"])) == Decimal(p.expected["total_tax"])
                checked += 1
    assert checked == len(valid)
    second = world.materialize(PUSH)
    for key in ("xero/au/contacts", "xero/uk/contacts", "xero/au/invoices", "xero/uk/invoices"):
        m = _meta(second, key)
        assert m["created"] == m["updated"] == m["failed"] == 0 and m["xero_api_calls"] == 0, (key, m)
