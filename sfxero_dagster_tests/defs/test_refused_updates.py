"""A change Xero refused because the invoice is paid is not sent again and again.

Found by the generative suite (edit after a part payment): the update was rejected as not editable and
queued for a person (``invoice_not_editable``: "change it in Xero, or issue a credit note"), and every
later push sent the same update again, to the same refusal: a rerun that wrote to Xero. A new change to
the record is still tried."""

from __future__ import annotations

from decimal import Decimal

import dagster as dg

from .conftest import World
from .test_push import xero_control

PUSH = dg.AssetSelection.groups("push")


def _sync(world: World) -> None:
    world.handle.clock.advance(600)
    world.materialize(dg.AssetSelection.groups("salesforce_extract"), partition_key=world.today())
    world.materialize(dg.AssetSelection.groups("staging", "matching") | PUSH)


def _xero_writes(world: World) -> list[str]:
    return [
        f"{r['method']} {r['path']}"
        for r in world.handle.xero.request_log
        if r["method"] in ("PUT", "POST", "DELETE") and "/connect/" not in r["path"] and r["status"] != 401
    ]  # a 401 (the access token expired as the sandbox clock moved on) is refused before any write


def _edit_first_line(world: World, opp: str, quantity: str) -> None:
    lines = world.warehouse.read("valid_invoice_lines")
    line = sorted(lines.loc[lines["sf_header_id"] == opp, "sf_line_id"])[0]
    world.sf_control.call("POST", "act/edit", json={"id": line, "fields": {"Quantity": quantity}})


def test_an_update_refused_as_not_editable_is_not_sent_again_until_the_record_changes(
    prepared_world: World,
) -> None:
    world = prepared_world
    world.materialize(PUSH)
    links = world.ledger.links_frame(xero_object="Invoices").set_index("sf_id")
    opp = sorted(i for i in links.index if i.startswith("006"))[0]
    tid, inv_id = links.loc[opp, "tenant_id"], links.loc[opp, "xero_id"]
    total = Decimal(str(world.handle.xero.store.get(f"{tid}/Invoice", inv_id)["Total"]))
    xero_control(world).call(
        "POST", "act/pay", json={"tenant_id": tid, "invoice": inv_id, "amount": str(round(total / 3, 2))}
    )
    _edit_first_line(world, opp, "7")
    _sync(world)
    (item,) = world.ledger.queue_list(sf_id=opp, reason_code="invoice_not_editable")
    world.handle.xero.request_log.clear()
    _sync(world)  # nothing changed: the refused update is not sent again
    assert _xero_writes(world) == []
    assert [i.item_id for i in world.ledger.queue_list(sf_id=opp)] == [item.item_id]
    _edit_first_line(world, opp, "8")  # a new change is tried (and refused) again
    _sync(world)
    assert _xero_writes(world) == ["POST /api.xro/2.0/Invoices"]
    (again,) = world.ledger.queue_list(sf_id=opp, reason_code="invoice_not_editable")
    assert again.attempts == item.attempts + 1
