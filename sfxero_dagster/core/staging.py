"""Typed staging tables (pandera schemas) between the Salesforce extracts and the Xero payloads.

The schemas check what can be known from a row alone (types, required values, Xero's field lengths,
ranges). Checks that need other tables or the target organisation (SKU known to Xero, tax mapping,
enabled currency, tracking options) live in :mod:`sfxero_dagster.core.validation`. Both report failures
per record with a reason code, so one bad record never blocks the good ones.
"""

from __future__ import annotations

import pandas as pd
import pandera.pandas as pa
from pandera.typing import Series

# Xero's maximum lengths (public OpenAPI spec: Contact, Invoice, Item, Address, LineItem, Phone).
XERO_LIMITS: dict[str, int] = {
    "contact_name": 255,
    "contact_number": 50,
    "email": 255,
    "tax_number": 50,
    "phone": 50,
    "address_line": 500,
    "city": 255,
    "region": 255,
    "postal_code": 50,
    "country": 50,
    "invoice_number": 255,
    "reference": 255,
    "line_description": 4000,
    "item_code": 30,
    "tracking_option": 100,
}
MAX_LINE_AMOUNT = 9_999_999_999.99


class StgCustomers(pa.DataFrameModel):
    """One row per Salesforce Account, with its billing contact flattened in."""

    sf_account_id: Series[str] = pa.Field(unique=True, str_length={"min_value": 15, "max_value": 18})
    name: Series[str] = pa.Field(nullable=True)
    tax_number: Series[str] = pa.Field(nullable=True)
    email: Series[str] = pa.Field(nullable=True)
    phone: Series[str] = pa.Field(nullable=True)
    street: Series[str] = pa.Field(nullable=True)
    city: Series[str] = pa.Field(nullable=True)
    region: Series[str] = pa.Field(nullable=True)
    postal_code: Series[str] = pa.Field(nullable=True)
    country: Series[str] = pa.Field(nullable=True)
    currency: Series[str] = pa.Field(nullable=True, str_length={"min_value": 3, "max_value": 3})
    tenant_key: Series[str] = pa.Field(nullable=True)
    xero_contact_id: Series[str] = pa.Field(nullable=True)
    is_deleted: Series[bool]
    system_modstamp: Series[pd.Timestamp] = pa.Field(nullable=True)
    # The raw value of routing.field, so validation can tell "not a country" from "no rule". Optional:
    # stage_customers always writes it; frames made by hand without it still validate.
    route_value: Series[str] | None = pa.Field(nullable=True)

    class Config:
        strict = "filter"
        coerce = True


class StgProducts(pa.DataFrameModel):
    sf_product_id: Series[str] = pa.Field(unique=True)
    sku: Series[str] = pa.Field(nullable=True)
    name: Series[str] = pa.Field(nullable=True)
    is_active: Series[bool]
    tax_code: Series[str] = pa.Field(nullable=True)
    account_code: Series[str] = pa.Field(nullable=True)

    class Config:
        strict = "filter"
        coerce = True


class StgInvoiceHeaders(pa.DataFrameModel):
    """One row per Salesforce record that becomes a Xero invoice (closed-won Opportunity or Order)."""

    source: Series[str] = pa.Field(isin=["opportunity", "order"])
    sf_id: Series[str] = pa.Field(unique=True)
    sf_account_id: Series[str] = pa.Field(nullable=True)
    tenant_key: Series[str] = pa.Field(nullable=True)
    invoice_number: Series[str] = pa.Field(nullable=True)
    reference: Series[str] = pa.Field(nullable=True)
    invoice_date: Series[pd.Timestamp] = pa.Field(nullable=True)
    currency: Series[str] = pa.Field(nullable=True)
    sf_total: Series[float] = pa.Field(nullable=True)
    status: Series[str] = pa.Field(nullable=True)
    is_cancelled: Series[bool]
    is_deleted: Series[bool]
    # no longer invoiceable (a won opportunity reopened, an activated order back to draft): kept so that
    # an invoice already in Xero is handled by invoices.on_withdrawn
    is_withdrawn: Series[bool] = pa.Field(default=False)
    tracking_value: Series[str] = pa.Field(nullable=True)
    system_modstamp: Series[pd.Timestamp] = pa.Field(nullable=True)

    class Config:
        strict = "filter"
        coerce = True
        add_missing_columns = True  # frames staged before is_withdrawn existed


class StgInvoiceLines(pa.DataFrameModel):
    source: Series[str] = pa.Field(isin=["opportunity", "order"])
    sf_header_id: Series[str]
    sf_line_id: Series[str] = pa.Field(unique=True)
    sf_product_id: Series[str] = pa.Field(nullable=True)
    sku: Series[str] = pa.Field(nullable=True)
    description: Series[str] = pa.Field(nullable=True)
    quantity: Series[float] = pa.Field(nullable=True)
    unit_amount: Series[float] = pa.Field(nullable=True)
    discount_rate: Series[float] = pa.Field(nullable=True)
    tax_code: Series[str] = pa.Field(nullable=True)
    tax_code_source: Series[str] | None = pa.Field(nullable=True, isin=["line", "product"])  # for hints
    account_code: Series[str] = pa.Field(nullable=True)
    currency: Series[str] = pa.Field(nullable=True)
    sf_line_total: Series[float] = pa.Field(nullable=True)
    product_is_active: Series[bool] = pa.Field(nullable=True)
    # quantity, unit_amount and discount_rate are at the precision kept (core.precision); these are
    # Salesforce's values as read, so validation can tell "rounds to zero" from "is zero". Optional:
    # frames made by hand without them still validate (validation then takes the rounded values).
    sf_quantity: Series[float] | None = pa.Field(nullable=True)
    sf_unit_price: Series[float] | None = pa.Field(nullable=True)
    sf_discount: Series[float] | None = pa.Field(nullable=True)

    class Config:
        strict = "filter"
        coerce = True


STAGING_SCHEMAS: dict[str, type[pa.DataFrameModel]] = {
    "stg_customers": StgCustomers,
    "stg_products": StgProducts,
    "stg_invoice_headers": StgInvoiceHeaders,
    "stg_invoice_lines": StgInvoiceLines,
}


def empty_frame(model: type[pa.DataFrameModel]) -> pd.DataFrame:
    """An empty, correctly typed frame for ``model`` (a partition with no rows is still a valid table)."""
    return model.validate(
        pd.DataFrame({name: pd.Series(dtype="object") for name in model.to_schema().columns})
    )
