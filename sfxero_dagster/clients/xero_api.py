"""The Xero operations the sync uses, one typed method each, over :class:`XeroClient`.

Callers say what they want (``invoices(tenant, modified_since=...)``, ``allocate_credit_note(...)``)
instead of naming xero-python's methods and response attributes. Every call still goes through the
client's ``call``: the same pacing (governor), retries, call counting and idempotency keys.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator, Sequence
from datetime import datetime
from decimal import Decimal
from typing import Any

from sfxero_dagster.clients import xero_collections as xc
from sfxero_dagster.clients.xero import BATCH_SIZE, CallCounter, ElementOutcome, XeroClient
from sfxero_dagster.core.hashing import idempotency_key

Record = dict[str, Any]


class XeroApi:
    def __init__(self, client: XeroClient) -> None:
        self.client = client

    @property
    def calls(self) -> CallCounter:
        """The client's per-tenant call counts (reads and writes), which the assets report."""
        return self.client.calls

    def _list(self, tenant_id: str, c: xc.XeroCollection, **kwargs: Any) -> list[Record]:
        return self.client.read_all(tenant_id, str(c.list_method), c.attr, **kwargs)

    # ----- reads -------------------------------------------------------------------------------
    def reference_data(self, tenant_id: str) -> dict[str, list[Record]]:
        """Organisation, tax rates, currencies, tracking categories, accounts and items (one call each)."""
        return self.client.reference_data(tenant_id)

    def contacts(self, tenant_id: str, *, modified_since: datetime | None = None) -> list[Record]:
        """Every contact (paged), or those changed since ``modified_since``."""
        return self._list(tenant_id, xc.CONTACTS, modified_since=modified_since)

    def contact_by_number(self, tenant_id: str, contact_number: str) -> Record | None:
        return self.client.contact_by_number(tenant_id, contact_number)

    def items(self, tenant_id: str) -> list[Record]:
        """Every item (one call: the Items endpoint is not paged)."""
        return self._list(tenant_id, xc.ITEMS, paged=False)

    def invoices(
        self, tenant_id: str, *, modified_since: datetime | None = None, first_page_only: bool = False
    ) -> list[Record]:
        """Every invoice (paged), or those changed since ``modified_since``; ``first_page_only`` is the
        sensor's cheap look."""
        return self._list(tenant_id, xc.INVOICES, modified_since=modified_since, paged=not first_page_only)

    def invoices_by_id(self, tenant_id: str, invoice_ids: Sequence[str]) -> dict[str, Record]:
        """Invoices by InvoiceID, 50 ids per call."""
        found: dict[str, Record] = {}
        for start in range(0, len(invoice_ids), BATCH_SIZE):
            chunk = list(invoice_ids[start : start + BATCH_SIZE])
            for inv in self._list(tenant_id, xc.INVOICES, i_ds=chunk, paged=False):
                found[str(inv["InvoiceID"])] = inv
        return found

    def invoices_by_number(self, tenant_id: str, numbers: Iterable[str]) -> dict[str, Record]:
        """Invoices by InvoiceNumber (unique for ACCREC), 50 numbers per call."""
        return self.client.invoices_by_number(tenant_id, numbers)

    def credit_notes_by_number(self, tenant_id: str, numbers: Iterable[str]) -> dict[str, Record]:
        """Credit notes by CreditNoteNumber, one filtered call per number."""
        found: dict[str, Record] = {}
        for number in numbers:
            where = f'CreditNoteNumber=="{number}"'
            for cn in self._list(tenant_id, xc.CREDIT_NOTES, where=where, paged=False):
                found[cn["CreditNoteNumber"]] = cn
        return found

    def credit_note(self, tenant_id: str, credit_note_id: str) -> Record | None:
        return self.client.get_one(tenant_id, "get_credit_note", xc.CREDIT_NOTES.attr, credit_note_id)

    def online_invoice_url(self, tenant_id: str, invoice_id: str) -> str | None:
        """The invoice's online URL (None when Xero lists none). A DRAFT invoice has none: Xero refuses
        with ``XeroRequestError``."""
        data, _ = self.client.call(tenant_id, "read", "get_online_invoice", invoice_id)
        found = [o.online_invoice_url for o in (data.online_invoices or []) if o.online_invoice_url]
        return found[0] if found else None

    # ----- writes ------------------------------------------------------------------------------
    def write(
        self,
        tenant_id: str,
        collection: str | xc.XeroCollection,
        elements: Sequence[Record],
        *,
        update: bool = False,
        before_batch: Callable[[int, int], None] | None = None,
        in_flight: int = 1,
    ) -> Iterator[tuple[str, list[ElementOutcome]]]:
        """Batches of ≤50 with an Idempotency-Key each (see :meth:`XeroClient.write`)."""
        return self.client.write(
            tenant_id, collection, elements, update=update, before_batch=before_batch, in_flight=in_flight
        )

    def allocate_credit_note(
        self, tenant_id: str, credit_note_id: str, invoice_id: str, amount: Decimal, date: str
    ) -> None:
        """Allocate ``amount`` of a credit note to an invoice, under a key that makes a retry a replay."""
        allocation = self.client.to_model(
            xc.ALLOCATIONS, [{"Invoice": {"InvoiceID": invoice_id}, "Amount": amount, "Date": date}]
        )
        self.client.call(
            tenant_id,
            "write",
            str(xc.ALLOCATIONS.create_method),
            credit_note_id,
            allocation,
            idempotency_key=idempotency_key(tenant_id, "alloc", credit_note_id, invoice_id, amount),
        )


__all__ = ["XeroApi"]
