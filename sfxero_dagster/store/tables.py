"""The warehouse's table names, declared once (assets, engines, the CLI and the benchmarks use these).

Grouped by who writes them; a table of one stage is read by the next. Several are also the key of the
asset that writes them (``stg_*``, ``valid_*``, ``contact_matches``, ``push_plan``).
"""

from __future__ import annotations

# ----- Salesforce extracts (one per object, merged by Id on SystemModstamp) ---------------------------
SF_OBJECT_NAMES = {
    "Account": "accounts",
    "Contact": "contacts",
    "Product2": "products",
    "PricebookEntry": "pricebook_entries",
    "Opportunity": "opportunities",
    "OpportunityLineItem": "opportunity_line_items",
    "Order": "orders",
    "OrderItem": "order_items",
}


def sf_extract(object_name: str) -> str:
    """The extract table of a Salesforce object, e.g. ``sf_accounts``."""
    return f"sf_{SF_OBJECT_NAMES[object_name]}"


SF_DESCRIBES = "sf_describes"  # cached describes (field types and numeric scales), a day long

# ----- staging and validation -----------------------------------------------------------------------
STG_CUSTOMERS = "stg_customers"
STG_PRODUCTS = "stg_products"
STG_INVOICE_HEADERS = "stg_invoice_headers"
STG_INVOICE_LINES = "stg_invoice_lines"
VALID_CUSTOMERS = "valid_customers"
CUSTOMER_REJECTS = "customer_rejects"
VALID_INVOICE_HEADERS = "valid_invoice_headers"
VALID_INVOICE_LINES = "valid_invoice_lines"
INVOICE_REJECTS = "invoice_rejects"

# ----- Xero reference snapshots (one row set per tenant_key) ----------------------------------------
XERO_ORGANISATION = "xero_organisation"
XERO_TAX_RATES = "xero_tax_rates"
XERO_CURRENCIES = "xero_currencies"
XERO_TRACKING_OPTIONS = "xero_tracking_options"
XERO_ACCOUNTS = "xero_accounts"
XERO_ITEMS = "xero_items"
XERO_CONTACTS = "xero_contacts"

# ----- matching and push ----------------------------------------------------------------------------
CONTACT_MATCHES = "contact_matches"
PUSH_PLAN = "push_plan"

# ----- write-back memory (what was written to Salesforce, so a rerun writes nothing) -----------------
XERO_ONLINE_URLS = "xero_online_urls"  # one Xero call per invoice, so fetched once
SF_IDENTITY_WRITTEN = "sf_identity_written"
SF_STATUS_WRITTEN = "sf_status_written"
SF_PAYMENTS_WRITTEN = "sf_payments_written"
XERO_INVOICE_STATE = "xero_invoice_state"
SF_ROLLUPS_WRITTEN = "sf_rollups_written"
