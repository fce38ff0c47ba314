"""Invariant 5 on the sandbox: Salesforce keeps every decimal an API write gives it, the sync invoices
what the field's scale and Xero's precision keep. A line below the field's scale is held with its own
reason and nothing reaches Xero for its record; a 5-dp quantity reaches Xero rounded, and Xero's totals
are our arithmetic."""

from __future__ import annotations

from decimal import Decimal

import dagster as dg

from sfxero_dagster.config import load_config
from sfxero_dagster.core.mapping import expected_totals, invoice_payload

from .conftest import World, seed_manifest
from .test_push import xero_records

PUSH = dg.AssetSelection.groups("push")


def _clean(world: World, source: str, taken: set[str]) -> tuple[str, dict]:
    """A valid record of ``source`` that no planted problem touches, whose account is not in review, and
    one of its lines."""
    planted = {e["id"] for entries in seed_manifest().values() for e in entries}
    matches = world.warehouse.read("contact_matches")
    in_review = set(matches.loc[matches["action"] == "review", "sf_account_id"])
    valid = world.warehouse.read("valid_invoice_headers")
    lines = world.warehouse.read("valid_invoice_lines")
    for h in valid.loc[valid["source"] == source].sort_values("sf_id").to_dict("records"):
        if h["sf_id"] in planted | taken or h["sf_account_id"] in planted | in_review:
            continue
        own = lines.loc[lines["sf_header_id"] == h["sf_id"]].sort_values("sf_line_id")
        if len(own) and not own["discount_rate"].fillna(0).any():
            return h["sf_id"], own.iloc[0].to_dict()
    raise AssertionError(f"no clean {source} in the small seed")


def _our_totals(world: World, sf_id: str):
    cfg = load_config(world.config_path)
    header = world.warehouse.read("valid_invoice_headers").set_index("sf_id").loc[sf_id].to_dict()
    lines = world.warehouse.read("valid_invoice_lines")
    rates = world.warehouse.query(
        "SELECT tax_type, effective_rate FROM xero_tax_rates WHERE tenant_key = ? AND status = 'ACTIVE'",
        [header["tenant_key"]],
    )
    payload = invoice_payload(
        {**header, "sf_id": sf_id}, lines.loc[lines["sf_header_id"] == sf_id].to_dict("records"), cfg, {}
    )
    return expected_totals(
        payload, {t: Decimal(str(r)) for t, r in zip(rates["tax_type"], rates["effective_rate"], strict=True)}
    )


def test_a_line_below_the_fields_scale_is_held_and_a_5dp_quantity_reaches_xero_rounded(
    prepared_world: World,
) -> None:
    world = prepared_world
    tiny_opp, tiny_line = _clean(world, "opportunity", set())
    order, order_line = _clean(world, "order", set())
    # written through the API (an integration, Data Loader): Salesforce keeps every decimal
    world.handle.clock.advance(600)
    edits = {tiny_line["sf_line_id"]: 0.00001, order_line["sf_line_id"]: 1.23456}
    for line_id, quantity in edits.items():
        world.sf_control.call("POST", "act/edit", json={"id": line_id, "fields": {"Quantity": quantity}})
    world.materialize(dg.AssetSelection.groups("salesforce_extract"), partition_key=world.today())
    raw = world.warehouse.read("sf_order_items").set_index("Id")
    assert raw.loc[order_line["sf_line_id"], "Quantity"] == 1.23456  # as Salesforce returns it
    world.materialize(dg.AssetSelection.groups("staging", "matching"))
    world.materialize(PUSH)

    # held with its own reason, naming the field and the value Salesforce has; the invoice is held whole
    items = {i.reason_code: i for i in world.ledger.queue_list(sf_id=tiny_opp)}
    assert set(items) == {"zero_value_line"}, items
    item = items["zero_value_line"]
    assert (item.line_id, item.field, item.value) == (
        tiny_line["sf_line_id"],
        "Quantity",
        "0.00001",
    )
    assert "OpportunityLineItem.Quantity 0.00001 rounds to 0" in item.hint
    assert tiny_opp not in set(world.warehouse.read("valid_invoice_headers")["sf_id"])
    # nothing was written to Xero for it
    assert not [i for i in xero_records(world, "Invoice") if i.get("Reference") == tiny_opp]
    assert tiny_opp not in set(world.ledger.links_frame(xero_object="Invoices")["sf_id"])

    # the 5-dp quantity: OrderItem.Quantity has scale 2, so Xero gets 1.23 (not 1.23456, not 1.2346)
    (invoice,) = [i for i in xero_records(world, "Invoice") if i.get("Reference") == order]
    sent = [li for li in invoice["LineItems"] if Decimal(str(li["Quantity"])) == Decimal("1.23")]
    assert len(sent) == 1, invoice["LineItems"]
    unit = Decimal(str(order_line["unit_amount"]))
    assert Decimal(str(sent[0]["LineAmount"])) == (Decimal("1.23") * unit).quantize(Decimal("0.01"))
    ours = _our_totals(world, order)
    assert (
        Decimal(str(invoice["SubTotal"])),
        Decimal(str(invoice["TotalTax"])),
        Decimal(str(invoice["Total"])),
    ) == (
        ours.sub_total,
        ours.total_tax,
        ours.total,
    )
    assert not world.ledger.queue_list(sf_id=order)
