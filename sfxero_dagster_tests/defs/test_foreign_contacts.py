"""Invariant 1: a push never changes a Xero contact this project did not create, except the
Salesforce-mastered fields of one linked by strong evidence, and never its name."""

from __future__ import annotations

import dagster as dg

from sfxero_dagster.core.push import contact_scope

from .conftest import World, seed_manifest
from .test_push import _meta, xero_records

CONTACT_FIELDS = ("Name", "EmailAddress", "TaxNumber", "ContactNumber", "Phones", "Addresses")


def _contacts(world: World) -> dict[str, dict]:
    return {c["ContactID"]: c for c in xero_records(world, "Contact")}


def _view(c: dict) -> dict:
    return {f: c.get(f) for f in CONTACT_FIELDS}


def test_a_push_leaves_contacts_it_did_not_create_as_they_were(prepared_world: World) -> None:
    world = prepared_world
    before = _contacts(world)
    matches = world.warehouse.read("contact_matches").set_index("sf_account_id")
    linked = matches.loc[matches["action"] == "link"]
    is_strong = linked["rule"].isin(["linked_contact_id", "linked_contact_number", "tax_number"])
    weak, strong = linked.loc[~is_strong], linked.loc[is_strong]
    assert len(weak) and len(strong), "the seed plants contacts linked by e-mail domain and by tax number"

    result = world.materialize(dg.AssetSelection.groups("push"))
    after = _contacts(world)
    # every contact that was in Xero before and is linked by weak evidence: exactly as it was
    for sf_id, m in weak.iterrows():
        assert _view(after[m["xero_contact_id"]]) == _view(before[m["xero_contact_id"]]), (sf_id, m["rule"])
    # linked by the tax number: the Salesforce-mastered fields follow Salesforce, the name never changes
    planted = {e["id"] for e in seed_manifest()["xero_tax_number_match"]}
    assert planted <= set(strong.index)
    customers = world.warehouse.read("valid_customers").set_index("sf_account_id")
    for sf_id, m in strong.loc[sorted(planted)].iterrows():
        was, now = before[m["xero_contact_id"]], after[m["xero_contact_id"]]
        assert now["Name"] == was["Name"] != customers.loc[sf_id, "name"]
        assert now["ContactNumber"] == sf_id
        assert now.get("EmailAddress") == customers.loc[sf_id, "email"]
    # nothing else of theirs changed: every contact not ours and not linked is untouched
    ours = set(world.ledger.links_frame(xero_object="Contacts").query("origin == 'created'")["xero_id"])
    untouched = set(before) - set(strong["xero_contact_id"]) - ours
    assert all(_view(after[c]) == _view(before[c]) for c in untouched)
    # the links say how each came to be, and the weak ones cost no call
    links = world.ledger.links_frame(xero_object="Contacts").set_index("sf_id")
    assert {contact_scope(links.loc[s, "origin"]) for s in weak.index} == {"none"}
    assert {contact_scope(links.loc[s, "origin"]) for s in strong.index} == {"strong"}
    assert sum(_meta(result, f"xero/{t}/contacts")["linked"] for t in ("au", "uk")) >= len(weak)
    checks = [c for c in result.get_asset_check_evaluations() if c.check_name == "foreign_contacts_untouched"]
    assert len(checks) == 2 and all(c.passed for c in checks)
    # a rerun changes nothing
    again = world.materialize(dg.AssetSelection.groups("push"))
    for tenant in ("au", "uk"):
        meta = _meta(again, f"xero/{tenant}/contacts")
        assert (meta["created"], meta["updated"], meta["linked"]) == (0, 0, 0)
