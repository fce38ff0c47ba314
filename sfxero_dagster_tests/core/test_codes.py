"""Invariant 7: codes are compared the way Xero compares them (letter case and surrounding spaces do not
matter), what validation accepts is what the payload sends in the organisation's own spelling, and a
code that is unknown or ambiguous is held with a hint naming the field to change and the value as typed."""

from __future__ import annotations

from dataclasses import replace
from decimal import Decimal

import pandas as pd
import pytest

from sfxero_dagster.config import ConfigError, parse_config
from sfxero_dagster.core.codes import CodeIndex, code_key, lookup
from sfxero_dagster.core.mapping import expected_totals, invoice_payload
from sfxero_dagster.core.push import plan_invoices
from sfxero_dagster.core.validation import validate_invoices

from .test_validation import CONFIG, REFS, headers, lines


def test_code_key_and_index_find_the_reference_spelling_and_never_guess() -> None:
    assert (
        code_key("  gst ") == code_key("GST") == "gst" and code_key("  ") is None and code_key(None) is None
    )
    index = CodeIndex(["OUTPUT", "North", "SKU-1", "sku-2", "SKU-2 "])
    assert index.canonical("output ") == "OUTPUT" and index.canonical("NORTH") == "North"
    assert index.canonical("Sku-1") == "SKU-1" and index.canonical("SKU-9") is None
    both = index.resolve("sku-2")  # two codes differ only in case/space: ambiguous, not a guess
    assert both.status == "ambiguous" and both.candidates == ("SKU-2 ", "sku-2")
    assert (
        lookup({"GST": "OUTPUT"}, " gst").code == "OUTPUT"
        and lookup({"GST": "OUTPUT"}, "VAT").status == "missing"
    )


def _stray(h: pd.DataFrame, ln: pd.DataFrame) -> None:
    ln["tax_code"] = ["gst ", "Gst"] * (len(ln) // 2)
    ln["sku"] = ["wid-1 ", " Wid-2"] * (len(ln) // 2)
    h["tracking_value"] = "north"


def test_stray_case_and_spaces_pass_validation_and_go_out_in_xero_spelling() -> None:
    h, ln = headers(), None
    ln = lines(h)
    _stray(h, ln)
    result = validate_invoices(h, ln, REFS, CONFIG)
    assert result.rejects.empty, result.rejects[["reason_code", "field", "value"]]
    header = h.iloc[0].to_dict()
    mine = ln.loc[ln["sf_header_id"] == header["sf_id"]].to_dict("records")
    p = invoice_payload(header, mine, CONFIG, {"ContactID": "c-1"}, reference=REFS["au"])
    assert [li["TaxType"] for li in p["LineItems"]] == ["OUTPUT", "OUTPUT"]
    assert [li["ItemCode"] for li in p["LineItems"]] == ["WID-1", "WID-2"]
    assert p["LineItems"][0]["Tracking"] == [{"Name": "Region", "Option": "North"}]
    # the tax is the rate's, not 0 for an unknown spelling
    assert expected_totals(p, REFS["au"].tax_rates).total_tax == Decimal("25.00")


def test_the_plan_sends_what_validation_accepted() -> None:
    h, ln = headers(1), None
    ln = lines(h)
    _stray(h, ln)
    plan = plan_invoices(
        h,
        ln,
        h,
        {h.loc[0, "sf_account_id"]: "c-1"},
        {},
        {},
        REFS["au"].tax_rates,
        CONFIG,
        "au",
        reference=REFS["au"],
    )
    (p,) = plan
    assert {li["TaxType"] for li in p.payload["LineItems"]} == {"OUTPUT"} and p.expected[
        "total_tax"
    ] == "25.00"


def test_config_tax_mapping_is_looked_up_by_key() -> None:
    config = CONFIG.model_copy(
        update={"tax": CONFIG.tax.model_copy(update={"mapping": {"au": {" gst": "output"}, "uk": {}}})}
    )
    h, ln = headers(1), None
    ln = lines(h)
    assert validate_invoices(h, ln, REFS, config).rejects.empty  # 'GST' finds ' gst'; 'output' is OUTPUT
    p = invoice_payload(
        h.iloc[0].to_dict(), ln.to_dict("records"), config, {"ContactID": "c"}, reference=REFS["au"]
    )
    assert {li["TaxType"] for li in p["LineItems"]} == {"OUTPUT"}


def test_config_rejects_mapping_keys_that_differ_only_in_case() -> None:
    raw = CONFIG.model_dump(mode="json")
    raw["tax"]["mapping"]["au"] = {"GST": "OUTPUT", "gst ": "EXEMPTOUTPUT"}
    with pytest.raises(ConfigError, match=r"tax\.mapping\.au: keys 'GST', 'gst ' differ only"):
        parse_config(raw, "sfxero.yaml")


def _one(result, code: str) -> dict:
    rows = result.rejects.loc[result.rejects["reason_code"] == code]
    assert len(rows) >= 1, result.rejects[["reason_code", "field", "value"]]
    return rows.iloc[0].to_dict()


def test_a_truly_unknown_code_is_held_with_the_field_and_the_value_as_typed() -> None:
    h, ln = headers(), None
    ln = lines(h)
    ln.loc[0, "tax_code"] = "LUX "
    ln.loc[2, "sku"] = "NOPE-9 "
    h.loc[2, "tracking_value"] = "Atlantis "
    result = validate_invoices(h, ln, REFS, CONFIG)
    tax = _one(result, "unmapped_tax_code")
    assert tax["field"] == "Tax_Code__c" and "'LUX '" in tax["hint"] and "tax.mapping.au" in tax["hint"]
    assert "EXPORT, GST, GST_FREE" in tax["hint"]
    sku = _one(result, "sku_not_in_xero")
    assert sku["field"] == "Product2.ProductCode" and "'NOPE-9 '" in sku["hint"]
    option = _one(result, "unknown_tracking_option")
    assert (
        option["field"] == "Sales_Region__c"
        and "'Atlantis '" in option["hint"]
        and "East, North" in option["hint"]
    )
    assert "tracking[0].option_map" in option["hint"]


def test_a_tax_code_from_the_product_names_the_product_field() -> None:
    h, ln = headers(1), None
    ln = lines(h)
    ln["tax_code_source"] = "product"
    ln.loc[0, "tax_code"] = "LUX"
    row = _one(validate_invoices(h, ln, REFS, CONFIG), "unmapped_tax_code")
    assert row["field"] == "Product2.Tax_Code__c"


def test_a_mapping_to_a_tax_type_the_org_lacks_points_at_the_config_key() -> None:
    config = CONFIG.model_copy(
        update={"tax": CONFIG.tax.model_copy(update={"mapping": {"au": {"GST": "OUTPUT9"}, "uk": {}}})}
    )
    h, ln = headers(1), None
    ln = lines(h)
    row = _one(validate_invoices(h, ln, REFS, config), "unknown_tax_type")
    assert (
        row["field"] == "sfxero.yaml:tax.mapping.au" and "'OUTPUT9'" in row["hint"] and "'GST'" in row["hint"]
    )


def test_two_reference_codes_differing_only_in_case_are_not_guessed() -> None:
    refs = {**REFS, "au": replace(REFS["au"], item_codes=frozenset({"WID-1", "wid-1", "WID-2"}))}
    h, ln = headers(1), None
    ln = lines(h)
    result = validate_invoices(h, ln, refs, CONFIG)
    row = _one(result, "ambiguous_code")
    assert row["field"] == "Product2.ProductCode" and "'WID-1', 'wid-1'" in row["hint"]
    assert result.valid.empty


def test_a_blank_currency_is_its_own_reason_never_none() -> None:
    h, ln = headers(1), None
    ln = lines(h)
    h.loc[0, "currency"] = None
    result = validate_invoices(h, ln, REFS, CONFIG)
    assert set(result.rejects["reason_code"]) == {"missing_currency"}
    row = _one(result, "missing_currency")
    assert row["field"] == "CurrencyIsoCode" and "None" not in row["hint"]


def test_field_too_long_says_how_long_it_is() -> None:
    h, ln = headers(1), None
    ln = lines(h)
    ln.loc[0, "description"] = "d" * 4001
    row = _one(validate_invoices(h, ln, REFS, CONFIG), "field_too_long")
    assert "(it has 4001)" in row["hint"] and "{" not in row["hint"]


def test_an_order_names_its_own_fields() -> None:
    h, ln = headers(1), None
    ln = lines(h)
    h["source"] = "order"
    ln["source"] = "order"
    h.loc[0, "invoice_date"] = pd.NaT
    ln.loc[0, "discount_rate"] = 150.0
    h.loc[0, "sf_total"] = 1.0
    rejects = validate_invoices(h, ln, REFS, CONFIG).rejects.set_index("reason_code")["field"]
    assert rejects["invalid_date"] == "EffectiveDate" and rejects["invalid_discount"] == "Discount__c"
    assert rejects["amount_mismatch"] == "TotalAmount"


def test_an_invoice_waiting_for_its_account_names_the_real_review_item_or_none() -> None:
    h, ln = headers(2), None
    ln = lines(h)
    reviewed, plain = h["sf_account_id"]
    plan = plan_invoices(h, ln, h, {}, {reviewed: ["name_clash"]}, {}, REFS["au"].tax_rates, CONFIG, "au")
    by_account = {p.hint_values["account"]: p for p in plan}
    assert by_account[reviewed].reason_code == "contact_pending_review"
    assert by_account[reviewed].hint_values["account_reasons"] == "name_clash"
    assert by_account[plain].reason_code == "contact_not_pushed"  # it does not claim a review item
