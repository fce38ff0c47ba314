"""Invoices, credit notes, contacts and items through the real client: arithmetic, validation, batches."""

from __future__ import annotations

from datetime import date
from decimal import Decimal as D

import pytest
from xero_python.accounting import (
    Contact,
    Contacts,
    CreditNote,
    CreditNotes,
    CurrencyCode,
    Invoice,
    Invoices,
    Item,
    Items,
    LineAmountTypes,
    LineItem,
    LineItemTracking,
)
from xero_python.exceptions import AccountingBadRequestException

from sfxero_dagster.core.xero_math import Line, invoice_totals

from .conftest import AU, UK, XeroSandbox


def contact_id(accounting, name: str = "Buyer Pty Ltd", tenant: str = AU) -> str:
    r = accounting.create_contacts(tenant, Contacts(contacts=[Contact(name=name)]), summarize_errors=False)
    assert r.contacts[0].status_attribute_string == "OK", r.contacts[0].validation_errors
    return r.contacts[0].contact_id


def invoice(cid: str, lines: list[LineItem], **kw) -> Invoice:
    defaults = {
        "type": "ACCREC",
        "status": "AUTHORISED",
        "date": date(2026, 1, 5),
        "due_date": date(2026, 2, 4),
    }
    return Invoice(contact=Contact(contact_id=cid), line_items=lines, **{**defaults, **kw})


def li(qty: str, price: str, tax: str = "OUTPUT", **kw) -> LineItem:
    return LineItem(
        description=kw.pop("description", "Widget"),
        quantity=D(qty),
        unit_amount=D(price),
        account_code="200",
        tax_type=tax,
        **kw,
    )


def create(accounting, inv: Invoice, tenant: str = AU, unitdp: int | None = 4):
    kwargs = {"summarize_errors": False}
    if unitdp:
        kwargs["unitdp"] = unitdp
    return accounting.create_invoices(tenant, Invoices(invoices=[inv]), **kwargs).invoices[0]


@pytest.mark.parametrize("mode", ["Exclusive", "Inclusive", "NoTax"])
def test_arithmetic_matches_core_xero_math(accounting, mode: str) -> None:
    cid = contact_id(accounting)
    rows = [
        ("3", "59.99", "10", None),
        ("1", "0.1234", None, None),
        ("7", "0.05", None, "0.10"),
        ("2", "541.25", "12.5", None),
    ]
    lines = [
        li(q, p, discount_rate=D(dr) if dr else None, discount_amount=D(da) if da else None)
        for q, p, dr, da in rows
    ]
    got = create(accounting, invoice(cid, lines, line_amount_types=LineAmountTypes(mode)))
    expected = invoice_totals(
        [Line(D(q), D(p), D(10), D(dr) if dr else None, D(da) if da else None) for q, p, dr, da in rows], mode
    )
    assert (got.sub_total, got.total_tax, got.total) == (
        expected.sub_total,
        expected.total_tax,
        expected.total,
    )
    assert [x.line_amount for x in got.line_items] == [r.line_amount for r in expected.lines]
    assert [x.tax_amount for x in got.line_items] == [r.tax_amount for r in expected.lines]
    assert got.amount_due == got.total


def test_unitdp_controls_unit_precision(accounting) -> None:
    cid = contact_id(accounting)
    four = create(accounting, invoice(cid, [li("1000", "0.1234")]), unitdp=4)
    assert four.line_items[0].unit_amount == D("0.1234") and four.sub_total == D("123.40")
    two = create(accounting, invoice(cid, [li("1000", "0.1234")], invoice_number="INV-TWO"), unitdp=None)
    assert two.line_items[0].unit_amount == D("0.12") and two.sub_total == D("120.00")
    again = accounting.get_invoice(AU, four.invoice_id, unitdp=4).invoices[0]
    assert again.line_items[0].unit_amount == D("0.1234")
    assert accounting.get_invoice(AU, four.invoice_id).invoices[0].line_items[0].unit_amount == D("0.12")


def test_quantity_keeps_4_dp_and_discount_rate_2_dp(accounting) -> None:
    """What Xero keeps of a line: 4 dp quantities (cassettes: ``Quantity: 1.0000``) and 2 dp discount rates
    (``DiscountRate: 10.00``), half-up like unit amounts; LineAmount is computed from the kept values."""
    cid = contact_id(accounting)
    got = create(accounting, invoice(cid, [li("1.23456", "10", discount_rate=D("12.345"))]))
    line = got.line_items[0]
    assert (line.quantity, line.discount_rate) == (D("1.2346"), D("12.35"))
    assert line.line_amount == D("10.82") == (D("1.2346") * 10 * (100 - D("12.35")) / 100).quantize(D("0.01"))
    assert got.sub_total == line.line_amount
    tiny = create(accounting, invoice(cid, [li("0.00004", "100")], invoice_number="INV-TINY"))
    assert tiny.line_items[0].quantity == 0 and tiny.total == 0
    stored = accounting.get_invoice(AU, got.invoice_id, unitdp=4).invoices[0].line_items[0]
    assert (stored.quantity, stored.discount_rate) == (D("1.2346"), D("12.35"))


def test_auto_number_item_defaults_and_tracking(accounting) -> None:
    cid = contact_id(accounting)
    got = create(
        accounting,
        invoice(
            cid,
            [
                LineItem(
                    item_code="WID-1",
                    quantity=D(2),
                    tracking=[LineItemTracking(name="Region", option="north")],
                )
            ],
        ),
    )
    assert got.invoice_number == "INV-0001"
    line = got.line_items[0]
    assert (line.unit_amount, line.account_code, line.tax_type, line.description) == (
        D("59.99"),
        "200",
        "OUTPUT",
        "Widget",
    )
    assert line.tracking[0].option == "North" and line.tracking[0].tracking_option_id
    assert got.total == D("131.98")


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"currency_code": CurrencyCode("JPY")}, "Organisation is not subscribed to currency JPY"),
        (
            {
                "lines": [
                    LineItem(
                        description="x",
                        quantity=D(1),
                        unit_amount=D(1),
                        account_code="200",
                        tax_type="OUTPUT9",
                    )
                ]
            },
            "The TaxType code 'OUTPUT9' does not exist or cannot be used for this type of transaction.",
        ),
        (
            {
                "lines": [
                    LineItem(
                        description="x",
                        quantity=D(1),
                        unit_amount=D(1),
                        account_code="999",
                        tax_type="OUTPUT",
                    )
                ]
            },
            "Account code '999' is not a valid code for this document.",
        ),
        ({"lines": [LineItem(item_code="NOPE", quantity=D(1))]}, "Item code 'NOPE' is not valid."),
        (
            {"lines": [li("1", "1", tracking=[LineItemTracking(name="Region", option="Atlantis")])]},
            "The Tracking Option 'Atlantis' does not exist for the Tracking Category 'Region'.",
        ),
        ({"lines": [li("1", "1", discount_rate=D(150))]}, "DiscountRate must be between 0 and 100."),
        ({"lines": []}, "At least one line item is required."),
    ],
)
def test_invoice_validation_errors(accounting, kwargs: dict, message: str) -> None:
    cid = contact_id(accounting)
    lines = kwargs.pop("lines", [li("1", "10")])
    got = create(accounting, invoice(cid, lines, **kwargs))
    assert got.status_attribute_string == "ERROR"
    assert message in [v.message for v in got.validation_errors]
    assert accounting.get_invoices(AU).invoices == []


def test_missing_contact_reference(xero: XeroSandbox) -> None:
    resp = xero.raw(
        "PUT",
        "/Invoices",
        json={
            "Invoices": [
                {"Type": "ACCREC", "LineItems": [{"Description": "x", "Quantity": 1, "UnitAmount": 1}]}
            ]
        },
    )
    assert resp.status_code == 400
    assert resp.json()["Elements"][0]["ValidationErrors"][0]["Message"].startswith(
        "The Contact must contain at least 1 of the following elements to identify the contact"
    )


def test_duplicate_invoice_number_and_summarize_errors_default(accounting) -> None:
    cid = contact_id(accounting)
    good = invoice(cid, [li("1", "10")], invoice_number="SF-1")
    create(accounting, good)
    dup = invoice(cid, [li("1", "10")], invoice_number="SF-1")
    fresh = invoice(cid, [li("1", "10")], invoice_number="SF-2")
    # default summarizeErrors: a 400 that lists only the errors, while the valid element IS created
    with pytest.raises(AccountingBadRequestException) as info:
        accounting.create_invoices(AU, Invoices(invoices=[dup, fresh]))
    assert info.value.status == 400
    assert info.value.reason == "Invoice # must be unique."
    elements = info.value.error_data["Elements"]
    assert len(elements) == 1 and elements[0]["InvoiceNumber"] == "SF-1"
    numbers = sorted(i.invoice_number for i in accounting.get_invoices(AU).invoices)
    assert numbers == ["SF-1", "SF-2"]
    # summarizeErrors=false: 200 with one outcome per element
    third = invoice(cid, [li("1", "10")], invoice_number="SF-3")
    out = accounting.create_invoices(AU, Invoices(invoices=[dup, third]), summarize_errors=False).invoices
    assert [o.status_attribute_string for o in out] == ["ERROR", "OK"]
    assert out[0].validation_errors[0].message == "Invoice # must be unique." and out[0].has_errors
    assert out[1].invoice_id


def test_put_is_create_only_post_updates_and_drops_omitted_lines(accounting) -> None:
    cid = contact_id(accounting)
    got = create(
        accounting, invoice(cid, [li("1", "10"), li("2", "20")], status="DRAFT", invoice_number="SF-9")
    )
    again = accounting.create_invoices(
        AU,
        Invoices(
            invoices=[
                Invoice(
                    invoice_id=got.invoice_id,
                    type="ACCREC",
                    contact=Contact(contact_id=cid),
                    line_items=[li("1", "1")],
                )
            ]
        ),
        summarize_errors=False,
    ).invoices[0]
    assert again.status_attribute_string == "ERROR" and "Use POST" in again.validation_errors[0].message
    keep = got.line_items[1]
    updated = accounting.update_or_create_invoices(
        AU,
        Invoices(
            invoices=[
                Invoice(
                    invoice_id=got.invoice_id,
                    line_items=[LineItem(line_item_id=keep.line_item_id, quantity=D(3)), li("1", "5")],
                )
            ]
        ),
        summarize_errors=False,
        unitdp=4,
    ).invoices[0]
    assert updated.status_attribute_string == "OK"
    ids = [x.line_item_id for x in updated.line_items]
    assert keep.line_item_id in ids and got.line_items[0].line_item_id not in ids  # omitted line deleted
    assert updated.sub_total == D("65.00")  # 3 x 20 + 5
    # POST by InvoiceNumber in the URL updates too
    by_number = accounting.update_invoice(
        AU, "SF-9", Invoices(invoices=[Invoice(reference="PO-77")])
    ).invoices[0]
    assert by_number.invoice_id == got.invoice_id and by_number.reference == "PO-77"


def test_status_transitions(accounting) -> None:
    cid = contact_id(accounting)
    draft = create(accounting, invoice(cid, [li("1", "10")], status="DRAFT"))
    sub = accounting.update_invoice(
        AU, draft.invoice_id, Invoices(invoices=[Invoice(status="SUBMITTED")])
    ).invoices[0]
    assert sub.status == "SUBMITTED"
    auth = accounting.update_invoice(
        AU, draft.invoice_id, Invoices(invoices=[Invoice(status="AUTHORISED")])
    ).invoices[0]
    assert auth.status == "AUTHORISED"
    with pytest.raises(AccountingBadRequestException) as info:
        accounting.update_invoice(AU, draft.invoice_id, Invoices(invoices=[Invoice(status="DELETED")]))
    assert "Cannot change the status of a AUTHORISED document to DELETED" in info.value.reason
    voided = accounting.update_invoice(
        AU, draft.invoice_id, Invoices(invoices=[Invoice(status="VOIDED")])
    ).invoices[0]
    assert voided.status == "VOIDED" and voided.amount_due == D(0)
    other = create(accounting, invoice(cid, [li("1", "10")], status="DRAFT"))
    deleted = accounting.update_invoice(
        AU, other.invoice_id, Invoices(invoices=[Invoice(status="DELETED")])
    ).invoices[0]
    assert deleted.status == "DELETED"
    paid_on_create = create(accounting, invoice(cid, [li("1", "10")], status="PAID"))
    assert paid_on_create.status_attribute_string == "ERROR"


def test_contacts_unique_name_and_number_archive_and_lookup(accounting) -> None:
    first = accounting.create_contacts(
        AU, Contacts(contacts=[Contact(name="Zeta Ltd", contact_number="001A")]), summarize_errors=False
    ).contacts[0]
    out = accounting.create_contacts(
        AU,
        Contacts(contacts=[Contact(name="ZETA LTD"), Contact(name="Other", contact_number="001A")]),
        summarize_errors=False,
    ).contacts
    assert (
        out[0]
        .validation_errors[0]
        .message.startswith("The contact name ZETA LTD is already assigned to another contact.")
    )
    assert (
        out[1]
        .validation_errors[0]
        .message.startswith("The contact number 001A is already assigned to another contact.")
    )
    assert accounting.get_contact_by_contact_number(AU, "001A").contacts[0].contact_id == first.contact_id
    assert accounting.get_contact(AU, first.contact_id).contacts[0].name == "Zeta Ltd"
    archived = accounting.update_contact(
        AU, first.contact_id, Contacts(contacts=[Contact(contact_status="ARCHIVED")])
    ).contacts[0]
    assert archived.contact_status == "ARCHIVED"
    # an archived contact no longer blocks the name, and is hidden from lists unless asked for
    again = accounting.create_contacts(
        AU, Contacts(contacts=[Contact(name="Zeta Ltd")]), summarize_errors=False
    ).contacts[0]
    assert again.status_attribute_string == "OK"
    names = [c.name for c in accounting.get_contacts(AU).contacts]
    assert names.count("Zeta Ltd") == 1
    assert [c.name for c in accounting.get_contacts(AU, include_archived=True).contacts].count(
        "Zeta Ltd"
    ) == 2


def test_field_lengths_on_the_wire(xero: XeroSandbox) -> None:
    # xero-python checks some lengths itself, so send raw JSON as another client could
    resp = xero.raw(
        "PUT",
        "/Contacts",
        params={"summarizeErrors": "false"},
        json={"Contacts": [{"Name": "N" * 256}, {"Name": "ok", "ContactNumber": "C" * 51}]},
    )
    errs = [e["ValidationErrors"][0]["Message"] for e in resp.json()["Contacts"]]
    assert errs == [
        "Name must not be more than 255 characters long.",
        "ContactNumber must not be more than 50 characters long.",
    ]
    resp = xero.raw(
        "PUT", "/Items", params={"summarizeErrors": "false"}, json={"Items": [{"Code": "X" * 31}]}
    )
    assert (
        resp.json()["Items"][0]["ValidationErrors"][0]["Message"]
        == "Item Code must not be more than 30 characters long."
    )


def test_items_put_post(accounting) -> None:
    made = accounting.create_items(
        AU, Items(items=[Item(code="NEW-1", name="New")]), summarize_errors=False
    ).items[0]
    assert made.status_attribute_string == "OK"
    dup = accounting.create_items(
        AU, Items(items=[Item(code="NEW-1", name="Dup")]), summarize_errors=False
    ).items[0]
    assert dup.validation_errors[0].message == "Price List Item with Code ''NEW-1'' already exists"
    upd = accounting.update_or_create_items(
        AU, Items(items=[Item(code="NEW-1", name="Renamed")]), summarize_errors=False
    ).items[0]
    assert upd.item_id == made.item_id and upd.name == "Renamed"
    assert {i.code for i in accounting.get_items(AU).items} == {"WID-1", "NEW-1"}


def test_currency_enabled_per_tenant(accounting) -> None:
    cid = contact_id(accounting, tenant=UK)
    got = create(
        accounting,
        invoice(cid, [li("1", "100", tax="OUTPUT2")], currency_code=CurrencyCode("EUR")),
        tenant=UK,
    )
    assert (
        got.status_attribute_string == "OK"
        and got.total == D("120.00")
        and got.currency_code == CurrencyCode.EUR
    )
    assert {c.code.value for c in accounting.get_currencies(UK).currencies} == {"GBP", "USD", "EUR"}


def test_credit_note_and_allocation(accounting) -> None:
    cid = contact_id(accounting)
    inv = create(accounting, invoice(cid, [li("1", "100")]))
    cn = accounting.create_credit_notes(
        AU,
        CreditNotes(
            credit_notes=[
                CreditNote(
                    type="ACCRECCREDIT",
                    status="AUTHORISED",
                    contact=Contact(contact_id=cid),
                    line_items=[li("1", "40")],
                    date=date(2026, 1, 6),
                )
            ]
        ),
        summarize_errors=False,
    ).credit_notes[0]
    assert cn.credit_note_number == "CN-0001" and cn.remaining_credit == D("44.00")
    from xero_python.accounting import Allocation, Allocations

    alloc = accounting.create_credit_note_allocation(
        AU,
        cn.credit_note_id,
        Allocations(
            allocations=[
                Allocation(
                    invoice=Invoice(invoice_id=inv.invoice_id), amount=D("44.00"), date=date(2026, 1, 7)
                )
            ]
        ),
    )
    assert alloc.allocations[0].amount == D("44.00")
    after = accounting.get_invoice(AU, inv.invoice_id).invoices[0]
    assert (after.amount_credited, after.amount_due, after.status) == (D("44.00"), D("66.00"), "AUTHORISED")
    assert after.credit_notes[0].credit_note_id == cn.credit_note_id
    over = accounting.create_credit_note_allocation(
        AU,
        cn.credit_note_id,
        Allocations(
            allocations=[
                Allocation(
                    invoice=Invoice(invoice_id=inv.invoice_id), amount=D("1.00"), date=date(2026, 1, 7)
                )
            ]
        ),
        summarize_errors=False,
    )
    assert over.allocations[0].validation_errors
    assert accounting.get_credit_note(AU, cn.credit_note_id).credit_notes[0].status == "PAID"
