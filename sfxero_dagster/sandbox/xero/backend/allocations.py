"""Allocations of credit (``/{CreditNotes,Overpayments,Prepayments}/{id}/Allocations``), and the
overpayments and prepayments they draw on (``/Overpayments``, ``/Prepayments``).

An allocation moves credit onto an authorised invoice of the same currency: the credit's
``RemainingCredit`` and the invoice's ``AmountDue`` fall by the amount, and either may become PAID.
"""

from __future__ import annotations

import json
import threading
import uuid
from decimal import Decimal, InvalidOperation

from ...clock import SandboxClock
from ...httpbase import Request, Response
from ...store import RecordStore
from ..errors import bad_request
from ..model import D0, r2, render
from ..render import Renderer, echo, json_elements
from ..wire import parse_date
from .base import Backend
from .contacts import ContactsBackend
from .documents import DocumentsBackend
from .organisation import OrganisationBackend


class AllocationsBackend(Backend):
    def __init__(
        self,
        store: RecordStore,
        lock: threading.RLock,
        clock: SandboxClock,
        render: Renderer,
        organisation: OrganisationBackend,
        contacts: ContactsBackend,
        documents: DocumentsBackend,
    ) -> None:
        super().__init__(store, lock, clock, render)
        self.organisation = organisation
        self.contacts = contacts
        self.documents = documents

    def allocate(self, tid: str, kind: str, doc_id: str, el: dict) -> tuple[dict | None, list[str]]:
        key = f"{tid}/{kind}"
        doc = (
            self.documents.find(tid, kind, doc_id)
            if kind == "CreditNote"
            else self.store.get(key, doc_id.lower())
        )
        if doc is None:
            return None, [f"An existing {kind} with the specified {kind}ID could not be found"]
        inv_ref = el.get("Invoice") or {}
        inv = self.documents.find(
            tid, "Invoice", inv_ref.get("InvoiceID") or inv_ref.get("InvoiceNumber") or ""
        )
        errors = []
        if inv is None:
            return None, ["An existing Invoice with the specified InvoiceID could not be found"]
        try:
            amount = r2(Decimal(str(el.get("Amount"))))
        except (InvalidOperation, TypeError):
            return None, ["Amount must be a number."]
        if doc.get("Status") not in ("AUTHORISED",):
            errors.append(f"The {kind} must be authorised before it can be allocated.")
        if inv["Status"] != "AUTHORISED":
            errors.append("Allocations can only be made against Authorised invoices")
        if amount <= 0:
            errors.append("Allocation amount must be greater than zero.")
        if amount > doc.get("RemainingCredit", D0):
            errors.append(f"The amount allocated exceeds the remaining credit on this {kind}.")
        if amount > inv["AmountDue"]:
            errors.append("The amount allocated exceeds the amount outstanding on the invoice.")
        if doc.get("CurrencyCode") != inv.get("CurrencyCode"):
            errors.append("The allocation must be in the currency of both documents.")
        if errors:
            return None, errors
        try:
            alloc_date = parse_date(el.get("Date")) or self.today()
        except ValueError as exc:
            return None, [str(exc)]
        now = self.now_ms()
        alloc_id = str(uuid.uuid4())
        doc.setdefault("Allocations", []).append(
            {
                "AllocationID": alloc_id,
                "Amount": amount,
                "Date": alloc_date,
                "Invoice": {"InvoiceID": inv["InvoiceID"], "InvoiceNumber": inv.get("InvoiceNumber")},
            }
        )
        doc["RemainingCredit"] = r2(doc["RemainingCredit"] - amount)
        if doc["RemainingCredit"] <= 0:
            doc["Status"] = "PAID"
        doc["UpdatedDateUTC"] = now
        inv["AmountCredited"] = r2(inv.get("AmountCredited", D0) + amount)
        id_field = {
            "CreditNote": "CreditNoteID",
            "Overpayment": "OverpaymentID",
            "Prepayment": "PrepaymentID",
        }[kind]
        summary = {
            id_field: doc[id_field],
            "AppliedAmount": amount,
            "Date": alloc_date,
            "Total": doc.get("Total"),
        }
        if kind == "CreditNote":
            summary["CreditNoteNumber"] = doc.get("CreditNoteNumber")
        list_key = {"CreditNote": "CreditNotes", "Overpayment": "Overpayments", "Prepayment": "Prepayments"}[
            kind
        ]
        inv[list_key] = [*inv.get(list_key, []), summary]
        self.documents.settle(inv)
        if inv["Status"] == "PAID":
            inv["FullyPaidOnDate"] = alloc_date
        inv["UpdatedDateUTC"] = now
        self.store.put(f"{tid}/Invoice", inv["InvoiceID"], inv)
        self.store.put(key, doc[id_field], doc)
        out = {
            "AllocationID": alloc_id,
            "Amount": amount,
            "Date": alloc_date,
            "Invoice": {
                "InvoiceID": inv["InvoiceID"],
                "InvoiceNumber": inv.get("InvoiceNumber"),
                "LineItems": [],
            },
            kind: {id_field: doc[id_field], "LineItems": []},
        }
        return out, []

    def write(self, req: Request, kind: str) -> Response:
        tid = req.tenant_id  # type: ignore[attr-defined]
        try:
            elements = json_elements(req, "Allocations")
        except (ValueError, json.JSONDecodeError) as exc:
            return bad_request(str(exc))
        results = []
        with self.lock:
            for el in elements:
                out, errors = self.allocate(tid, kind, req.params["ref"], el)
                results.append((render(out) if out else render(echo(el)), errors, []))
        return self.render.write_response(req, "Allocations", results)

    def create_prepaid(
        self, tid: str, kind: str, contact_id: str, amount: Decimal, currency: str | None = None
    ) -> dict:
        """An overpayment or prepayment, as a bank transaction in Xero would create it (user action)."""
        contact = self.contacts.find(tid, contact_id)
        if contact is None:
            raise ValueError(f"unknown contact {contact_id}")
        id_field = "OverpaymentID" if kind == "Overpayment" else "PrepaymentID"
        amount = r2(Decimal(str(amount)))
        rec = {
            id_field: str(uuid.uuid4()),
            "Type": "RECEIVE-OVERPAYMENT" if kind == "Overpayment" else "RECEIVE-PREPAYMENT",
            "Contact": {"ContactID": contact["ContactID"], "Name": contact["Name"]},
            "Date": self.today(),
            "Status": "AUTHORISED",
            "LineAmountTypes": "NoTax",
            "SubTotal": amount,
            "TotalTax": D0,
            "Total": amount,
            "RemainingCredit": amount,
            "CurrencyCode": currency or self.organisation.tenants()[tid]["base"],
            "CurrencyRate": Decimal("1.000000"),
            "Allocations": [],
            "Payments": [],
            "HasAttachments": False,
            "UpdatedDateUTC": self.now_ms(),
        }
        with self.lock:
            self.store.put(f"{tid}/{kind}", rec[id_field], rec)
        return rec

    def get_overpayments(self, req: Request) -> Response:
        return self._paged_list(req, "Overpayment", "Overpayments")

    def get_prepayments(self, req: Request) -> Response:
        return self._paged_list(req, "Prepayment", "Prepayments")
