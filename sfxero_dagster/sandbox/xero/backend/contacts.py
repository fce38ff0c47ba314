"""Contacts (``/Contacts``): unique active names and unique numbers, archiving, and the contact a
document names (found by id, number or name, or created from a name Xero does not know)."""

from __future__ import annotations

import copy
import json
import uuid
from typing import Any

from ...httpbase import Request, Response
from ..errors import bad_request, not_found
from ..model import render
from ..render import id_set, json_elements
from .base import Backend


class ContactsBackend(Backend):
    def new_contact(self, tid: str, el: dict) -> dict:
        phones = {p.get("PhoneType", "DEFAULT"): p for p in el.get("Phones") or []}
        addresses = {a.get("AddressType", "POBOX"): a for a in el.get("Addresses") or []}
        return {
            "ContactID": el.get("ContactID") or str(uuid.uuid4()),
            "ContactNumber": el.get("ContactNumber"),
            "AccountNumber": el.get("AccountNumber"),
            "ContactStatus": el.get("ContactStatus", "ACTIVE"),
            "Name": (el.get("Name") or "").strip(),
            "FirstName": el.get("FirstName"),
            "LastName": el.get("LastName"),
            "EmailAddress": el.get("EmailAddress"),
            "TaxNumber": el.get("TaxNumber"),
            "DefaultCurrency": el.get("DefaultCurrency"),
            "Addresses": [
                {"AddressType": t, **{k: v for k, v in addresses.get(t, {}).items() if k != "AddressType"}}
                for t in ("POBOX", "STREET")
            ],
            "Phones": [
                {"PhoneType": t, **{k: v for k, v in phones.get(t, {}).items() if k != "PhoneType"}}
                for t in ("DEFAULT", "DDI", "FAX", "MOBILE")
            ],
            "IsSupplier": False,
            "IsCustomer": False,
            "HasAttachments": False,
            "HasValidationErrors": False,
            "UpdatedDateUTC": self.now_ms(),
        }

    def find(self, tid: str, ref: str) -> dict | None:
        if not ref:
            return None
        ref_l = ref.lower()
        for c in self.store.all(f"{tid}/Contact"):
            if c["ContactID"].lower() == ref_l or (c.get("ContactNumber") or "").lower() == ref_l:
                return c
        return None

    def errors_for(self, tid: str, rec: dict, own_id: str | None) -> list[str]:
        errors = []
        name = rec.get("Name") or ""
        if not name:
            errors.append("The contact name must be specified.")
        for fld, limit in (
            ("Name", 255),
            ("ContactNumber", 50),
            ("AccountNumber", 50),
            ("EmailAddress", 255),
            ("TaxNumber", 50),
            ("FirstName", 255),
            ("LastName", 255),
        ):
            if rec.get(fld) and len(str(rec[fld])) > limit:
                errors.append(f"{fld} must not be more than {limit} characters long.")
        for other in self.store.all(f"{tid}/Contact"):
            if other["ContactID"] == own_id:
                continue
            if (
                name
                and rec.get("ContactStatus", "ACTIVE") == "ACTIVE"
                and other["ContactStatus"] == "ACTIVE"
                and other["Name"].lower() == name.lower()
            ):
                errors.append(
                    f"The contact name {name} is already assigned to another contact. "
                    "The contact name must be unique across all active contacts."
                )
            if (
                rec.get("ContactNumber")
                and (other.get("ContactNumber") or "").lower() == rec["ContactNumber"].lower()
            ):
                errors.append(
                    f"The contact number {rec['ContactNumber']} is already assigned to another contact. "
                    "The contact number must be unique across all contacts."
                )
        return errors

    def resolve(self, tid: str, ref: Any) -> tuple[dict, list[str]]:
        if not isinstance(ref, dict) or not any(ref.get(k) for k in ("ContactID", "ContactNumber", "Name")):
            return {}, [
                "The Contact must contain at least 1 of the following elements to identify the contact: Name, ContactID, ContactNumber"
            ]
        if ref.get("ContactID"):
            c = self.find(tid, ref["ContactID"])
            return (c, []) if c else ({}, [f"The ContactID {ref['ContactID']} could not be found."])
        if ref.get("ContactNumber"):
            c = self.find(tid, ref["ContactNumber"])
            if c:
                return c, []
            if not ref.get("Name"):
                return {}, [f"The ContactNumber {ref['ContactNumber']} could not be found."]
        name = str(ref.get("Name", "")).strip()
        for c in self.store.all(f"{tid}/Contact"):
            if c["Name"].lower() == name.lower() and c["ContactStatus"] == "ACTIVE":
                return c, []
        # Xero creates a contact from a name it does not know (Xero staff, reference §2.5).
        new = self.new_contact(tid, {"Name": name, "ContactNumber": ref.get("ContactNumber")})
        new["_new"] = True
        return new, []

    def get_contacts(self, req: Request) -> Response:
        tid = req.tenant_id  # type: ignore[attr-defined]
        ids = id_set(req, "IDs")
        include_archived = (req.arg("includeArchived") or "").lower() == "true"
        term = (req.arg("searchTerm") or "").lower()

        def prepare(rows: list[dict]) -> list[dict]:
            rows = [c for c in rows if include_archived or c["ContactStatus"] != "ARCHIVED"]
            if ids:
                rows = [c for c in rows if c["ContactID"].lower() in ids]
            if term:
                rows = [
                    c
                    for c in rows
                    if any(
                        term in str(c.get(f) or "").lower()
                        for f in ("Name", "FirstName", "LastName", "ContactNumber", "EmailAddress")
                    )
                ]
            return rows

        return self.render.listing(
            req, prepare(self.store.all(f"{tid}/Contact")), "Contacts", paged=True, order="Name ASC"
        )

    def get_contact(self, req: Request) -> Response:
        c = self.find(req.tenant_id, req.params["ref"])  # type: ignore[attr-defined]
        if c is None:
            return not_found()
        return self.render.reply("Contacts", [render(c)])

    def write(self, req: Request, create_only: bool) -> Response:
        tid = req.tenant_id  # type: ignore[attr-defined]
        try:
            elements = json_elements(req, "Contacts")
        except (ValueError, json.JSONDecodeError) as exc:
            return bad_request(str(exc))
        ref = req.params.get("ref")
        results = []
        with self.lock:
            for el in elements:
                existing = self.find(tid, ref or el.get("ContactID") or "")
                if existing is None and not create_only and el.get("ContactNumber"):
                    existing = self.find(tid, el["ContactNumber"])
                if ref and existing is None:
                    return not_found()
                if create_only and (el.get("ContactID") and existing is not None):
                    results.append(
                        (
                            render(el),
                            ["A contact with this ContactID already exists. Use POST to update it."],
                            [],
                        )
                    )
                    continue
                if el.get("ContactID") and existing is None:
                    results.append((render(el), [f"The ContactID {el['ContactID']} could not be found."], []))
                    continue
                if existing is not None:
                    rec = copy.deepcopy(existing)
                    for k, v in el.items():
                        if k in ("Phones", "Addresses"):
                            merged = self.new_contact(tid, {k: v})[k]
                            rec[k] = [m if len(m) > 1 else o for m, o in zip(merged, rec[k], strict=True)]
                        elif k not in ("ContactID", "UpdatedDateUTC"):
                            rec[k] = v.strip() if k == "Name" and isinstance(v, str) else v
                else:
                    rec = self.new_contact(tid, el)
                errors = self.errors_for(tid, rec, rec["ContactID"])
                if rec.get("ContactStatus") not in ("ACTIVE", "ARCHIVED", "GDPRREQUEST"):
                    errors.append("ContactStatus must be ACTIVE or ARCHIVED.")
                if errors:
                    results.append((render(el), errors, []))
                    continue
                rec["UpdatedDateUTC"] = self.now_ms()
                self.store.put(f"{tid}/Contact", rec["ContactID"], rec)
                results.append((render(rec), [], []))
        return self.render.write_response(req, "Contacts", results)
