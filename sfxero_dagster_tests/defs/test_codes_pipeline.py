"""Invariant 7 through the whole pipeline: a code typed with a stray space or in another letter case is
sent to Xero in the organisation's own spelling; a code that is truly unknown is held with a hint that
names the Salesforce field to change and shows the value as typed. Every queue item names a real field."""

from __future__ import annotations

import dagster as dg

from ..fields import field_problem
from .conftest import World, seed_manifest
from .test_push import PUSH, xero_records

DOWNSTREAM = dg.AssetSelection.groups("staging", "matching")


def _clean_au_opportunities(world: World, n: int) -> list[dict]:
    """Valid AU opportunities, each of another account, that no planted problem or review touches."""
    planted = {e["id"] for entries in seed_manifest().values() for e in entries}
    valid = world.warehouse.read("valid_invoice_headers")
    matches = world.warehouse.read("contact_matches")
    reviewed = set(matches.loc[matches["action"] == "review", "sf_account_id"])
    out, accounts = [], set()
    for h in valid.to_dict("records"):
        if (
            h["source"] == "opportunity"
            and h["tenant_key"] == "au"
            and h["sf_id"] not in planted
            and h["sf_account_id"] not in planted | reviewed | accounts
            and h["tracking_value"]
        ):
            out.append(h)
            accounts.add(h["sf_account_id"])
        if len(out) == n:
            return out
    raise AssertionError("not enough clean AU opportunities in the seed")


def test_stray_spaces_and_case_go_out_in_xero_spelling_and_an_unknown_code_is_held(
    prepared_world: World,
) -> None:
    world = prepared_world
    mixed, unknown = _clean_au_opportunities(world, 2)
    lines = world.warehouse.read("stg_invoice_lines")
    first = lines.loc[lines["sf_header_id"] == mixed["sf_id"]].iloc[0]
    canonical_sku = first["sku"]
    typed_sku = canonical_sku.lower() + " "
    bad_line = lines.loc[lines["sf_header_id"] == unknown["sf_id"]].iloc[0]
    world.handle.clock.advance(600)
    edits = {
        first["sf_line_id"]: {"Tax_Code__c": "gst "},  # the line's own code, GST in another case
        first["sf_product_id"]: {"ProductCode": typed_sku},  # the product's SKU with a stray space
        mixed["sf_id"]: {"Sales_Region__c": mixed["tracking_value"].lower()},  # 'north' for 'North'
        bad_line["sf_line_id"]: {"Tax_Code__c": "GSTT "},  # truly unknown
    }
    for rid, fields in edits.items():
        world.sf_control.call("POST", "act/edit", json={"id": rid, "fields": fields})
    world.materialize(dg.AssetSelection.groups("salesforce_extract"), partition_key=world.today())
    world.materialize(DOWNSTREAM)

    staged = world.warehouse.read("stg_invoice_lines").set_index("sf_line_id")
    assert staged.loc[first["sf_line_id"], "sku"] == typed_sku  # Salesforce's value, as typed
    valid = set(world.warehouse.read("valid_invoice_headers")["sf_id"])
    assert mixed["sf_id"] in valid and unknown["sf_id"] not in valid
    (item,) = world.ledger.queue_list(sf_id=unknown["sf_id"])
    assert (item.reason_code, item.field, item.value, item.line_id) == (
        "unmapped_tax_code",
        "Tax_Code__c",
        "GSTT ",
        bad_line["sf_line_id"],
    )
    assert "'GSTT '" in item.hint and "tax.mapping.au" in item.hint and "GST_FREE" in item.hint

    world.materialize(PUSH)
    (invoice,) = [
        i for i in xero_records(world, "Invoice") if i.get("InvoiceNumber") == mixed["invoice_number"]
    ]
    got = invoice["LineItems"]
    assert {li["TaxType"] for li in got} == {"OUTPUT"}  # 'gst ' -> GST -> OUTPUT, taxed as such
    assert float(invoice["TotalTax"]) > 0
    assert canonical_sku in {li.get("ItemCode") for li in got} and typed_sku not in {
        li.get("ItemCode") for li in got
    }
    options = {t["Option"] for li in got for t in li.get("Tracking") or []}
    assert options == {mixed["tracking_value"]}
    assert not [
        i for i in xero_records(world, "Invoice") if i.get("InvoiceNumber") == unknown["invoice_number"]
    ]


def test_every_queue_item_after_a_full_sync_names_a_real_field_and_a_complete_hint(
    prepared_world: World,
) -> None:
    """The seed plants most reasons (validation, matching, push); each item points at a real place."""
    world = prepared_world
    world.materialize(PUSH)
    items = world.ledger.queue_list(state="open")
    assert len({i.reason_code for i in items}) >= 12
    problems = []
    for i in items:
        if (why := field_problem(i.field, i.sf_object, bool(i.line_id))) is not None:
            problems.append((i.reason_code, i.sf_object, i.field, why))
        if not i.hint or "{" in i.hint or "None" in i.hint:
            problems.append((i.reason_code, i.sf_object, i.hint))
    assert not problems, sorted(set(problems))
