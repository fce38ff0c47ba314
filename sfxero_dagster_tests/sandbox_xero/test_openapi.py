"""Every request the client sent and every response the emulator gave, validated against Xero's public
OpenAPI spec (../shared/reference/xero_accounting.yaml; skipped cleanly when it is absent).

The spec does not pass strict spec validation itself (e.g. ``default: 'false'`` strings on booleans),
so only the traffic is validated, not the document.
"""

from __future__ import annotations

import re
import warnings
from datetime import date
from decimal import Decimal as D
from urllib.parse import urlsplit

import pytest
from xero_python.accounting import (
    Account,
    Allocation,
    Allocations,
    Contact,
    Contacts,
    CreditNote,
    CreditNotes,
    Invoice,
    Invoices,
    Item,
    Items,
    LineItem,
    Payment,
    Payments,
)

from ..conftest import SHARED_REFERENCE
from .conftest import AU

SPEC = SHARED_REFERENCE / "xero_accounting.yaml"
pytestmark = pytest.mark.skipif(not SPEC.exists(), reason="Xero OpenAPI spec not found beside the repo")


@pytest.fixture(scope="session")
def openapi():
    from openapi_core import Config, OpenAPI

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return OpenAPI.from_file_path(str(SPEC), config=Config(spec_validator_cls=None))


# The spec types If-Modified-Since as RFC 3339 date-time; Xero's docs ask for "a UTC timestamp
# (yyyy-mm-ddThh:mm:ss)", and other forms are reported to be ignored silently (field-notes). The docs
# decide what our client sends, so that header is checked against the documented form here and given a
# "Z" before the rest of the request is validated against the spec.
DOCUMENTED_IMS = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}$")

# xero-python serialises these read-only flags on every model even when unset (xero-api.md §1.4);
# Xero ignores them. They are stripped from request bodies before validation, nothing else is.
SDK_READ_ONLY_FLAGS = {"HasAttachments", "HasErrors", "HasValidationErrors", "IsDiscounted", "HasAccount"}


def _strip_sdk_flags(value):
    if isinstance(value, dict):
        return {k: _strip_sdk_flags(v) for k, v in value.items() if k not in SDK_READ_ONLY_FLAGS}
    if isinstance(value, list):
        return [_strip_sdk_flags(v) for v in value]
    return value


def _pairs(openapi, recorded):
    import json

    from openapi_core.testing import MockRequest, MockResponse

    for req, resp in recorded:
        path = urlsplit(req.raw_path).path
        if not path.lower().startswith("/api.xro/2.0"):
            continue
        args = {k: v[0] for k, v in req.query.items()}
        headers = {k: v for k, v in req.headers.items()}
        for name in [k for k in headers if k.lower() == "if-modified-since"]:
            if DOCUMENTED_IMS.match(headers[name]):
                headers[name] += "Z"
        body = json.dumps(_strip_sdk_flags(json.loads(req.body))).encode() if req.body else None
        mreq = MockRequest(
            "https://api.xero.com",
            req.method.lower(),
            path,
            args=args,
            headers=headers,
            data=body,
            content_type="application/json",
        )
        ctype = resp.headers.get("Content-Type", "application/json").split(";")[0]
        mresp = MockResponse(resp.body, status_code=resp.status, headers=resp.headers, content_type=ctype)
        yield req, resp, mreq, mresp


def validate_all(openapi, recorded) -> int:
    checked = 0
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        for _req, resp, mreq, _mresp in _pairs(openapi, recorded):
            openapi.validate_request(mreq)
            if resp.status in (200, 400):
                openapi.validate_response(mreq, _mresp)
            checked += 1
    return checked


@pytest.fixture
def recorded(xero):
    pairs = []
    original = xero.app.dispatch

    def spy(req):
        resp = original(req)
        pairs.append((req, resp))
        return resp

    xero.app.dispatch = spy
    return pairs


def test_traffic_of_a_full_cycle_matches_the_spec(openapi, recorded, accounting) -> None:
    accounting.get_organisations(AU)
    accounting.get_tax_rates(AU)
    accounting.get_currencies(AU)
    accounting.get_tracking_categories(AU)
    accounting.get_accounts(AU)
    accounting.create_items(AU, Items(items=[Item(code="OAS-1", name="Spec item")]), summarize_errors=False)
    accounting.get_items(AU)
    cid = (
        accounting.create_contacts(
            AU,
            Contacts(contacts=[Contact(name="Spec Ltd", contact_number="001SPEC")]),
            summarize_errors=False,
        )
        .contacts[0]
        .contact_id
    )
    accounting.update_or_create_contacts(
        AU, Contacts(contacts=[Contact(contact_id=cid, email_address="a@b.com")])
    )
    accounting.get_contacts(AU, page=1, page_size=100)
    inv = Invoice(
        type="ACCREC",
        contact=Contact(contact_id=cid),
        status="AUTHORISED",
        invoice_number="OAS-INV-1",
        date=date(2026, 1, 5),
        due_date=date(2026, 2, 4),
        line_items=[
            LineItem(
                description="x",
                quantity=D(2),
                unit_amount=D("10.1234"),
                account_code="200",
                tax_type="OUTPUT",
                discount_rate=D(5),
            )
        ],
    )
    created = accounting.create_invoices(
        AU, Invoices(invoices=[inv]), summarize_errors=False, unitdp=4
    ).invoices[0]
    accounting.create_invoices(
        AU, Invoices(invoices=[inv]), summarize_errors=False
    )  # element error, still 200
    accounting.get_invoices(AU, page=1, page_size=50, unitdp=4)
    accounting.get_invoice(AU, created.invoice_id)
    accounting.get_online_invoice(AU, created.invoice_id)
    accounting.create_payments(
        AU,
        Payments(
            payments=[
                Payment(
                    invoice=Invoice(invoice_id=created.invoice_id),
                    account=Account(code="090"),
                    amount=D("5.00"),
                    date=date(2026, 1, 6),
                )
            ]
        ),
        summarize_errors=False,
    )
    cn = accounting.create_credit_notes(
        AU,
        CreditNotes(
            credit_notes=[
                CreditNote(
                    type="ACCRECCREDIT",
                    status="AUTHORISED",
                    contact=Contact(contact_id=cid),
                    date=date(2026, 1, 6),
                    line_items=[
                        LineItem(
                            description="c",
                            quantity=D(1),
                            unit_amount=D(1),
                            account_code="200",
                            tax_type="OUTPUT",
                        )
                    ],
                )
            ]
        ),
        summarize_errors=False,
    ).credit_notes[0]
    accounting.create_credit_note_allocation(
        AU,
        cn.credit_note_id,
        Allocations(
            allocations=[
                Allocation(
                    invoice=Invoice(invoice_id=created.invoice_id), amount=D("1.10"), date=date(2026, 1, 7)
                )
            ]
        ),
    )
    accounting.get_payments(AU)
    accounting.get_credit_notes(AU, page=1)
    accounting.get_overpayments(AU, page=1)
    from xero_python.exceptions import AccountingBadRequestException

    with pytest.raises(AccountingBadRequestException):
        accounting.create_invoices(AU, Invoices(invoices=[inv]))  # summarized 400 ValidationException
    assert validate_all(openapi, recorded) >= 20


def test_the_validator_can_fail(openapi, recorded, accounting) -> None:
    """A negative control: a response that breaks the spec's enum must be rejected."""
    from openapi_core.testing import MockResponse

    accounting.get_contacts(AU)
    _req, resp, mreq, _ = next(iter(_pairs(openapi, recorded)))
    broken = resp.body.replace(b'"ContactStatus":"ACTIVE"', b'"ContactStatus":"SOMETIMES"')
    assert broken != resp.body
    with warnings.catch_warnings(), pytest.raises(Exception, match=r"(?i)invalid|validat"):
        warnings.simplefilter("ignore")
        openapi.validate_response(mreq, MockResponse(broken, status_code=200, headers=resp.headers))


def test_requests_our_client_sends_match_the_spec(openapi, recorded, xero, tmp_path) -> None:
    from sfxero_dagster.clients.xero import XeroClient
    from sfxero_dagster.clients.xero_tokens import FileTokenStore, XeroTokenManager

    tokens = XeroTokenManager(
        FileTokenStore(tmp_path / "t.json"),
        token_url=xero.info["token_url"],
        client_id=xero.info["client_id"],
        client_secret=xero.info["client_secret"],
        scopes=xero.info["scopes"],
        clock=xero.app.clock.timestamp,
    )
    tokens.bootstrap(xero.info["refresh_token"])
    xc = XeroClient(
        base_url=xero.info["base_url"],
        tokens=tokens,
        clock=xero.app.clock.timestamp,
        sleep=xero.app.clock.advance,
    )
    ((_, (contact,)),) = list(
        xc.write(
            AU,
            "Contacts",
            [
                {
                    "Name": "Client Spec Ltd",
                    "ContactNumber": "001CLIENTSPEC",
                    "EmailAddress": "a@b.co",
                    "Phones": [{"PhoneType": "DEFAULT", "PhoneNumber": "02 9999 0000"}],
                    "Addresses": [{"AddressType": "POBOX", "City": "Sydney", "Country": "Australia"}],
                }
            ],
        )
    )
    invoice = {
        "Type": "ACCREC",
        "Contact": {"ContactID": contact.record["ContactID"]},
        "InvoiceNumber": "SF-CLIENT-1",
        "Reference": "006X",
        "Date": "2026-01-05",
        "DueDate": "2026-02-04",
        "Status": "AUTHORISED",
        "LineAmountTypes": "Exclusive",
        "CurrencyCode": "AUD",
        "LineItems": [
            {
                "ItemCode": "WID-1",
                "Description": "W",
                "Quantity": D(3),
                "UnitAmount": D("59.9900"),
                "DiscountRate": D(10),
                "TaxType": "OUTPUT",
                "AccountCode": "200",
                "Tracking": [{"Name": "Region", "Option": "North"}],
            }
        ],
    }
    ((_, (created,)),) = list(xc.write(AU, "Invoices", [invoice]))
    assert created.ok
    list(
        xc.write(
            AU, "Invoices", [{"InvoiceID": created.record["InvoiceID"], "Reference": "changed"}], update=True
        )
    )
    list(
        xc.write(
            AU,
            "Payments",
            [
                {
                    "Invoice": {"InvoiceID": created.record["InvoiceID"]},
                    "Account": {"Code": "090"},
                    "Amount": D("10.00"),
                    "Date": "2026-01-06",
                }
            ],
        )
    )
    xc.invoices_by_number(AU, ["SF-CLIENT-1"])
    xc.contact_by_number(AU, "001CLIENTSPEC")
    from datetime import UTC, datetime

    xc.read_all(AU, "get_invoices", "invoices", modified_since=datetime(2026, 1, 1, tzinfo=UTC))
    sent = [r.headers.get("If-Modified-Since") for r, _ in recorded if r.headers.get("If-Modified-Since")]
    assert sent == ["2026-01-01T00:00:00"]  # exactly the documented form
    xc.reference_data(AU)
    assert validate_all(openapi, recorded) >= 12
