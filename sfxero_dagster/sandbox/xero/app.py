"""The Xero Accounting API emulator: routes, auth, limits, idempotency and document semantics.

Facts and sources: ../shared/reference/xero-api.md (xero-python 15.2.0 mechanics, Xero docs) and the
public OpenAPI spec. Where the docs are silent or second-hand, the choice made is noted inline.
"""

from __future__ import annotations

import copy
import json
import uuid
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import Any

from ..clock import SandboxClock
from ..httpbase import Request, Response, SandboxApp
from ..store import RecordStore
from .auth import XeroAuth
from .backend.contacts import ContactsBackend
from .backend.items import ItemsBackend
from .backend.organisation import OrganisationBackend
from .errors import bad_request, not_found, validation_exception
from .idempotency import IdempotencyCache
from .limits import RateLimiter
from .model import D0, compute_lines, r2, render
from .render import Renderer, echo, id_set, json_elements, summarize, unitdp_of
from .settings import ALLOWED_TOKEN_SCOPES, XeroSandboxSettings
from .wire import ms_from_datetime, parse_date

API = "/api.xro/2.0"
GUID = r"[0-9a-fA-F-]{36}"
INVOICE_TRANSITIONS = {
    "DRAFT": {"DRAFT", "SUBMITTED", "AUTHORISED", "DELETED"},
    "SUBMITTED": {"SUBMITTED", "AUTHORISED", "DRAFT", "DELETED"},
    "AUTHORISED": {"AUTHORISED", "VOIDED"},
    "PAID": {"PAID"},
    "VOIDED": {"VOIDED"},
    "DELETED": {"DELETED"},
}


class XeroApp(SandboxApp):
    name = "xero"

    def __init__(
        self,
        state_dir: str | Path | None = None,
        clock: SandboxClock | None = None,
        settings: XeroSandboxSettings | None = None,
    ) -> None:
        super().__init__(clock)
        self.settings = settings or XeroSandboxSettings()
        self.store = RecordStore(Path(state_dir) / "xero.sqlite3" if state_dir else None)
        self.base_url = "http://127.0.0.1"
        self.render = Renderer(self.settings, self.clock)
        self.organisation = OrganisationBackend(self.store, self.lock, self.clock, self.render)
        self.contacts = ContactsBackend(self.store, self.lock, self.clock, self.render)
        self.items = ItemsBackend(self.store, self.lock, self.clock, self.render, self.organisation)
        self.auth = XeroAuth(self.settings, self.store, self.lock, self.clock, self.organisation.tenants)
        self.limits = RateLimiter(self.settings, self.store, self.lock, self.clock)
        self.idempotency = IdempotencyCache(self.settings, self.store, self.lock, self.clock)
        self._register()

    # ================================================================================ lifecycle
    def bind(self, url: str) -> None:
        self.base_url = url.rstrip("/")

    def now_ms(self) -> int:
        return ms_from_datetime(self.clock.now())

    def today(self) -> str:
        return self.clock.now().date().isoformat()

    def is_empty(self) -> bool:
        return not self.store.get_meta("tenants")

    def reset(self) -> None:
        with self.lock:
            self.store.clear()
            self.limits.clear()

    def tenants(self) -> dict[str, dict]:
        return self.organisation.tenants()

    def add_tenant(
        self,
        name: str,
        region: str = "AU",
        base_currency: str = "AUD",
        currencies: list[str] | None = None,
        tenant_id: str | None = None,
        key: str | None = None,
    ) -> str:
        return self.organisation.add_tenant(name, region, base_currency, currencies, tenant_id, key)

    def org(self, tid: str) -> dict:
        return self.organisation.org(tid)

    def rates(self, tid: str) -> dict[str, Decimal]:
        return self.organisation.rates(tid)

    def _new_contact(self, tid: str, el: dict) -> dict:
        """A contact record as a create would store it (tests build large stores with it)."""
        return self.contacts.new_contact(tid, el)

    def load_seed(self, xero_seed: dict) -> dict[str, str]:
        """Create the seed's tenants with their contacts and items; returns tenant key → tenant id."""
        ids = {}
        for t in xero_seed.get("tenants", []):
            tid = self.organisation.add_tenant(
                t["name"],
                t.get("region", "AU"),
                t.get("base_currency", "AUD"),
                t.get("currencies"),
                t.get("tenant_id"),
                t.get("key"),
            )
            ids[t.get("key", tid)] = tid
        for key, tid in ids.items():
            per = xero_seed.get("per_tenant", {}).get(key) or xero_seed.get(key) or {}
            contacts = per.get("contacts", [])
            items = per.get("items", [])
            with self.lock, self.store.transaction():
                for c in contacts:
                    rec = self.contacts.new_contact(tid, c)
                    self.store.put(f"{tid}/Contact", rec["ContactID"], rec)
                for it in items:
                    rec = self.items.new_item(tid, it, unitdp=4)
                    self.store.put(f"{tid}/Item", rec["ItemID"], rec)
        if not self.store.get_meta("refresh_tokens"):
            self.issue_refresh_token()
        return ids

    def info(self) -> dict[str, Any]:
        return {
            "base_url": f"{self.base_url}{API}",
            "identity_url": self.base_url,
            "token_url": f"{self.base_url}/connect/token",
            "client_id": self.settings.client_id,
            "client_secret": self.settings.client_secret,
            "refresh_token": self.store.get_meta("bootstrap_refresh_token"),
            "scopes": ALLOWED_TOKEN_SCOPES.split(),
            "tenants": [
                {"tenantId": tid, "tenantName": t["name"], "tenantType": "ORGANISATION", "key": t["key"]}
                for tid, t in self.organisation.tenants().items()
            ],
        }

    # ================================================================================ auth, limits
    def issue_refresh_token(self) -> str:
        """The token a first OAuth consent would hand the app (the sandbox skips the browser step)."""
        return self.auth.issue_refresh_token()

    def limits_for(self, tid: str) -> dict[str, int]:
        return self.limits.limits_for(tid)

    def set_limits(self, tid: str, **limits: int) -> None:
        self.limits.set_limits(tid, **limits)

    # ================================================================================ dispatch hooks
    def before(self, req: Request) -> Response | None:
        """Authenticate, find the tenant, then count the call against the limits (or refuse it)."""
        path = req.raw_path.lower()
        if path.startswith("/connect/"):
            return None
        meta, err = self.auth.authenticate(req)
        if err is not None:
            return err
        req.auth = meta  # type: ignore[attr-defined]
        if path.startswith("/connections"):
            return self.limits.admit(req, None)
        tid, err = self.auth.tenant(req, meta)
        if err is not None:
            return err
        req.tenant_id = tid  # type: ignore[attr-defined]
        return self.limits.admit(req, tid)

    def after(self, req: Request, resp: Response) -> Response:
        path = req.raw_path.lower()
        if not path.startswith("/connect/"):
            resp.headers.update(self.limits.headers(getattr(req, "tenant_id", None)))
            resp.headers.setdefault("Xero-Correlation-Id", str(uuid.uuid4()))
        return resp

    def dispatch(self, req: Request) -> Response:
        try:
            return super().dispatch(req)
        finally:
            self.limits.release(req)

    # ================================================================================ helpers

    # ================================================================================ routes
    def _register(self) -> None:
        r = self.router.add
        r("POST", "/connect/token", self.auth.token)
        r("GET", "/connections", self.auth.connections)
        for path, handler in [
            ("/Organisation", self.organisation.get_organisation),
            ("/Currencies", self.organisation.get_currencies),
            ("/TaxRates", self.organisation.get_tax_rates),
            ("/TrackingCategories", self.organisation.get_tracking),
            ("/Accounts", self.organisation.get_accounts),
            ("/BrandingThemes", self.organisation.get_branding),
            ("/Items", self.items.get_items),
            ("/Contacts", self.contacts.get_contacts),
            ("/Invoices", self._get_invoices),
            ("/CreditNotes", self._get_credit_notes),
            ("/Payments", self._get_payments),
            ("/Overpayments", self._get_overpayments),
            ("/Prepayments", self._get_prepayments),
        ]:
            r("GET", API + path, handler)
        r("GET", API + "/Items/(?P<ref>[^/]+)", self.items.get_item)
        r("GET", API + "/Contacts/(?P<ref>[^/]+)", self.contacts.get_contact)
        r("GET", API + "/Invoices/(?P<ref>[^/]+)", self._get_invoice)
        r("GET", API + f"/Invoices/(?P<ref>{GUID})/OnlineInvoice", self._get_online_invoice)
        r("GET", API + "/CreditNotes/(?P<ref>[^/]+)", self._get_credit_note)
        r("GET", API + f"/Payments/(?P<ref>{GUID})", self._get_payment)
        idem = self.idempotency.wrap
        r("PUT", API + "/Items", idem(lambda q: self.items.write(q, create_only=True)))
        r("POST", API + "/Items", idem(lambda q: self.items.write(q, create_only=False)))
        r("PUT", API + "/Contacts", idem(lambda q: self.contacts.write(q, create_only=True)))
        r("POST", API + "/Contacts", idem(lambda q: self.contacts.write(q, create_only=False)))
        r(
            "POST",
            API + "/Contacts/(?P<ref>[^/]+)",
            idem(lambda q: self.contacts.write(q, create_only=False)),
        )
        r("PUT", API + "/Invoices", idem(lambda q: self._write_invoices(q, "Invoice", create_only=True)))
        r("POST", API + "/Invoices", idem(lambda q: self._write_invoices(q, "Invoice", create_only=False)))
        r(
            "POST",
            API + "/Invoices/(?P<ref>[^/]+)",
            idem(lambda q: self._write_invoices(q, "Invoice", create_only=False)),
        )
        r(
            "PUT",
            API + "/CreditNotes",
            idem(lambda q: self._write_invoices(q, "CreditNote", create_only=True)),
        )
        r(
            "POST",
            API + "/CreditNotes",
            idem(lambda q: self._write_invoices(q, "CreditNote", create_only=False)),
        )
        r(
            "POST",
            API + "/CreditNotes/(?P<ref>[^/]+)",
            idem(lambda q: self._write_invoices(q, "CreditNote", create_only=False)),
        )
        r(
            "PUT",
            API + "/CreditNotes/(?P<ref>[^/]+)/Allocations",
            idem(lambda q: self._write_allocations(q, "CreditNote")),
        )
        r(
            "PUT",
            API + "/Overpayments/(?P<ref>[^/]+)/Allocations",
            idem(lambda q: self._write_allocations(q, "Overpayment")),
        )
        r(
            "PUT",
            API + "/Prepayments/(?P<ref>[^/]+)/Allocations",
            idem(lambda q: self._write_allocations(q, "Prepayment")),
        )
        r("PUT", API + "/Payments", idem(lambda q: self._write_payments(q, batch=True)))
        r("POST", API + "/Payments", idem(lambda q: self._write_payments(q, batch=False)))
        r("POST", API + f"/Payments/(?P<ref>{GUID})", idem(self._delete_payment))
        self._register_sandbox_routes()

    # ---------------------------------------------------------------------- settings reads

    # ---------------------------------------------------------------------- items

    # ---------------------------------------------------------------------- contacts

    # ---------------------------------------------------------------------- invoices & credit notes

    def _find_doc(self, tid: str, kind: str, ref: str) -> dict | None:
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

    def _next_number(self, tid: str, doc_type: str) -> str:
        org = self.organisation.org(tid)
        org["seq"][doc_type] = org["seq"].get(doc_type, 0) + 1
        self.store.set_meta(f"org:{tid}", org)
        prefix = "INV-" if doc_type == "ACCREC" else "CN-"
        return f"{prefix}{org['seq'][doc_type]:04d}"

    def _doc_errors_and_lines(self, tid: str, kind: str, rec: dict, unitdp: int) -> list[str]:
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
            if li.get("ItemCode"):
                item = self.items.find(tid, li["ItemCode"])
                if item is None:
                    errors.append(f"Item code '{li['ItemCode']}' is not valid.")
                else:
                    sd = item.get("SalesDetails") or {}
                    li.setdefault("Description", item.get("Description") or item["Name"])
                    if "UnitAmount" not in li and "LineAmount" not in li and "UnitPrice" in sd:
                        li["UnitAmount"] = sd["UnitPrice"]
                    if sd.get("AccountCode"):
                        li.setdefault("AccountCode", sd["AccountCode"])
                    if sd.get("TaxType"):
                        li.setdefault("TaxType", sd["TaxType"])
            if li.get("AccountCode"):
                acct = self.organisation.account(tid, li["AccountCode"])
                if acct is None:
                    errors.append(
                        f"Account code '{li['AccountCode']}' is not a valid code for this document."
                    )
                else:
                    li.setdefault("TaxType", acct["TaxType"])
                    li["AccountID"] = acct["AccountID"]
            elif approving:
                errors.append("Account code must be specified on every line of an approved document.")
            if li.get("TaxType") and li["TaxType"] not in rates:
                errors.append(
                    f"The TaxType code '{li['TaxType']}' does not exist or cannot be used for this type of transaction."
                )
            if li.get("Description") and len(li["Description"]) > 4000:
                errors.append("Description must not be more than 4000 characters long.")
            if approving and not li.get("Description"):
                errors.append("Description must be specified on every line of an approved document.")
            try:
                for fld in ("Quantity", "UnitAmount", "DiscountRate", "DiscountAmount", "LineAmount"):
                    if li.get(fld) is not None:
                        li[fld] = Decimal(str(li[fld]))
            except InvalidOperation:
                errors.append("Quantity, UnitAmount and discounts must be numbers.")
                continue
            if li.get("DiscountRate") is not None and li.get("DiscountAmount") is not None:
                errors.append("A line item can have a DiscountRate or a DiscountAmount, not both.")
            if li.get("DiscountRate") is not None and not (0 <= li["DiscountRate"] <= 100):
                errors.append("DiscountRate must be between 0 and 100.")
            tracking = li.get("Tracking") or []
            if len(tracking) > 2:
                errors.append("A line item can have at most two tracking categories.")
            for tr in tracking:
                cat = categories.get(str(tr.get("Name", "")).lower())
                if cat is None:
                    errors.append(
                        f"The Tracking Category '{tr.get('Name')}' does not exist or is not active."
                    )
                    continue
                opt = next(
                    (
                        o
                        for o in cat["Options"]
                        if o["Name"].lower() == str(tr.get("Option", "")).lower() and o["Status"] == "ACTIVE"
                    ),
                    None,
                )
                if opt is None:
                    errors.append(
                        f"The Tracking Option '{tr.get('Option')}' does not exist for the Tracking Category '{cat['Name']}'."
                    )
                    continue
                tr.update(
                    {
                        "Name": cat["Name"],
                        "Option": opt["Name"],
                        "TrackingCategoryID": cat["TrackingCategoryID"],
                        "TrackingOptionID": opt["TrackingOptionID"],
                    }
                )
            li.setdefault("LineItemID", str(uuid.uuid4()))
        if errors:
            return errors
        totals = compute_lines(lines, lat, rates, unitdp)
        for li in lines:
            if abs(li["LineAmount"]) > Decimal("9999999999.99"):
                errors.append("LineAmount must not be more than 9,999,999,999.99.")
        rec.update(totals)
        rec["IsDiscounted"] = totals["TotalDiscount"] > 0
        return errors

    def _settle(self, rec: dict) -> None:
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

    def _write_invoices(self, req: Request, kind: str, create_only: bool) -> Response:
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
            taken = self._taken_numbers(tid, kind)  # once per request, not once per element
            for el in elements:
                rec, errors = self._upsert_doc(
                    tid, kind, el, create_only=create_only, ref=ref, unitdp=unitdp, taken=taken
                )
                if ref and rec is None and errors == ["__not_found__"]:
                    return not_found()
                if errors:
                    results.append((render(echo(el)), errors, []))
                else:
                    results.append((render(rec, unitdp=unitdp, with_lines=True), [], []))
        return self.render.write_response(req, key, results)

    def _taken_numbers(self, tid: str, kind: str) -> set[tuple[str, str]]:
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

    def _upsert_doc(
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
        existing = self._find_doc(tid, kind, ref or el.get(id_field) or "")
        if ref and existing is None:
            return None, ["__not_found__"]
        if (
            existing is None
            and not create_only
            and el.get(number_field)
            and el.get("Type", "ACCREC") in ("ACCREC", "ACCRECCREDIT")
        ):
            existing = self._find_doc(tid, kind, el[number_field])
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
            return self._update_doc(tid, kind, existing, el, unitdp)
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
            taken = self._taken_numbers(tid, kind)
        if number and rec["Type"] in ("ACCREC", "ACCRECCREDIT") and (rec["Type"], number.lower()) in taken:
            errors.append(
                "Invoice # must be unique." if kind == "Invoice" else "Credit Note # must be unique."
            )
        rec[number_field] = number
        errors += self._doc_errors_and_lines(tid, kind, rec, unitdp)
        if errors:
            return None, errors
        if contact.get("_new"):
            contact.pop("_new")
            self.store.put(f"{tid}/Contact", contact["ContactID"], contact)
        rec["Contact"] = {"ContactID": contact["ContactID"], "Name": contact["Name"]}
        if not rec[number_field] and rec["Type"] in ("ACCREC", "ACCRECCREDIT"):
            rec[number_field] = self._next_number(tid, rec["Type"])
        if kind == "CreditNote":
            rec["RemainingCredit"] = rec["Total"]
            self._settle_credit(rec)
        else:
            self._settle(rec)
        rec["UpdatedDateUTC"] = self.now_ms()
        self.store.put(f"{tid}/{kind}", rec[id_field], rec)
        if rec.get(number_field):
            taken.add((rec["Type"], rec[number_field].lower()))
        return rec, []

    def _update_doc(
        self, tid: str, kind: str, existing: dict, el: dict, unitdp: int
    ) -> tuple[dict | None, list[str]]:
        id_field = "InvoiceID" if kind == "Invoice" else "CreditNoteID"
        rec = copy.deepcopy(existing)
        current = rec["Status"]
        new_status = el.get("Status", current)
        if new_status not in INVOICE_TRANSITIONS.get(current, set()):
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
            self._doc_errors_and_lines(tid, kind, rec, unitdp)
            if new_status not in ("DELETED", "VOIDED")
            else []
        )
        if errors:
            return None, errors
        if kind == "Invoice":
            self._settle(rec)
        else:
            self._settle_credit(rec)
        rec["UpdatedDateUTC"] = self.now_ms()
        self.store.put(f"{tid}/{kind}", rec[id_field], rec)
        return rec, []

    def _settle_credit(self, rec: dict) -> None:
        if rec.get("Status") in ("VOIDED", "DELETED"):
            rec["RemainingCredit"] = D0
            return
        allocated = sum((Decimal(str(a["Amount"])) for a in rec.get("Allocations") or []), D0)
        rec["RemainingCredit"] = r2(rec["Total"] - allocated)
        if rec.get("Status") == "AUTHORISED" and rec["RemainingCredit"] <= 0:
            rec["Status"] = "PAID"

    def _get_invoices(self, req: Request) -> Response:
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

    def _get_invoice(self, req: Request) -> Response:
        inv = self._find_doc(req.tenant_id, "Invoice", req.params["ref"])  # type: ignore[attr-defined]
        if inv is None:
            return not_found()
        return self.render.reply("Invoices", [render(inv, unitdp=unitdp_of(req), with_lines=True)])

    def _get_online_invoice(self, req: Request) -> Response:
        inv = self._find_doc(req.tenant_id, "Invoice", req.params["ref"])  # type: ignore[attr-defined]
        if inv is None:
            return not_found()
        if inv["Status"] in ("DRAFT", "DELETED"):
            return Response.json(
                validation_exception(
                    [
                        {
                            "ValidationErrors": [
                                {
                                    "Message": "Online invoices are not available for draft or deleted invoices."
                                }
                            ]
                        }
                    ]
                ),
                400,
            )
        url = f"{self.base_url}/online/{inv['InvoiceID']}"
        return self.render.reply("OnlineInvoices", [{"OnlineInvoiceUrl": url}])

    def _get_credit_notes(self, req: Request) -> Response:
        return self.render.listing(
            req,
            self.store.all(f"{req.tenant_id}/CreditNote"),
            "CreditNotes",
            paged=True,
            order="UpdatedDateUTC ASC",
        )

    def _get_credit_note(self, req: Request) -> Response:
        cn = self._find_doc(req.tenant_id, "CreditNote", req.params["ref"])  # type: ignore[attr-defined]
        if cn is None:
            return not_found()
        return self.render.reply("CreditNotes", [render(cn, unitdp=unitdp_of(req), with_lines=True)])

    # ---------------------------------------------------------------------- payments
    def _get_payments(self, req: Request) -> Response:
        return self.render.listing(
            req,
            self.store.all(f"{req.tenant_id}/Payment"),
            "Payments",
            paged=True,
            order="UpdatedDateUTC ASC",
        )

    def _get_payment(self, req: Request) -> Response:
        p = self.store.get(f"{req.tenant_id}/Payment", req.params["ref"].lower())  # type: ignore[attr-defined]
        if p is None:
            return not_found()
        return self.render.reply("Payments", [render(p)])

    def apply_payment(self, tid: str, el: dict) -> tuple[dict | None, list[str]]:
        """Validate and apply one payment against an invoice (the API path and the user-action path)."""
        errors: list[str] = []
        inv_ref = el.get("Invoice") or {}
        inv = self._find_doc(tid, "Invoice", inv_ref.get("InvoiceID") or inv_ref.get("InvoiceNumber") or "")
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
        self._settle(inv)
        if inv["Status"] == "PAID":
            inv["FullyPaidOnDate"] = pay_date
        inv["UpdatedDateUTC"] = now
        self.store.put(f"{tid}/Invoice", inv["InvoiceID"], inv)
        self.store.put(f"{tid}/Payment", pid, payment)
        return payment, []

    def delete_payment(self, tid: str, payment_id: str) -> tuple[dict | None, list[str]]:
        p = self.store.get(f"{tid}/Payment", payment_id.lower())
        if p is None:
            return None, ["__not_found__"]
        if p["Status"] == "DELETED":
            return None, ["This payment has already been deleted."]
        now = self.now_ms()
        p = copy.deepcopy(p)
        p["Status"] = "DELETED"
        p["UpdatedDateUTC"] = now
        inv = self._find_doc(tid, "Invoice", p["Invoice"]["InvoiceID"])
        if inv is not None:
            inv["AmountPaid"] = r2(inv.get("AmountPaid", D0) - p["Amount"])
            inv["Payments"] = [x for x in inv.get("Payments", []) if x["PaymentID"] != p["PaymentID"]]
            self._settle(inv)
            inv["UpdatedDateUTC"] = now
            self.store.put(f"{tid}/Invoice", inv["InvoiceID"], inv)
        self.store.put(f"{tid}/Payment", p["PaymentID"], p)
        return p, []

    def _write_payments(self, req: Request, batch: bool) -> Response:
        tid = req.tenant_id  # type: ignore[attr-defined]
        try:
            elements = json_elements(req, "Payments")
        except (ValueError, json.JSONDecodeError) as exc:
            return bad_request(str(exc))
        results = []
        with self.lock:
            for el in elements:
                if el.get("Status") == "DELETED" and el.get("PaymentID"):
                    p, errors = self.delete_payment(tid, el["PaymentID"])
                else:
                    p, errors = self.apply_payment(tid, el)
                results.append((render(p) if p else render(echo(el)), errors, []))
        if not batch and results and results[0][1] and not summarize(req):
            return self.render.write_response(req, "Payments", results)
        return self.render.write_response(req, "Payments", results)

    def _delete_payment(self, req: Request) -> Response:
        tid = req.tenant_id  # type: ignore[attr-defined]
        body = req.json() or {}
        if str(body.get("Status", "")).upper() != "DELETED":
            return bad_request("Payments can only be deleted (Status DELETED); no other edits are possible")
        with self.lock:
            p, errors = self.delete_payment(tid, req.params["ref"])
        if errors == ["__not_found__"]:
            return not_found()
        return self.render.write_response(req, "Payments", [(render(p) if p else {}, errors, [])])

    # ---------------------------------------------------------------------- allocations, over/prepayments
    def allocate(self, tid: str, kind: str, doc_id: str, el: dict) -> tuple[dict | None, list[str]]:
        key = f"{tid}/{kind}"
        doc = (
            self._find_doc(tid, kind, doc_id) if kind == "CreditNote" else self.store.get(key, doc_id.lower())
        )
        if doc is None:
            return None, [f"An existing {kind} with the specified {kind}ID could not be found"]
        inv_ref = el.get("Invoice") or {}
        inv = self._find_doc(tid, "Invoice", inv_ref.get("InvoiceID") or inv_ref.get("InvoiceNumber") or "")
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
        self._settle(inv)
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

    def _write_allocations(self, req: Request, kind: str) -> Response:
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

    def _get_overpayments(self, req: Request) -> Response:
        return self.render.listing(
            req,
            self.store.all(f"{req.tenant_id}/Overpayment"),
            "Overpayments",
            paged=True,
            order="UpdatedDateUTC ASC",
        )

    def _get_prepayments(self, req: Request) -> Response:
        return self.render.listing(
            req,
            self.store.all(f"{req.tenant_id}/Prepayment"),
            "Prepayments",
            paged=True,
            order="UpdatedDateUTC ASC",
        )

    # ================================================================================ control API
    def _register_sandbox_routes(self) -> None:
        r = self.router.add
        r("POST", "/_sandbox/reset", lambda q: (self.reset(), Response.json({"reset": True}))[1])
        r("POST", "/_sandbox/seed", self._ctl_seed)
        r("POST", "/_sandbox/limits", self._ctl_limits)
        r("GET", "/_sandbox/state", self._ctl_state)
        r(
            "POST",
            "/_sandbox/refresh_token",
            lambda q: Response.json({"refresh_token": self.issue_refresh_token()}),
        )
        r("POST", "/_sandbox/act/(?P<action>[a-z_]+)", self._ctl_act)

    def _ctl_seed(self, req: Request) -> Response:
        body = req.json() or {}
        if "tenants" not in body:
            from ..seed import generate

            body = generate(body.get("scale", "small"), int(body.get("seed", 7))).xero
        self.reset()
        ids = self.load_seed(body)
        return Response.json({"tenants": ids, "info": self.info()})

    def _ctl_limits(self, req: Request) -> Response:
        body = req.json() or {}
        try:
            self.set_limits(body["tenant_id"], **{k: int(v) for k, v in body.items() if k != "tenant_id"})
        except (KeyError, ValueError) as exc:
            return Response.json({"error": str(exc)}, 400)
        return Response.json({"limits": self.limits_for(body["tenant_id"])})

    def _ctl_state(self, req: Request) -> Response:
        counts = {}
        for tid in self.organisation.tenants():
            counts[tid] = {
                k: self.store.count(f"{tid}/{k}")
                for k in ("Contact", "Item", "Invoice", "CreditNote", "Payment", "Overpayment", "Prepayment")
            }
        return Response.json(
            {"tenants": self.organisation.tenants(), "counts": counts, "clock": self.clock.state()}
        )

    def act(self, action: str, **kw: Any) -> dict:
        """Do what a Xero user would do in the Xero UI; every change goes through the API's own logic."""
        tid = kw["tenant_id"]
        with self.lock:
            if action == "pay":
                inv = self._find_doc(tid, "Invoice", kw["invoice"])
                if inv is None:
                    raise ValueError(f"unknown invoice {kw['invoice']}")
                el = {
                    "Invoice": {"InvoiceID": inv["InvoiceID"]},
                    "Account": {"Code": kw.get("account", "090")},
                    "Amount": kw.get("amount", inv["AmountDue"]),
                    "Date": kw.get("date"),
                    "Reference": kw.get("reference"),
                }
                out, errors = self.apply_payment(tid, el)
            elif action == "delete_payment":
                out, errors = self.delete_payment(tid, kw["payment_id"])
            elif action in ("void", "edit", "delete"):
                inv = self._find_doc(tid, "Invoice", kw["invoice"])
                if inv is None:
                    raise ValueError(f"unknown invoice {kw['invoice']}")
                changes = {"VOID": {"Status": "VOIDED"}, "DELETE": {"Status": "DELETED"}}.get(
                    action.upper(), kw.get("changes", {})
                )
                out, errors = self._update_doc(tid, "Invoice", inv, changes, 4)
            elif action == "create_invoice":
                out, errors = self._upsert_doc(
                    tid, "Invoice", kw["invoice"], create_only=True, ref=None, unitdp=4
                )
            elif action == "credit":
                cn = kw.get("credit_note_id")
                if not cn:
                    created, errors = self._upsert_doc(
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
                out, errors = self.allocate(
                    tid,
                    "CreditNote",
                    cn,
                    {"Invoice": {"InvoiceID": kw["invoice"]}, "Amount": kw["amount"], "Date": kw.get("date")},
                )
                if out:
                    out["CreditNoteID"] = cn
            elif action in ("overpayment", "prepayment"):
                out, errors = (
                    self.create_prepaid(
                        tid, action.title(), kw["contact_id"], kw["amount"], kw.get("currency")
                    ),
                    [],
                )
            elif action in ("rename_contact", "archive_contact"):
                c = self.contacts.find(tid, kw["contact_id"])
                if c is None:
                    raise ValueError(f"unknown contact {kw['contact_id']}")
                rec = copy.deepcopy(c)
                if action == "rename_contact":
                    rec["Name"] = kw["name"]
                else:
                    rec["ContactStatus"] = "ARCHIVED"
                errors = self.contacts.errors_for(tid, rec, rec["ContactID"])
                out = rec
                if not errors:
                    rec["UpdatedDateUTC"] = self.now_ms()
                    self.store.put(f"{tid}/Contact", rec["ContactID"], rec)
            else:
                raise ValueError(f"unknown action {action!r}")
        if errors:
            raise ValueError("; ".join(errors))
        return render(out) if out else {}

    def _ctl_act(self, req: Request) -> Response:
        try:
            return Response.json(self.act(req.params["action"], **(req.json() or {})))
        except (KeyError, ValueError) as exc:
            return Response.json({"error": str(exc)}, 400)
