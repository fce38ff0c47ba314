"""Xero invoices, payments and credit allocations → the Salesforce records that mirror them.

Salesforce gets one ``Xero_Invoice__c`` per Xero invoice (keyed by the Xero GUID) and one
``Xero_Payment__c`` per payment or credit allocation, so finance users see paid, partially paid, voided
and credited states next to the Opportunity or Order. Every record is keyed by a Xero identifier and
written with upsert-by-external-id, so re-running a write-back can only converge, never duplicate.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Any

from sfxero_dagster.config import PaymentWriteBackConfig

_MS_DATE = re.compile(r"^/Date\((-?\d+)([+-]\d{4})?\)/$")
ZERO = Decimal("0.00")


def to_datetime(value: Any) -> datetime | None:
    """Xero's ``/Date(ms+0000)/``, ISO strings, or already-parsed values → aware UTC datetime."""
    if value is None or value == "":
        return None
    if isinstance(value, datetime):
        return value if value.tzinfo else value.replace(tzinfo=UTC)
    if isinstance(value, date):
        return datetime(value.year, value.month, value.day, tzinfo=UTC)
    text = str(value)
    m = _MS_DATE.match(text)
    if m:
        return datetime.fromtimestamp(int(m.group(1)) / 1000, tz=UTC)
    parsed = datetime.fromisoformat(text.replace("Z", "+00:00"))
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


def to_date(value: Any) -> date | None:
    dt = to_datetime(value)
    return dt.date() if dt else None


def _dec(value: Any) -> Decimal:
    return ZERO if value is None else Decimal(str(value))


def invoice_state(invoice: Mapping[str, Any]) -> str:
    """The Salesforce picklist value for a Xero invoice's state.

    PAID splits into Paid and Credited (fully settled by credit notes); AUTHORISED splits into Awaiting
    Payment and Partially Paid, because that is the question sales actually asks.
    """
    status = invoice.get("Status")
    paid, credited = _dec(invoice.get("AmountPaid")), _dec(invoice.get("AmountCredited"))
    if status == "PAID":
        return "Credited" if credited > 0 and paid == 0 else "Paid"
    if status == "AUTHORISED":
        return "Partially Paid" if paid + credited > 0 else "Awaiting Payment"
    return {"DRAFT": "Draft", "SUBMITTED": "Submitted", "VOIDED": "Voided", "DELETED": "Deleted"}.get(
        str(status), str(status).title()
    )


def invoice_record(
    invoice: Mapping[str, Any],
    tenant_id: str,
    config: PaymentWriteBackConfig,
    *,
    account_id: str | None = None,
    source_object: str | None = None,
    source_id: str | None = None,
    online_url: str | None = None,
) -> dict[str, Any]:
    """One ``Xero_Invoice__c`` upsert row (external id = InvoiceID)."""
    record: dict[str, Any] = {
        config.invoice_external_id: invoice["InvoiceID"],
        "Name": str(invoice.get("InvoiceNumber") or invoice["InvoiceID"])[:80],
        "Invoice_Number__c": invoice.get("InvoiceNumber"),
        "Type__c": invoice.get("Type", "ACCREC"),
        "Status__c": invoice_state(invoice),
        "Total__c": _dec(invoice.get("Total")),
        "Amount_Due__c": _dec(invoice.get("AmountDue")),
        "Amount_Paid__c": _dec(invoice.get("AmountPaid")),
        "Amount_Credited__c": _dec(invoice.get("AmountCredited")),
        "CurrencyIsoCode": invoice.get("CurrencyCode"),
        "Due_Date__c": _iso(to_date(invoice.get("DueDate"))),
        "Fully_Paid_Date__c": _iso(to_date(invoice.get("FullyPaidOnDate"))),
        "Xero_Tenant_Id__c": tenant_id,
        "Xero_Updated_Utc__c": _iso_dt(to_datetime(invoice.get("UpdatedDateUTC"))),
    }
    if online_url:
        record["Online_Url__c"] = online_url
    if account_id:
        record["Account__c"] = account_id
    if source_object == "Opportunity" and source_id:
        record["Opportunity__c"] = source_id
    if source_object == "Order" and source_id:
        record["Order__c"] = source_id
    return record


def payment_records(invoice: Mapping[str, Any], config: PaymentWriteBackConfig) -> list[dict[str, Any]]:
    """``Xero_Payment__c`` rows for everything that settled part of ``invoice``.

    Payments keep their PaymentID; a credit-note, overpayment or prepayment allocation has no id of its
    own in Xero's invoice view, so it is keyed ``<document id>:<invoice id>`` (one row per document and
    invoice, holding the amount applied).
    """
    invoice_id = invoice["InvoiceID"]
    parent = {config.invoice_external_id: invoice_id}
    rows: list[dict[str, Any]] = []
    for p in invoice.get("Payments") or []:
        rows.append(
            {
                config.payment_external_id: p["PaymentID"],
                "Xero_Invoice__r": parent,
                "Name": f"Payment {p.get('Reference') or p['PaymentID']!s}"[:80],
                "Amount__c": _dec(p.get("Amount")),
                "Payment_Date__c": _iso(to_date(p.get("Date"))),
                "Reference__c": p.get("Reference"),
                "Status__c": "Deleted" if p.get("Status") == "DELETED" else "Authorised",
                "Payment_Type__c": "Payment",
                "CurrencyIsoCode": invoice.get("CurrencyCode"),
            }
        )
    for key, label, id_field in (
        ("CreditNotes", "Credit Note", "CreditNoteID"),
        ("Overpayments", "Overpayment", "OverpaymentID"),
        ("Prepayments", "Prepayment", "PrepaymentID"),
    ):
        for doc in invoice.get(key) or []:
            applied = doc.get("AppliedAmount", doc.get("Amount"))
            rows.append(
                {
                    config.payment_external_id: f"{doc[id_field]}:{invoice_id}",
                    "Xero_Invoice__r": parent,
                    "Name": f"{label} {doc.get('CreditNoteNumber') or doc[id_field]}"[:80],
                    "Amount__c": _dec(applied),
                    "Payment_Date__c": _iso(to_date(doc.get("Date"))),
                    "Reference__c": doc.get("Reference") or doc.get("CreditNoteNumber"),
                    "Status__c": "Authorised",
                    "Payment_Type__c": label,
                    "CurrencyIsoCode": invoice.get("CurrencyCode"),
                }
            )
    return rows


def deleted_payment_records(
    known_payment_ids: Iterable[str], invoice: Mapping[str, Any], config: PaymentWriteBackConfig
) -> list[dict[str, Any]]:
    """Rows that mark as Deleted the payments Salesforce has but Xero no longer lists on the invoice.

    Xero drops a deleted payment from ``Invoice.Payments``; without this the Salesforce side would keep
    showing money that was reversed.
    """
    present = {p["PaymentID"] for p in invoice.get("Payments") or []}
    present |= {
        f"{d[f]}:{invoice['InvoiceID']}"
        for k, f in (
            ("CreditNotes", "CreditNoteID"),
            ("Overpayments", "OverpaymentID"),
            ("Prepayments", "PrepaymentID"),
        )
        for d in invoice.get(k) or []
    }
    return [
        {config.payment_external_id: pid, "Status__c": "Deleted", "Amount__c": ZERO}
        for pid in sorted(set(known_payment_ids) - present)
    ]


def rollups(invoices: Iterable[Mapping[str, Any]]) -> dict[str, Decimal]:
    """Invoiced, paid (cash and credits) and outstanding over live invoices (not voided or deleted)."""
    invoiced = paid = outstanding = ZERO
    for inv in invoices:
        if inv.get("Status") in ("VOIDED", "DELETED") or inv.get("Type", "ACCREC") != "ACCREC":
            continue
        invoiced += _dec(inv.get("Total"))
        paid += _dec(inv.get("AmountPaid")) + _dec(inv.get("AmountCredited"))
        outstanding += _dec(inv.get("AmountDue"))
    return {"Xero_Invoiced__c": invoiced, "Xero_Paid__c": paid, "Xero_Outstanding__c": outstanding}


def _iso(d: date | None) -> str | None:
    return d.isoformat() if d else None


def _iso_dt(dt: datetime | None) -> str | None:
    return dt.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.000+0000") if dt else None


def failed_field(outcome: Any) -> str | None:
    """The field Salesforce named in a rejected write (its error's ``fields``), for the queue item."""
    for error in getattr(outcome, "errors", None) or []:
        fields = [f for f in error.get("fields") or [] if isinstance(f, str) and f]
        if fields:
            return fields[0]
    return None
