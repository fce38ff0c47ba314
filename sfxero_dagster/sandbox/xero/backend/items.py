"""Items (``/Items``): the price list, its code and name rules, and unit prices at 2 or 4 decimals."""

from __future__ import annotations

import json
import threading
import uuid
from decimal import Decimal

from ...clock import SandboxClock
from ...httpbase import Request, Response
from ...store import RecordStore
from ..errors import bad_request, not_found
from ..model import render
from ..render import Renderer, json_elements, unitdp_of
from .base import Backend
from .organisation import OrganisationBackend


class ItemsBackend(Backend):
    def __init__(
        self,
        store: RecordStore,
        lock: threading.RLock,
        clock: SandboxClock,
        render: Renderer,
        organisation: OrganisationBackend,
    ) -> None:
        super().__init__(store, lock, clock, render)
        self.organisation = organisation

    def new_item(self, tid: str, el: dict, unitdp: int) -> dict:
        rec = {
            "ItemID": el.get("ItemID") or str(uuid.uuid4()),
            "Code": el["Code"],
            "Name": el.get("Name") or el["Code"],
            "Description": el.get("Description"),
            "IsSold": el.get("IsSold", True),
            "IsPurchased": el.get("IsPurchased", False),
            "IsTrackedAsInventory": False,
            "UpdatedDateUTC": self.now_ms(),
        }
        if el.get("SalesDetails"):
            sd = dict(el["SalesDetails"])
            if "UnitPrice" in sd:
                sd["UnitPrice"] = Decimal(str(sd["UnitPrice"])).quantize(
                    Decimal("0.0001") if unitdp == 4 else Decimal("0.01")
                )
            rec["SalesDetails"] = sd
        if el.get("PurchaseDetails"):
            rec["PurchaseDetails"] = dict(el["PurchaseDetails"])
        return rec

    def find(self, tid: str, ref: str) -> dict | None:
        ref_l = ref.lower()
        for it in self.store.all(f"{tid}/Item"):
            if it["ItemID"].lower() == ref_l or it["Code"].lower() == ref_l:
                return it
        return None

    def get_items(self, req: Request) -> Response:
        return self.render.listing(
            req, self.store.all(f"{req.tenant_id}/Item"), "Items", paged=False, order="Code ASC"
        )

    def get_item(self, req: Request) -> Response:
        it = self.find(req.tenant_id, req.params["ref"])  # type: ignore[attr-defined]
        if it is None:
            return not_found()
        return self.render.reply("Items", [render(it, unitdp=unitdp_of(req))])

    def write(self, req: Request, create_only: bool) -> Response:
        tid = req.tenant_id  # type: ignore[attr-defined]
        try:
            elements = json_elements(req, "Items")
        except (ValueError, json.JSONDecodeError) as exc:
            return bad_request(str(exc))
        unitdp = unitdp_of(req)
        results = []
        with self.lock:
            for el in elements:
                errors: list[str] = []
                existing = (
                    self.find(tid, el.get("ItemID") or el.get("Code") or "")
                    if (el.get("ItemID") or el.get("Code"))
                    else None
                )
                code = el.get("Code") or (existing or {}).get("Code")
                if not code:
                    errors.append("Item code is required")
                elif len(code) > 30:
                    errors.append("Item Code must not be more than 30 characters long.")
                if el.get("Name") and len(el["Name"]) > 50:
                    errors.append("Item Name must not be more than 50 characters long.")
                if el.get("Description") and len(el["Description"]) > 4000:
                    errors.append("Item Description must not be more than 4000 characters long.")
                sd = el.get("SalesDetails") or {}
                if sd.get("TaxType") and sd["TaxType"] not in self.organisation.rates(tid):
                    errors.append(
                        f"The TaxType code '{sd['TaxType']}' does not exist or cannot be used for this type of transaction."
                    )
                if sd.get("AccountCode") and not self.organisation.account(tid, sd["AccountCode"]):
                    errors.append(
                        f"Account code '{sd['AccountCode']}' is not a valid code for this document."
                    )
                if existing and create_only:
                    errors.append(f"Price List Item with Code ''{code}'' already exists")
                if errors:
                    results.append((render({**el}), errors, []))
                    continue
                if existing:
                    merged = {
                        **existing,
                        **self.new_item(tid, {**existing, **el}, unitdp),
                        "ItemID": existing["ItemID"],
                    }
                    rec = merged
                else:
                    rec = self.new_item(tid, el, unitdp)
                self.store.put(f"{tid}/Item", rec["ItemID"], rec)
                results.append((render(rec, unitdp=unitdp), [], []))
        return self.render.write_response(req, "Items", results)
