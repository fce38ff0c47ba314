"""Payments (``/Payments``): paying an authorised invoice into a bank account, and deleting a payment
(the only edit Xero allows), each settling the invoice's ``AmountDue`` and status."""

from __future__ import annotations

import copy
import json
import threading
import uuid
from decimal import Decimal, InvalidOperation

from ...clock import SandboxClock
from ...httpbase import Request, Response
from ...store import RecordStore
from ..errors import NOT_FOUND, bad_request, missing_element, not_found
from ..model import D0, r2, render
from ..render import Renderer, echo, json_elements
from ..wire import parse_date
from .base import Backend
from .documents import DocumentsBackend
from .organisation import OrganisationBackend


class PaymentsBackend(Backend):
    def __init__(
        self,
        store: RecordStore,
        lock: threading.RLock,
        clock: SandboxClock,
        render: Renderer,
        organisation: OrganisationBackend,
        documents: DocumentsBackend,
    ) -> None:
        super().__init__(store, lock, clock, render)
        self.organisation = organisation
        self.documents = documents

    def get_payments(self, req: Request) -> Response:
        return self._paged_list(req, "Payment", "Payments")

    def get_payment(self, req: Request) -> Response:
        p = self.store.get(f"{req.tenant_id}/Payment", req.params["ref"].lower())  # type: ignore[attr-defined]
        if p is None:
            return not_found()
        return self.render.reply("Payments", [render(p)])

    def apply(self, tid: str, el: dict) -> tuple[dict | None, list[str]]:
        """Validate and apply one payment against an invoice (the API path and the user-action path)."""
        errors: list[str] = []
        inv_ref = el.get("Invoice") or {}
        inv = self.documents.find(
            tid, "Invoice", inv_ref.get("InvoiceID") or inv_ref.get("InvoiceNumber") or ""
        )
        if inv is None:
            return None, ["An existing Invoice with the specified InvoiceID could not be found"]
        acct_ref = el.get("Account") or {}
        acct = next(
            (
                a
                for a in self.organisation.org(tid)["accounts"]
                if (acct_ref.get("AccountID") and a["AccountID"] == acct_ref["AccountID"])
                or (acct_ref.get("Code") and a["Code"] == acct_ref["Code"])
            ),
            None,
        )
        if acct is None:
            errors.append("Account could not be found")
        elif acct["Type"] != "BANK" and not acct.get("EnablePaymentsToAccount"):
            errors.append("Payments can only be made to bank accounts or accounts with payments enabled.")
        try:
            amount = r2(Decimal(str(el.get("Amount"))))
        except (InvalidOperation, TypeError):
            return None, [*errors, "Amount must be a number."]
        if amount <= 0:
            errors.append("Payment amount must be greater than zero.")
        if inv["Status"] != "AUTHORISED":
            errors.append("Payments can only be made against Authorised documents")
        elif amount > inv["AmountDue"]:
            errors.append("Payment amount exceeds the amount outstanding on this document")
        try:
            pay_date = parse_date(el.get("Date")) or self.today()
        except ValueError as exc:
            errors.append(str(exc))
            pay_date = self.today()
        if errors:
            return None, errors
        pid = str(uuid.uuid4())
        now = self.now_ms()
        payment = {
            "PaymentID": pid,
            "Date": pay_date,
            "Amount": amount,
            "BankAmount": amount,
            "CurrencyRate": Decimal("1.000000"),
            "Reference": el.get("Reference"),
            "Status": "AUTHORISED",
            "PaymentType": "ACCRECPAYMENT" if inv["Type"] == "ACCREC" else "ACCPAYPAYMENT",
            "IsReconciled": bool(el.get("IsReconciled", False)),
            "HasAccount": True,
            "HasValidationErrors": False,
            "Account": {"AccountID": acct["AccountID"], "Code": acct["Code"], "Name": acct["Name"]},
            "Invoice": {
                "InvoiceID": inv["InvoiceID"],
                "InvoiceNumber": inv.get("InvoiceNumber"),
                "Type": inv["Type"],
                "Contact": inv["Contact"],
                "CurrencyCode": inv["CurrencyCode"],
            },
            "UpdatedDateUTC": now,
        }
        inv["AmountPaid"] = r2(inv.get("AmountPaid", D0) + amount)
        inv["Payments"] = [
            *inv.get("Payments", []),
            {
                "PaymentID": pid,
                "Date": pay_date,
                "Amount": amount,
                "Reference": el.get("Reference"),
                "CurrencyRate": Decimal("1.000000"),
                "HasAccount": True,
                "HasValidationErrors": False,
            },
        ]
        self.documents.settle(inv)
        if inv["Status"] == "PAID":
            inv["FullyPaidOnDate"] = pay_date
        inv["UpdatedDateUTC"] = now
        self.store.put(f"{tid}/Invoice", inv["InvoiceID"], inv)
        self.store.put(f"{tid}/Payment", pid, payment)
        return payment, []

    def delete(self, tid: str, payment_id: str) -> tuple[dict | None, list[str]]:
        p = self.store.get(f"{tid}/Payment", payment_id.lower())
        if p is None:
            return None, [NOT_FOUND]
        if p["Status"] == "DELETED":
            return None, ["This payment has already been deleted."]
        now = self.now_ms()
        p = copy.deepcopy(p)
        p["Status"] = "DELETED"
        p["UpdatedDateUTC"] = now
        inv = self.documents.find(tid, "Invoice", p["Invoice"]["InvoiceID"])
        if inv is not None:
            inv["AmountPaid"] = r2(inv.get("AmountPaid", D0) - p["Amount"])
            inv["Payments"] = [x for x in inv.get("Payments", []) if x["PaymentID"] != p["PaymentID"]]
            self.documents.settle(inv)
            inv["UpdatedDateUTC"] = now
            self.store.put(f"{tid}/Invoice", inv["InvoiceID"], inv)
        self.store.put(f"{tid}/Payment", p["PaymentID"], p)
        return p, []

    def write(self, req: Request) -> Response:
        """PUT or POST /Payments: new payments, or ``Status: DELETED`` for existing ones (alike either way)."""
        tid = req.tenant_id  # type: ignore[attr-defined]
        try:
            elements = json_elements(req, "Payments")
        except (ValueError, json.JSONDecodeError) as exc:
            return bad_request(str(exc))
        results = []
        with self.lock:
            for el in elements:
                if el.get("Status") == "DELETED" and el.get("PaymentID"):
                    p, errors = self.delete(tid, el["PaymentID"])
                    if errors == [NOT_FOUND]:
                        errors = [missing_element("Payment", "PaymentID")]
                else:
                    p, errors = self.apply(tid, el)
                results.append((render(p) if p else render(echo(el)), errors, []))
        return self.render.write_response(req, "Payments", results)

    def delete_request(self, req: Request) -> Response:
        tid = req.tenant_id  # type: ignore[attr-defined]
        body = req.json() or {}
        if str(body.get("Status", "")).upper() != "DELETED":
            return bad_request("Payments can only be deleted (Status DELETED); no other edits are possible")
        with self.lock:
            p, errors = self.delete(tid, req.params["ref"])
        if errors == [NOT_FOUND]:
            return not_found()
        return self.render.write_response(req, "Payments", [(render(p) if p else {}, errors, [])])
