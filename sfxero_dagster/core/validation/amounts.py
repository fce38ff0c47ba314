"""Invoice amounts: quantities, prices, discounts and account codes, values that round to nothing at
the precision kept (invariant 5), and Salesforce's totals against Xero's arithmetic."""

from __future__ import annotations

from decimal import Decimal

import pandas as pd

from sfxero_dagster.core.precision import text, to_decimal
from sfxero_dagster.core.reasons import config_field
from sfxero_dagster.core.staging import MAX_LINE_AMOUNT, XERO_LIMITS
from sfxero_dagster.core.validation.context import InvoiceChecks, mask
from sfxero_dagster.core.validation.rejects import (
    blank,
    by_source,
    length,
    round2,
    round2_unit,
    too_long,
)

# per source: the Salesforce line object and its discount field, the header's total field, and how a
# person takes a record out of invoicing
_LINE_FIELDS = {"opportunity": ("OpportunityLineItem", "Discount"), "order": ("OrderItem", "Discount__c")}
_TOTAL_FIELDS = {"opportunity": "Amount", "order": "TotalAmount"}
_AMOUNT_CODES = (
    "zero_value_line",
    "invalid_quantity",
    "negative_amount",
    "invalid_unit_price",
    "invalid_discount",
)
_NOT_INVOICED = {
    "opportunity": "set the opportunity's StageName to Closed Lost",
    "order": "set the order's Status to Cancelled",
}


def _exact_value(quantity: float, price: float, discount: float) -> Decimal:
    """Quantity x UnitPrice less the discount, exactly, from Salesforce's values as read (for messages)."""
    q, u, d = to_decimal(quantity), to_decimal(price), to_decimal(discount) or Decimal(0)
    return Decimal(0) if q is None or u is None else q * u * (100 - d) / 100


def check_amounts(c: InvoiceChecks) -> None:
    """Quantities, prices, discounts, descriptions, line currency and account codes."""
    r, ln, lk, config, references = c.r, c.ln, c.lk, c.config, c.references
    # quantity/unit_amount/discount_rate are at the precision kept (staging, core.precision); the sf_*
    # columns are Salesforce's values as read (a hand-made frame without them: the same values)
    q, u, d = ln["quantity"], ln["unit_amount"], ln["discount_rate"].fillna(0.0)
    raw_q, raw_u, raw_d = (
        (ln[raw].fillna(kept) if raw in ln.columns else kept)
        for raw, kept in (("sf_quantity", q), ("sf_unit_price", u), ("sf_discount", d))
    )
    raw_d = raw_d.fillna(0.0)
    r.add(ln, raw_q.isna() | (raw_q == 0), "invalid_quantity", "Quantity", value_col="quantity", **lk)
    r.add(ln, raw_q < 0, "negative_amount", "Quantity", value_col="quantity", **lk)
    r.add(ln, raw_u < 0, "negative_amount", "UnitPrice", value_col="unit_amount", **lk)
    r.add(ln, u.isna(), "invalid_unit_price", "UnitPrice", **lk)
    bad_discount = (d < 0) | (d > 100)
    discount_field = by_source(ln["header_source"], opportunity="Discount", order="Discount__c")
    r.add(ln, bad_discount, "invalid_discount", discount_field, value_col="discount_rate", **lk)
    r.add(
        ln,
        too_long(ln["description"], XERO_LIMITS["line_description"]),
        "field_too_long",
        "Description",
        limit=XERO_LIMITS["line_description"],
        length=length(ln["description"]),
        **lk,
    )
    r.add(
        ln,
        ln["currency"].notna() & ln["header_currency"].notna() & (ln["currency"] != ln["header_currency"]),
        "currency_mismatch",
        "CurrencyIsoCode",
        value_col="currency",
        expected=ln["header_currency"],
        **lk,
    )
    blank_account = blank(ln["account_code"])
    account = ln["account_code"].where(~blank_account, config.accounts.default_sales_account)
    ln["_account"] = account
    # Where the code came from: the default (config), accounts.per_product (config) or the product field.
    per_product = config.accounts.per_product
    product_account = f"Product2.{config.accounts.product_field}" if config.accounts.product_field else ""
    ln["_account_field"] = [
        config_field("accounts.default_sales_account")
        if blank
        else config_field("accounts.per_product")
        if isinstance(s, str) and s in per_product
        else product_account or config_field("accounts.per_product")
        for blank, s in zip(blank_account, ln["sku"], strict=True)
    ]
    bad_account = [
        (ref := references.get(t)) is not None and bool(ref.account_codes) and a not in ref.account_codes
        for t, a in zip(ln["tenant_key"], ln["_account"], strict=True)
    ]
    r.add(
        ln,
        mask(bad_account, ln.index),
        "unknown_account_code",
        ln["_account_field"],
        value_col="_account",
        tenant=ln["tenant_key"],
        **lk,
    )

    line_amount = round2(q.fillna(0) * round2_unit(u.fillna(0)) * (100 - d) / 100)
    r.add(ln, line_amount.abs() > MAX_LINE_AMOUNT, "line_amount_too_large", "Quantity", **lk)
    c.amounts = {
        "q": q, "u": u, "d": d, "raw_q": raw_q, "raw_u": raw_u, "raw_d": raw_d,
        "bad_discount": bad_discount, "line_amount": line_amount,
    }  # fmt: skip


def check_zero_value_lines(c: InvoiceChecks) -> None:
    """A line worth something in Salesforce that rounds to 0.00 (invariant 5)."""
    r, ln, lk = c.r, c.ln, c.lk
    q, u, d, raw_q, raw_u, raw_d = (c.amounts[k] for k in ("q", "u", "d", "raw_q", "raw_u", "raw_d"))
    bad_discount, line_amount = c.amounts["bad_discount"], c.amounts["line_amount"]
    # ----- worth nothing at the precision kept (invariant 5) ---------------------------------------------
    # A line that Salesforce says is worth something but that rounds to 0.00 is held; a line that is
    # worth nothing on purpose (UnitPrice 0, a 100 % discount: a free item) is not.
    raw_value = raw_q * raw_u * (100 - raw_d) / 100
    vanishes = (raw_q > 0) & (raw_u >= 0) & ~bad_discount & (raw_value > 0) & (line_amount == 0)
    causes = [
        ("Quantity", vanishes & (q == 0), raw_q, q),
        ("UnitPrice", vanishes & (q != 0) & (u == 0), raw_u, u),
        ("discount", vanishes & (q != 0) & (u != 0) & (d >= 100), raw_d, d),
    ]
    causes.append(("Quantity", vanishes & ~(causes[0][1] | causes[1][1] | causes[2][1]), None, None))
    for source, (line_object, discount_field) in _LINE_FIELDS.items():
        of_source = ln["header_source"] == source
        for name, hit, raw, kept in causes:
            rows = hit & of_source
            if not rows.any():
                continue
            fname = discount_field if name == "discount" else name  # on the line object (core.reasons)
            full = f"{line_object}.{fname}"
            if raw is None:  # each value survives rounding, their product does not
                detail = [
                    f"Quantity {text(a)} x UnitPrice {text(b)}"
                    + (f" less {text(c)} %" if c else "")
                    + f" is {text(_exact_value(a, b, c))}, which rounds to 0.00"
                    for a, b, c in zip(raw_q[rows], raw_u[rows], raw_d[rows], strict=True)
                ]
            else:
                detail = [
                    f"{full} {text(a)} rounds to {text(b)}"
                    for a, b in zip(raw[rows], kept[rows], strict=True)
                ]
            ln["_raw"] = [text(v) for v in (raw if raw is not None else raw_q)]
            r.add(
                ln,
                rows,
                "zero_value_line",
                fname,
                value_col="_raw",
                detail=pd.Series(detail, index=ln.index[rows]).reindex(ln.index),
                **lk,
            )


def check_totals(c: InvoiceChecks) -> None:
    """Salesforce's total against Xero's arithmetic; a record whose lines come to 0.00."""
    r, ln, h, hk, config = c.r, c.ln, c.h, c.hk, c.config
    raw_q, raw_u, raw_d = (c.amounts[k] for k in ("raw_q", "raw_u", "raw_d"))
    line_amount = c.amounts["line_amount"]
    # ----- totals: Salesforce's amount against Xero's arithmetic -----------------------------------------
    ln["_line_amount"] = line_amount
    sub_total = ln.groupby("sf_header_id")["_line_amount"].sum()
    expected = h["sf_id"].map(sub_total)
    tolerance = float(config.invoices.rounding_tolerance)
    mismatch = (
        h["sf_total"].notna() & expected.notna() & ((h["sf_total"] - expected).abs() > tolerance + 1e-9)
    )
    amount_field = by_source(h["source"], opportunity="Amount", order="TotalAmount")
    r.add(
        h, mismatch, "amount_mismatch", amount_field, value_col="sf_total", expected=expected.round(2), **hk
    )

    # A record whose lines come to 0.00 is held, unless a line already holds it for its amounts (the
    # person fixes that line; if the total is still 0.00 afterwards, this reason follows).
    so_far = r.frame()
    held_for_amounts = set(
        so_far.loc[so_far["reason_code"].isin(_AMOUNT_CODES) & (so_far["severity"] == "ERROR"), "sf_id"]
    )
    zero_total = expected.notna() & (expected == 0) & ~h["sf_id"].isin(held_for_amounts)
    if zero_total.any():
        exact = {
            hid: sum(
                (_exact_value(a, b, c) for a, b, c in zip(g["_rq"], g["_ru"], g["_rd"], strict=True)),
                Decimal(0),
            )
            for hid, g in ln.assign(_rq=raw_q, _ru=raw_u, _rd=raw_d).groupby("sf_header_id")
            if hid in set(h.loc[zero_total, "sf_id"])
        }
        h["_before_rounding"] = h["sf_id"].map(lambda i: text(exact[i]) if i in exact else None)
        for source, (line_object, _) in _LINE_FIELDS.items():
            r.add(
                h,
                zero_total & (h["source"] == source),
                "zero_value_invoice",
                _TOTAL_FIELDS[source],
                value_col="_before_rounding",
                lines=line_object,
                not_invoiced=_NOT_INVOICED[source],
                **hk,
            )
