"""What a Salesforce user does in the UI (edit or create a record, close an opportunity won, activate or
cancel an order, delete), through the same write path as the API, so every rule applies. Tests and
benchmarks call it in Python or through ``/_sandbox/act/<action>``.
"""

from __future__ import annotations

from typing import Any

from ..httpbase import Request, Response
from .backend.org import Org
from .backend.records import Records
from .ids import normalise_id


class Actor:
    def __init__(self, org: Org, records: Records) -> None:
        self.org = org
        self.records = records

    def act(self, action: str, **kw: Any) -> dict:
        """What a Salesforce user does in the UI, through the same write path as the API."""
        with self.org.lock, self.org.store.transaction():
            if action == "edit":
                obj = self.org.schema.by_prefix(kw["id"])
                existing = self.org.store.get(obj.name, normalise_id(kw["id"])) if obj else None
                if existing is None:
                    raise ValueError(f"unknown record {kw['id']}")
                rec, errors = self.records.save(obj, kw.get("fields", {}), existing)
            elif action == "create":
                obj = self.org.obj(kw["object"])
                if obj is None:
                    raise ValueError(f"unknown object {kw['object']}")
                rec, errors = self.records.save(obj, kw.get("fields", {}))
            elif action == "close_won":
                rec, errors = self.records.save(
                    self.org.obj("Opportunity"),
                    {"StageName": "Closed Won"},
                    self.org.store.get("Opportunity", normalise_id(kw["id"])),
                )
            elif action in ("activate_order", "cancel_order"):
                status = "Activated" if action == "activate_order" else "Cancelled"
                rec, errors = self.records.save(
                    self.org.obj("Order"),
                    {"Status": status},
                    self.org.store.get("Order", normalise_id(kw["id"])),
                )
            elif action == "delete":
                obj = self.org.schema.by_prefix(kw["id"])
                if obj is None or not self.records.delete(obj, kw["id"]):
                    raise ValueError(f"cannot delete {kw['id']}")
                return {"id": normalise_id(kw["id"]), "deleted": True}
            else:
                raise ValueError(f"unknown action {action!r}")
        if errors:
            raise ValueError("; ".join(e["message"] for e in errors))
        return rec

    def ctl_act(self, req: Request) -> Response:
        try:
            return Response.json(self.act(req.params["action"], **(req.json() or {})))
        except (KeyError, ValueError, AttributeError) as exc:
            return Response.json({"error": str(exc)}, 400)
