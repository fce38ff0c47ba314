"""Reads (If-Modified-Since, where, order, paging), limits, idempotency and the wire format."""

from __future__ import annotations

import json
import re
from datetime import date, datetime, timedelta
from decimal import Decimal as D

import pytest
from xero_python.accounting import Contact, Contacts, Invoice, Invoices, LineItem
from xero_python.exceptions import NotFoundException, RateLimitException

from .conftest import AU, UK, XeroSandbox, fresh_access_token


def seed_contacts(accounting, names: list[str]) -> list[str]:
    out = accounting.create_contacts(
        AU,
        Contacts(contacts=[Contact(name=n, email_address=f"{n[:3].lower()}@x.com") for n in names]),
        summarize_errors=False,
    )
    return [c.contact_id for c in out.contacts]


def test_if_modified_since_to_the_second(xero: XeroSandbox, accounting) -> None:
    seed_contacts(accounting, ["Old One"])
    xero.control.advance(10)
    cut = datetime.fromisoformat(xero.control.clock()["now"])
    seed_contacts(accounting, ["New One"])
    names = {c.name for c in accounting.get_contacts(AU, if_modified_since=cut).contacts}
    assert names == {"New One"}
    later = cut + timedelta(seconds=1)
    assert accounting.get_contacts(AU, if_modified_since=later).contacts == []
    # naive isoformat (as xero-python sends naive datetimes) is read as UTC
    resp = xero.raw("GET", "/Contacts", headers={"If-Modified-Since": cut.replace(tzinfo=None).isoformat()})
    assert {c["Name"] for c in resp.json()["Contacts"]} == {"New One"}


def test_where_order_and_search(accounting) -> None:
    seed_contacts(accounting, ["Alpha Ltd", "Beta Pty", "Gamma LLC"])
    got = accounting.get_contacts(AU, where='Name.StartsWith("b") OR Name=="Gamma LLC"', order="Name DESC")
    assert [c.name for c in got.contacts] == ["Gamma LLC", "Beta Pty"]
    got = accounting.get_contacts(AU, where='EmailAddress!=null AND Name.Contains("ph")')
    assert [c.name for c in got.contacts] == ["Alpha Ltd"]
    assert [c.name for c in accounting.get_contacts(AU, search_term="GAMMA").contacts] == ["Gamma LLC"]


def test_where_with_non_ascii_and_escaped_quotes(accounting) -> None:
    seed_contacts(accounting, ["Ünïcödé GmbH", "株式会社サンプル", 'The "Quoted" Company'])
    for name in ["Ünïcödé GmbH", "株式会社サンプル"]:
        assert [c.name for c in accounting.get_contacts(AU, where=f'Name=="{name}"').contacts] == [name]
    got = accounting.get_contacts(AU, where='Name=="The \\"Quoted\\" Company"')
    assert [c.name for c in got.contacts] == ['The "Quoted" Company']


def test_bad_where_is_a_400_not_ignored(xero: XeroSandbox) -> None:
    resp = xero.raw("GET", "/Contacts", params={"where": 'Name == "x" AND'})
    assert resp.status_code == 400 and resp.json()["Type"] == "ValidationException"


def test_paging_page_size_and_line_items(accounting) -> None:
    (cid,) = seed_contacts(accounting, ["Pager Ltd"])
    invoices = [
        Invoice(
            type="ACCREC",
            contact=Contact(contact_id=cid),
            status="DRAFT",
            date=date(2026, 1, d % 28 + 1),
            line_items=[LineItem(description="x", quantity=D(1), unit_amount=D(d), account_code="200")],
        )
        for d in range(1, 26)
    ]
    accounting.create_invoices(AU, Invoices(invoices=invoices))
    p1 = accounting.get_invoices(AU, page=1, page_size=10)
    p3 = accounting.get_invoices(AU, page=3, page_size=10)
    assert (p1.pagination.page_count, p1.pagination.item_count, len(p1.invoices), len(p3.invoices)) == (
        3,
        25,
        10,
        5,
    )
    assert all(len(i.line_items) == 1 for i in p1.invoices)  # paged lists carry line items
    unpaged = accounting.get_invoices(AU)
    assert len(unpaged.invoices) == 25 and all(not i.line_items for i in unpaged.invoices)
    assert unpaged.pagination is None
    big = accounting.get_invoices(AU, page=1, page_size=5000)
    assert big.pagination.page_size == 1000  # capped
    filtered = accounting.get_invoices(
        AU, where="Date>=DateTime(2026,01,20) AND SubTotal<24", order="Date ASC"
    )
    assert [i.date for i in filtered.invoices] == sorted(i.date for i in filtered.invoices)
    assert {i.date.day for i in filtered.invoices} <= set(range(20, 29)) and filtered.invoices
    by_number = accounting.get_invoices(AU, invoice_numbers=[p1.invoices[0].invoice_number])
    assert len(by_number.invoices) == 1


def test_wire_format(xero: XeroSandbox, accounting) -> None:
    (cid,) = seed_contacts(accounting, ["Wire Ltd"])
    resp = xero.raw("GET", f"/Contacts/{cid}")
    text = resp.text
    assert "null" not in text
    body = json.loads(text)
    assert re.fullmatch(r"/Date\(\d+\+0000\)/", body["Contacts"][0]["UpdatedDateUTC"])
    assert re.fullmatch(r"/Date\(\d+\)/", body["DateTimeUTC"]) and body["Status"] == "OK"
    assert [p["PhoneType"] for p in body["Contacts"][0]["Phones"]] == ["DEFAULT", "DDI", "FAX", "MOBILE"]
    missing = xero.raw("GET", "/Contacts/00000000-0000-0000-0000-000000000000")
    assert missing.status_code == 404 and missing.text == "The resource you're looking for cannot be found"
    assert missing.headers["Content-Type"].startswith("text/plain")
    with pytest.raises(NotFoundException):
        accounting.get_invoice(AU, "00000000-0000-0000-0000-000000000000")
    inv = xero.raw(
        "PUT",
        "/Invoices",
        json={
            "Invoices": [
                {
                    "Type": "ACCREC",
                    "Contact": {"ContactID": cid},
                    "Date": "/Date(1767571200000+0000)/",
                    "LineItems": [
                        {"Description": "x", "Quantity": 1, "UnitAmount": 10.5, "AccountCode": "200"}
                    ],
                }
            ]
        },
    )
    assert '"Total":11.55' in inv.text.replace(" ", "") or '"Total":11.55' in inv.text  # 2 dp money, exact
    assert inv.json()["Invoices"][0]["DateString"] == "2026-01-05T00:00:00"


def test_limit_headers_and_minute_429(xero: XeroSandbox) -> None:
    token = fresh_access_token(xero)
    xero.app.set_limits(AU, minute=5)
    seen = []
    for _ in range(5):
        r = xero.raw("GET", "/Organisation", token=token)
        assert r.status_code == 200
        seen.append(int(r.headers["X-MinLimit-Remaining"]))
        assert int(r.headers["X-DayLimit-Remaining"]) > 0 and "X-AppMinLimit-Remaining" in r.headers
    assert seen == [4, 3, 2, 1, 0]
    blocked = xero.raw("GET", "/Organisation", token=token)
    assert blocked.status_code == 429
    assert (
        blocked.headers["X-Rate-Limit-Problem"] == "minute" and 1 <= int(blocked.headers["Retry-After"]) <= 60
    )
    assert xero.raw("GET", "/Organisation", tenant=UK, token=token).status_code == 200  # per tenant
    xero.control.advance(61)
    assert xero.raw("GET", "/Organisation", token=token).status_code == 200


def test_day_limit_429(xero: XeroSandbox, accounting) -> None:
    xero.app.set_limits(AU, day=3)
    accounting.get_organisations(AU)
    accounting.get_organisations(AU)
    accounting.get_organisations(AU)
    with pytest.raises(RateLimitException) as info:
        accounting.get_organisations(AU)
    assert info.value.rate_limit == "day"
    assert int(info.value.headers["Retry-After"]) > 3600
    xero.control.advance(24 * 3600)
    accounting.api_client.refresh_oauth2_token()  # a day later the access token has expired too
    assert accounting.get_organisations(AU).organisations


def test_idempotency_replays_and_rejects_changed_body(xero: XeroSandbox, accounting) -> None:
    token = fresh_access_token(xero)
    body = {"Contacts": [{"Name": "Idem Ltd"}]}
    first = xero.raw("PUT", "/Contacts", token=token, json=body, headers={"Idempotency-Key": "k-1"})
    second = xero.raw("PUT", "/Contacts", token=token, json=body, headers={"Idempotency-Key": "k-1"})
    assert first.status_code == second.status_code == 200
    assert first.json()["Contacts"][0]["ContactID"] == second.json()["Contacts"][0]["ContactID"]
    assert [c.name for c in accounting.get_contacts(AU).contacts].count("Idem Ltd") == 1
    changed = xero.raw(
        "PUT",
        "/Contacts",
        token=token,
        json={"Contacts": [{"Name": "Other"}]},
        headers={"Idempotency-Key": "k-1"},
    )
    assert changed.status_code == 400
    assert (
        xero.raw(
            "PUT", "/Contacts", token=token, json=body, headers={"Idempotency-Key": "x" * 129}
        ).status_code
        == 400
    )
    xero.control.advance(7 * 60)  # keys live 6 minutes
    expired = xero.raw("PUT", "/Contacts", token=token, json=body, headers={"Idempotency-Key": "k-1"})
    assert (
        expired.status_code == 400 and "already assigned" in expired.text
    )  # processed again: duplicate name


def test_429_is_not_stored_for_idempotency(xero: XeroSandbox) -> None:
    token = fresh_access_token(xero)
    xero.control.add_fault(
        action="status",
        status=429,
        methods=["PUT"],
        path_regex="/Contacts",
        headers={"Retry-After": "1", "X-Rate-Limit-Problem": "minute"},
    )
    body = {"Contacts": [{"Name": "After 429"}]}
    assert (
        xero.raw("PUT", "/Contacts", token=token, json=body, headers={"Idempotency-Key": "k-429"}).status_code
        == 429
    )
    assert (
        xero.raw("PUT", "/Contacts", token=token, json=body, headers={"Idempotency-Key": "k-429"}).status_code
        == 200
    )


def test_drop_after_commit_then_idempotent_retry_creates_once(xero: XeroSandbox, accounting) -> None:
    import requests

    token = fresh_access_token(xero)
    xero.control.add_fault(action="drop_after_commit", methods=["PUT"], path_regex="/Contacts")
    body = {"Contacts": [{"Name": "Dropped Ltd"}]}
    with pytest.raises(requests.ConnectionError):
        xero.raw("PUT", "/Contacts", token=token, json=body, headers={"Idempotency-Key": "k-drop"})
    retry = xero.raw("PUT", "/Contacts", token=token, json=body, headers={"Idempotency-Key": "k-drop"})
    assert retry.status_code == 200
    assert [c.name for c in accounting.get_contacts(AU).contacts].count("Dropped Ltd") == 1


def test_state_persists_across_restart(xero: XeroSandbox, accounting) -> None:
    from .conftest import start

    seed_contacts(accounting, ["Durable Ltd"])
    xero.server.stop()
    app, server = start(xero.state_dir, seed=False)
    try:
        assert any(c["Name"] == "Durable Ltd" for c in app.store.all(f"{AU}/Contact"))
        assert app.tenants()[AU]["name"] == "Acme Pty Ltd"
    finally:
        server.stop()
    xero.server = type(xero.server)(xero.app).start()  # let the fixture stop something


def test_concurrent_limit(xero: XeroSandbox) -> None:
    import threading

    token = fresh_access_token(xero)
    xero.control.add_fault(action="delay", delay_seconds=0.5, path_regex="/Organisation", times=-1)
    xero.app.set_limits(AU, concurrent=2)
    codes: list[int] = []

    def call() -> None:
        codes.append(xero.raw("GET", "/Organisation", token=token).status_code)

    threads = [threading.Thread(target=call) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    # two are admitted and held in flight by the delay; the others are refused as concurrent
    assert sorted(codes) == [200, 200, 429, 429]
