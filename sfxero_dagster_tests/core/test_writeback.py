"""Write-back mapping: Xero states become the Salesforce picture finance users expect."""

from __future__ import annotations

from datetime import UTC, date, datetime
from decimal import Decimal as D

import pytest

from sfxero_dagster.config import PaymentWriteBackConfig
from sfxero_dagster.core.writeback import (
    deleted_payment_records,
    invoice_record,
    invoice_state,
    payment_records,
    rollups,
    to_date,
    to_datetime,
)

CFG = PaymentWriteBackConfig()
INV = "243216c5-369e-4056-ac67-05388f86dc81"


def inv(status: str, total: str = "110.00", paid: str = "0", credited: str = "0", **extra) -> dict:
    due = D(total) - D(paid) - D(credited)
    return {
        "InvoiceID": INV,
        "InvoiceNumber": "SF-006A",
        "Type": "ACCREC",
        "Status": status,
        "Total": D(total),
        "AmountPaid": D(paid),
        "AmountCredited": D(credited),
        "AmountDue": due,
        "CurrencyCode": "AUD",
        "DueDate": "/Date(1767916800000+0000)/",
        "UpdatedDateUTC": "/Date(1767960000123+0000)/",
        **extra,
    }


@pytest.mark.parametrize(
    ("invoice", "state"),
    [
        (inv("DRAFT"), "Draft"),
        (inv("SUBMITTED"), "Submitted"),
        (inv("AUTHORISED"), "Awaiting Payment"),
        (inv("AUTHORISED", paid="50.00"), "Partially Paid"),
        (inv("AUTHORISED", credited="10.00"), "Partially Paid"),
        (inv("PAID", paid="110.00"), "Paid"),
        (inv("PAID", credited="110.00"), "Credited"),
        (inv("PAID", paid="60.00", credited="50.00"), "Paid"),
        (inv("VOIDED"), "Voided"),
        (inv("DELETED"), "Deleted"),
    ],
)
def test_states(invoice: dict, state: str) -> None:
    assert invoice_state(invoice) == state


def test_xero_dates() -> None:
    assert to_datetime("/Date(1767960000123+0000)/") == datetime(2026, 1, 9, 12, 0, 0, 123000, tzinfo=UTC)
    assert to_date("/Date(1767916800000)/") == date(2026, 1, 9)
    assert to_date("2026-01-09") == date(2026, 1, 9)
    assert to_datetime(None) is None


def test_invoice_record_links_and_amounts() -> None:
    rec = invoice_record(
        inv("AUTHORISED", paid="50.00", FullyPaidOnDate=None),
        "tenant-1",
        CFG,
        account_id="001X",
        source_object="Opportunity",
        source_id="006A",
        online_url="https://in.xero.com/x",
    )
    assert rec["Xero_Invoice_Id__c"] == INV and rec["Status__c"] == "Partially Paid"
    assert rec["Amount_Due__c"] == D("60.00") and rec["Amount_Paid__c"] == D("50.00")
    assert rec["Due_Date__c"] == "2026-01-09" and rec["Fully_Paid_Date__c"] is None
    assert rec["Xero_Updated_Utc__c"] == "2026-01-09T12:00:00.000+0000"
    assert rec["Opportunity__c"] == "006A" and "Order__c" not in rec and rec["Account__c"] == "001X"
    assert rec["Online_Url__c"] == "https://in.xero.com/x"


def test_payments_and_allocations_are_keyed_by_xero_ids() -> None:
    invoice = inv(
        "PAID",
        paid="60.00",
        credited="50.00",
        Payments=[
            {
                "PaymentID": "p-1",
                "Date": "/Date(1767916800000+0000)/",
                "Amount": D("60.00"),
                "Reference": "EFT",
            }
        ],
        CreditNotes=[
            {
                "CreditNoteID": "cn-1",
                "CreditNoteNumber": "CN-0001",
                "AppliedAmount": D("50.00"),
                "Date": "/Date(1768003200000+0000)/",
            }
        ],
    )
    rows = {r["Xero_Payment_Id__c"]: r for r in payment_records(invoice, CFG)}
    assert set(rows) == {"p-1", f"cn-1:{INV}"}
    assert rows["p-1"]["Amount__c"] == D("60.00") and rows["p-1"]["Payment_Type__c"] == "Payment"
    assert rows["p-1"]["Xero_Invoice__r"] == {"Xero_Invoice_Id__c": INV}
    assert rows[f"cn-1:{INV}"]["Payment_Type__c"] == "Credit Note" and rows[f"cn-1:{INV}"]["Amount__c"] == D(
        "50.00"
    )
    assert rows[f"cn-1:{INV}"]["Payment_Date__c"] == "2026-01-10"


def test_payment_deleted_in_xero_reverts_in_salesforce() -> None:
    invoice = inv("AUTHORISED", Payments=[])
    rows = deleted_payment_records(["p-1", "p-2"], invoice, CFG)
    assert rows == [
        {"Xero_Payment_Id__c": "p-1", "Status__c": "Deleted", "Amount__c": D("0.00")},
        {"Xero_Payment_Id__c": "p-2", "Status__c": "Deleted", "Amount__c": D("0.00")},
    ]
    still = inv("AUTHORISED", paid="5", Payments=[{"PaymentID": "p-2", "Amount": D(5)}])
    assert [r["Xero_Payment_Id__c"] for r in deleted_payment_records(["p-1", "p-2"], still, CFG)] == ["p-1"]


def test_rollups_ignore_voided_and_credit_notes() -> None:
    totals = rollups(
        [
            inv("PAID", paid="110.00"),
            inv("AUTHORISED", total="50.00", paid="20.00"),
            inv("VOIDED"),
            {**inv("AUTHORISED"), "Type": "ACCRECCREDIT"},
        ]
    )
    assert totals == {
        "Xero_Invoiced__c": D("160.00"),
        "Xero_Paid__c": D("130.00"),
        "Xero_Outstanding__c": D("30.00"),
    }
