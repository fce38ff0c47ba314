"""Payload mapping: staged rows become Xero JSON with no nulls, the mapped codes and Xero's totals."""

from __future__ import annotations

from decimal import Decimal

from sfxero_dagster.config import load_config
from sfxero_dagster.core.mapping import contact_payload, expected_totals, invoice_payload
from sfxero_dagster.core.transform import stage_customers, stage_invoices, stage_products

from ..conftest import REPO_ROOT
from .test_transform import OPP, ORD1, A, frames

CONFIG = load_config(REPO_ROOT / "sfxero.yaml")


def staged():
    accounts, contacts, products, opps, opp_lines, orders, items = frames()
    customers = stage_customers(accounts, contacts, CONFIG)
    h, ln = stage_invoices(
        customers, stage_products(products, CONFIG), opps, opp_lines, orders, items, CONFIG
    )
    return customers, h, ln


def test_contact_payload_carries_sf_id_and_omits_blanks() -> None:
    customers, _, _ = staged()
    row = customers.set_index("sf_account_id", drop=False).loc[A].to_dict()
    p = contact_payload(row)
    assert p["ContactNumber"] == A and p["Name"] == "Acme Pty Ltd"
    assert p["EmailAddress"] == "ap@acme.com.au" and p["TaxNumber"] == "51824753556"
    assert p["Phones"] == [{"PhoneType": "DEFAULT", "PhoneNumber": "02 2"}]
    assert p["Addresses"] == [{"AddressType": "POBOX", "Country": "Australia"}]
    assert all(v is not None for v in p.values())


def test_invoice_payload_lines_tax_tracking_and_totals() -> None:
    _, h, ln = staged()
    header = h.set_index("sf_id", drop=False).loc[OPP].to_dict()
    lines = ln[ln["sf_header_id"] == OPP].to_dict("records")
    p = invoice_payload(header, lines, CONFIG, {"ContactID": "c-1"})
    assert p["Type"] == "ACCREC" and p["Contact"] == {"ContactID": "c-1"}
    assert p["InvoiceNumber"] == f"SF-{OPP}" and p["Reference"] == OPP
    assert p["Date"] == "2026-01-05" and p["DueDate"] == "2026-02-04"
    assert p["Status"] == "AUTHORISED" and p["LineAmountTypes"] == "Exclusive" and p["CurrencyCode"] == "AUD"
    first, second = p["LineItems"]
    assert first == {
        "ItemCode": "WID-1",
        "Description": "Widget",
        "Quantity": Decimal("3.0"),
        "UnitAmount": Decimal("59.9900"),
        "DiscountRate": Decimal("10.0"),
        "TaxType": "OUTPUT",
        "AccountCode": "200",
        "Tracking": [{"Name": "Region", "Option": "North"}],
    }
    assert (
        second["TaxType"] == "EXEMPTOUTPUT"
        and second["AccountCode"] == "260"
        and "DiscountRate" not in second
    )
    totals = expected_totals(p, {"OUTPUT": Decimal(10), "EXEMPTOUTPUT": Decimal(0)})
    # 3 x 59.99 less 10% = 161.97 (tax 16.20), plus 70.50 untaxed
    assert (totals.sub_total, totals.total_tax, totals.total) == (
        Decimal("232.47"),
        Decimal("16.20"),
        Decimal("248.67"),
    )


def test_credit_note_payload_for_cancelled_order() -> None:
    _, h, ln = staged()
    header = h.set_index("sf_id", drop=False).loc[ORD1].to_dict()
    lines = ln[ln["sf_header_id"] == ORD1].to_dict("records")
    p = invoice_payload(header, lines, CONFIG, {"ContactNumber": header["sf_account_id"]}, credit_note=True)
    assert p["Type"] == "ACCRECCREDIT" and p["CreditNoteNumber"] == "SF-O-00000101-CN"
    assert "InvoiceNumber" not in p and "DueDate" not in p
    assert p["LineItems"][0]["TaxType"] == "OUTPUT2" and p["LineItems"][0]["DiscountRate"] == Decimal("12.5")
    assert p["LineItems"][0]["Tracking"] == [{"Name": "Region", "Option": "South"}]
