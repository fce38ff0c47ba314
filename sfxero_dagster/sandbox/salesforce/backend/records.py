"""sObject records: the single write path (field rules, ids, auto-numbers, formulas, roll-ups) and the
REST endpoints of one record: create, retrieve, update, delete, retrieve or upsert by external id, and
the replication feeds (``updated``/``deleted``).
"""

from __future__ import annotations

import copy
from datetime import timedelta
from decimal import Decimal
from typing import Any
from urllib.parse import unquote

from ...httpbase import Request, Response
from .. import render
from ..errors import api_error, not_found, save_failure
from ..ids import is_valid_id, normalise_id
from ..render import json_body, parse_sf_datetime
from ..schema import FieldDef, ObjectDef
from ..soql import SF_DATETIME
from . import fields
from .org import Org


class Records:
    def __init__(self, org: Org) -> None:
        self.org = org

    def _rollup(self, obj: ObjectDef, rec: dict) -> None:
        """Parents whose roll-ups depend on this record change too (SystemModstamp moves, as in Salesforce)."""
        parent_spec = {
            "OpportunityLineItem": ("Opportunity", "OpportunityId", "Amount"),
            "OrderItem": ("Order", "OrderId", "TotalAmount"),
        }
        if obj.name not in parent_spec:
            return
        parent_obj, fk, total_field = parent_spec[obj.name]
        parent = self.org.store.get(parent_obj, rec.get(fk) or "")
        if parent is None:
            return
        lines = [
            x
            for x in self.org.store.find(obj.name, fk, parent["Id"])
            if x.get(fk) == parent["Id"] and not x.get("IsDeleted")
        ]
        parent = copy.deepcopy(parent)
        parent[total_field] = sum((Decimal(str(x.get("TotalPrice") or 0)) for x in lines), Decimal("0.00"))
        parent["SystemModstamp"] = self.org.stamp()
        self.org.store.put(parent_obj, parent["Id"], parent)

    def save(
        self, obj: ObjectDef, values: dict[str, Any], existing: dict | None = None, *, commit: bool = True
    ) -> tuple[dict | None, list[dict]]:
        """Create (existing=None) or update one record through every rule; the single write path."""
        self.org.ensure()
        clean, errors = fields.check(self.org, obj, values, existing)
        if errors:
            return None, errors
        now = self.org.stamp()
        if existing is None:
            rec = {
                "Id": self.org.next_id(obj),
                "IsDeleted": False,
                "CreatedDate": now,
                "CreatedById": self.org.user_id,
            }
            if obj.field("OwnerId"):
                rec["OwnerId"] = self.org.user_id
            if obj.field("CurrencyIsoCode"):
                rec["CurrencyIsoCode"] = "USD"
            for f in self.org.auto_number_fields(obj):
                rec[f.name] = self.org.issue_auto_number(obj, f)
            for f in obj.fields.values():
                if f.type == "boolean" and f.name not in rec and f.createable:
                    rec[f.name] = False
        else:
            rec = copy.deepcopy(existing)
        rec.update(clean)
        rec.update({"LastModifiedDate": now, "SystemModstamp": now, "LastModifiedById": self.org.user_id})
        fields.derive(self.org, obj, rec)
        if commit:
            self.org.store.put(obj.name, rec["Id"], rec)
            self._rollup(obj, rec)
        return rec, []

    def create_record(self, req: Request) -> Response:
        obj = self.org.obj(req.params["obj"])
        if obj is None:
            return api_error("NOT_FOUND", "The requested resource does not exist", status=404)
        body = json_body(req)
        if not isinstance(body, dict):
            return api_error("JSON_PARSER_ERROR", "The request body must be a JSON object")
        if body.get("Id"):
            return api_error("INVALID_FIELD_FOR_INSERT_UPDATE", "Unable to create/update fields: Id.", ["Id"])
        with self.org.lock, self.org.store.transaction():
            rec, errors = self.save(obj, body)
        if errors:
            return save_failure(errors)
        return Response.json({"id": rec["Id"], "success": True, "errors": []}, 201)

    def retrieve_record(self, req: Request) -> Response:
        obj = self.org.obj(req.params["obj"])
        rid = req.params["id"]
        if obj is None or not is_valid_id(rid):
            return not_found()
        rec = self.org.store.get(obj.name, normalise_id(rid))
        if rec is None or rec.get("IsDeleted"):
            return not_found()
        return Response.json(render.record(obj, rec, req.params["v"], req.arg("fields")))

    def update_record(self, req: Request) -> Response:
        obj = self.org.obj(req.params["obj"])
        rid = req.params["id"]
        if obj is None or not is_valid_id(rid):
            return not_found()
        body = json_body(req)
        if not isinstance(body, dict):
            return api_error("JSON_PARSER_ERROR", "The request body must be a JSON object")
        with self.org.lock, self.org.store.transaction():
            existing = self.org.store.get(obj.name, normalise_id(rid))
            if existing is None or existing.get("IsDeleted"):
                return not_found()
            _, errors = self.save(obj, body, existing)
        if errors:
            return save_failure(errors)
        return Response.empty(204)

    def delete(self, obj: ObjectDef, rid: str) -> bool:
        rec = self.org.store.get(obj.name, normalise_id(rid))
        if rec is None or rec.get("IsDeleted"):
            return False
        rec = copy.deepcopy(rec)
        now = self.org.stamp()
        rec.update({"IsDeleted": True, "SystemModstamp": now, "LastModifiedDate": now})
        self.org.store.put(obj.name, rec["Id"], rec)
        self._rollup(obj, rec)
        return True

    def delete_record(self, req: Request) -> Response:
        obj = self.org.obj(req.params["obj"])
        if obj is None or not is_valid_id(req.params["id"]):
            return not_found()
        with self.org.lock, self.org.store.transaction():
            ok = self.delete(obj, req.params["id"])
        return Response.empty(204) if ok else api_error("ENTITY_IS_DELETED", "entity is deleted", status=404)

    def _external(self, req: Request) -> tuple[ObjectDef | None, FieldDef | None, str]:
        obj = self.org.obj(req.params["obj"])
        f = obj.field(req.params["field"]) if obj else None
        return (
            obj,
            f,
            unquote(req.params["value"].replace("+", " "))
            if req.method == "GET"
            else unquote(req.params["value"]),
        )

    def retrieve_by_external_id(self, req: Request) -> Response:
        obj, f, value = self._external(req)
        if obj is None or f is None or not (f.external_id or f.name == "Id"):
            return not_found()
        matches = self.org.match_external(obj, {f.name: value})
        if not matches:
            return not_found()
        if len(matches) > 1:
            return Response.json(
                [f"/services/data/v{req.params['v']}/sobjects/{obj.name}/{m['Id']}" for m in matches], 300
            )
        return Response.json(render.record(obj, matches[0], req.params["v"]))

    def upsert_one(self, obj: ObjectDef, f: FieldDef, value: str, body: dict) -> tuple[int, dict]:
        if f.name != "Id" and f.name in body and str(body[f.name]) != value:
            return 400, {
                "errors": [
                    {
                        "statusCode": "INVALID_FIELD",
                        "message": f"The value for {f.name} in the body does not match the URL",
                        "fields": [f.name],
                    }
                ]
            }
        matches = (
            self.org.match_external(obj, {f.name: value})
            if f.name != "Id"
            else [m for m in [self.org.store.get(obj.name, normalise_id(value))] if m]
        )
        if len(matches) > 1:
            return 300, {"matches": [m["Id"] for m in matches]}
        values = {k: v for k, v in body.items() if k != "attributes"}
        if matches:
            rec, errors = self.save(obj, values, matches[0])
            created = False
        else:
            if f.name == "Id":
                return 404, {
                    "errors": [
                        {
                            "statusCode": "NOT_FOUND",
                            "message": "Provided external ID field does not exist or is not accessible: Id",
                            "fields": [],
                        }
                    ]
                }
            rec, errors = self.save(obj, {**values, f.name: value})
            created = True
        if errors:
            return 400, {"errors": errors}
        return (201 if created else 200), {"id": rec["Id"], "success": True, "errors": [], "created": created}

    def upsert_by_external_id(self, req: Request) -> Response:
        obj, f, value = self._external(req)
        if obj is None:
            return not_found()
        if f is None or not (f.external_id or f.name == "Id"):
            return api_error(
                "NOT_FOUND",
                f"Provided external ID field does not exist or is not accessible: {req.params['field']}",
                status=404,
            )
        body = json_body(req)
        if not isinstance(body, dict):
            return api_error("JSON_PARSER_ERROR", "The request body must be a JSON object")
        with self.org.lock, self.org.store.transaction():
            status, result = self.upsert_one(obj, f, value, body)
        if status == 300:
            v = req.params["v"]
            return Response.json(
                [f"/services/data/v{v}/sobjects/{obj.name}/{i}" for i in result["matches"]], 300
            )
        if status >= 400:
            return save_failure(result["errors"], status)
        # API 46.0+ answers an update with 200 and a body (created: false); a create with 201.
        return Response.json(result, status)

    def changed(self, req: Request, deleted: bool) -> Response:
        obj = self.org.obj(req.params["obj"])
        if obj is None:
            return not_found()
        try:
            start = parse_sf_datetime(req.arg("start") or "")
            end = parse_sf_datetime(req.arg("end") or "")
        except ValueError:
            return api_error("INVALID_REPLICATION_DATE", "start and end must be valid dateTimes")
        if end <= start:
            return api_error("INVALID_REPLICATION_DATE", "end must be after start")
        lo, hi = (
            start.replace(second=0, microsecond=0).strftime(SF_DATETIME),
            end.replace(second=0, microsecond=0).strftime(SF_DATETIME),
        )
        rows = [
            r
            for r in self.org.store.all(obj.name)
            if lo <= r.get("SystemModstamp", "") < hi and bool(r.get("IsDeleted")) == deleted
        ]
        latest = min(end, self.org.now()).replace(second=0, microsecond=0).strftime(SF_DATETIME)
        if deleted:
            earliest = (self.org.now() - timedelta(days=15)).strftime(SF_DATETIME)
            return Response.json(
                {
                    "deletedRecords": [{"id": r["Id"], "deletedDate": r["SystemModstamp"]} for r in rows],
                    "earliestDateAvailable": earliest,
                    "latestDateCovered": latest,
                }
            )
        return Response.json({"ids": [r["Id"] for r in rows], "latestDateCovered": latest})
