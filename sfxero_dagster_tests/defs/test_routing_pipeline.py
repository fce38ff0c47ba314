"""Routing by country through the whole pipeline: 'UK' goes to the UK organisation, a non-country to
review (never to the default organisation), and fixing the record in Salesforce resolves the review."""

from __future__ import annotations

import dagster as dg

from .conftest import World, seed_manifest

DOWNSTREAM = dg.AssetSelection.groups("staging", "matching")


def _clean_account_with_invoices(world: World, country: str, taken: set[str]) -> str:
    """A seeded account in ``country`` that no planted problem touches and that has sendable invoices."""
    planted = {e["id"] for entries in seed_manifest().values() for e in entries}
    customers = world.warehouse.read("stg_customers")
    headers = world.warehouse.read("stg_invoice_headers")
    sendable = headers.loc[~headers.is_deleted & ~headers.is_cancelled & ~headers["sf_id"].isin(planted)]
    with_invoices = set(sendable["sf_account_id"])
    for row in customers.itertuples():
        if (
            row.country == country
            and not row.is_deleted
            and row.sf_account_id in with_invoices
            and row.sf_account_id not in planted | taken
        ):
            return row.sf_account_id
    raise AssertionError(f"no clean {country} account with invoices in the seed")


def test_country_spellings_route_and_a_non_country_is_reviewed_until_fixed(prepared_world: World) -> None:
    world = prepared_world
    british = _clean_account_with_invoices(world, "United Kingdom", set())
    narnian = _clean_account_with_invoices(world, "Australia", {british})
    world.handle.clock.advance(600)
    edit = {british: "UK", narnian: "Narnia"}
    for rid, country in edit.items():
        world.sf_control.call("POST", "act/edit", json={"id": rid, "fields": {"BillingCountry": country}})
    world.materialize(dg.AssetSelection.groups("salesforce_extract"), partition_key=world.today())
    world.materialize(DOWNSTREAM)

    wh = world.warehouse
    tenants = wh.read("stg_customers").set_index("sf_account_id")["tenant_key"]
    assert tenants[british] == "uk"  # not the default 'au': no Australian GST for a UK customer
    assert tenants[narnian] is None  # not a country: not the default either
    (item,) = world.ledger.queue_list(sf_id=narnian)
    assert (item.reason_code, item.field, item.value) == ("unroutable_country", "BillingCountry", "Narnia")
    assert item.hint == (
        "Set BillingCountry on the account to a country name or ISO code; 'Narnia' is not a country."
    )
    headers = wh.read("stg_invoice_headers")
    held = set(
        headers.loc[
            (headers["sf_account_id"] == narnian) & ~headers.is_deleted & ~headers.is_cancelled, "sf_id"
        ]
    )
    assert held
    queued = {i.sf_id: i.reason_code for i in world.ledger.queue_list(reason_code="unroutable_country")}
    assert held <= set(queued) and not held & set(wh.read("valid_invoice_headers")["sf_id"])
    british_invoices = set(headers.loc[headers["sf_account_id"] == british, "sf_id"])
    assert (
        british_invoices
        and (headers.set_index("sf_id").loc[list(british_invoices), "tenant_key"] == "uk").all()
    )

    # Someone writes the ISO code instead; the next delta routes it and resolves every review item.
    world.handle.clock.advance(600)
    world.sf_control.call("POST", "act/edit", json={"id": narnian, "fields": {"BillingCountry": "AU"}})
    world.materialize(dg.AssetSelection.groups("salesforce_extract"), partition_key=world.today())
    world.materialize(DOWNSTREAM)
    assert world.warehouse.read("stg_customers").set_index("sf_account_id")["tenant_key"][narnian] == "au"
    assert not world.ledger.queue_list(reason_code="unroutable_country")
    resolved = {i.sf_id for i in world.ledger.queue_list(state="resolved", reason_code="unroutable_country")}
    assert resolved == held | {narnian}
