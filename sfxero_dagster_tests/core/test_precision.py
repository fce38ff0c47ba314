"""Invariant 5: amounts at the precision they are kept (Salesforce field scale, then Xero's), and a line
or record that rounds to nothing is held with its own reason, while a free item is not."""

from __future__ import annotations

from decimal import Decimal as D

import pandas as pd
import pytest
from hypothesis import given
from hypothesis import strategies as st
from pydantic import ValidationError

from sfxero_dagster.config import load_config
from sfxero_dagster.core.mapping import invoice_payload
from sfxero_dagster.core.precision import kept, kept_series, text
from sfxero_dagster.core.transform import stage_customers, stage_invoices, stage_products
from sfxero_dagster.core.validation import validate_invoices
from sfxero_dagster.core.xero_math import Line, line_amount

from ..conftest import REPO_ROOT
from .test_transform import L1, L2, OPP, ORD1, frames
from .test_validation import REFS, headers, lines

CONFIG = load_config(REPO_ROOT / "sfxero.yaml")
# what the Salesforce describe reports (Field Reference: standard currency 18,2; OLI Quantity 12,2,
# Discount 5,2; OrderItem Quantity 18,2; the custom Discount__c 5,2)
SCALES = {
    "Opportunity": {"Amount": 2},
    "OpportunityLineItem": {"Quantity": 2, "UnitPrice": 2, "Discount": 2, "TotalPrice": 2},
    "Order": {"TotalAmount": 2},
    "OrderItem": {"Quantity": 2, "UnitPrice": 2, "Discount__c": 2, "TotalPrice": 2},
}


# ----- core.precision ------------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("value", "scale", "places", "want"),
    [
        (0.00001, 2, 4, "0"),  # below the field's scale: nothing is left
        (0.00001, None, 4, "0"),  # no describe scale: Xero's 4 dp alone
        (1.23456, 2, 4, "1.23"),
        (1.23456, None, 4, "1.2346"),
        (1.005, 2, 4, "1.01"),  # half-up on the written decimal; float round() says 1.0
        (12.345, 2, 2, "12.35"),  # float round() says 12.35 or 12.34 depending on the binary expansion
        (2.675, None, 2, "2.68"),  # round(2.675, 2) == 2.67 in binary floating point
        (1.2344495, 6, 4, "1.2345"),  # a wider custom scale, then Xero: -> 1.234450 -> 1.2345 (not 1.2344)
        (-0.125, 2, 4, "-0.13"),  # ties away from zero
        (float("nan"), 2, 4, None),
        (None, 2, 4, None),
    ],
)
def test_kept_rounds_to_the_field_scale_then_xero_half_up_in_decimal(value, scale, places, want) -> None:
    got = kept(value, scale, places)
    assert (None if got is None else text(got)) == want


def test_kept_series_gives_floats_whose_repr_is_the_rounded_decimal() -> None:
    s = kept_series(pd.Series([0.1 + 0.2, 1.23456, None, 2.675]), None, 4)
    assert [repr(v) for v in s[[0, 1, 3]]] == ["0.3", "1.2346", "2.675"]
    assert pd.isna(s[2])
    assert text(1e-05) == "0.00001" and text(3.0) == "3"


@given(
    st.lists(
        st.one_of(
            st.decimals(min_value=-(10**6), max_value=10**6, places=2).map(float),
            st.floats(min_value=-1e6, max_value=1e6, allow_nan=False),
        ),
        max_size=30,
    ),
    st.sampled_from([None, 0, 2, 4, 6]),
    st.sampled_from([2, 4]),
)
def test_kept_series_fast_path_agrees_with_decimal_rounding(values, scale, places) -> None:
    got = kept_series(pd.Series(values, dtype="float64"), scale, places)
    assert list(got) == [float(kept(v, scale, places)) for v in values]


def test_xero_line_amount_uses_the_quantity_and_discount_xero_keeps() -> None:
    # Xero stores 1.2346 and 12.35 %: 1.2346 x 10 x 0.8765 = 10.821... -> 10.82
    assert line_amount(Line(D("1.23456"), D(10), discount_rate=D("12.345"))) == D("10.82")
    assert line_amount(Line(D("0.00004"), D(100))) == D("0.00")


# ----- staging ----------------------------------------------------------------------------------------
def _stage(opp_lines_change: dict | None = None, item_change: dict | None = None, scales=SCALES):
    accounts, contacts, products, opps, opp_lines, orders, items = frames()
    for frame, change in ((opp_lines, opp_lines_change), (items, item_change)):
        for col, value in (change or {}).items():
            frame[col] = frame[col].astype(float)
            frame.loc[0, col] = value
    customers = stage_customers(accounts, contacts, CONFIG)
    return stage_invoices(
        customers, stage_products(products, CONFIG), opps, opp_lines, orders, items, CONFIG, scales=scales
    )


def test_staging_rounds_lines_to_the_described_scale_and_keeps_salesforces_values_beside() -> None:
    _, ln = _stage({"Quantity": 1.23456, "UnitPrice": 59.98765, "Discount": 10.005})
    line = ln.set_index("sf_line_id").loc[L1]
    assert tuple(repr(float(line[c])) for c in ("quantity", "unit_amount", "discount_rate")) == (
        "1.23",
        "59.99",
        "10.01",
    )
    assert (line["sf_quantity"], line["sf_unit_price"], line["sf_discount"]) == (1.23456, 59.98765, 10.005)


def test_without_a_described_scale_staging_falls_back_to_xeros_precision() -> None:
    _, ln = _stage({"Quantity": 1.23456, "UnitPrice": 59.98765, "Discount": 10.005}, scales=None)
    line = ln.set_index("sf_line_id").loc[L1]
    assert tuple(repr(float(line[c])) for c in ("quantity", "unit_amount", "discount_rate")) == (
        "1.2346",
        "59.9877",
        "10.01",
    )


def test_order_items_round_quantity_price_and_discount__c_and_total_in_decimal() -> None:
    # 1 x 1.005 = 1.005: half-up to the cent is 1.01 (float rounding made it 1.00)
    h, ln = _stage(item_change={"Quantity": 1.0, "UnitPrice": 1.005, "Discount__c": 0.004}, scales=None)
    item = ln.loc[ln["source"] == "order"].iloc[0]
    assert (item["unit_amount"], item["discount_rate"], item["sf_discount"]) == (1.005, 0.0, 0.004)
    assert item["sf_line_total"] == 1.01
    assert h.set_index("sf_id").loc[ORD1, "sf_total"] == 1.01
    _, ln = _stage(item_change={"Quantity": 2.499, "UnitPrice": 10.0, "Discount__c": 12.345})
    item = ln.loc[ln["source"] == "order"].iloc[0]
    # OrderItem.Quantity scale 2 -> 2.5; Discount__c 5,2 -> 12.35 %: 2.5 x 10 x 0.8765 = 21.9125 -> 21.91
    assert (item["quantity"], item["discount_rate"], item["sf_line_total"]) == (2.5, 12.35, 21.91)


def test_the_payload_carries_the_rounded_values() -> None:
    h, ln = _stage({"Quantity": 1.23456, "Discount": 12.345}, scales=None)
    header = h.set_index("sf_id").loc[OPP].to_dict() | {"sf_id": OPP}
    payload = invoice_payload(header, ln.loc[ln["sf_header_id"] == OPP].to_dict("records"), CONFIG, {})
    first = payload["LineItems"][0]
    assert (first["Quantity"], first["DiscountRate"]) == (D("1.2346"), D("12.35"))
    # and a caller passing Salesforce's raw values still sends what Xero keeps
    raw = ln.loc[ln["sf_header_id"] == OPP].assign(quantity=1.23456, discount_rate=12.345)
    again = invoice_payload(header, raw.to_dict("records"), CONFIG, {})["LineItems"][0]
    assert (again["Quantity"], again["DiscountRate"]) == (D("1.2346"), D("12.35"))


# ----- validation -----------------------------------------------------------------------------------------
def _case(**line0) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Three clean invoices of two lines (2 x 100 + 1 x 50); the first line of the first is changed:
    ``quantity``/``unit_amount``/``discount_rate`` as staged (rounded), ``sf_*`` as Salesforce has them."""
    h = headers()
    ln = lines(h)
    for col in ("sf_quantity", "sf_unit_price", "sf_discount"):
        ln[col] = ln[{"sf_quantity": "quantity", "sf_unit_price": "unit_amount"}.get(col, "discount_rate")]
    for col, value in line0.items():
        ln.loc[0, col] = value
    return h, ln


def _only(result, code: str) -> dict:
    rows = result.rejects.loc[result.rejects["reason_code"] == code]
    assert len(rows) == 1, result.rejects.to_dict("records")
    return rows.iloc[0].to_dict()


def test_a_quantity_that_rounds_to_zero_is_held_as_zero_value_line_not_invalid_quantity() -> None:
    h, ln = _case(quantity=0.0, sf_quantity=0.00001, sf_line_total=0.0)
    h.loc[0, "sf_total"] = 50.0
    result = validate_invoices(h, ln, REFS, CONFIG)
    item = _only(result, "zero_value_line")
    assert (item["sf_id"], item["line_id"]) == (h.loc[0, "sf_id"], ln.loc[0, "sf_line_id"])
    assert (item["field"], item["value"], item["severity"]) == (
        "Quantity",
        "0.00001",
        "ERROR",
    )
    assert item["hint"] == (
        "This line would be worth 0.00 in Xero: OpportunityLineItem.Quantity 0.00001 rounds to 0. Correct "
        "Quantity on the Salesforce line to the real amount, or delete the line; a free item keeps its "
        "quantity and has UnitPrice 0."
    )
    assert "invalid_quantity" not in set(result.rejects["reason_code"])
    # the whole invoice is held (never half of it); the others go
    assert h.loc[0, "sf_id"] not in set(result.valid["sf_id"])
    assert h.loc[0, "sf_id"] not in set(result.valid_lines["sf_header_id"])
    assert len(result.valid) == 2


@pytest.mark.parametrize(
    ("change", "field", "value", "detail"),
    [
        (
            {"unit_amount": 0.0, "sf_unit_price": 0.004},
            "UnitPrice",
            "0.004",
            "OpportunityLineItem.UnitPrice 0.004 rounds to 0",
        ),
        (
            {"discount_rate": 100.0, "sf_discount": 99.996},
            "Discount",
            "99.996",
            "OpportunityLineItem.Discount 99.996 rounds to 100",
        ),
        (
            {"quantity": 0.01, "sf_quantity": 0.01, "unit_amount": 0.1, "sf_unit_price": 0.1},
            "Quantity",
            "0.01",
            "Quantity 0.01 x UnitPrice 0.1 is 0.001, which rounds to 0.00",
        ),
    ],
)
def test_a_line_whose_value_rounds_to_zero_is_held_naming_the_field(change, field, value, detail) -> None:
    h, ln = _case(**change)
    result = validate_invoices(h, ln, REFS, CONFIG.model_copy(deep=True))
    item = _only(result, "zero_value_line")
    assert (item["field"], item["value"]) == (field, value)
    assert f"Xero: {detail}. Correct {field} on" in item["hint"]
    assert h.loc[0, "sf_id"] not in set(result.valid["sf_id"])


@pytest.mark.parametrize(
    "change",
    [
        {"unit_amount": 0.0, "sf_unit_price": 0.0},  # a free item
        {"discount_rate": 100.0, "sf_discount": 100.0},  # given away in full
    ],
    ids=["unit price 0", "discount 100"],
)
def test_a_free_line_in_an_invoice_worth_something_is_fine(change: dict) -> None:
    h, ln = _case(**change)
    h.loc[0, "sf_total"] = 50.0
    result = validate_invoices(h, ln, REFS, CONFIG)
    assert result.rejects.empty, result.rejects.to_dict("records")
    assert len(result.valid) == 3


def test_an_invoice_whose_lines_come_to_zero_is_held_as_zero_value_invoice() -> None:
    h, ln = _case(unit_amount=0.0, sf_unit_price=0.0)
    ln.loc[1, ["unit_amount", "sf_unit_price"]] = 0.0  # both lines free: an invoice for nothing
    h.loc[0, "sf_total"] = 0.0
    result = validate_invoices(h, ln, REFS, CONFIG)
    item = _only(result, "zero_value_invoice")
    assert (item["sf_id"], item["field"], item["value"], item["line_id"]) == (
        h.loc[0, "sf_id"],
        "Amount",
        "0",
        None,
    )
    assert item["hint"] == (
        "Its lines come to 0 before rounding and 0.00 in Xero. Correct Quantity and UnitPrice on the "
        "record's OpportunityLineItem lines in Salesforce; if nothing is owed, set the opportunity's "
        "StageName to Closed Lost."
    )
    assert set(result.rejects["reason_code"]) == {"zero_value_invoice"}
    assert h.loc[0, "sf_id"] not in set(result.valid["sf_id"])


def test_an_order_that_rounds_to_zero_names_order_fields_and_one_reason_is_enough() -> None:
    h, ln = _case(quantity=0.0, sf_quantity=0.00001)
    h.loc[0, "source"] = "order"
    ln = ln.loc[~((ln["sf_header_id"] == h.loc[0, "sf_id"]) & (ln.index != 0))]  # its only line
    ln.loc[0, "source"] = "order"
    h.loc[0, "sf_total"] = 0.0
    result = validate_invoices(h, ln, REFS, CONFIG)
    item = _only(result, "zero_value_line")
    assert item["field"] == "Quantity" and item["sf_object"] == "Order"
    # the line already holds it: no second item for the same cause
    assert "zero_value_invoice" not in set(result.rejects["reason_code"])


def test_severity_is_configurable_and_the_record_total_still_guards() -> None:
    warn_line = CONFIG.model_copy(deep=True)
    warn_line.validation.severity["zero_value_line"] = "WARN"
    h, ln = _case(quantity=0.0, sf_quantity=0.00001)
    h.loc[0, "sf_total"] = 50.0
    result = validate_invoices(h, ln, REFS, warn_line)
    assert _only(result, "zero_value_line")["severity"] == "WARN"
    assert h.loc[0, "sf_id"] in set(result.valid["sf_id"])  # reported, not held; the other line is worth 50
    # a single-line record whose only line vanishes: the line warns, the record total still holds it
    ln = ln.loc[~((ln["sf_header_id"] == h.loc[0, "sf_id"]) & (ln.index != 0))]
    h.loc[0, "sf_total"] = 0.0
    result = validate_invoices(h, ln, REFS, warn_line)
    assert _only(result, "zero_value_invoice")["severity"] == "ERROR"
    assert h.loc[0, "sf_id"] not in set(result.valid["sf_id"])


def test_an_unknown_reason_code_in_validation_severity_fails_at_load() -> None:
    data = CONFIG.model_dump(mode="json")
    data["validation"]["severity"] = {"zero_value_lines": "WARN"}
    with pytest.raises(ValidationError, match=r"unknown reason code.*zero_value_lines"):
        type(CONFIG).model_validate(data)


def test_staged_lines_from_salesforce_are_held_end_to_end() -> None:
    """From extract rows to rejects: Quantity 0.00001 on an opportunity line (scale 2)."""
    h, ln = _stage({"Quantity": 0.00001, "TotalPrice": 0.0})
    h.loc[h["sf_id"] == OPP, "sf_total"] = 70.5
    opp = h.loc[h["sf_id"] == OPP]
    result = validate_invoices(opp, ln.loc[ln["sf_header_id"] == OPP], REFS, CONFIG)
    item = _only(result, "zero_value_line")
    assert (item["line_id"], item["value"]) == (L1, "0.00001")
    assert L2 not in set(result.rejects["line_id"].dropna())


def test_decimals_beyond_the_scale_that_changed_salesforces_total_are_an_amount_mismatch() -> None:
    """Salesforce multiplies every decimal it keeps (3.00456 x 59.99 less 10 % = 162.22), a person sees
    Quantity 3.00; the invoice is not posted at a sum Salesforce's Amount does not show."""
    h, ln = _stage({"Quantity": 3.00456, "TotalPrice": 162.22})
    h.loc[h["sf_id"] == OPP, "sf_total"] = 232.72
    result = validate_invoices(h.loc[h["sf_id"] == OPP], ln.loc[ln["sf_header_id"] == OPP], REFS, CONFIG)
    item = _only(result, "amount_mismatch")
    assert (item["value"], item["hint"].split(", ")[-1]) == ("232.72", "Xero would post 232.47.")
    assert result.valid.empty
