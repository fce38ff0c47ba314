"""Accounts that can become (or link to) Xero contacts."""

from __future__ import annotations

import pandas as pd

from sfxero_dagster.config import SfxeroConfig
from sfxero_dagster.core.staging import XERO_LIMITS
from sfxero_dagster.core.validation.rejects import (
    EMAIL_RE,
    Rejects,
    ValidationResult,
    blank,
    length,
    too_long,
)


def validate_customers(customers: pd.DataFrame, config: SfxeroConfig) -> ValidationResult:
    """Accounts that can become (or link to) Xero contacts; an ERROR on any field holds the account."""
    r = Rejects(config)
    c = customers
    kw = {"sf_object": "Account", "id_col": "sf_account_id"}
    r.add(c, blank(c["name"]), "missing_required_field", "Name", **kw)
    r.add(
        c,
        too_long(c["name"], XERO_LIMITS["contact_name"]),
        "field_too_long",
        "Name",
        value_col="name",
        limit=XERO_LIMITS["contact_name"],
        length=length(c["name"]),
        **kw,
    )
    for col, lim, fname in [
        ("tax_number", "tax_number", "Tax_Number__c"),
        ("phone", "phone", "Phone"),
        ("postal_code", "postal_code", "BillingPostalCode"),
        ("city", "city", "BillingCity"),
        ("country", "country", "BillingCountry"),
        ("street", "address_line", "BillingStreet"),
        ("email", "email", "Contact.Email"),  # the billing contact's, not the account's
    ]:
        r.add(
            c,
            too_long(c[col], XERO_LIMITS[lim]),
            "field_too_long",
            fname,
            value_col=col,
            limit=XERO_LIMITS[lim],
            length=length(c[col]),
            **kw,
        )
    email = c["email"]
    r.add(c, blank(email), "missing_email", "Contact.Email", **kw)
    r.add(
        c,
        ~blank(email) & ~email.fillna("").astype(str).str.match(EMAIL_RE),
        "invalid_email",
        "Contact.Email",
        value_col="email",
        **kw,
    )
    # A routing value that is not a country is its own reason (fix the record), not "no rule" (fix the
    # config); frames without route_value (hand-made, not staged) can only say the latter.
    route_col = "route_value" if "route_value" in c.columns else "country"
    not_country = c[route_col].map(config.routing.is_not_a_country).astype(bool)
    unroutable = c["tenant_key"].isna()
    field_name = config.routing.field
    c = c.assign(_route=c[route_col].fillna(""))  # a blank value reads '' in the hint, not None
    r.add(c, unroutable & not_country, "unroutable_country", field_name, value_col="_route", **kw)
    r.add(c, unroutable & ~not_country, "unroutable_account", field_name, value_col="_route", **kw)
    rejects = r.frame()
    blocking = set(rejects.loc[rejects["severity"] == "ERROR", "sf_id"])
    valid = c.loc[~c["sf_account_id"].isin(blocking)].drop(columns="_route")
    return ValidationResult(valid=valid.copy(), rejects=rejects)
