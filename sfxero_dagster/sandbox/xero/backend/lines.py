"""The rules of one document line: item defaults, account and tax type, amounts, discounts, tracking.

Invoices and credit notes share them; :class:`~.documents.DocumentsBackend` checks each line with
:meth:`LineRules.check`, which also fills what Xero fills (the item's description and price, the
account's tax type and id, tracking ids) before the arithmetic in ``model.py`` runs.
"""

from __future__ import annotations

import uuid
from decimal import Decimal, InvalidOperation

from .items import ItemsBackend
from .organisation import OrganisationBackend


class LineRules:
    def __init__(self, organisation: OrganisationBackend, items: ItemsBackend) -> None:
        self.organisation = organisation
        self.items = items

    def check(
        self, tid: str, li: dict, *, rates: dict[str, Decimal], categories: dict[str, dict], approving: bool
    ) -> list[str]:
        """The line's errors, in Xero's order; the line is completed in place."""
        errors: list[str] = []
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
                errors.append(f"Account code '{li['AccountCode']}' is not a valid code for this document.")
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
            return errors
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
                errors.append(f"The Tracking Category '{tr.get('Name')}' does not exist or is not active.")
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
        return errors
