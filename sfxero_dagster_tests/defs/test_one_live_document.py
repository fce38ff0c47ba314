"""Invariants 3 and 4 on the sandbox: one live Xero invoice per Salesforce record across organisations,
and a record that stops being invoiceable after its push does not leave its invoice payable unnoticed."""

from __future__ import annotations

from decimal import Decimal

import dagster as dg

from .conftest import World
from .test_push import _meta, xero_control, xero_records

PUSH = dg.AssetSelection.groups("push")
TENANTS = ("au", "uk")


def _resync(world: World, push: dg.AssetSelection = PUSH) -> dg.ExecuteInProcessResult:
    world.handle.clock.advance(600)
    world.materialize(dg.AssetSelection.groups("salesforce_extract"), partition_key=world.today())
    world.materialize(dg.AssetSelection.groups("staging", "matching"))
    return world.materialize(push)


def _live(world: World, reference: str) -> list[dict]:
    return [
        i
        for i in xero_records(world, "Invoice")
        if i.get("Reference") == reference
        and i.get("Type") == "ACCREC"
        and i["Status"] not in ("VOIDED", "DELETED")
    ]


def _au_opportunity_that_can_move(world: World) -> tuple[str, str, dict]:
    """An opportunity invoiced in 'au' whose account has only that invoice and whose currency 'uk' takes."""
    links = world.ledger.links_frame(xero_object="Invoices")
    au = {t["key"]: t["tenantId"] for t in world.handle.xero.info()["tenants"]}["au"]
    headers = world.warehouse.read("valid_invoice_headers").set_index("sf_id")
    uk_currencies = set(
        world.warehouse.query("SELECT code FROM xero_currencies WHERE tenant_key = 'uk'")["code"]
    )
    uk_currencies |= set(
        world.warehouse.query("SELECT base_currency FROM xero_organisation WHERE tenant_key = 'uk'")[
            "base_currency"
        ]
    )
    per_account = headers["sf_account_id"].value_counts()
    for r in links.loc[(links["tenant_id"] == au) & links["sf_id"].str.startswith("006")].to_dict("records"):
        h = headers.loc[r["sf_id"]]
        if h["currency"] in uk_currencies and per_account[h["sf_account_id"]] == 1:
            return r["sf_id"], h["sf_account_id"], r
    raise AssertionError("the small seed has an AU opportunity in a currency the UK organisation has enabled")


def _move(world: World, opp: str, account: str, country: str, codes: dict[str, str | None]) -> dict:
    """Route the account to ``country`` and give the opportunity's lines tax codes that organisation maps
    (``codes``: line id -> code); returns the codes the lines had."""
    world.sf_control.call("POST", "act/edit", json={"id": account, "fields": {"BillingCountry": country}})
    lines = world.warehouse.read("stg_invoice_lines").set_index("sf_line_id")
    for line_id, code in codes.items():
        world.sf_control.call("POST", "act/edit", json={"id": line_id, "fields": {"Tax_Code__c": code}})
    return {i: lines.loc[i, "tax_code"] for i in codes}


def _move_to_uk(world: World, opp: str, account: str) -> dict:
    lines = world.warehouse.read("valid_invoice_lines")
    ids = lines.loc[lines["sf_header_id"] == opp, "sf_line_id"]
    return _move(world, opp, account, "United Kingdom", dict.fromkeys(ids, "VAT20"))


def test_a_rerouted_record_is_voided_in_the_old_organisation_before_it_is_created_in_the_new(
    prepared_world: World,
) -> None:
    world = prepared_world
    world.materialize(PUSH)
    opp, account, link = _au_opportunity_that_can_move(world)
    _move_to_uk(world, opp, account)
    # the new organisation pushes first: it must wait while the old invoice is live
    first = _resync(world, dg.AssetSelection.assets(["xero", "uk", "contacts"], ["xero", "uk", "invoices"]))
    assert _meta(first, "xero/uk/invoices")["created"] == 0
    (waiting,) = world.ledger.queue_list(sf_id=opp, reason_code="invoice_rerouted")
    assert link["xero_number"] in waiting.hint and "'au'" in waiting.hint and "{" not in waiting.hint
    assert [i["InvoiceID"] for i in _live(world, opp)] == [link["xero_id"]]
    # then the old one voids, and the new one creates: one live document at every moment
    result = world.materialize(PUSH)
    assert _meta(result, "xero/au/invoices")["voided"] == 1
    again = world.materialize(PUSH)  # in the same run when 'uk' pushes after 'au', else in the next
    assert sum(_meta(r, "xero/uk/invoices")["created"] for r in (result, again)) == 1
    (live,) = _live(world, opp)
    uk = {t["key"]: t["tenantId"] for t in world.handle.xero.info()["tenants"]}["uk"]
    assert world.handle.xero.store.get(f"{uk}/Invoice", live["InvoiceID"]) is not None
    voided = world.handle.xero.store.get(f"{link['tenant_id']}/Invoice", link["xero_id"])
    assert voided["Status"] == "VOIDED" and live["InvoiceNumber"] == voided["InvoiceNumber"]
    assert world.ledger.queue_list(sf_id=opp) == []  # the wait resolved itself
    checks = [c for r in (first, result, again) for c in r.get_asset_check_evaluations()]
    assert {c.check_name for c in checks if c.check_name == "one_live_document"} and all(
        c.passed for c in checks if c.check_name == "one_live_document"
    )
    settled = world.materialize(PUSH)
    assert all(_meta(settled, f"xero/{t}/invoices")["xero_api_calls"] == 0 for t in TENANTS)


def test_a_rerouted_record_whose_invoice_has_a_payment_waits_for_a_person(prepared_world: World) -> None:
    world = prepared_world
    world.materialize(PUSH)
    opp, account, link = _au_opportunity_that_can_move(world)
    invoice = world.handle.xero.store.get(f"{link['tenant_id']}/Invoice", link["xero_id"])
    part = (Decimal(str(invoice["Total"])) / 3).quantize(Decimal("0.01"))
    xero_control(world).call(
        "POST",
        "act/pay",
        json={"tenant_id": link["tenant_id"], "invoice": link["xero_id"], "amount": str(part)},
    )
    codes = _move_to_uk(world, opp, account)
    _resync(world)
    world.materialize(PUSH)
    (live,) = _live(world, opp)  # the paid one stays, nothing is created in 'uk'
    assert live["InvoiceID"] == link["xero_id"]
    (held,) = world.ledger.queue_list(sf_id=opp, reason_code="rerouted_invoice_paid")
    assert link["xero_number"] in held.hint and "'au'" in held.hint and "'uk'" in held.hint
    assert world.ledger.queue_list(sf_id=opp, reason_code="invoice_rerouted")  # and the new side says why
    # routing the account back clears both items and changes nothing in Xero
    _move(world, opp, account, "Australia", codes)
    back = _resync(world)
    assert [(i.reason_code, i.message) for i in world.ledger.queue_list(sf_id=opp)] == []
    assert sum(_meta(back, f"xero/{t}/invoices")["created"] for t in TENANTS) == 0


def test_a_reopened_opportunity_has_its_unpaid_invoice_voided_and_a_paid_one_queued(
    prepared_world: World,
) -> None:
    world = prepared_world
    world.materialize(PUSH)
    links = world.ledger.links_frame(xero_object="Invoices").set_index("sf_id")
    unpaid, paid = [i for i in links.index if i.startswith("006")][:2]
    xero_control(world).call(
        "POST",
        "act/pay",
        json={"tenant_id": links.loc[paid, "tenant_id"], "invoice": links.loc[paid, "xero_id"]},
    )
    for opp in (unpaid, paid):
        world.sf_control.call(
            "POST", "act/edit", json={"id": opp, "fields": {"StageName": "Negotiation"}}
        )
    result = _resync(world)
    assert sum(_meta(result, f"xero/{t}/invoices")["voided"] for t in TENANTS) == 1
    assert _live(world, unpaid) == []
    assert [i["Status"] for i in _live(world, paid)] == ["PAID"]
    (item,) = world.ledger.queue_list(sf_id=paid)
    assert item.reason_code == "invoice_withdrawn" and links.loc[paid, "xero_number"] in item.hint
    assert world.ledger.queue_list(sf_id=unpaid) == []
    again = world.materialize(PUSH)
    assert all(_meta(again, f"xero/{t}/invoices")["voided"] == 0 for t in TENANTS)
