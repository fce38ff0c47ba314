"""The identity write-back on an organisation with more invoices than a day's calls (found by the soak).

Each online invoice URL costs one Xero call. On the medium org (10,000 invoices in one organisation) the
daily limit ran out while fetching them; the asset raised, lost every URL it had fetched and wrote no id,
so every later run did the same and the ids never reached Salesforce.
"""

from __future__ import annotations

import dagster as dg

from .conftest import World
from .test_push import PUSH, _meta, xero_control

XERO_IDS = dg.AssetSelection.assets("salesforce/xero_ids")


def _opportunities(world: World) -> dict[str, dict]:
    return {r["Id"]: r for r in world.handle.salesforce.records("Opportunity")}


def test_the_day_limit_while_fetching_urls_keeps_them_and_still_writes_every_id(
    prepared_world: World,
) -> None:
    world = prepared_world
    world.materialize(PUSH)
    links = world.ledger.links_frame()
    invoices = links.loc[(links["xero_object"] == "Invoices") & (links["sf_object"] == "Opportunity")]
    xero_control(world).add_fault(
        action="status",
        status=429,
        methods=["GET"],
        path_regex="/OnlineInvoice",
        skip=2,
        times=1,
        headers={"Retry-After": "3600", "X-Rate-Limit-Problem": "day"},
        body="Rate limit exceeded",
    )
    first = world.materialize(XERO_IDS)
    meta = _meta(first, "salesforce/xero_ids")
    assert meta["online_urls_pending"] > 0 and meta["failed"] == 0
    assert meta["written"] == len(links)  # every id is written although some URLs wait
    opps = _opportunities(world)
    for r in invoices.to_dict("records"):
        assert opps[r["sf_id"]]["Xero_Invoice_Id__c"] == r["xero_id"]
    assert len(world.warehouse.read("xero_online_urls")) >= 2  # what was fetched before the limit is kept

    world.handle.clock.advance(86_400)  # the next day, a later run adds the missing URLs
    second = world.materialize(XERO_IDS)
    assert _meta(second, "salesforce/xero_ids")["online_urls_pending"] == 0
    opps = _opportunities(world)
    assert all(opps[i]["Xero_Online_Invoice_Url__c"] for i in invoices["sf_id"])
