"""A batch costs the emulator the same with 10 or 6,000 documents stored.

The P3 benchmark found each 50-invoice PUT taking longer than the last (0.1 s at first, 1 s after 6,000
invoices): the unique-number check scanned every stored document for every element, and the
Idempotency-Key cache was one blob holding every kept response, rewritten on every request. Real Xero
does not slow down with our own history, so the emulator must not either. Behaviour is unchanged:
numbers are still unique (within a batch too, case-insensitively), replays still replay.
"""

from __future__ import annotations

from xero_python.accounting import Invoices

from .conftest import AU, XeroSandbox
from .test_documents import contact_id, invoice, li


def test_numbers_stay_unique_within_a_batch_and_against_stored_documents(accounting) -> None:
    cid = contact_id(accounting)
    batch = [invoice(cid, [li("1", "10")], invoice_number=n) for n in ("SF-10", "sf-10", "SF-11")]
    out = accounting.create_invoices(AU, Invoices(invoices=batch), summarize_errors=False).invoices
    assert [o.status_attribute_string for o in out] == ["OK", "ERROR", "OK"]
    assert out[1].validation_errors[0].message == "Invoice # must be unique."
    auto = accounting.create_invoices(AU, Invoices(invoices=[invoice(cid, [li("1", "10")])])).invoices[0]
    again = invoice(cid, [li("1", "10")], invoice_number=auto.invoice_number)
    out = accounting.create_invoices(AU, Invoices(invoices=[again]), summarize_errors=False).invoices
    assert out[0].status_attribute_string == "ERROR"  # an auto-assigned number is taken too


def test_one_scan_per_batch_and_one_record_per_idempotency_key(
    xero: XeroSandbox, accounting, monkeypatch
) -> None:
    cid = contact_id(accounting)
    scans: list[str] = []
    real_all = xero.app.store.all
    monkeypatch.setattr(xero.app.store, "all", lambda kind: (scans.append(kind), real_all(kind))[1])
    for b in range(3):
        batch = [invoice(cid, [li("1", "10")], invoice_number=f"B{b}-{i}") for i in range(50)]
        out = accounting.create_invoices(
            AU, Invoices(invoices=batch), summarize_errors=False, idempotency_key=f"batch-{b}"
        ).invoices
        assert all(o.status_attribute_string == "OK" for o in out)
    assert scans.count(f"{AU}/Invoice") == 3  # once per batch, not once per element
    assert xero.app.store.count("_idempotency") == 3 and xero.app.store.get_meta("idempotency") is None
    replay = accounting.create_invoices(
        AU,
        Invoices(invoices=[invoice(cid, [li("1", "10")], invoice_number=f"B2-{i}") for i in range(50)]),
        summarize_errors=False,
        idempotency_key="batch-2",
    ).invoices
    assert [o.invoice_id for o in replay] == [o.invoice_id for o in out]  # replayed, not re-applied
