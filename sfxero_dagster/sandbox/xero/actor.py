"""What a Xero user does in the Xero UI (pay, void, credit, rename a contact...), for tests and the demo.

Every action goes through the same backend rules as the API (a payment the UI makes is validated like
one the API makes), so the emulator has one set of rules. Reached in-process through
:meth:`XeroActor.act` or over HTTP at ``POST /_sandbox/act/<action>``. A new action is one method here
returning ``(record, errors)`` and one entry in :attr:`XeroActor.actions`.
"""

from __future__ import annotations

import copy
import threading
from collections.abc import Callable
from typing import Any

from ..httpbase import Request, Response
from .backend import XeroBackends
from .model import render

Outcome = tuple[dict | None, list[str]]


class XeroActor:
    def __init__(self, backends: XeroBackends, lock: threading.RLock) -> None:
        self.b = backends
        self.lock = lock
        self.actions: dict[str, Callable[..., Outcome]] = {
            "pay": self.pay,
            "delete_payment": self.delete_payment,
            "void": self.edit_invoice,
            "delete": self.edit_invoice,
            "edit": self.edit_invoice,
            "create_invoice": self.create_invoice,
            "credit": self.credit,
            "overpayment": self.prepaid,
            "prepayment": self.prepaid,
            "rename_contact": self.change_contact,
            "archive_contact": self.change_contact,
        }

    def act(self, action: str, **kw: Any) -> dict:
        """Do what a Xero user would do in the Xero UI; every change goes through the API's own logic."""
        tid = kw["tenant_id"]
        with self.lock:
            do = self.actions.get(action)
            if do is None:
                raise ValueError(f"unknown action {action!r}")
            out, errors = do(tid, action, **kw)
        if errors:
            raise ValueError("; ".join(errors))
        return render(out) if out else {}

    def handle(self, req: Request) -> Response:
        """``POST /_sandbox/act/<action>`` with the action's arguments as the JSON body."""
        try:
            return Response.json(self.act(req.params["action"], **(req.json() or {})))
        except (KeyError, ValueError) as exc:
            return Response.json({"error": str(exc)}, 400)

    # ------------------------------------------------------------------------------------ invoices
    def _invoice(self, tid: str, ref: str) -> dict:
        inv = self.b.documents.find(tid, "Invoice", ref)
        if inv is None:
            raise ValueError(f"unknown invoice {ref}")
        return inv

    def pay(self, tid: str, action: str, **kw: Any) -> Outcome:
        inv = self._invoice(tid, kw["invoice"])
        el = {
            "Invoice": {"InvoiceID": inv["InvoiceID"]},
            "Account": {"Code": kw.get("account", "090")},
            "Amount": kw.get("amount", inv["AmountDue"]),
            "Date": kw.get("date"),
            "Reference": kw.get("reference"),
        }
        return self.b.payments.apply(tid, el)

    def delete_payment(self, tid: str, action: str, **kw: Any) -> Outcome:
        return self.b.payments.delete(tid, kw["payment_id"])

    def edit_invoice(self, tid: str, action: str, **kw: Any) -> Outcome:
        """``void``, ``delete`` and ``edit`` (with ``changes``) of an invoice."""
        inv = self._invoice(tid, kw["invoice"])
        changes = {"VOID": {"Status": "VOIDED"}, "DELETE": {"Status": "DELETED"}}.get(
            action.upper(), kw.get("changes", {})
        )
        return self.b.documents.update(tid, "Invoice", inv, changes, 4)

    def create_invoice(self, tid: str, action: str, **kw: Any) -> Outcome:
        return self.b.documents.upsert(tid, "Invoice", kw["invoice"], create_only=True, ref=None, unitdp=4)

    # ------------------------------------------------------------------------------------ credit
    def credit(self, tid: str, action: str, **kw: Any) -> Outcome:
        """Allocate a credit note (an existing one, or a new authorised one) to an invoice."""
        cn = kw.get("credit_note_id")
        if not cn:
            created, errors = self.b.documents.upsert(
                tid,
                "CreditNote",
                {**kw["credit_note"], "Type": "ACCRECCREDIT", "Status": "AUTHORISED"},
                create_only=True,
                ref=None,
                unitdp=4,
            )
            if errors:
                raise ValueError("; ".join(errors))
            cn = created["CreditNoteID"]
        out, errors = self.b.allocations.allocate(
            tid,
            "CreditNote",
            cn,
            {"Invoice": {"InvoiceID": kw["invoice"]}, "Amount": kw["amount"], "Date": kw.get("date")},
        )
        if out:
            out["CreditNoteID"] = cn
        return out, errors

    def prepaid(self, tid: str, action: str, **kw: Any) -> Outcome:
        """An overpayment or prepayment, as a bank transaction in Xero would create it."""
        rec = self.b.allocations.create_prepaid(
            tid, action.title(), kw["contact_id"], kw["amount"], kw.get("currency")
        )
        return rec, []

    # ------------------------------------------------------------------------------------ contacts
    def change_contact(self, tid: str, action: str, **kw: Any) -> Outcome:
        """``rename_contact`` (with ``name``) and ``archive_contact``."""
        c = self.b.contacts.find(tid, kw["contact_id"])
        if c is None:
            raise ValueError(f"unknown contact {kw['contact_id']}")
        rec = copy.deepcopy(c)
        if action == "rename_contact":
            rec["Name"] = kw["name"]
        else:
            rec["ContactStatus"] = "ARCHIVED"
        errors = self.b.contacts.errors_for(tid, rec, rec["ContactID"])
        if not errors:
            rec["UpdatedDateUTC"] = self.b.contacts.now_ms()
            self.b.contacts.store.put(f"{tid}/Contact", rec["ContactID"], rec)
        return rec, errors
