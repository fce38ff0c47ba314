"""Staged records → Xero payloads (the JSON the Accounting API takes), plus the totals Xero will post.

Payloads are plain dicts in Xero's PascalCase with ``Decimal`` amounts, never ``None`` values (Xero's
JSON has no nulls, and an omitted key means "leave as is" on POST). The same function feeds the push,
``sfxero plan`` and the payload hash that decides whether a record changed since its last push.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import date, timedelta
from decimal import Decimal
from typing import Any

import pandas as pd

from sfxero_dagster.config import SfxeroConfig
from sfxero_dagster.core import codes
from sfxero_dagster.core.xero_math import (
    Line,
    Totals,
    invoice_totals,
    round_discount,
    round_quantity,
    round_unit,
)


def _present(value: Any) -> bool:
    if value is None:
        return False
    if isinstance(value, float) and pd.isna(value):
        return False
    return not (isinstance(value, str) and value.strip() == "")


def _dec(value: Any) -> Decimal:
    """Floats from pandas become the shortest exact decimal (repr), never a binary artefact."""
    return value if isinstance(value, Decimal) else Decimal(repr(float(value)))


def _prune(d: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in d.items() if _present(v) and v != [] and v != {}}


def contact_payload(customer: Mapping[str, Any]) -> dict[str, Any]:
    """A Xero Contact for a staged customer; ContactNumber carries the Salesforce Account Id."""
    address = _prune(
        {
            "AddressType": "POBOX",
            "AddressLine1": customer.get("street"),
            "City": customer.get("city"),
            "Region": customer.get("region"),
            "PostalCode": customer.get("postal_code"),
            "Country": customer.get("country"),
        }
    )
    return _prune(
        {
            "Name": (customer.get("name") or "").strip(),
            "ContactNumber": customer["sf_account_id"],
            "EmailAddress": customer.get("email"),
            "TaxNumber": customer.get("tax_number"),
            "Phones": [{"PhoneType": "DEFAULT", "PhoneNumber": customer["phone"]}]
            if _present(customer.get("phone"))
            else [],
            "Addresses": [address] if len(address) > 1 else [],
            "DefaultCurrency": customer.get("currency"),
        }
    )


def _line_items(
    lines: Iterable[Mapping[str, Any]],
    tenant_key: str,
    config: SfxeroConfig,
    tracking_value: Any,
    reference: Any | None = None,
) -> list[dict[str, Any]]:
    # Codes go out in the organisation's own spelling, found the way validation found them (core.codes):
    # 'gst ' -> TaxType 'OUTPUT', 'sku-1 ' -> ItemCode 'SKU-1', 'north' -> Option 'North'.
    tax_map = config.tax.mapping.get(tenant_key, {})
    tracking = []
    for mapping in config.tracking[:2]:
        if _present(tracking_value):
            cat, opt = codes.tracking_option(
                mapping.xero_category, mapping.option_map, tracking_value, reference
            )
            if cat.code and opt.code:  # validation holds a record whose category or option is unknown
                tracking.append({"Name": cat.code, "Option": opt.code})
    items = []
    for ln in lines:
        code = ln.get("tax_code") if _present(ln.get("tax_code")) else config.tax.default_code
        discount = ln.get("discount_rate")
        sku = codes.item_code(ln.get("sku"), reference)
        items.append(
            _prune(
                {
                    # an item that is not in Xero yet (items.create_missing) goes as typed, trimmed
                    "ItemCode": sku.code if sku.ok else (ln.get("sku") or "").strip(),
                    "Description": ln.get("description"),
                    # at Xero's precision (staging has already rounded; this keeps the payload, its hash
                    # and expected_totals equal to what Xero stores, whatever the caller passes)
                    "Quantity": round_quantity(_dec(ln["quantity"])),
                    "UnitAmount": round_unit(_dec(ln["unit_amount"])),
                    "DiscountRate": round_discount(_dec(discount))
                    if _present(discount) and float(discount) != 0
                    else None,
                    "TaxType": codes.tax_type(tax_map, code, reference).code,
                    "AccountCode": ln.get("account_code")
                    if _present(ln.get("account_code"))
                    else config.accounts.default_sales_account,
                    "Tracking": tracking,
                }
            )
        )
    return items


def invoice_payload(
    header: Mapping[str, Any],
    lines: Iterable[Mapping[str, Any]],
    config: SfxeroConfig,
    contact: Mapping[str, str],
    *,
    credit_note: bool = False,
    reference: Any | None = None,
) -> dict[str, Any]:
    """An ACCREC invoice (or ACCRECCREDIT credit note) for a staged header and its lines.

    ``contact`` identifies the Xero contact, ideally ``{"ContactID": ...}``; ``{"ContactNumber": sf_id}``
    also works for a contact created in the same run. ``reference`` (the organisation's
    :class:`~sfxero_dagster.core.validation.TenantReference`) turns codes into its own spelling.
    """
    tenant = header["tenant_key"]
    issued: date = pd.Timestamp(header["invoice_date"]).date()
    payload: dict[str, Any] = {
        "Type": "ACCRECCREDIT" if credit_note else "ACCREC",
        "Contact": dict(contact),
        "Reference": header["reference"],
        "Date": issued.isoformat(),
        "CurrencyCode": header.get("currency"),
        "LineAmountTypes": config.invoices.line_amount_type,
        "Status": config.invoices.status_on_create,
        "LineItems": _line_items(lines, tenant, config, header.get("tracking_value"), reference),
    }
    if credit_note:
        payload["CreditNoteNumber"] = f"{header['invoice_number']}-CN"
    else:
        payload["InvoiceNumber"] = header["invoice_number"]
        payload["DueDate"] = (issued + timedelta(days=config.invoices.due_days)).isoformat()
    return _prune(payload)


def expected_totals(payload: Mapping[str, Any], tax_rates: Mapping[str, Decimal]) -> Totals:
    """What Xero will compute for ``payload``, given the organisation's TaxType → EffectiveRate."""
    lines = [
        Line(
            quantity=Decimal(li["Quantity"]),
            unit_amount=Decimal(li["UnitAmount"]),
            tax_rate=tax_rates.get(li.get("TaxType", ""), Decimal(0)),
            discount_rate=Decimal(li["DiscountRate"]) if "DiscountRate" in li else None,
        )
        for li in payload["LineItems"]
    ]
    return invoice_totals(lines, payload.get("LineAmountTypes", "Exclusive"), unitdp=4)
