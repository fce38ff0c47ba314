"""The seed org: deterministic, internally consistent, dirty where it should be, loadable by both emulators."""

from __future__ import annotations

import time
from collections import Counter
from decimal import ROUND_HALF_UP, Decimal

import pytest

from sfxero_dagster.core.reasons import REASONS
from sfxero_dagster.sandbox.salesforce.app import SalesforceApp
from sfxero_dagster.sandbox.salesforce.ids import is_valid_id
from sfxero_dagster.sandbox.salesforce.schema import load_schema
from sfxero_dagster.sandbox.salesforce.soql import execute
from sfxero_dagster.sandbox.seed import SCALES, UK_TENANT_COUNTRIES, generate
from sfxero_dagster.sandbox.xero.app import XeroApp


@pytest.fixture(scope="module")
def small():
    return generate("small", 7)


def test_deterministic_for_a_seed_and_different_for_another() -> None:
    assert generate("small", 7).to_json_bytes() == generate("small", 7).to_json_bytes()
    assert generate("small", 7).to_json_bytes() != generate("small", 8).to_json_bytes()
    assert generate("medium", 3).to_json_bytes() == generate("medium", 3).to_json_bytes()


def test_counts_per_scale(small) -> None:
    s = small.summary()["salesforce"]
    assert (
        50 <= s["Account"] <= 55 and s["Opportunity"] == SCALES["small"]["opportunities"] and s["Order"] == 25
    )
    medium = generate("medium").summary()["salesforce"]
    assert medium["Account"] >= 5000 and medium["Opportunity"] == 20_000


def test_referential_integrity_and_ids(small) -> None:
    schema = load_schema()
    by_id = {r["Id"]: (obj, r) for obj, rows in small.salesforce.items() for r in rows}
    assert len(by_id) == sum(len(v) for v in small.salesforce.values())  # no id used twice
    for obj, rows in small.salesforce.items():
        prefix = schema.get(obj).key_prefix
        for r in rows:
            assert is_valid_id(r["Id"]) and r["Id"].startswith(prefix)
            for f in schema.get(obj).fields.values():
                if f.type == "reference" and r.get(f.name):
                    target_obj, _ = by_id[r[f.name]]
                    assert target_obj in f.reference_to, (obj, f.name)
    entries = {e["Id"]: e for e in small.salesforce["PricebookEntry"]}
    opps = {o["Id"]: o for o in small.salesforce["Opportunity"]}
    for line in small.salesforce["OpportunityLineItem"]:
        assert (
            entries[line["PricebookEntryId"]]["CurrencyIsoCode"]
            == opps[line["OpportunityId"]]["CurrencyIsoCode"]
        )
        assert entries[line["PricebookEntryId"]]["Product2Id"] == line["Product2Id"]


def test_opportunity_amounts_sum_their_lines(small) -> None:
    totals: Counter[str] = Counter()
    for line in small.salesforce["OpportunityLineItem"]:
        totals[line["OpportunityId"]] += line["TotalPrice"]
        discount = Decimal(line.get("Discount") or 0)
        assert line["TotalPrice"] == (line["Quantity"] * line["UnitPrice"] * (100 - discount) / 100).quantize(
            Decimal("0.01"), ROUND_HALF_UP
        )
    for opp in small.salesforce["Opportunity"]:
        assert opp["Amount"] == totals[opp["Id"]]
        assert opp["IsWon"] == (opp["StageName"] == "Closed Won")


def test_every_planted_kind_is_in_the_manifest_with_live_records(small) -> None:
    expected = {
        "already_linked",
        "xero_near_duplicate",
        "xero_tax_number_match",
        "ambiguous_match",
        "duplicate_accounts",
        "missing_billing_email",
        "soql_special_chars",
        "unicode_and_emoji",
        "product_missing_sku",
        "overlong_item_code",
        "sku_not_in_xero",
        "unmapped_tax_code",
        "zero_quantity",
        "negative_price",
        "currency_not_enabled",
        "unknown_tracking_option",
        "discount_over_100",
        "cancelled_order",
    }
    assert expected <= set(small.manifest)
    ids = {r["Id"] for rows in small.salesforce.values() for r in rows}
    for kind, entries in small.manifest.items():
        assert entries, kind
        for e in entries:
            assert e["id"] in ids and e["description"]
            if e["expect"].startswith("reason:"):
                assert e["expect"].removeprefix("reason:") in REASONS, e  # the production vocabulary
    opps = {o["Id"]: o for o in small.salesforce["Opportunity"]}
    jpy = small.manifest["currency_not_enabled"][0]["id"]
    assert opps[jpy]["CurrencyIsoCode"] == "JPY"
    assert all(t["currencies"] and "JPY" not in t["currencies"] for t in small.xero["tenants"])
    names = {a["Name"] for a in small.salesforce["Account"]}
    assert "O'Brien & Sons Pty Ltd" in names and "Rocket 🚀 Labs Ltd" in names


def test_xero_side_matches_salesforce(small) -> None:
    accounts = {a["Id"]: a for a in small.salesforce["Account"]}
    per = small.xero["per_tenant"]
    for entry in small.manifest["already_linked"]:
        acct = accounts[entry["id"]]
        tenant = "uk" if acct["BillingCountry"] in UK_TENANT_COUNTRIES else "au"
        assert any(c.get("ContactNumber") == acct["Id"] for c in per[tenant]["contacts"])
    codes = {i["Code"] for i in per["au"]["items"]}
    assert "SKU-NOT-IN-XERO" not in codes and all(len(c) <= 30 for c in codes)
    assert {
        p["ProductCode"]
        for p in small.salesforce["Product2"]
        if p.get("ProductCode") and len(p["ProductCode"]) <= 30
    } - codes == {"SKU-NOT-IN-XERO"}
    assert len({c["Name"] for c in per["au"]["contacts"]}) == len(
        per["au"]["contacts"]
    )  # Xero rejects duplicate names


def test_both_emulators_load_it(small) -> None:
    sf = SalesforceApp()
    sf.reset()
    counts = sf.load_seed(small.salesforce)
    assert counts["OpportunityLineItem"] == len(small.salesforce["OpportunityLineItem"])
    won = execute("SELECT COUNT() FROM Opportunity WHERE IsWon = true", sf, now=sf.now())
    assert won.total_size == sum(1 for o in small.salesforce["Opportunity"] if o["IsWon"])
    special = execute("SELECT Id FROM Account WHERE Name LIKE 'O\\'Brien%'", sf, now=sf.now())
    assert special.total_size == 1
    xero = XeroApp()
    ids = xero.load_seed(small.xero)
    assert set(ids) == {"au", "uk"}
    assert xero.store.count(f"{ids['au']}/Contact") == len(small.xero["per_tenant"]["au"]["contacts"])


@pytest.mark.slow
def test_large_under_two_minutes_and_reproducible() -> None:
    started = time.monotonic()
    first = generate("large", 11).to_json_bytes()
    elapsed = time.monotonic() - started
    assert elapsed < 120, elapsed
    assert first == generate("large", 11).to_json_bytes()
