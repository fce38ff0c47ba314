"""Salesforce extract frames → typed staging tables.

Inputs are frames whose columns are Salesforce field API names (parent paths flattened as
``Account.Name``), as the Salesforce client returns them. Outputs follow the pandera models in
:mod:`sfxero_dagster.core.staging`. Routing to a Xero organisation happens here, once, so every later
stage (validation, matching, push) agrees on where a record goes.

Invoice identity: every Xero invoice is tied to its Salesforce record twice — ``InvoiceNumber`` is
``<prefix><Opportunity Id>`` or ``<prefix>O-<OrderNumber>`` (unique per ACCREC in Xero, so a repeated
create can never make a second invoice) and ``Reference`` is the Salesforce Id.
"""

from __future__ import annotations

from collections.abc import Mapping
from decimal import Decimal

import pandas as pd

from sfxero_dagster.config import SfxeroConfig
from sfxero_dagster.core.precision import kept_series, to_decimal
from sfxero_dagster.core.staging import StgCustomers, StgInvoiceHeaders, StgInvoiceLines, StgProducts
from sfxero_dagster.core.xero_math import (
    DISCOUNT_PLACES,
    QUANTITY_PLACES,
    UNIT_PLACES,
    Line,
    line_amount,
)

# object -> field -> decimal places (describe ``scale``); see core.precision
Scales = Mapping[str, Mapping[str, int]]
MONEY_PLACES = 2  # Xero's LineAmount and totals


def _col(df: pd.DataFrame, name: str, default: object = None) -> pd.Series:
    return df[name] if name in df.columns else pd.Series([default] * len(df), index=df.index, dtype="object")


def _flag(df: pd.DataFrame, name: str) -> pd.Series:
    return _col(df, name, False).astype("boolean").fillna(False).astype(bool)


def _ts(s: pd.Series) -> pd.Series:
    return pd.to_datetime(s, utc=True, errors="coerce", format="mixed")


def _num(s: pd.Series) -> pd.Series:
    return pd.to_numeric(s, errors="coerce").astype("float64")


def _text(s: pd.Series) -> pd.Series:
    return s.astype("object").where(s.notna(), None)


def billing_contacts(contacts: pd.DataFrame) -> pd.DataFrame:
    """One contact per account: the flagged billing contact, else the first live contact with an e-mail."""
    if contacts.empty:
        return pd.DataFrame(columns=["AccountId", "Email", "Phone"])
    c = contacts.loc[~_flag(contacts, "IsDeleted")].copy()
    c["_rank"] = (~_flag(c, "Is_Billing_Contact__c")).astype(int) * 2 + _col(c, "Email").isna().astype(int)
    c = c.sort_values(["AccountId", "_rank", "Id"])
    return c.drop_duplicates("AccountId")[["AccountId", "Email", "Phone"]]


def stage_customers(accounts: pd.DataFrame, contacts: pd.DataFrame, config: SfxeroConfig) -> pd.DataFrame:
    billing = billing_contacts(contacts).rename(columns={"Email": "_email", "Phone": "_contact_phone"})
    a = accounts.merge(billing, left_on="Id", right_on="AccountId", how="left", suffixes=("", "_c"))
    route_value = _col(a, config.routing.field)
    out = pd.DataFrame(
        {
            "sf_account_id": a["Id"],
            "name": _text(_col(a, "Name")),
            "tax_number": _text(_col(a, "Tax_Number__c")),
            "email": _text(_col(a, "_email")),
            "phone": _text(_col(a, "Phone").fillna(_col(a, "_contact_phone"))),
            "street": _text(_col(a, "BillingStreet")),
            "city": _text(_col(a, "BillingCity")),
            "region": _text(_col(a, "BillingState")),
            "postal_code": _text(_col(a, "BillingPostalCode")),
            "country": _text(_col(a, "BillingCountry")),
            "currency": _text(_col(a, "CurrencyIsoCode")),
            "tenant_key": [config.route(v if isinstance(v, str) else None) for v in route_value],
            "route_value": _text(route_value),
            "xero_contact_id": _text(_col(a, "Xero_Contact_Id__c")),
            "is_deleted": _flag(a, "IsDeleted"),
            "system_modstamp": _ts(_col(a, "SystemModstamp")),
        }
    )
    return StgCustomers.validate(out)


def stage_products(products: pd.DataFrame, config: SfxeroConfig) -> pd.DataFrame:
    per_product = config.accounts.per_product
    sku = _text(_col(products, "ProductCode"))
    account = _col(products, config.accounts.product_field) if config.accounts.product_field else None
    out = pd.DataFrame(
        {
            "sf_product_id": products["Id"],
            "sku": sku,
            "name": _text(_col(products, "Name")),
            "is_active": _col(products, "IsActive", True).fillna(True).astype(bool),
            "tax_code": _text(_col(products, config.tax.product_field)),
            "account_code": [
                per_product.get(s) or (a if isinstance(a, str) and a else None)
                for s, a in zip(sku, account if account is not None else [None] * len(sku), strict=True)
            ],
        }
    )
    return StgProducts.validate(out)


def _headers(
    df: pd.DataFrame,
    source: str,
    number: pd.Series,
    date: pd.Series,
    sf_total: pd.Series,
    status: pd.Series,
    cancelled: pd.Series,
    customers: pd.DataFrame,
    config: SfxeroConfig,
    total_scale: int | None = None,
) -> pd.DataFrame:
    tenants = (
        customers.set_index("sf_account_id")["tenant_key"] if not customers.empty else pd.Series(dtype=object)
    )
    tracking_field = config.tracking[0].sf_field if config.tracking else None
    out = pd.DataFrame(
        {
            "source": source,
            "sf_id": df["Id"],
            "sf_account_id": _text(_col(df, "AccountId")),
            "tenant_key": _col(df, "AccountId").map(tenants).astype("object"),
            "invoice_number": number,
            "reference": df["Id"],
            "invoice_date": pd.to_datetime(date, errors="coerce"),
            "currency": _text(_col(df, "CurrencyIsoCode")),
            "sf_total": kept_series(_num(sf_total), total_scale, MONEY_PLACES),
            "status": _text(status),
            "is_cancelled": cancelled.astype(bool),
            "is_deleted": _flag(df, "IsDeleted"),
            # ``_invoiceable`` is the configured filter, evaluated where the raw rows are read
            "is_withdrawn": ~_col(df, "_invoiceable", True).astype("boolean").fillna(False).astype(bool)
            & ~cancelled.astype(bool)
            & ~_flag(df, "IsDeleted"),
            "tracking_value": _text(_col(df, tracking_field)) if tracking_field else None,
            "system_modstamp": _ts(_col(df, "SystemModstamp")),
        }
    )
    out["tenant_key"] = out["tenant_key"].where(out["tenant_key"].notna(), None)
    return out


def _lines(
    items: pd.DataFrame,
    source: str,
    header_col: str,
    discount_col: str,
    products: pd.DataFrame,
    config: SfxeroConfig,
    scales: Mapping[str, int] | None = None,
) -> pd.DataFrame:
    """Lines with Quantity, UnitPrice and discount at the precision kept (``core.precision``: the field's
    scale from ``scales``, else Xero's alone), and Salesforce's unrounded values beside them (``sf_*``)
    so that validation can tell a line that rounds to nothing from one that was nothing."""
    scale = scales or {}
    p = products.set_index("sf_product_id") if not products.empty else pd.DataFrame()
    pid = _col(items, "Product2Id")

    def product(col: str) -> pd.Series:
        return pid.map(p[col]) if col in p.columns else pd.Series([None] * len(items), index=items.index)

    line_tax = _text(_col(items, config.tax.line_field))
    raw_qty, raw_price = _num(_col(items, "Quantity")), _num(_col(items, "UnitPrice"))
    raw_discount = _num(_col(items, discount_col))
    qty = kept_series(raw_qty, scale.get("Quantity"), QUANTITY_PLACES)
    price = kept_series(raw_price, scale.get("UnitPrice"), UNIT_PLACES)
    discount = kept_series(raw_discount, scale.get(discount_col), DISCOUNT_PLACES)
    out = pd.DataFrame(
        {
            "source": source,
            "sf_header_id": items[header_col],
            "sf_line_id": items["Id"],
            "sf_product_id": _text(pid),
            "sku": _text(product("sku")),
            "description": _text(_col(items, "Description").fillna(product("name"))),
            "quantity": qty,
            "unit_amount": price,
            "discount_rate": discount,
            "tax_code": line_tax.where(line_tax.notna(), product("tax_code")),
            # which field the code came from, so a hint names the one to change
            "tax_code_source": line_tax.notna().map({True: "line", False: "product"}),
            "account_code": _text(product("account_code")),
            "currency": _text(_col(items, "CurrencyIsoCode")),
            # Salesforce's own view of the line: TotalPrice already has the standard Discount applied
            # (OpportunityLineItem); OrderItem has no standard discount, so apply Discount__c ourselves.
            "sf_line_total": kept_series(
                _num(_col(items, "TotalPrice")), scale.get("TotalPrice"), MONEY_PLACES
            )
            if source == "opportunity"
            else _discounted_totals(qty, price, discount),
            "product_is_active": product("is_active").astype("object"),
            "sf_quantity": raw_qty,
            "sf_unit_price": raw_price,
            "sf_discount": raw_discount,
        }
    )
    return out.loc[~_flag(items, "IsDeleted")]


def _discounted_totals(qty: pd.Series, price: pd.Series, discount: pd.Series) -> pd.Series:
    """Quantity x UnitPrice less the discount, in Decimal, to the cent (an OrderItem's Discount__c is ours
    to apply: Salesforce's own TotalPrice there ignores it)."""
    out = []
    for q, p, d in zip(qty, price, discount, strict=True):
        dq, dp, dd = to_decimal(q), to_decimal(p), to_decimal(d)
        out.append(
            float(line_amount(Line(dq, dp, discount_rate=dd or Decimal(0))))
            if dq is not None and dp is not None
            else float("nan")
        )
    return pd.Series(out, index=qty.index, dtype="float64")


def stage_invoices(
    customers: pd.DataFrame,
    products: pd.DataFrame,
    opportunities: pd.DataFrame | None,
    opportunity_lines: pd.DataFrame | None,
    orders: pd.DataFrame | None,
    order_items: pd.DataFrame | None,
    config: SfxeroConfig,
    scales: Scales | None = None,
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Invoice headers and lines from closed-won Opportunities and/or Orders, as configured.

    ``scales`` (object -> field -> describe ``scale``) rounds amounts to what Salesforce keeps before
    Xero's precision; an object or field missing from it gets Xero's precision only."""
    scales = scales or {}
    prefix = config.invoices.number_prefix
    headers, lines = [], []
    if config.invoices.source in ("opportunity", "both") and opportunities is not None and len(opportunities):
        o = opportunities
        headers.append(
            _headers(
                o,
                "opportunity",
                prefix + o["Id"],
                _col(o, "CloseDate"),
                _col(o, "Amount"),
                _col(o, "StageName"),
                ~_flag(o, "IsWon") & _flag(o, "IsClosed"),
                customers,
                config,
                scales.get("Opportunity", {}).get("Amount"),
            )
        )
        if opportunity_lines is not None and len(opportunity_lines):
            lines.append(
                _lines(
                    opportunity_lines,
                    "opportunity",
                    "OpportunityId",
                    "Discount",
                    products,
                    config,
                    scales.get("OpportunityLineItem"),
                )
            )
    if config.invoices.source in ("order", "both") and orders is not None and len(orders):
        o = orders
        number = prefix + "O-" + _col(o, "OrderNumber").astype(str)
        if order_items is not None and len(order_items):
            item_lines = _lines(
                order_items, "order", "OrderId", "Discount__c", products, config, scales.get("OrderItem")
            )
            lines.append(item_lines)
            total = o["Id"].map(item_lines.groupby("sf_header_id")["sf_line_total"].sum())
        else:
            total = _col(o, "TotalAmount")
        status = _col(o, "Status")
        headers.append(
            _headers(
                o,
                "order",
                number,
                _col(o, "EffectiveDate"),
                total,
                status,
                status.eq("Cancelled"),
                customers,
                config,
                scales.get("Order", {}).get("TotalAmount"),
            )
        )
    h = (
        pd.concat(headers, ignore_index=True)
        if headers
        else pd.DataFrame(columns=list(StgInvoiceHeaders.to_schema().columns))
    )
    ln = (
        # Lines in a fixed order (by Id within their record), whatever order the warehouse returns them
        # in: an edit re-merges a line, and a new order would change the payload and re-send the invoice
        # (or, for a paid one, queue it as not editable) although nothing in it changed.
        pd.concat(lines, ignore_index=True).sort_values(["sf_header_id", "sf_line_id"], kind="stable")
        if lines
        else pd.DataFrame(columns=list(StgInvoiceLines.to_schema().columns))
    )
    return StgInvoiceHeaders.validate(h), StgInvoiceLines.validate(ln)
