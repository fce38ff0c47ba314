"""Record-level validation: each bad-input class gets its reason, and never blocks the good records."""

from __future__ import annotations

from collections.abc import Callable
from decimal import Decimal

import pandas as pd
import pytest

from sfxero_dagster.config import load_config, parse_config
from sfxero_dagster.core.staging import StgCustomers, StgInvoiceHeaders, StgInvoiceLines
from sfxero_dagster.core.validation import TenantReference, validate_customers, validate_invoices

from ..conftest import REPO_ROOT

CONFIG = load_config(REPO_ROOT / "sfxero.yaml")
REFS = {
    "au": TenantReference(
        "au",
        "AUD",
        frozenset({"AUD", "USD", "NZD"}),
        {"OUTPUT": Decimal(10), "EXEMPTOUTPUT": Decimal(0), "EXEMPTEXPORT": Decimal(0)},
        item_codes=frozenset({"WID-1", "WID-2"}),
        account_codes=frozenset({"200", "260"}),
        tracking={"Region": frozenset({"North", "South", "East", "West"})},
    ),
    "uk": TenantReference(
        "uk",
        "GBP",
        frozenset({"GBP", "USD", "EUR"}),
        {"OUTPUT2": Decimal(20), "ZERORATEDOUTPUT": Decimal(0)},
        item_codes=frozenset({"WID-1"}),
        account_codes=frozenset({"200"}),
        tracking={"Region": frozenset({"North", "South"})},
    ),
}


def headers(n: int = 3) -> pd.DataFrame:
    rows = []
    for i in range(n):
        rows.append(
            {
                "source": "opportunity",
                "sf_id": f"006000000000{i:03d}AAA",
                "sf_account_id": f"001000000000{i:03d}AAA",
                "tenant_key": "au",
                "invoice_number": f"SF-{i:05d}",
                "reference": f"006000000000{i:03d}AAA",
                "invoice_date": pd.Timestamp("2026-01-05"),
                "currency": "AUD",
                "sf_total": 250.0,
                "status": "Closed Won",
                "is_cancelled": False,
                "is_deleted": False,
                "tracking_value": "North",
                "system_modstamp": pd.Timestamp("2026-01-05T10:00:00Z"),
            }
        )
    return StgInvoiceHeaders.validate(pd.DataFrame(rows))


def lines(h: pd.DataFrame) -> pd.DataFrame:
    rows = []
    for hid in h["sf_id"]:
        for j, (sku, qty, price) in enumerate([("WID-1", 2, 100.0), ("WID-2", 1, 50.0)]):
            rows.append(
                {
                    "source": "opportunity",
                    "sf_header_id": hid,
                    "sf_line_id": f"{hid[:-3]}L{j}",
                    "sf_product_id": f"01t{j}",
                    "sku": sku,
                    "description": "Widget",
                    "quantity": float(qty),
                    "unit_amount": price,
                    "discount_rate": 0.0,
                    "tax_code": "GST",
                    "account_code": None,
                    "currency": "AUD",
                    "sf_line_total": qty * price,
                    "product_is_active": True,
                }
            )
    return StgInvoiceLines.validate(pd.DataFrame(rows))


Mutation = Callable[[pd.DataFrame, pd.DataFrame], None]


def hdr(col: str, value: object) -> Mutation:
    def f(h: pd.DataFrame, ln: pd.DataFrame) -> None:
        h.loc[0, col] = value

    return f


def line(col: str, value: object) -> Mutation:
    def f(h: pd.DataFrame, ln: pd.DataFrame) -> None:
        ln.loc[0, col] = value

    return f


def no_lines(h: pd.DataFrame, ln: pd.DataFrame) -> None:
    ln.drop(ln.index[ln["sf_header_id"] == h.loc[0, "sf_id"]], inplace=True)


def dup_number(h: pd.DataFrame, ln: pd.DataFrame) -> None:
    h.loc[0, "invoice_number"] = h.loc[1, "invoice_number"]


CASES: list[tuple[str, Mutation, str, str]] = [
    ("missing account", hdr("sf_account_id", None), "missing_required_field", "AccountId"),
    ("no route", hdr("tenant_key", None), "unroutable_account", "Account.BillingCountry"),
    ("no date", hdr("invoice_date", pd.NaT), "invalid_date", "CloseDate"),
    ("long number", hdr("invoice_number", "X" * 256), "field_too_long", "sfxero.yaml:invoices.number_prefix"),
    (
        "non-ascii number",
        hdr("invoice_number", "SF-№1"),
        "invalid_characters",
        "sfxero.yaml:invoices.number_prefix",
    ),
    ("long reference", hdr("reference", "r" * 256), "field_too_long", "Id"),
    ("duplicate number", dup_number, "duplicate_invoice_number", "sfxero.yaml:invoices.number_prefix"),
    ("JPY", hdr("currency", "JPY"), "currency_not_enabled", "CurrencyIsoCode"),
    ("unknown option", hdr("tracking_value", "Atlantis"), "unknown_tracking_option", "Sales_Region__c"),
    ("no lines", no_lines, "no_line_items", "OpportunityLineItems"),
    ("missing sku", line("sku", None), "missing_sku", "Product2.ProductCode"),
    ("blank sku", line("sku", "  "), "missing_sku", "Product2.ProductCode"),
    ("long sku", line("sku", "S" * 31), "field_too_long", "Product2.ProductCode"),
    ("sku not in xero", line("sku", "NOPE-9"), "sku_not_in_xero", "Product2.ProductCode"),
    ("unmapped tax", line("tax_code", "LUX_TAX"), "unmapped_tax_code", "Tax_Code__c"),
    ("zero qty", line("quantity", 0.0), "invalid_quantity", "Quantity"),
    ("missing qty", line("quantity", None), "invalid_quantity", "Quantity"),
    ("negative qty", line("quantity", -1.0), "negative_amount", "Quantity"),
    ("negative price", line("unit_amount", -5.0), "negative_amount", "UnitPrice"),
    ("missing price", line("unit_amount", None), "invalid_unit_price", "UnitPrice"),
    ("discount 150", line("discount_rate", 150.0), "invalid_discount", "Discount"),
    ("discount -1", line("discount_rate", -1.0), "invalid_discount", "Discount"),
    ("long description", line("description", "d" * 4001), "field_too_long", "Description"),
    ("line currency", line("currency", "USD"), "currency_mismatch", "CurrencyIsoCode"),
    ("bad account", line("account_code", "999"), "unknown_account_code", "Product2.Xero_Account_Code__c"),
    ("huge line", line("unit_amount", 9e12), "line_amount_too_large", "Quantity"),
    ("sf total off", hdr("sf_total", 251.0), "amount_mismatch", "Amount"),
]


@pytest.mark.parametrize(("name", "mutate", "code", "field"), CASES, ids=[c[0] for c in CASES])
def test_each_bad_input_class_is_rejected_with_its_reason(
    name: str, mutate: Mutation, code: str, field: str
) -> None:
    h, ln = headers(), None
    ln = lines(h)
    mutate(h, ln)
    result = validate_invoices(h, ln, REFS, CONFIG)
    bad_id = h.loc[0, "sf_id"]
    rows = result.rejects[result.rejects["reason_code"] == code]
    assert not rows.empty, result.rejects
    assert bad_id in set(rows["sf_id"])
    assert field in set(rows["field"])
    assert rows["hint"].str.len().min() > 10
    # the bad invoice is held back whole, the clean ones are not
    assert bad_id not in set(result.valid["sf_id"])
    assert set(h["sf_id"][2:]) <= set(result.valid["sf_id"])
    assert bad_id not in set(result.valid_lines["sf_header_id"])


def test_clean_invoices_pass_untouched() -> None:
    h = headers(5)
    result = validate_invoices(h, lines(h), REFS, CONFIG)
    assert result.rejects.empty
    assert list(result.valid["sf_id"]) == list(h["sf_id"])
    assert len(result.valid_lines) == 10


def test_unknown_tax_type_and_tracking_category_per_tenant() -> None:
    cfg = parse_config({**CONFIG.model_dump(mode="json"), "tax": {"mapping": {"au": {"GST": "OUTPUT9"}}}})
    h = headers(2)
    result = validate_invoices(h, lines(h), REFS, cfg)
    assert set(result.rejects["reason_code"]) == {"unknown_tax_type"}
    refs = {
        **REFS,
        "au": TenantReference(
            "au",
            "AUD",
            frozenset({"AUD"}),
            REFS["au"].tax_rates,
            REFS["au"].item_codes,
            REFS["au"].account_codes,
            tracking={},
        ),
    }
    result = validate_invoices(h, lines(h), refs, CONFIG)
    assert set(result.rejects["reason_code"]) == {"unknown_tracking_category"}


def test_warn_severity_reports_without_blocking() -> None:
    h = headers(2)
    ln = lines(h)
    ln["product_is_active"] = [False, True, True, True]
    result = validate_invoices(h, ln, REFS, CONFIG)
    assert set(result.rejects["reason_code"]) == {"inactive_product"}
    assert set(result.rejects["severity"]) == {"WARN"}
    assert len(result.valid) == 2
    cfg = parse_config(
        {**CONFIG.model_dump(mode="json"), "validation": {"severity": {"inactive_product": "ERROR"}}}
    )
    assert len(validate_invoices(h, ln, REFS, cfg).valid) == 1


def test_discount_and_rounding_within_tolerance_pass() -> None:
    h = headers(1)
    ln = lines(h)
    ln.loc[0, ["quantity", "unit_amount", "discount_rate"]] = [3.0, 19.99, 12.5]  # Xero: 52.47
    h.loc[0, "sf_total"] = 52.47 + 50.0 + 0.004
    assert validate_invoices(h, ln, REFS, CONFIG).rejects.empty
    h.loc[0, "sf_total"] = 52.47 + 50.0 + 0.02
    rejects = validate_invoices(h, ln, REFS, CONFIG).rejects
    assert list(rejects["reason_code"]) == ["amount_mismatch"]
    assert "Xero would post 102.47" in rejects.loc[0, "hint"]


def test_several_reasons_on_one_record_are_all_reported() -> None:
    h = headers(1)
    ln = lines(h)
    ln.loc[0, ["sku", "tax_code"]] = [None, "LUX_TAX"]
    h.loc[0, "currency"] = "JPY"
    codes = set(validate_invoices(h, ln, REFS, CONFIG).rejects["reason_code"])
    assert {"missing_sku", "unmapped_tax_code", "currency_not_enabled"} <= codes


def customers() -> pd.DataFrame:
    return StgCustomers.validate(
        pd.DataFrame(
            [
                {
                    "sf_account_id": f"001000000000{i:03d}AAA",
                    "name": f"Acme {i}",
                    "tax_number": None,
                    "email": f"ap@acme{i}.com",
                    "phone": "+61 2 9999 0000",
                    "street": "1 George St",
                    "city": "Sydney",
                    "region": "NSW",
                    "postal_code": "2000",
                    "country": "Australia",
                    "currency": "AUD",
                    "tenant_key": "au",
                    "xero_contact_id": None,
                    "is_deleted": False,
                    "system_modstamp": pd.Timestamp("2026-01-01T00:00:00Z"),
                }
                for i in range(3)
            ]
        )
    )


@pytest.mark.parametrize(
    ("col", "value", "code", "blocks"),
    [
        ("name", None, "missing_required_field", True),
        ("name", "N" * 256, "field_too_long", True),
        ("email", None, "missing_email", False),
        ("email", "not-an-email", "invalid_email", True),
        ("tenant_key", None, "unroutable_account", True),
        ("postal_code", "9" * 51, "field_too_long", True),
        ("tax_number", "T" * 51, "field_too_long", True),
    ],
)
def test_customer_classes(col: str, value: object, code: str, blocks: bool) -> None:
    c = customers()
    c.loc[0, col] = value
    result = validate_customers(c, CONFIG)
    assert code in set(result.rejects["reason_code"])
    assert (c.loc[0, "sf_account_id"] not in set(result.valid["sf_account_id"])) is blocks
    assert len(result.valid) >= 2


def test_distinct_bad_input_classes_cover_at_least_25() -> None:
    assert len({c[0] for c in CASES}) >= 25
