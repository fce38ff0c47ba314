"""Payments, deletions, over/prepayment allocations and the 'act as a Xero user' control API."""

from __future__ import annotations

from datetime import date
from decimal import Decimal as D

import pytest
import requests
from xero_python.accounting import (
    Account,
    Allocation,
    Allocations,
    Contact,
    Contacts,
    Invoice,
    Invoices,
    LineItem,
    Payment,
    Payments,
)

from .conftest import AU, XeroSandbox, fresh_access_token


def authorised_invoice(
    accounting, total_ex_tax: str = "100.00", status: str = "AUTHORISED", number: str | None = None
):
    cid = (
        accounting.create_contacts(
            AU, Contacts(contacts=[Contact(name=f"Payer {number or status}")]), summarize_errors=False
        )
        .contacts[0]
        .contact_id
    )
    inv = Invoice(
        type="ACCREC",
        contact=Contact(contact_id=cid),
        status=status,
        date=date(2026, 1, 5),
        due_date=date(2026, 2, 4),
        invoice_number=number,
        line_items=[
            LineItem(
                description="x",
                quantity=D(1),
                unit_amount=D(total_ex_tax),
                account_code="200",
                tax_type="OUTPUT",
            )
        ],
    )
    return cid, accounting.create_invoices(AU, Invoices(invoices=[inv]), summarize_errors=False).invoices[0]


def pay(accounting, invoice_id: str, amount: str, **kw):
    return accounting.create_payments(
        AU,
        Payments(
            payments=[
                Payment(
                    invoice=Invoice(invoice_id=invoice_id),
                    account=Account(code="090"),
                    amount=D(amount),
                    date=date(2026, 1, 10),
                )
            ]
        ),
        summarize_errors=False,
        **kw,
    ).payments[0]


def test_full_payment_makes_paid_and_deleting_it_reverts(accounting) -> None:
    _, inv = authorised_invoice(accounting)
    assert inv.total == D("110.00")
    partial = pay(accounting, inv.invoice_id, "10.00")
    assert partial.status_attribute_string == "OK"
    mid = accounting.get_invoice(AU, inv.invoice_id).invoices[0]
    assert (mid.status, mid.amount_paid, mid.amount_due) == ("AUTHORISED", D("10.00"), D("100.00"))
    rest = pay(accounting, inv.invoice_id, "100.00")
    paid = accounting.get_invoice(AU, inv.invoice_id).invoices[0]
    assert (paid.status, paid.amount_due, paid.fully_paid_on_date) == ("PAID", D("0.00"), date(2026, 1, 10))
    assert {p.payment_id for p in paid.payments} == {partial.payment_id, rest.payment_id}
    deleted = accounting.delete_payment(AU, rest.payment_id, {"Status": "DELETED"}).payments[0]
    assert deleted.status == "DELETED"
    back = accounting.get_invoice(AU, inv.invoice_id).invoices[0]
    assert (back.status, back.amount_paid, back.amount_due, back.fully_paid_on_date) == (
        "AUTHORISED",
        D("10.00"),
        D("100.00"),
        None,
    )
    assert [p.payment_id for p in back.payments] == [partial.payment_id]
    statuses = {p.payment_id: p.status for p in accounting.get_payments(AU).payments}
    assert statuses == {partial.payment_id: "AUTHORISED", rest.payment_id: "DELETED"}


def test_payment_rules(accounting) -> None:
    _, inv = authorised_invoice(accounting)
    over = pay(accounting, inv.invoice_id, "110.01")
    assert (
        over.validation_errors[0].message == "Payment amount exceeds the amount outstanding on this document"
    )
    _, draft = authorised_invoice(accounting, status="DRAFT", number="D-1")
    on_draft = pay(accounting, draft.invoice_id, "1.00")
    assert on_draft.validation_errors[0].message == "Payments can only be made against Authorised documents"
    bad_account = accounting.create_payments(
        AU,
        Payments(
            payments=[
                Payment(
                    invoice=Invoice(invoice_id=inv.invoice_id),
                    account=Account(code="200"),
                    amount=D(1),
                    date=date(2026, 1, 10),
                )
            ]
        ),
        summarize_errors=False,
    ).payments[0]
    assert bad_account.status_attribute_string == "ERROR"
    # a voided invoice takes no payment; a paid one cannot be voided
    _, inv2 = authorised_invoice(accounting, number="V-1")
    pay(accounting, inv2.invoice_id, "1.00")
    with pytest.raises(Exception) as info:
        accounting.update_invoice(AU, inv2.invoice_id, Invoices(invoices=[Invoice(status="VOIDED")]))
    assert "payment or credit note allocated" in str(getattr(info.value, "reason", info.value))


def test_single_payment_post(accounting) -> None:
    _, inv = authorised_invoice(accounting, number="S-1")
    single = accounting.create_payment(
        AU,
        Payment(
            invoice=Invoice(invoice_id=inv.invoice_id),
            account=Account(code="090"),
            amount=D("110.00"),
            date=date(2026, 1, 11),
        ),
    )
    assert single.payments[0].status == "AUTHORISED"
    assert accounting.get_invoice(AU, inv.invoice_id).invoices[0].status == "PAID"


def test_user_actions_through_the_control_api(xero: XeroSandbox, accounting) -> None:
    cid, inv = authorised_invoice(accounting, number="U-1")
    pay1 = xero.control.call("POST", "act/pay", json={"tenant_id": AU, "invoice": "U-1", "amount": "30.00"})
    assert pay1["Amount"] == 30.0
    credit = xero.control.call(
        "POST",
        "act/credit",
        json={
            "tenant_id": AU,
            "invoice": inv.invoice_id,
            "amount": "20.00",
            "credit_note": {
                "Contact": {"ContactID": cid},
                "LineItems": [
                    {
                        "Description": "goodwill",
                        "Quantity": 1,
                        "UnitAmount": "20.00",
                        "AccountCode": "200",
                        "TaxType": "EXEMPTOUTPUT",
                    }
                ],
            },
        },
    )
    assert credit["Amount"] == 20.0
    now = accounting.get_invoice(AU, inv.invoice_id).invoices[0]
    assert (now.amount_paid, now.amount_credited, now.amount_due, now.status) == (
        D("30.00"),
        D("20.00"),
        D("60.00"),
        "AUTHORISED",
    )
    xero.control.call("POST", "act/delete_payment", json={"tenant_id": AU, "payment_id": pay1["PaymentID"]})
    assert accounting.get_invoice(AU, inv.invoice_id).invoices[0].amount_due == D("90.00")
    _, inv2 = authorised_invoice(accounting, number="U-2")
    voided = xero.control.call("POST", "act/void", json={"tenant_id": AU, "invoice": inv2.invoice_id})
    assert voided["Status"] == "VOIDED"
    edited = xero.control.call(
        "POST",
        "act/edit",
        json={"tenant_id": AU, "invoice": "U-1", "changes": {"Reference": "edited in Xero"}},
    )
    assert edited["Reference"] == "edited in Xero"
    renamed = xero.control.call(
        "POST", "act/rename_contact", json={"tenant_id": AU, "contact_id": cid, "name": "Renamed Pty Ltd"}
    )
    assert renamed["Name"] == "Renamed Pty Ltd"
    xero.control.call("POST", "act/archive_contact", json={"tenant_id": AU, "contact_id": cid})
    assert accounting.get_contact(AU, cid).contacts[0].contact_status == "ARCHIVED"
    with pytest.raises(RuntimeError, match="exceeds the amount outstanding"):
        xero.control.call("POST", "act/pay", json={"tenant_id": AU, "invoice": "U-1", "amount": "1000"})
    direct = xero.control.call(
        "POST",
        "act/create_invoice",
        json={
            "tenant_id": AU,
            "invoice": {
                "Type": "ACCREC",
                "Contact": {"Name": "Walk-in Customer"},
                "Status": "AUTHORISED",
                "LineItems": [
                    {"Description": "counter sale", "Quantity": 1, "UnitAmount": "5.00", "AccountCode": "200"}
                ],
            },
        },
    )
    assert direct["InvoiceNumber"].startswith("INV-") and direct["Contact"]["Name"] == "Walk-in Customer"


def test_overpayment_and_prepayment_allocations(xero: XeroSandbox, accounting) -> None:
    cid, inv = authorised_invoice(accounting, number="O-1")
    over = xero.control.call(
        "POST", "act/overpayment", json={"tenant_id": AU, "contact_id": cid, "amount": "50.00"}
    )
    pre = xero.control.call(
        "POST", "act/prepayment", json={"tenant_id": AU, "contact_id": cid, "amount": "25.00"}
    )
    got = accounting.get_overpayments(AU, page=1).overpayments
    assert [o.overpayment_id for o in got] == [over["OverpaymentID"]] and got[0].remaining_credit == D(
        "50.00"
    )
    accounting.create_overpayment_allocations(
        AU,
        over["OverpaymentID"],
        Allocations(
            allocations=[
                Allocation(
                    invoice=Invoice(invoice_id=inv.invoice_id), amount=D("50.00"), date=date(2026, 1, 12)
                )
            ]
        ),
    )
    accounting.create_prepayment_allocations(
        AU,
        pre["PrepaymentID"],
        Allocations(
            allocations=[
                Allocation(
                    invoice=Invoice(invoice_id=inv.invoice_id), amount=D("25.00"), date=date(2026, 1, 12)
                )
            ]
        ),
    )
    after = accounting.get_invoice(AU, inv.invoice_id).invoices[0]
    assert (after.amount_credited, after.amount_due) == (D("75.00"), D("35.00"))
    assert after.overpayments[0].overpayment_id == over["OverpaymentID"]
    assert accounting.get_prepayments(AU, page=1).prepayments[0].remaining_credit == D("0.00")


def test_guid_filter_and_app_minute_limit(xero: XeroSandbox, accounting) -> None:
    cid, _ = authorised_invoice(accounting, number="G-1")
    got = accounting.get_invoices(AU, where=f'Contact.ContactID==guid("{cid.upper()}") AND Status!="DRAFT"')
    assert [i.invoice_number for i in got.invoices] == ["G-1"]
    token = fresh_access_token(xero)
    xero.app.settings.app_minute_limit = 2
    xero.raw("GET", "/Organisation", token=token)
    xero.raw("GET", "/Organisation", token=token, tenant="3b7a7c60-0000-4000-8000-0000000000b2")
    blocked = xero.raw("GET", "/Organisation", token=token)
    assert blocked.status_code == 429 and blocked.headers["X-Rate-Limit-Problem"] == "appminute"


def test_reset_and_seed_endpoints(xero: XeroSandbox) -> None:
    xero.control.call("POST", "reset")
    assert xero.control.call("GET", "state")["tenants"] == {}
    out = xero.control.call(
        "POST",
        "seed",
        json={"tenants": [{"key": "nz", "name": "Kiwi Ltd", "region": "NZ", "base_currency": "NZD"}]},
    )
    (tid,) = out["tenants"].values()
    assert out["info"]["tenants"][0]["tenantName"] == "Kiwi Ltd"
    rt = out["info"]["refresh_token"]
    tok = requests.post(
        xero.info["token_url"],
        data={
            "grant_type": "refresh_token",
            "refresh_token": rt,
            "client_id": xero.info["client_id"],
            "client_secret": xero.info["client_secret"],
        },
        timeout=10,
    ).json()["access_token"]
    rates = xero.raw("GET", "/TaxRates", tenant=tid, token=tok).json()["TaxRates"]
    assert {r["TaxType"] for r in rates} >= {"OUTPUT2", "INPUT2", "ZERORATED"}
    assert xero.control.call("GET", "state")["counts"][tid]["Contact"] == 0


def test_deleting_an_unknown_payment_in_a_batch_says_so_in_xeros_words(accounting) -> None:
    unknown = "0b5a0f7e-0000-4000-8000-000000000000"
    out = accounting.create_payments(
        AU, Payments(payments=[Payment(payment_id=unknown, status="DELETED")]), summarize_errors=False
    )
    (element,) = out.payments
    assert [e.message for e in element.validation_errors] == [
        "An existing Payment with the specified PaymentID could not be found"
    ]
