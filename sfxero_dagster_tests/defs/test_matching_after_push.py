"""Matching after our own push, before the next Xero snapshot (found by the soak's mid-run edits).

The contacts a push creates are not in the Xero snapshot until it is taken again, and ``sfxero queue
retry`` re-matches without taking it. Their ContactIDs, written back to the Accounts, looked like stale
links (review, and every invoice of the account waited for a person), and the ledger rule never applied
because it read links of the object "Contact" while the push records "Contacts".
"""

from __future__ import annotations

import dagster as dg

from .conftest import World
from .test_push import PUSH, _meta


def test_contacts_we_created_are_linked_by_the_ledger_not_flagged_stale(prepared_world: World) -> None:
    world = prepared_world
    world.materialize(PUSH)
    before = {(i.sf_id, i.reason_code) for i in world.ledger.queue_list()}
    created = world.ledger.links_frame(xero_object="Contacts")
    snapshot = set(world.warehouse.read("xero_contacts")["contact_id"].str.lower())
    ours = created.loc[~created["xero_id"].str.lower().isin(snapshot)]
    assert len(ours) > 0  # contacts the snapshot has not seen yet

    world.materialize(dg.AssetSelection.assets("salesforce/xero_ids"))  # ContactIDs onto the Accounts
    world.materialize(dg.AssetSelection.groups("salesforce_extract"), partition_key=world.today())
    world.materialize(dg.AssetSelection.groups("staging", "matching"))  # no new Xero snapshot

    matches = world.warehouse.read("contact_matches").set_index("sf_account_id")
    for r in ours.to_dict("records"):
        m = matches.loc[r["sf_id"]]
        assert (m["action"], m["xero_contact_id"], m["rule"]) == ("link", r["xero_id"], "ledger_link")
    after = {(i.sf_id, i.reason_code) for i in world.ledger.queue_list()}
    assert after == before  # nothing went to review, no invoice waits for a person
    again = world.materialize(PUSH)
    for t in ("au", "uk"):
        assert _meta(again, f"xero/{t}/contacts")["xero_api_calls"] == 0
        assert _meta(again, f"xero/{t}/invoices")["xero_api_calls"] == 0
