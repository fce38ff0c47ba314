"""Invoices and credit notes (``/Invoices``, ``/CreditNotes``): validation, line arithmetic, numbering,
status transitions, and what is still due (``AmountDue``, ``RemainingCredit``).

Both are documents with lines, so one backend holds both (``kind`` is ``Invoice`` or ``CreditNote``).
"""

from __future__ import annotations

import copy
import json
import threading
import uuid
from collections.abc import Callable
from decimal import Decimal
from typing import Any

from ...clock import SandboxClock
from ...httpbase import Request, Response
from ...store import RecordStore
from ..errors import NOT_FOUND, bad_request, not_found, validation_error
from ..model import D0, compute_lines, r2, render
from ..render import Renderer, echo, id_set, json_elements, unitdp_of
from ..wire import parse_date
from .base import Backend
from .contacts import ContactsBackend
from .items import ItemsBackend
from .lines import LineRules
from .organisation import OrganisationBackend

TRANSITIONS = {
    "DRAFT": {"DRAFT", "SUBMITTED", "AUTHORISED", "DELETED"},
    "SUBMITTED": {"SUBMITTED", "AUTHORISED", "DRAFT", "DELETED"},
    "AUTHORISED": {"AUTHORISED", "VOIDED"},
    "PAID": {"PAID"},
    "VOIDED": {"VOIDED"},
    "DELETED": {"DELETED"},
}


class DocumentsBackend(Backend):
    def __init__(
        self,
        store: RecordStore,
        lock: threading.RLock,
        clock: SandboxClock,
        render: Renderer,
        organisation: OrganisationBackend,
        contacts: ContactsBackend,
        items: ItemsBackend,
        base_url: Callable[[], str],
    ) -> None:
        super().__init__(store, lock, clock, render)
        self.organisation = organisation
        self.contacts = contacts
        self.items = items
        self.base_url = base_url  # where the emulator listens, for online-invoice URLs
        self.lines = LineRules(organisation, items)

    def find(self, tid: str, kind: str, ref: str) -> dict | None:
        if not ref:
            return None
        ref_l = ref.lower()
        id_field, number_field = (
            ("InvoiceID", "InvoiceNumber") if kind == "Invoice" else ("CreditNoteID", "CreditNoteNumber")
        )
        direct = self.store.get(f"{tid}/{kind}", ref) or self.store.get(f"{tid}/{kind}", ref_l)
        if direct is not None:
            return direct
        for d in self.store.all(f"{tid}/{kind}"):
            if d[id_field].lower() == ref_l or (d.get(number_field) or "").lower() == ref_l:
                return d
        return None

    def next_number(self, tid: str, doc_type: str) -> str:
        org = self.organisation.org(tid)
        org["seq"][doc_type] = org["seq"].get(doc_type, 0) + 1
        self.store.set_meta(f"org:{tid}", org)
        prefix = "INV-" if doc_type == "ACCREC" else "CN-"
        return f"{prefix}{org['seq'][doc_type]:04d}"

    def validate_and_compute(self, tid: str, kind: str, rec: dict, unitdp: int) -> list[str]:
        """Validate a (merged) invoice/credit note and compute its amounts in place."""
        errors: list[str] = []
        t = self.organisation.tenants()[tid]
        typ = rec.get("Type")
        allowed_types = ("ACCREC", "ACCPAY") if kind == "Invoice" else ("ACCRECCREDIT", "ACCPAYCREDIT")
        if typ not in allowed_types:
            errors.append(f"Type must be one of {', '.join(allowed_types)}.")
        cur = rec.get("CurrencyCode") or t["base"]
        rec["CurrencyCode"] = cur
        if cur not in t["currencies"]:
            errors.append(f"Organisation is not subscribed to currency {cur}")
        rec["CurrencyRate"] = (
            Decimal("1.000000") if cur == t["base"] else rec.get("CurrencyRate", Decimal("1.000000"))
        )
        lat = rec.get("LineAmountTypes") or "Exclusive"
        if lat not in ("Exclusive", "Inclusive", "NoTax"):
            errors.append("LineAmountTypes must be Exclusive, Inclusive or NoTax.")
        rec["LineAmountTypes"] = lat
        number_field = "InvoiceNumber" if kind == "Invoice" else "CreditNoteNumber"
        number = rec.get(number_field)
        if number is not None:
            if len(number) > 255:
                errors.append(f"{number_field} must not be more than 255 characters long.")
            if not all(32 <= ord(ch) < 127 for ch in number):
                errors.append(f"{number_field} can only contain printable ASCII characters.")
        if rec.get("Reference") and len(rec["Reference"]) > 255:
            errors.append("Reference must not be more than 255 characters long.")
        lines = rec.get("LineItems") or []
        if not lines:
            errors.append("At least one line item is required.")
        rates = self.organisation.rates(tid)
        categories = {
            c["Name"].lower(): c for c in self.organisation.org(tid)["tracking"] if c["Status"] == "ACTIVE"
        }
        approving = rec.get("Status") in ("AUTHORISED", "SUBMITTED")
        for li in lines:
            errors += self.lines.check(tid, li, rates=rates, categories=categories, approving=approving)
        if errors:
            return errors
        totals = compute_lines(lines, lat, rates, unitdp)
        for li in lines:
            if abs(li["LineAmount"]) > Decimal("9999999999.99"):
                errors.append("LineAmount must not be more than 9,999,999,999.99.")
        rec.update(totals)
        rec["IsDiscounted"] = totals["TotalDiscount"] > 0
        return errors

    def settle(self, rec: dict) -> None:
        """AmountDue and PAID/AUTHORISED from the amounts paid and credited."""
        if rec.get("Status") in ("VOIDED", "DELETED"):
            rec["AmountDue"] = D0
            return
        paid = rec.get("AmountPaid", D0)
        credited = rec.get("AmountCredited", D0)
        rec["AmountDue"] = r2(rec["Total"] - paid - credited)
        if rec.get("Status") in ("AUTHORISED", "PAID"):
            if rec["AmountDue"] <= 0 and rec["Total"] > 0:
                rec["Status"] = "PAID"
            elif rec["Status"] == "PAID":
                rec["Status"] = "AUTHORISED"
                rec.pop("FullyPaidOnDate", None)

    def settle_credit(self, rec: dict) -> None:
        if rec.get("Status") in ("VOIDED", "DELETED"):
            rec["RemainingCredit"] = D0
            return
        allocated = sum((Decimal(str(a["Amount"])) for a in rec.get("Allocations") or []), D0)
        rec["RemainingCredit"] = r2(rec["Total"] - allocated)
        if rec.get("Status") == "AUTHORISED" and rec["RemainingCredit"] <= 0:
            rec["Status"] = "PAID"

    def taken_numbers(self, tid: str, kind: str) -> set[tuple[str, str]]:
        """(Type, lower-cased number) of every document of ``kind``: what a new number must not repeat.

        Numbers are set only when a document is created, so a batch builds this once and adds what it
        creates; scanning every document for every element made a batch slower with each one stored.
        """
        number_field = "InvoiceNumber" if kind == "Invoice" else "CreditNoteNumber"
        return {
            (d["Type"], d[number_field].lower())
            for d in self.store.all(f"{tid}/{kind}")
            if d.get(number_field)
        }

    def upsert(
        self,
        tid: str,
        kind: str,
        el: dict,
        *,
        create_only: bool,
        ref: str | None,
        unitdp: int,
        taken: set[tuple[str, str]] | None = None,
    ) -> tuple[dict | None, list[str]]:
        id_field, number_field = (
            ("InvoiceID", "InvoiceNumber") if kind == "Invoice" else ("CreditNoteID", "CreditNoteNumber")
        )
        existing = self.find(tid, kind, ref or el.get(id_field) or "")
        if ref and existing is None:
            return None, [NOT_FOUND]
        if (
            existing is None
            and not create_only
            and el.get(number_field)
            and el.get("Type", "ACCREC") in ("ACCREC", "ACCRECCREDIT")
        ):
            existing = self.find(tid, kind, el[number_field])
        if create_only and existing is not None and el.get(id_field):
            return None, [f"A document with {id_field} {el[id_field]} already exists. Use POST to update it."]
        if el.get(id_field) and existing is None:
            return None, [f"An existing {kind} with the specified {id_field} could not be found"]
        try:
            for fld in ("Date", "DueDate"):
                if fld in el:
                    el = {**el, fld: parse_date(el[fld])}
        except ValueError as exc:
            return None, [str(exc)]
        if existing is not None:
            return self.update(tid, kind, existing, el, unitdp)
        # ----- create
        rec: dict[str, Any] = {
            id_field: str(uuid.uuid4()),
            "Type": el.get("Type"),
            "Status": el.get("Status", "DRAFT"),
            "LineAmountTypes": el.get("LineAmountTypes", "Exclusive"),
            "Date": el.get("Date") or self.today(),
            "DueDate": el.get("DueDate"),
            "Reference": el.get("Reference"),
            "CurrencyCode": el.get("CurrencyCode"),
            "LineItems": copy.deepcopy(el.get("LineItems") or []),
            "AmountPaid": D0,
            "AmountCredited": D0,
            "HasAttachments": False,
            "HasErrors": False,
            "SentToContact": False,
            "Payments": [],
            "CreditNotes" if kind == "Invoice" else "Allocations": [],
            "Prepayments": [] if kind == "Invoice" else None,
            "Overpayments": [] if kind == "Invoice" else None,
            "BrandingThemeID": el.get("BrandingThemeID")
            or self.organisation.org(tid)["branding"][0]["BrandingThemeID"],
        }
        if el.get("Url"):
            rec["Url"] = el["Url"]
        errors: list[str] = []
        if rec["Status"] not in ("DRAFT", "SUBMITTED", "AUTHORISED"):
            errors.append(f"Documents cannot be created with status {rec['Status']}.")
        contact, contact_errors = self.contacts.resolve(tid, el.get("Contact"))
        errors += contact_errors
        number = el.get(number_field)
        if taken is None:
            taken = self.taken_numbers(tid, kind)
        if number and rec["Type"] in ("ACCREC", "ACCRECCREDIT") and (rec["Type"], number.lower()) in taken:
            errors.append(
                "Invoice # must be unique." if kind == "Invoice" else "Credit Note # must be unique."
            )
        rec[number_field] = number
        errors += self.validate_and_compute(tid, kind, rec, unitdp)
        if errors:
            return None, errors
        if contact.get("_new"):
            contact.pop("_new")
            self.store.put(f"{tid}/Contact", contact["ContactID"], contact)
        rec["Contact"] = {"ContactID": contact["ContactID"], "Name": contact["Name"]}
        if not rec[number_field] and rec["Type"] in ("ACCREC", "ACCRECCREDIT"):
            rec[number_field] = self.next_number(tid, rec["Type"])
        if kind == "CreditNote":
            rec["RemainingCredit"] = rec["Total"]
            self.settle_credit(rec)
        else:
            self.settle(rec)
        rec["UpdatedDateUTC"] = self.now_ms()
        self.store.put(f"{tid}/{kind}", rec[id_field], rec)
        if rec.get(number_field):
            taken.add((rec["Type"], rec[number_field].lower()))
        return rec, []

    def update(
        self, tid: str, kind: str, existing: dict, el: dict, unitdp: int
    ) -> tuple[dict | None, list[str]]:
        id_field = "InvoiceID" if kind == "Invoice" else "CreditNoteID"
        rec = copy.deepcopy(existing)
        current = rec["Status"]
        new_status = el.get("Status", current)
        if new_status not in TRANSITIONS.get(current, set()):
            return None, [f"Cannot change the status of a {current} document to {new_status}."]
        settled = rec.get("AmountPaid", D0) > 0 or rec.get("AmountCredited", D0) > 0
        touches_money = any(k in el for k in ("LineItems", "CurrencyCode", "LineAmountTypes", "Contact"))
        locked = current in ("PAID", "VOIDED", "DELETED") or (
            settled and (touches_money or new_status == "VOIDED")
        )
        if locked and (touches_money or new_status != current):
            return None, [
                "Invoice not of valid status for modification. This document cannot be edited as it has a "
                "payment or credit note allocated to it."
                if settled
                else f"A {current} document cannot be modified."
            ]
        for k, v in el.items():
            if k in (id_field, "UpdatedDateUTC", "LineItems", "Contact"):
                continue
            rec[k] = v
        errors: list[str] = []
        if "Contact" in el:
            contact, errs = self.contacts.resolve(tid, el["Contact"])
            errors += errs
            if not errs:
                if contact.get("_new"):
                    contact.pop("_new")
                    self.store.put(f"{tid}/Contact", contact["ContactID"], contact)
                rec["Contact"] = {"ContactID": contact["ContactID"], "Name": contact["Name"]}
        if "LineItems" in el:
            # POST semantics: lines with a LineItemID update, lines without one are new, and existing
            # lines missing from the request are deleted.
            old = {li["LineItemID"]: li for li in rec.get("LineItems", [])}
            new_lines = []
            for li in copy.deepcopy(el["LineItems"]):
                base = old.get(li.get("LineItemID", "")) or {}
                merged = {**{k: v for k, v in base.items() if k not in ("LineAmount", "TaxAmount")}, **li}
                new_lines.append(merged)
            rec["LineItems"] = new_lines
        if new_status == "VOIDED" and current == "AUTHORISED" and settled:
            errors.append(
                "Invoice not of valid status for modification. This document cannot be edited as it has a payment or credit note allocated to it."
            )
        errors += (
            self.validate_and_compute(tid, kind, rec, unitdp)
            if new_status not in ("DELETED", "VOIDED")
            else []
        )
        if errors:
            return None, errors
        if kind == "Invoice":
            self.settle(rec)
        else:
            self.settle_credit(rec)
        rec["UpdatedDateUTC"] = self.now_ms()
        self.store.put(f"{tid}/{kind}", rec[id_field], rec)
        return rec, []

    def write(self, req: Request, kind: str, create_only: bool) -> Response:
        tid = req.tenant_id  # type: ignore[attr-defined]
        key = "Invoices" if kind == "Invoice" else "CreditNotes"
        try:
            elements = json_elements(req, key)
        except (ValueError, json.JSONDecodeError) as exc:
            return bad_request(str(exc))
        unitdp = unitdp_of(req)
        ref = req.params.get("ref")
        results = []
        with self.lock:
            taken = self.taken_numbers(tid, kind)  # once per request, not once per element
            for el in elements:
                rec, errors = self.upsert(
                    tid, kind, el, create_only=create_only, ref=ref, unitdp=unitdp, taken=taken
                )
                if ref and rec is None and errors == [NOT_FOUND]:
                    return not_found()
                if errors:
                    results.append((render(echo(el)), errors, []))
                else:
                    results.append((render(rec, unitdp=unitdp, with_lines=True), [], []))
        return self.render.write_response(req, key, results)

    def get_invoices(self, req: Request) -> Response:
        tid = req.tenant_id  # type: ignore[attr-defined]
        ids, numbers = id_set(req, "IDs"), id_set(req, "InvoiceNumbers")
        contacts, statuses = id_set(req, "ContactIDs"), id_set(req, "Statuses")
        term = (req.arg("searchTerm") or "").lower()

        def prepare(rows: list[dict]) -> list[dict]:
            if ids:
                rows = [r for r in rows if r["InvoiceID"].lower() in ids]
            if numbers:
                rows = [r for r in rows if (r.get("InvoiceNumber") or "").lower() in numbers]
            if contacts:
                rows = [r for r in rows if r["Contact"]["ContactID"].lower() in contacts]
            if statuses:
                rows = [r for r in rows if r["Status"].lower() in statuses]
            if term:
                rows = [
                    r
                    for r in rows
                    if term in (r.get("InvoiceNumber") or "").lower()
                    or term in (r.get("Reference") or "").lower()
                ]
            return rows

        return self.render.listing(
            req,
            prepare(self.store.all(f"{tid}/Invoice")),
            "Invoices",
            paged=True,
            order="UpdatedDateUTC ASC, InvoiceID ASC",
        )

    def get_invoice(self, req: Request) -> Response:
        inv = self.find(req.tenant_id, "Invoice", req.params["ref"])  # type: ignore[attr-defined]
        if inv is None:
            return not_found()
        return self.render.reply("Invoices", [render(inv, unitdp=unitdp_of(req), with_lines=True)])

    def get_online_invoice(self, req: Request) -> Response:
        inv = self.find(req.tenant_id, "Invoice", req.params["ref"])  # type: ignore[attr-defined]
        if inv is None:
            return not_found()
        if inv["Status"] in ("DRAFT", "DELETED"):
            return validation_error("Online invoices are not available for draft or deleted invoices.")
        url = f"{self.base_url()}/online/{inv['InvoiceID']}"
        return self.render.reply("OnlineInvoices", [{"OnlineInvoiceUrl": url}])

    def get_credit_notes(self, req: Request) -> Response:
        return self._paged_list(req, "CreditNote", "CreditNotes")

    def get_credit_note(self, req: Request) -> Response:
        cn = self.find(req.tenant_id, "CreditNote", req.params["ref"])  # type: ignore[attr-defined]
        if cn is None:
            return not_found()
        return self.render.reply("CreditNotes", [render(cn, unitdp=unitdp_of(req), with_lines=True)])
