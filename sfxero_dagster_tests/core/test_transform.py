"""Salesforce extract frames become typed, routed staging tables."""

from __future__ import annotations

import pandas as pd

from sfxero_dagster.config import load_config, parse_config
from sfxero_dagster.core.transform import stage_customers, stage_invoices, stage_products
from sfxero_dagster.core.validation import TenantReference, validate_customers, validate_invoices

from ..conftest import REPO_ROOT
from .test_validation import REFS

CONFIG = load_config(REPO_ROOT / "sfxero.yaml")
T = "2026-01-05T10:00:00.000+0000"


def sid(prefix: str, tag: str) -> str:
    """An 18-character Salesforce-shaped Id ending in ``tag`` (readable in assertions)."""
    return f"{prefix}5g{tag:0>10}AAA"


A, B, C = sid("001", "A"), sid("001", "B"), sid("001", "C")
OPP, ORD1, ORD2 = sid("006", "A"), sid("801", "A"), sid("801", "B")
P1, P2 = sid("01t", "A"), sid("01t", "B")
L1, L2, I1, I2 = sid("00k", "A"), sid("00k", "B"), sid("802", "A"), sid("802", "X")


def frames():
    accounts = pd.DataFrame(
        [
            {
                "Id": A,
                "Name": "Acme Pty Ltd",
                "BillingCountry": "Australia",
                "CurrencyIsoCode": "AUD",
                "Phone": None,
                "IsDeleted": False,
                "SystemModstamp": T,
                "Tax_Number__c": "51824753556",
            },
            {
                "Id": B,
                "Name": "Brit Ltd",
                "BillingCountry": "United Kingdom",
                "CurrencyIsoCode": "GBP",
                "Phone": "+44 20 7946 0000",
                "IsDeleted": False,
                "SystemModstamp": T,
            },
            {
                "Id": C,
                "Name": "Gone Ltd",
                "BillingCountry": "Ireland",
                "CurrencyIsoCode": "EUR",
                "IsDeleted": True,
                "SystemModstamp": T,
            },
        ]
    )
    contacts = pd.DataFrame(
        [
            {
                "Id": sid("003", "a"),
                "AccountId": A,
                "Email": "other@acme.com.au",
                "Phone": "02 1",
                "Is_Billing_Contact__c": False,
                "IsDeleted": False,
            },
            {
                "Id": sid("003", "b"),
                "AccountId": A,
                "Email": "ap@acme.com.au",
                "Phone": "02 2",
                "Is_Billing_Contact__c": True,
                "IsDeleted": False,
            },
            {
                "Id": sid("003", "c"),
                "AccountId": B,
                "Email": None,
                "Phone": None,
                "Is_Billing_Contact__c": False,
                "IsDeleted": False,
            },
            {
                "Id": sid("003", "d"),
                "AccountId": B,
                "Email": "pay@brit.co.uk",
                "Phone": None,
                "Is_Billing_Contact__c": False,
                "IsDeleted": False,
            },
        ]
    )
    products = pd.DataFrame(
        [
            {
                "Id": P1,
                "ProductCode": "WID-1",
                "Name": "Widget",
                "IsActive": True,
                "Tax_Code__c": "GST",
                "Xero_Account_Code__c": None,
            },
            {
                "Id": P2,
                "ProductCode": "WID-2",
                "Name": "Gadget",
                "IsActive": True,
                "Tax_Code__c": "GST",
                "Xero_Account_Code__c": "260",
            },
        ]
    )
    opps = pd.DataFrame(
        [
            {
                "Id": OPP,
                "AccountId": A,
                "StageName": "Closed Won",
                "IsWon": True,
                "IsClosed": True,
                "CloseDate": "2026-01-05",
                "Amount": 232.47,
                "CurrencyIsoCode": "AUD",
                "Sales_Region__c": "North",
                "IsDeleted": False,
                "SystemModstamp": T,
            },
        ]
    )
    opp_lines = pd.DataFrame(
        [
            {
                "Id": L1,
                "OpportunityId": OPP,
                "Product2Id": P1,
                "Quantity": 3,
                "UnitPrice": 59.99,
                "Discount": 10,
                "TotalPrice": 161.97,
                "Description": None,
                "Tax_Code__c": None,
                "CurrencyIsoCode": "AUD",
            },
            {
                "Id": L2,
                "OpportunityId": OPP,
                "Product2Id": P2,
                "Quantity": 1,
                "UnitPrice": 70.50,
                "Discount": None,
                "TotalPrice": 70.50,
                "Description": "Gadget, blue",
                "Tax_Code__c": "GST_FREE",
                "CurrencyIsoCode": "AUD",
            },
        ]
    )
    orders = pd.DataFrame(
        [
            {
                "Id": ORD1,
                "AccountId": B,
                "OrderNumber": "00000101",
                "Status": "Activated",
                "EffectiveDate": "2026-01-06",
                "TotalAmount": 200.0,
                "CurrencyIsoCode": "GBP",
                "Sales_Region__c": "South",
                "IsDeleted": False,
                "SystemModstamp": T,
            },
            {
                "Id": ORD2,
                "AccountId": B,
                "OrderNumber": "00000102",
                "Status": "Cancelled",
                "EffectiveDate": "2026-01-07",
                "TotalAmount": 0,
                "CurrencyIsoCode": "GBP",
                "IsDeleted": False,
                "SystemModstamp": T,
            },
        ]
    )
    items = pd.DataFrame(
        [
            {
                "Id": I1,
                "OrderId": ORD1,
                "Product2Id": P1,
                "Quantity": 2,
                "UnitPrice": 100,
                "TotalPrice": 200,
                "Discount__c": 12.5,
                "Tax_Code__c": "VAT20",
                "CurrencyIsoCode": "GBP",
                "IsDeleted": False,
            },
            {
                "Id": I2,
                "OrderId": ORD1,
                "Product2Id": P1,
                "Quantity": 9,
                "UnitPrice": 1,
                "TotalPrice": 9,
                "Discount__c": None,
                "Tax_Code__c": "VAT20",
                "CurrencyIsoCode": "GBP",
                "IsDeleted": True,
            },
        ]
    )
    return accounts, contacts, products, opps, opp_lines, orders, items


def test_customers_routing_billing_contact_and_tombstones() -> None:
    accounts, contacts, *_ = frames()
    c = stage_customers(accounts, contacts, CONFIG).set_index("sf_account_id")
    assert c.loc[A, "tenant_key"] == "au" and c.loc[B, "tenant_key"] == "uk"
    assert c.loc[C, "tenant_key"] == "uk" and bool(c.loc[C, "is_deleted"])
    assert c.loc[A, "email"] == "ap@acme.com.au"  # flagged billing contact wins
    assert c.loc[B, "email"] == "pay@brit.co.uk"  # else first contact with an e-mail
    assert c.loc[A, "phone"] == "02 2"  # account phone missing -> billing contact's
    assert c.loc[C, "email"] is None
    assert str(c["system_modstamp"].dtype).startswith("datetime64")


def test_invoices_from_opportunities_and_orders() -> None:
    accounts, contacts, products, opps, opp_lines, orders, items = frames()
    customers = stage_customers(accounts, contacts, CONFIG)
    prods = stage_products(products, CONFIG)
    h, ln = stage_invoices(customers, prods, opps, opp_lines, orders, items, CONFIG)
    h = h.set_index("sf_id")
    assert h.loc[OPP, "invoice_number"] == f"SF-{OPP}" and h.loc[OPP, "reference"] == OPP
    assert h.loc[ORD1, "invoice_number"] == "SF-O-00000101" and h.loc[ORD1, "tenant_key"] == "uk"
    assert bool(h.loc[ORD2, "is_cancelled"]) and not bool(h.loc[ORD1, "is_cancelled"])
    assert h.loc[ORD1, "sf_total"] == 175.0  # Discount__c applied to OrderItems
    lines = ln.set_index("sf_line_id")
    assert I2 not in lines.index  # deleted line dropped
    assert lines.loc[L1, "tax_code"] == "GST"  # product's code
    assert lines.loc[L2, "tax_code"] == "GST_FREE"  # line override wins
    assert lines.loc[L1, "description"] == "Widget"  # falls back to the product name
    assert lines.loc[L2, "account_code"] == "260"


def test_staged_records_validate_end_to_end() -> None:
    accounts, contacts, products, opps, opp_lines, _orders, _items = frames()
    customers = stage_customers(accounts, contacts, CONFIG)
    h, ln = stage_invoices(customers, stage_products(products, CONFIG), opps, opp_lines, None, None, CONFIG)
    refs = {
        **REFS,
        "au": TenantReference(
            "au",
            "AUD",
            frozenset({"AUD"}),
            REFS["au"].tax_rates,
            frozenset({"WID-1", "WID-2"}),
            frozenset({"200", "260"}),
            REFS["au"].tracking,
        ),
    }
    result = validate_invoices(h, ln, refs, CONFIG)
    assert result.rejects.empty, result.rejects.to_dict("records")
    assert list(result.valid["sf_id"]) == [OPP]


def test_source_setting_selects_objects() -> None:
    accounts, contacts, products, opps, opp_lines, orders, items = frames()
    customers = stage_customers(accounts, contacts, CONFIG)
    prods = stage_products(products, CONFIG)
    only_orders = CONFIG.model_copy(
        update={"invoices": CONFIG.invoices.model_copy(update={"source": "order"})}
    )
    h, _ = stage_invoices(customers, prods, opps, opp_lines, orders, items, only_orders)
    assert set(h["source"]) == {"order"}
    empty_h, empty_l = stage_invoices(customers, prods, None, None, None, None, CONFIG)
    assert empty_h.empty and empty_l.empty


def _with_accounts(accounts: pd.DataFrame, rows: dict[str, dict]) -> pd.DataFrame:
    extra = [
        {
            "Id": i,
            "Name": f"{i[-4:]} Ltd",
            "CurrencyIsoCode": "GBP",
            "IsDeleted": False,
            "SystemModstamp": T,
            **f,
        }
        for i, f in rows.items()
    ]
    return pd.concat([accounts, pd.DataFrame(extra)], ignore_index=True)


UKC, NARNIA, BLANK, JAPAN, NONE = (sid("001", t) for t in ("UK", "NARN", "BLNK", "JPN", "NONE"))


def test_country_spellings_route_and_a_non_country_is_unroutable_with_its_own_reason() -> None:
    accounts, contacts, products, opps, opp_lines, *_ = frames()
    accounts = _with_accounts(
        accounts,
        {
            UKC: {"BillingCountry": "UK"},
            NARNIA: {"BillingCountry": "Narnia"},
            BLANK: {"BillingCountry": "  "},
            NONE: {"BillingCountry": None},
            JAPAN: {"BillingCountry": "JP"},
        },
    )
    customers = stage_customers(accounts, contacts, CONFIG)
    c = customers.set_index("sf_account_id")
    assert c.loc[UKC, "tenant_key"] == "uk"  # was 'au': a UK customer billed Australian GST
    assert c.loc[NARNIA, "tenant_key"] is None  # not a country: not the default either
    assert [c.loc[i, "tenant_key"] for i in (BLANK, NONE, JAPAN)] == ["au"] * 3  # blank, or in no rule
    assert c.loc[NARNIA, "route_value"] == "Narnia"

    rejects = validate_customers(customers.loc[~customers["is_deleted"]], CONFIG).rejects
    routing = rejects.loc[rejects["reason_code"].str.startswith("unroutable")]
    assert routing[["sf_id", "reason_code", "field", "value", "hint"]].to_dict("records") == [
        {
            "sf_id": NARNIA,
            "reason_code": "unroutable_country",
            "field": "BillingCountry",
            "value": "Narnia",
            "hint": "Set BillingCountry on the account to a country name or ISO code; 'Narnia' is not a country.",
        }
    ]

    # The account's invoices are held back with the same reason and value.
    opps = pd.concat([opps, opps.assign(Id=sid("006", "N"), AccountId=NARNIA)], ignore_index=True)
    opp_lines = pd.concat(
        [opp_lines, opp_lines.assign(Id=[sid("00k", "N1"), sid("00k", "N2")], OpportunityId=sid("006", "N"))],
        ignore_index=True,
    )
    h, ln = stage_invoices(customers, stage_products(products, CONFIG), opps, opp_lines, None, None, CONFIG)
    rejects = validate_invoices(h, ln, REFS, CONFIG, customers=customers).rejects
    mine = rejects.loc[rejects["sf_id"] == sid("006", "N")]
    assert set(mine["reason_code"]) == {"unroutable_country"}
    assert set(mine["value"]) == {"Narnia"}
    without = validate_invoices(h, ln, REFS, CONFIG).rejects  # no customers given: the generic reason
    assert set(without.loc[without["sf_id"] == sid("006", "N"), "reason_code"]) == {"unroutable_account"}


def test_another_country_field_names_itself_and_no_default_means_unroutable_account() -> None:
    cfg = parse_config(
        {
            **CONFIG.model_dump(mode="json"),
            "routing": {"field": "ShippingCountry", "rules": [{"tenant": "uk", "values": ["GB"]}]},
        }
    )
    accounts, contacts, *_ = frames()
    accounts = accounts.assign(ShippingCountry=["Australia", "U.K.", "Ireland"])
    accounts = _with_accounts(
        accounts, {NARNIA: {"ShippingCountry": "N/A", "BillingCountry": "United Kingdom"}}
    )
    customers = stage_customers(accounts, contacts, cfg)
    rejects = validate_customers(customers.loc[~customers["is_deleted"]], cfg).rejects
    got = rejects.loc[rejects["reason_code"].str.startswith("unroutable")].set_index("sf_id")
    assert B not in got.index  # U.K. -> uk
    assert (got.loc[A, "reason_code"], got.loc[A, "value"]) == ("unroutable_account", "Australia")  # no rule
    assert (got.loc[NARNIA, "reason_code"], got.loc[NARNIA, "field"]) == (
        "unroutable_country",
        "ShippingCountry",
    )
    assert got.loc[NARNIA, "hint"] == (
        "Set ShippingCountry on the account to a country name or ISO code; 'N/A' is not a country."
    )
