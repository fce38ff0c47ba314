"""Recovery of an update whose outcome is unknown (found by the soak).

Crash recovery looks a pending write up in Xero by its natural key. For a create that decides it: the
record exists or it does not. An update's record exists either way, so recovery marked every unfinished
update (and void) as done and the next plan skipped it: the change never reached Xero. An update sent
again is harmless (POST by InvoiceID), so recovery abandons it and the plan sends it again.
"""

from __future__ import annotations

from decimal import Decimal

import dagster as dg

from .conftest import World
from .test_push import PUSH, xero_control, xero_records

INVOICES = dg.AssetSelection.assets("xero/au/invoices", "xero/uk/invoices")


def test_an_update_parked_by_the_day_limit_reaches_xero_the_next_day(prepared_world: World) -> None:
    world = prepared_world
    world.materialize(PUSH)
    links = world.ledger.links_frame(xero_object="Invoices").set_index("sf_id")
    lines = world.warehouse.read("valid_invoice_lines")
    line = lines.loc[(lines["source"] == "opportunity") & lines["sf_header_id"].isin(links.index)].iloc[0]
    opp, qty = line["sf_header_id"], float(line["quantity"]) + 1.5
    world.handle.clock.advance(600)
    world.sf_control.call("POST", "act/edit", json={"id": line["sf_line_id"], "fields": {"Quantity": qty}})
    world.materialize(dg.AssetSelection.groups("salesforce_extract"), partition_key=world.today())
    world.materialize(dg.AssetSelection.groups("staging", "matching"))
    xero_control(world).add_fault(
        action="status",
        status=429,
        methods=["POST"],
        path_regex="/Invoices$",
        times=1,
        headers={"Retry-After": "3600", "X-Rate-Limit-Problem": "day"},
        body="Rate limit exceeded",
    )
    assert not world.materialize(INVOICES, raise_on_error=False).success  # parked on the day limit
    assert [i.sf_id for i in world.ledger.pending_intents()] == [opp]  # the update's outcome is unknown

    world.handle.clock.advance(86_400)
    world.materialize(PUSH)
    invoice = next(i for i in xero_records(world, "Invoice") if i["InvoiceID"] == links.loc[opp, "xero_id"])
    in_salesforce = [
        r["Quantity"]
        for r in world.handle.salesforce.records("OpportunityLineItem")
        if r["OpportunityId"] == opp
    ]
    assert sorted(Decimal(str(li["Quantity"])).normalize() for li in invoice["LineItems"]) == sorted(
        Decimal(str(q)).normalize() for q in in_salesforce
    )  # the edited line is in Xero
    assert not world.ledger.pending_intents()
