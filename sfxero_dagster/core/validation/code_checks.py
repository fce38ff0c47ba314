"""Invoice codes as Xero compares them (core.codes): tracking, product codes and tax."""

from __future__ import annotations

import numpy as np
import pandas as pd

from sfxero_dagster.core import codes
from sfxero_dagster.core.codes import Resolved
from sfxero_dagster.core.reasons import config_field
from sfxero_dagster.core.staging import XERO_LIMITS
from sfxero_dagster.core.validation.context import InvoiceChecks, mask
from sfxero_dagster.core.validation.rejects import (
    blank,
    length,
    too_long,
)


def check_tracking(c: InvoiceChecks) -> None:
    """Tracking categories and options as Xero compares them (at most two)."""
    r, h, hk, config = c.r, c.h, c.hk, c.config
    refs = c.refs
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


def check_items(c: InvoiceChecks) -> None:
    """Product codes: present, short enough, known to Xero (or created), active."""
    r, ln, lk, config, line_refs = c.r, c.ln, c.lk, c.config, c.line_refs
    sku = ln["sku"]
    r.add(ln, blank(sku), "missing_sku", "Product2.ProductCode", value_col="sf_product_id", **lk)
    r.add(
        ln,
        too_long(sku, XERO_LIMITS["item_code"]),
        "field_too_long",
        "Product2.ProductCode",
        value_col="sku",
        limit=XERO_LIMITS["item_code"],
        length=length(sku),
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


def check_tax(c: InvoiceChecks) -> None:
    """Tax: the line's code (else the product's, else tax.default_code) to the TaxType."""
    r, ln, lk, config, references = c.r, c.ln, c.lk, c.config, c.references
    line_refs = c.line_refs
    # Tax: the line's code (else the product's, else tax.default_code) -> tax.mapping.<tenant> by key ->
    # the organisation's TaxType, each step as Xero compares codes (core.codes).
    has_code = ~blank(ln["tax_code"])
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

    def resolve(t: object, c: object) -> Resolved:
        if (t, c) not in memo:
            memo[(t, c)] = codes.tax_type(mapping.get(t, {}), c, references.get(t))  # type: ignore[arg-type]
        return memo[(t, c)]

    taxes = [
        resolve(t, c) if isinstance(t, str) else Resolved("blank")
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
