"""sObject collections (``/composite/sobjects``): create, update, upsert by external id and delete up to
200 records in one request, each through the single-record write path, all-or-none when asked (a
failed request restores the store as it was, auto-number counters excepted, as in Salesforce).
"""

from __future__ import annotations

import copy
from typing import Any

from ...httpbase import Request, Response
from ..errors import api_error
from ..ids import is_valid_id, normalise_id
from ..render import json_body
from .org import Org
from .records import Records


class Collections:
    def __init__(self, org: Org, records: Records) -> None:
        self.org = org
        self.records = records

    def _records_body(self, req: Request) -> tuple[list[dict], bool] | Response:
        body = json_body(req)
        if not isinstance(body, dict) or not isinstance(body.get("records"), list):
            return api_error("JSON_PARSER_ERROR", "The request body must have a records array")
        if len(body["records"]) > 200:
            return api_error(
                "EXCEEDED_ID_LIMIT",
                "record limit reached. cannot submit more than 200 records into this call",
            )
        return body["records"], bool(body.get("allOrNone"))

    def _run(self, items: list[tuple[Any, Any]], all_or_none: bool) -> Response:
        """items: (callable returning (result dict, ok)) per record, executed in one transaction."""
        with self.org.lock:
            snapshot = (
                {k: copy.deepcopy(self.org.store.items(k)) for k in self.org.store.kinds()}
                if all_or_none
                else None
            )
            meta_snapshot = copy.deepcopy(self.org.store.get_meta("org")) if all_or_none else None
            results = []
            with self.org.store.transaction():
                for fn in items:
                    results.append(fn())
                if all_or_none and not all(r.get("success") for r in results):
                    # Restore exactly what was there before the request: drop new rows, put back old ones.
                    for kind in self.org.store.kinds():
                        before = dict((snapshot or {}).get(kind, []))
                        for rid, _ in self.org.store.items(kind):
                            if rid not in before:
                                self.org.store.delete(kind, rid)
                        self.org.store.put_many(kind, list(before.items()))
                    self.org.store.set_meta("org", meta_snapshot)
                    results = [
                        r
                        if not r.get("success")
                        else {
                            "id": None,
                            "success": False,
                            "errors": [
                                {
                                    "statusCode": "ALL_OR_NONE_OPERATION_ROLLED_BACK",
                                    "message": "Record rolled back because not all records were valid and the request was using AllOrNone header",
                                    "fields": [],
                                }
                            ],
                        }
                        for r in results
                    ]
        return Response.json(results)

    def save_many(self, req: Request, mode: str) -> Response:
        parsed = self._records_body(req)
        if isinstance(parsed, Response):
            return parsed
        records, all_or_none = parsed

        def one(rec: dict):
            def run() -> dict:
                obj = self.org.obj(((rec.get("attributes") or {}).get("type")) or "")
                if obj is None:
                    return {
                        "success": False,
                        "errors": [
                            {
                                "statusCode": "INVALID_TYPE",
                                "message": "sObject type is missing or unknown",
                                "fields": [],
                            }
                        ],
                    }
                values = {k: v for k, v in rec.items() if k not in ("attributes", "id", "Id")}
                if mode == "create":
                    if rec.get("id") or rec.get("Id"):
                        return {
                            "success": False,
                            "errors": [
                                {
                                    "statusCode": "INVALID_FIELD",
                                    "message": "cannot specify Id in an insert call",
                                    "fields": ["Id"],
                                }
                            ],
                        }
                    saved, errors = self.records.save(obj, values)
                else:
                    rid = rec.get("id") or rec.get("Id") or ""
                    existing = (
                        self.org.store.get(obj.name, normalise_id(rid)) if is_valid_id(str(rid)) else None
                    )
                    if existing is None or existing.get("IsDeleted"):
                        return {
                            "id": rid or None,
                            "success": False,
                            "errors": [
                                {
                                    "statusCode": "ENTITY_IS_DELETED" if existing else "MALFORMED_ID",
                                    "message": "record not found",
                                    "fields": ["Id"],
                                }
                            ],
                        }
                    saved, errors = self.records.save(obj, values, existing)
                if errors:
                    return {"success": False, "errors": errors}
                return {"id": saved["Id"], "success": True, "errors": []}

            return run

        return self._run([one(r) for r in records], all_or_none)

    def upsert_many(self, req: Request) -> Response:
        obj = self.org.obj(req.params["obj"])
        f = obj.field(req.params["field"]) if obj else None
        if obj is None or f is None or not (f.external_id or f.name == "Id"):
            return api_error(
                "NOT_FOUND", "Provided external ID field does not exist or is not accessible", status=404
            )
        parsed = self._records_body(req)
        if isinstance(parsed, Response):
            return parsed
        records, all_or_none = parsed

        def one(rec: dict):
            def run() -> dict:
                value = rec.get(f.name)
                if value in (None, ""):
                    return {
                        "success": False,
                        "errors": [
                            {
                                "statusCode": "MISSING_ARGUMENT",
                                "message": f"{f.name} not specified",
                                "fields": [f.name],
                            }
                        ],
                    }
                status, result = self.records.upsert_one(
                    obj, f, str(value), {k: v for k, v in rec.items() if k != "attributes"}
                )
                if status == 300:
                    return {
                        "success": False,
                        "errors": [
                            {
                                "statusCode": "DUPLICATE_EXTERNAL_ID",
                                "message": f"{f.name}: more than one record found for external id field: {result['matches']}",
                                "fields": [f.name],
                            }
                        ],
                    }
                if status >= 400:
                    return {"success": False, "errors": result["errors"]}
                return result

            return run

        return self._run([one(r) for r in records], all_or_none)

    def delete_many(self, req: Request) -> Response:
        ids = [x for x in (req.arg("ids") or "").split(",") if x]
        if len(ids) > 200:
            return api_error("EXCEEDED_ID_LIMIT", "cannot delete more than 200 records")
        all_or_none = (req.arg("allOrNone") or "false").lower() == "true"

        def one(rid: str):
            def run() -> dict:
                obj = self.org.schema.by_prefix(rid) if is_valid_id(rid) else None
                if obj is None or not self.records.delete(obj, rid):
                    return {
                        "id": rid,
                        "success": False,
                        "errors": [
                            {
                                "statusCode": "ENTITY_IS_DELETED" if obj else "MALFORMED_ID",
                                "message": "entity is deleted or not found",
                                "fields": [],
                            }
                        ],
                    }
                return {"id": normalise_id(rid), "success": True, "errors": []}

            return run

        return self._run([one(r) for r in ids], all_or_none)
