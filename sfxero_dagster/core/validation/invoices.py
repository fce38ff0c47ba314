"""Invoice checks: headers, currency, tracking, items, tax, amounts, precision and totals, in that order.

Each step adds reject rows for the records it finds wrong; an invoice with an ERROR on any of its lines
is held back whole, so Xero never gets half an invoice.
"""

from __future__ import annotations

from collections.abc import Mapping

import pandas as pd

from sfxero_dagster.config import SfxeroConfig
from sfxero_dagster.core.reasons import config_field
from sfxero_dagster.core.staging import XERO_LIMITS
from sfxero_dagster.core.validation.amounts import check_amounts, check_totals, check_zero_value_lines
from sfxero_dagster.core.validation.code_checks import check_items, check_tax, check_tracking
from sfxero_dagster.core.validation.context import InvoiceChecks, mask
from sfxero_dagster.core.validation.reference import TenantReference
from sfxero_dagster.core.validation.rejects import (
    PRINTABLE_ASCII,
    Rejects,
    ValidationResult,
    blank,
    by_source,
    length,
    too_long,
)


def validate_invoices(
    headers: pd.DataFrame,
    lines: pd.DataFrame,
    references: Mapping[str, TenantReference],
    config: SfxeroConfig,
    customers: pd.DataFrame | None = None,
) -> ValidationResult:
    """Validate invoice headers and their lines; return the headers (and lines) safe to send.

    ``customers`` (staged, with ``route_value``) lets an invoice whose account's routing value is not a
    country say ``unroutable_country`` with that value; without it such an invoice is ``unroutable_account``.
    """
    h = headers.copy()
    obj = h["source"].map({"opportunity": "Opportunity", "order": "Order"})
    c = InvoiceChecks(Rejects(config), h, config, references, {"sf_object": obj, "id_col": "sf_id"})
    c.customers = customers
    c.refs = [references.get(t) if isinstance(t, str) else None for t in h["tenant_key"]]
    for step in (_headers, _currency, check_tracking):
        step(c)
    _join_lines(c, lines)
    for step in (check_items, check_tax, check_amounts, check_zero_value_lines, check_totals):
        step(c)
    rejects = c.r.frame()
    blocking = set(rejects.loc[rejects["severity"] == "ERROR", "sf_id"])
    keep = ~h["sf_id"].isin(blocking)
    valid = headers.loc[keep.values].copy()
    valid_lines = lines.loc[lines["sf_header_id"].isin(valid["sf_id"])].copy()
    return ValidationResult(valid=valid, rejects=rejects, valid_lines=valid_lines)


def _headers(c: InvoiceChecks) -> None:
    """Account, routing, date and invoice-number checks."""
    r, h, hk, config = c.r, c.h, c.hk, c.config
    customers = c.customers
    r.add(h, blank(h["sf_account_id"]), "missing_required_field", "AccountId", **hk)
    unroutable = h["tenant_key"].isna()
    route_field = f"Account.{config.routing.field}"  # the header's account decides the organisation
    h["_route_value"] = ""
    if customers is not None and len(customers):
        routes = customers.set_index("sf_account_id")["route_value"]
        h["_route_value"] = h["sf_account_id"].map(routes).fillna("")
        not_country = h["_route_value"].map(config.routing.is_not_a_country).astype(bool)
        r.add(h, unroutable & not_country, "unroutable_country", route_field, value_col="_route_value", **hk)
        unroutable &= ~not_country
    r.add(h, unroutable, "unroutable_account", route_field, value_col="_route_value", **hk)
    date_field = by_source(h["source"], opportunity="CloseDate", order="EffectiveDate")
    r.add(h, h["invoice_date"].isna(), "invalid_date", date_field, **hk)
    # The invoice number is the configured prefix + the Salesforce Id or OrderNumber: only the prefix
    # can be changed, so that is where these point.
    prefix_field = config_field("invoices.number_prefix")
    r.add(
        h,
        too_long(h["invoice_number"], XERO_LIMITS["invoice_number"]),
        "field_too_long",
        prefix_field,
        value_col="invoice_number",
        limit=XERO_LIMITS["invoice_number"],
        length=length(h["invoice_number"]),
        **hk,
    )
    r.add(
        h,
        ~h["invoice_number"].fillna("").astype(str).str.match(PRINTABLE_ASCII),
        "invalid_characters",
        prefix_field,
        value_col="invoice_number",
        **hk,
    )
    r.add(
        h,
        too_long(h["reference"], XERO_LIMITS["reference"]),
        "field_too_long",
        "Id",
        value_col="reference",
        limit=XERO_LIMITS["reference"],
        length=length(h["reference"]),
        **hk,
    )
    dup = h["invoice_number"].notna() & h.duplicated("invoice_number", keep=False)
    r.add(h, dup, "duplicate_invoice_number", prefix_field, value_col="invoice_number", **hk)


def _currency(c: InvoiceChecks) -> None:
    """A blank currency, or one the organisation has not enabled."""
    r, h, hk = c.r, c.h, c.hk
    refs = c.refs
    # A blank currency is its own reason (fix the record), never "enable None in Xero".
    no_currency = blank(h["currency"]) & h["tenant_key"].notna()
    r.add(h, no_currency, "missing_currency", "CurrencyIsoCode", **hk)
    enabled = [
        ref is not None and not blank and cur not in ref.currencies | {ref.base_currency}
        for ref, cur, blank in zip(refs, h["currency"], no_currency, strict=True)
    ]
    r.add(
        h,
        mask(enabled, h.index),
        "currency_not_enabled",
        "CurrencyIsoCode",
        value_col="currency",
        tenant=h["tenant_key"],
        **hk,
    )


def _join_lines(c: InvoiceChecks, lines: pd.DataFrame) -> None:
    """The lines of every header, with the header's tenant, currency and source."""
    r, h, hk, references = c.r, c.h, c.hk, c.references
    ln = lines.merge(
        h[["sf_id", "tenant_key", "currency", "source"]].rename(
            columns={"sf_id": "sf_header_id", "currency": "header_currency", "source": "header_source"}
        ),
        on="sf_header_id",
        how="inner",
        suffixes=("", "_h"),
    )
    lobj = ln["header_source"].map({"opportunity": "Opportunity", "order": "Order"})
    lk = {"sf_object": lobj, "id_col": "sf_header_id", "line_col": "sf_line_id"}
    children = by_source(h["source"], opportunity="OpportunityLineItems", order="OrderItems")
    r.add(h, ~h["sf_id"].isin(ln["sf_header_id"]), "no_line_items", children, **hk)
    c.ln, c.lk = ln, lk
    c.line_refs = [references.get(t) if isinstance(t, str) else None for t in ln["tenant_key"]]
