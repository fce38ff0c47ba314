"""Record-level validation of staged records against the target Xero organisation, before any export.

Every failing record becomes one reject row per reason (reason code, field, value, actionable hint),
and an invoice with any ERROR-severity problem on any of its lines is held back whole: Xero never gets
half an invoice. WARN reasons are reported but do not block. Checks are vectorised (pandas masks), so a
million lines validate in seconds rather than minutes.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from decimal import Decimal
from functools import cached_property

import numpy as np
import pandas as pd

from sfxero_dagster.config import SfxeroConfig
from sfxero_dagster.core import codes
from sfxero_dagster.core.codes import CodeIndex, Resolved
from sfxero_dagster.core.precision import text, to_decimal
from sfxero_dagster.core.reasons import config_field, reason
from sfxero_dagster.core.reasons import hint as reason_hint
from sfxero_dagster.core.staging import MAX_LINE_AMOUNT, XERO_LIMITS

REJECT_COLUMNS = [
    "sf_object",
    "sf_id",
    "tenant_key",
    "reason_code",
    "severity",
    "field",
    "value",
    "line_id",
    "hint",
]
_EMAIL_RE = r"^[^@\s]+@[^@\s]+\.[^@\s]+$"
_PRINTABLE_ASCII = r"^[\x20-\x7e]*$"


@dataclass(frozen=True)
class TenantReference:
    """What the target organisation accepts, taken from its Xero reference snapshot."""

    tenant_key: str
    base_currency: str
    currencies: frozenset[str]
    tax_rates: Mapping[str, Decimal]  # active TaxType -> EffectiveRate (percent)
    item_codes: frozenset[str] = frozenset()
    account_codes: frozenset[str] = frozenset()
    tracking: Mapping[str, frozenset[str]] = field(default_factory=dict)  # category -> active options

    # Codes as Xero compares them (core.codes): validation and the payload look them up the same way.
    @cached_property
    def tax_index(self) -> CodeIndex:
        return CodeIndex(self.tax_rates)

    @cached_property
    def item_index(self) -> CodeIndex:
        return CodeIndex(self.item_codes)

    @cached_property
    def category_index(self) -> CodeIndex:
        return CodeIndex(self.tracking)

    def option_index(self, category: str) -> CodeIndex:
        return codes.index_of(self.tracking.get(category, frozenset()))


@dataclass
class ValidationResult:
    valid: pd.DataFrame
    rejects: pd.DataFrame
    valid_lines: pd.DataFrame | None = None

    def counts_by_reason(self) -> dict[str, int]:
        if self.rejects.empty:
            return {}
        return self.rejects.groupby("reason_code")["sf_id"].nunique().sort_index().to_dict()


class _Rejects:
    """Collects reject rows from boolean masks, filling severity and hints from the reason catalogue."""

    def __init__(self, config: SfxeroConfig) -> None:
        self._frames: list[pd.DataFrame] = []
        self._severity = dict(config.validation.severity)

    def severity(self, code: str) -> str:
        return self._severity.get(code, reason(code).severity)

    def add(
        self,
        df: pd.DataFrame,
        mask: pd.Series,
        code: str,
        field_name: str | pd.Series,
        *,
        sf_object: str | pd.Series,
        id_col: str,
        value_col: str | None = None,
        line_col: str | None = None,
        **hint_values: object,
    ) -> None:
        mask = mask.fillna(False).astype(bool)
        if not mask.any():
            return
        hit = df.loc[mask]
        values = hit[value_col] if value_col else pd.Series([None] * len(hit), index=hit.index)
        obj = sf_object.loc[mask] if isinstance(sf_object, pd.Series) else sf_object
        fields = field_name.loc[mask] if isinstance(field_name, pd.Series) else field_name
        frame = pd.DataFrame(
            {
                "sf_object": obj,
                "sf_id": hit[id_col],
                "tenant_key": hit.get("tenant_key"),
                "reason_code": code,
                "severity": self.severity(code),
                "field": fields,
                "value": values.map(
                    lambda v: None if v is None or (isinstance(v, float) and np.isnan(v)) else str(v)
                ),
                "line_id": hit[line_col] if line_col else None,
            }
        )
        # Series-valued hint values vary per row (e.g. the expected total); others are constants.
        per_row = {k: v.loc[mask].tolist() for k, v in hint_values.items() if isinstance(v, pd.Series)}
        const = {k: v for k, v in hint_values.items() if not isinstance(v, pd.Series)}
        frame["hint"] = [
            reason_hint(code, field=f, value=v, **const, **{k: vals[i] for k, vals in per_row.items()})
            for i, (f, v) in enumerate(zip(frame["field"].tolist(), frame["value"].tolist(), strict=True))
        ]
        self._frames.append(frame)

    def frame(self) -> pd.DataFrame:
        if not self._frames:
            return pd.DataFrame({c: pd.Series(dtype="object") for c in REJECT_COLUMNS})
        out = pd.concat(self._frames, ignore_index=True)[REJECT_COLUMNS]
        return out.drop_duplicates(
            subset=["sf_object", "sf_id", "reason_code", "field", "line_id"]
        ).reset_index(drop=True)


def _too_long(s: pd.Series, limit: int) -> pd.Series:
    return s.fillna("").astype(str).str.len() > limit


def _length(s: pd.Series) -> pd.Series:
    return s.fillna("").astype(str).str.len()


def _blank(s: pd.Series) -> pd.Series:
    return s.isna() | (s.astype(str).str.strip() == "")


def _by_source(source: pd.Series, **fields: str) -> pd.Series:
    """A field name per row from the record's source ('opportunity' or 'order')."""
    return source.map(fields)


def validate_customers(customers: pd.DataFrame, config: SfxeroConfig) -> ValidationResult:
    """Accounts that can become (or link to) Xero contacts."""
    r = _Rejects(config)
    c = customers
    kw = {"sf_object": "Account", "id_col": "sf_account_id"}
    r.add(c, _blank(c["name"]), "missing_required_field", "Name", **kw)
    r.add(
        c,
        _too_long(c["name"], XERO_LIMITS["contact_name"]),
        "field_too_long",
        "Name",
        value_col="name",
        limit=XERO_LIMITS["contact_name"],
        length=_length(c["name"]),
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
            _too_long(c[col], XERO_LIMITS[lim]),
            "field_too_long",
            fname,
            value_col=col,
            limit=XERO_LIMITS[lim],
            length=_length(c[col]),
            **kw,
        )
    email = c["email"]
    r.add(c, _blank(email), "missing_email", "Contact.Email", **kw)
    r.add(
        c,
        ~_blank(email) & ~email.fillna("").astype(str).str.match(_EMAIL_RE),
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


def _round2(values: pd.Series) -> pd.Series:
    """Half-up rounding to cents on floats (tolerance checks only; exact pushes use core.xero_math)."""
    return np.sign(values) * np.floor(np.abs(values) * 100 + 0.5 + 1e-9) / 100


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
    r = _Rejects(config)
    h = headers.copy()
    obj = h["source"].map({"opportunity": "Opportunity", "order": "Order"})
    hk = {"sf_object": obj, "id_col": "sf_id"}

    # ----- headers ---------------------------------------------------------------------------------
    r.add(h, _blank(h["sf_account_id"]), "missing_required_field", "AccountId", **hk)
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
    date_field = _by_source(h["source"], opportunity="CloseDate", order="EffectiveDate")
    r.add(h, h["invoice_date"].isna(), "invalid_date", date_field, **hk)
    # The invoice number is the configured prefix + the Salesforce Id or OrderNumber: only the prefix
    # can be changed, so that is where these point.
    prefix_field = config_field("invoices.number_prefix")
    r.add(
        h,
        _too_long(h["invoice_number"], XERO_LIMITS["invoice_number"]),
        "field_too_long",
        prefix_field,
        value_col="invoice_number",
        limit=XERO_LIMITS["invoice_number"],
        length=_length(h["invoice_number"]),
        **hk,
    )
    r.add(
        h,
        ~h["invoice_number"].fillna("").astype(str).str.match(_PRINTABLE_ASCII),
        "invalid_characters",
        prefix_field,
        value_col="invoice_number",
        **hk,
    )
    r.add(
        h,
        _too_long(h["reference"], XERO_LIMITS["reference"]),
        "field_too_long",
        "Id",
        value_col="reference",
        limit=XERO_LIMITS["reference"],
        length=_length(h["reference"]),
        **hk,
    )
    dup = h["invoice_number"].notna() & h.duplicated("invoice_number", keep=False)
    r.add(h, dup, "duplicate_invoice_number", prefix_field, value_col="invoice_number", **hk)

    refs = [references.get(t) if isinstance(t, str) else None for t in h["tenant_key"]]

    def mask(values: list[bool], index: pd.Index) -> pd.Series:
        return pd.Series(values, index=index, dtype=bool)

    # A blank currency is its own reason (fix the record), never "enable None in Xero".
    no_currency = _blank(h["currency"]) & h["tenant_key"].notna()
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
    for i, mapping in enumerate(config.tracking[:2]):
        category_field = config_field(f"tracking[{i}].xero_category")
        found = [
            codes.tracking_option(mapping.xero_category, mapping.option_map, v, ref) if ref else None
            for ref, v in zip(refs, h["tracking_value"], strict=True)
        ]
        cat_status = [f[0].status if f else None for f in found]
        opt_status = [f[1].status if f and f[0].ok else None for f in found]
        h["_category"] = mapping.xero_category
        h["_tracking"] = h["tracking_value"].fillna("")
        h["_known"] = [
            ", ".join(sorted(ref.tracking.get(f[0].code, ()))) if f and f[0].ok else ""
            for ref, f in zip(refs, found, strict=True)
        ]
        h["_candidates"] = [
            ", ".join(map(repr, (f[0] if f[0].status == "ambiguous" else f[1]).candidates)) if f else ""
            for f in found
        ]
        r.add(
            h,
            mask([s == "missing" for s in cat_status], h.index),
            "unknown_tracking_category",
            category_field,
            value_col="_category",
            tenant=h["tenant_key"],
            **hk,
        )
        r.add(
            h,
            mask([s == "ambiguous" for s in cat_status], h.index),
            "ambiguous_code",
            category_field,
            value_col="_category",
            tenant=h["tenant_key"],
            candidates=h["_candidates"],
            **hk,
        )
        r.add(
            h,
            mask([s == "missing" for s in opt_status], h.index),
            "unknown_tracking_option",
            mapping.sf_field,
            value_col="_tracking",
            tenant=h["tenant_key"],
            category=mapping.xero_category,
            known=h["_known"],
            option_map=f"tracking[{i}].option_map",
            **hk,
        )
        r.add(
            h,
            mask([s == "ambiguous" for s in opt_status], h.index),
            "ambiguous_code",
            mapping.sf_field,
            value_col="_tracking",
            tenant=h["tenant_key"],
            candidates=h["_candidates"],
            **hk,
        )
    if len(config.tracking) > 2:
        r.add(
            h, pd.Series(True, index=h.index), "too_many_tracking_categories", config_field("tracking"), **hk
        )

    # ----- lines -----------------------------------------------------------------------------------
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
    children = _by_source(h["source"], opportunity="OpportunityLineItems", order="OrderItems")
    r.add(h, ~h["sf_id"].isin(ln["sf_header_id"]), "no_line_items", children, **hk)
    line_refs = [references.get(t) if isinstance(t, str) else None for t in ln["tenant_key"]]

    sku = ln["sku"]
    r.add(ln, _blank(sku), "missing_sku", "Product2.ProductCode", value_col="sf_product_id", **lk)
    r.add(
        ln,
        _too_long(sku, XERO_LIMITS["item_code"]),
        "field_too_long",
        "Product2.ProductCode",
        value_col="sku",
        limit=XERO_LIMITS["item_code"],
        length=_length(sku),
        **lk,
    )
    items = [
        codes.item_code(code, ref) if ref is not None else Resolved("blank")
        for ref, code in zip(line_refs, sku, strict=True)
    ]
    ln["_item_candidates"] = [", ".join(map(repr, f.candidates)) for f in items]
    if not config.items.create_missing:
        unknown_item = [f.status == "missing" for f in items]
        r.add(
            ln,
            mask(unknown_item, ln.index),
            "sku_not_in_xero",
            "Product2.ProductCode",
            value_col="sku",
            tenant=ln["tenant_key"],
            **lk,
        )
    r.add(
        ln,
        mask([f.status == "ambiguous" for f in items], ln.index),
        "ambiguous_code",
        "Product2.ProductCode",
        value_col="sku",
        tenant=ln["tenant_key"],
        candidates=ln["_item_candidates"],
        **lk,
    )
    r.add(
        ln, ln["product_is_active"].eq(False), "inactive_product", "Product2.IsActive", value_col="sku", **lk
    )

    # Tax: the line's code (else the product's, else tax.default_code) -> tax.mapping.<tenant> by key ->
    # the organisation's TaxType, each step as Xero compares codes (core.codes).
    has_code = ~_blank(ln["tax_code"])
    from_product = (
        ln["tax_code_source"].eq("product")
        if "tax_code_source" in ln.columns
        else pd.Series(False, index=ln.index)
    )
    ln["_tax_field"] = np.where(
        ~has_code,
        config_field("tax.default_code"),
        np.where(from_product, f"Product2.{config.tax.product_field}", config.tax.line_field),
    )
    ln["_tax_code"] = ln["tax_code"].where(has_code, config.tax.default_code).fillna("")
    mapping = config.tax.mapping
    memo: dict[tuple[object, object], Resolved] = {}

    def tax(t: object, c: object) -> Resolved:
        if (t, c) not in memo:
            memo[(t, c)] = codes.tax_type(mapping.get(t, {}), c, references.get(t))  # type: ignore[arg-type]
        return memo[(t, c)]

    taxes = [
        tax(t, c) if isinstance(t, str) else Resolved("blank")
        for t, c in zip(ln["tenant_key"], ln["_tax_code"], strict=True)
    ]
    ln["_tax_type"] = [f.mapped or "" for f in taxes]
    ln["_tax_known"] = [
        ", ".join(sorted(mapping.get(t, {}))) or "(none)" if isinstance(t, str) else ""
        for t in ln["tenant_key"]
    ]
    ln["_rates_known"] = [", ".join(sorted(ref.tax_rates)) if ref is not None else "" for ref in line_refs]
    ln["_tax_candidates"] = [", ".join(map(repr, f.candidates)) for f in taxes]
    ln["_tax_mapping"] = [
        config_field(f"tax.mapping.{t}") if isinstance(t, str) else "" for t in ln["tenant_key"]
    ]
    unmapped = [
        isinstance(t, str) and not f.ok and f.mapped is None
        for t, f in zip(ln["tenant_key"], taxes, strict=True)
    ]
    r.add(
        ln,
        mask(unmapped, ln.index) & ~mask([f.status == "ambiguous" for f in taxes], ln.index),
        "unmapped_tax_code",
        ln["_tax_field"],
        value_col="_tax_code",
        tenant=ln["tenant_key"],
        known=ln["_tax_known"],
        **lk,
    )
    r.add(
        ln,
        mask([f.status == "missing" and f.mapped is not None for f in taxes], ln.index),
        "unknown_tax_type",
        ln["_tax_mapping"],
        value_col="_tax_type",
        tax_code=ln["_tax_code"],
        tenant=ln["tenant_key"],
        known=ln["_rates_known"],
        **lk,
    )
    r.add(
        ln,
        mask([f.status == "ambiguous" and f.mapped is not None for f in taxes], ln.index),
        "ambiguous_code",
        ln["_tax_mapping"],
        value_col="_tax_type",
        tenant=ln["tenant_key"],
        candidates=ln["_tax_candidates"],
        **lk,
    )

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
    discount_field = _by_source(ln["header_source"], opportunity="Discount", order="Discount__c")
    r.add(ln, bad_discount, "invalid_discount", discount_field, value_col="discount_rate", **lk)
    r.add(
        ln,
        _too_long(ln["description"], XERO_LIMITS["line_description"]),
        "field_too_long",
        "Description",
        limit=XERO_LIMITS["line_description"],
        length=_length(ln["description"]),
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
    blank_account = _blank(ln["account_code"])
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

    line_amount = _round2(q.fillna(0) * _round2_unit(u.fillna(0)) * (100 - d) / 100)
    r.add(ln, line_amount.abs() > MAX_LINE_AMOUNT, "line_amount_too_large", "Quantity", **lk)

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

    # ----- totals: Salesforce's amount against Xero's arithmetic -----------------------------------------
    ln["_line_amount"] = line_amount
    sub_total = ln.groupby("sf_header_id")["_line_amount"].sum()
    expected = h["sf_id"].map(sub_total)
    tolerance = float(config.invoices.rounding_tolerance)
    mismatch = (
        h["sf_total"].notna() & expected.notna() & ((h["sf_total"] - expected).abs() > tolerance + 1e-9)
    )
    amount_field = _by_source(h["source"], opportunity="Amount", order="TotalAmount")
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

    rejects = r.frame()
    blocking = set(rejects.loc[rejects["severity"] == "ERROR", "sf_id"])
    keep = ~h["sf_id"].isin(blocking)
    valid = headers.loc[keep.values].copy()
    valid_lines = lines.loc[lines["sf_header_id"].isin(valid["sf_id"])].copy()
    return ValidationResult(valid=valid, rejects=rejects, valid_lines=valid_lines)


def _round2_unit(values: pd.Series) -> pd.Series:
    return np.sign(values) * np.floor(np.abs(values) * 10_000 + 0.5 + 1e-9) / 10_000


def references_from_frames(
    organisation: pd.DataFrame,
    tax_rates: pd.DataFrame,
    currencies: pd.DataFrame,
    tracking: pd.DataFrame,
    accounts: pd.DataFrame,
    items: pd.DataFrame,
) -> dict[str, TenantReference]:
    """TenantReference per tenant key from the Xero snapshot tables (only ACTIVE rates, options, accounts)."""
    out: dict[str, TenantReference] = {}
    for org in organisation.to_dict("records"):
        key = org["tenant_key"]

        def rows(df: pd.DataFrame, k: str = key) -> pd.DataFrame:
            return df.loc[df["tenant_key"] == k] if len(df) else df

        rates = rows(tax_rates)
        rates = rates.loc[rates["status"] == "ACTIVE"] if len(rates) else rates
        opts = rows(tracking)
        if len(opts):
            opts = opts.loc[(opts["category_status"] == "ACTIVE") & (opts["option_status"] == "ACTIVE")]
        acct = rows(accounts)
        acct = acct.loc[acct["status"] == "ACTIVE"] if len(acct) else acct
        tracking_map: dict[str, set[str]] = {}
        for cat, opt in zip(opts.get("category", []), opts.get("option", []), strict=True):
            tracking_map.setdefault(cat, set()).add(opt)
        out[key] = TenantReference(
            tenant_key=key,
            base_currency=org["base_currency"],
            currencies=frozenset(rows(currencies).get("code", [])),
            tax_rates={
                t: Decimal(str(r))
                for t, r in zip(rates.get("tax_type", []), rates.get("effective_rate", []), strict=True)
            },
            item_codes=frozenset(rows(items).get("code", [])),
            account_codes=frozenset(acct.get("code", [])),
            tracking={c: frozenset(o) for c, o in tracking_map.items()},
        )
    return out
