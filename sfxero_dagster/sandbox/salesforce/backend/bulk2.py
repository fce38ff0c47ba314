"""Bulk API 2.0 for the Salesforce emulator: ingest jobs (CSV read by header name) and query jobs
(CSV pages with ``Sforce-Locator``). Salesforce processes an ingest job asynchronously after
``UploadComplete``, in internal batches of 10,000 records; here each status read advances the job by one
such batch (``InProgress`` until the last), so a large job never holds a request past a client's read
timeout. Every record goes through the REST write path; a batch and the job's progress commit together.
Each job is stored under its own key (one document for all jobs was rewritten whole on every change).
"""

from __future__ import annotations

import csv
import io
import uuid
from typing import Any

from ...httpbase import Request, Response
from ..errors import job_error
from ..ids import is_valid_id, normalise_id
from ..render import csv_bytes, flatten_for_csv
from ..soql import SoqlError, execute
from .org import Org
from .records import Records

OPERATIONS = {
    "ingest": ("insert", "update", "upsert", "delete", "hardDelete"),
    "query": ("query", "queryAll"),
}
DELIMITERS = {"COMMA": ",", "TAB": "\t", "PIPE": "|", "SEMICOLON": ";", "CARET": "^", "BACKQUOTE": "`"}
INTERNAL_BATCH = 10_000  # records Salesforce processes per internal batch of an ingest job (read per batch)


def _key(job_id: str) -> str:
    return f"bulk_job:{job_id}"


def _info(job: dict) -> dict:
    return {k: v for k, v in job.items() if not k.startswith("_")}


def _rows(job: dict) -> list[dict]:
    return list(csv.DictReader(io.StringIO(job["_data"]), delimiter=DELIMITERS[job["columnDelimiter"]]))


class Bulk2:
    """Bulk 2.0 ingest and query jobs, each stored under its own key in the org's store."""

    def __init__(self, org: Org, records: Records) -> None:
        self.org = org
        self.records = records

    def _save(self, job: dict) -> None:
        self.org.store.set_meta(_key(job["id"]), job)

    def _get_job(self, req: Request) -> dict | None:
        job = self.org.store.get_meta(_key(req.params["job"]))
        return job if job and job["_kind"] == req.params["kind"] else None

    def create_job(self, req: Request) -> Response:
        body = req.json() or {}
        kind = req.params["kind"]
        op = body.get("operation")
        if op not in OPERATIONS[kind]:
            return job_error(f"Invalid operation: {op}", "INVALIDJOB")
        delimiter = body.get("columnDelimiter", "COMMA")
        if delimiter not in DELIMITERS or body.get("lineEnding", "LF") not in ("LF", "CRLF"):
            return job_error("Invalid columnDelimiter or lineEnding")
        job: dict[str, Any] = {
            "id": "750" + uuid.uuid4().hex[:15],
            "operation": op,
            "createdById": self.org.user_id,
            "createdDate": self.org.stamp(),
            "systemModstamp": self.org.stamp(),
            "concurrencyMode": "Parallel",
            "contentType": "CSV",
            "apiVersion": float(req.params["v"]),
            "lineEnding": body.get("lineEnding", "LF"),
            "columnDelimiter": delimiter,
            "_kind": kind,
        }
        if kind == "ingest":
            obj = self.org.obj(body.get("object", ""))
            if obj is None:
                return job_error(
                    f"Entity '{body.get('object')}' is not supported by the Bulk API", "INVALIDENTITY"
                )
            if op == "upsert":
                f = obj.field(body.get("externalIdFieldName") or "")
                if f is None or not (f.external_id or f.name == "Id"):
                    return job_error("External ID field is missing or not an external ID", "INVALIDFIELD")
                job["externalIdFieldName"] = f.name
            job.update(object=obj.name, state="Open", _data="", _success=[], _failed=[], _unprocessed=[])
        else:
            try:
                result = execute(
                    body.get("query", ""),
                    self.org,
                    now=self.org.now(),
                    api_version=req.params["v"],
                    include_deleted=op == "queryAll",
                )
            except SoqlError as exc:
                return job_error(exc.message, exc.error_code)
            job.update(
                query=body.get("query"),
                state="UploadComplete",
                _rows=[flatten_for_csv(r) for r in result.records],
                numberRecordsProcessed=0,
            )
        self._save(job)
        return Response.json(_info(job))

    def job_info(self, req: Request) -> Response:
        with self.org.lock:
            job = self._get_job(req)
            if job is None:
                return job_error("Job not found", "NOT_FOUND", 404)
            if job["_kind"] == "ingest" and job["state"] in ("UploadComplete", "InProgress"):
                self._process(job)
            elif job["state"] == "UploadComplete":
                job.update(state="JobComplete", numberRecordsProcessed=len(job["_rows"]))
                self._save(job)
            info = _info(job)
        if job["_kind"] == "ingest":
            info.update(
                numberRecordsProcessed=len(job["_success"]) + len(job["_failed"]),
                numberRecordsFailed=len(job["_failed"]),
            )
        return Response.json(info)

    def set_job_state(self, req: Request) -> Response:
        state = (req.json() or {}).get("state")
        with self.org.lock:
            job = self._get_job(req)
            if job is None:
                return job_error("Job not found", "NOT_FOUND", 404)
            if state == "UploadComplete" and job["state"] == "Open":
                job["state"] = "UploadComplete"
            elif state == "Aborted" and job["state"] in ("Open", "UploadComplete", "InProgress"):
                job["state"] = "Aborted"
                if job["_kind"] == "ingest":  # what no batch reached is "unprocessed"
                    job["_unprocessed"] = _rows(job)[job.get("_next", 0) :]
            else:
                return job_error(
                    f"Cannot change the job state from {job['state']} to {state}", "INVALIDJOBSTATE", 409
                )
            self._save(job)
        return Response.json(_info(job))

    def delete_job(self, req: Request) -> Response:
        with self.org.lock:
            if self._get_job(req) is None or not self.org.store.delete_meta(_key(req.params["job"])):
                return job_error("Job not found", "NOT_FOUND", 404)
        return Response.empty(204)

    def upload_job_data(self, req: Request) -> Response:
        with self.org.lock:
            job = self._get_job(req)
            if job is None or job["_kind"] != "ingest":
                return job_error("Job not found", "NOT_FOUND", 404)
            if job["state"] != "Open":
                return job_error("The job is not open for data", "INVALIDJOBSTATE", 409)
            text = req.body.decode("utf-8")
            if job["_data"]:
                text = text.split("\n", 1)[1] if "\n" in text else ""  # later batches repeat the header
            job["_data"] += text
            self._save(job)
        return Response.empty(201)

    def _process(self, job: dict) -> None:
        """Apply the job's next internal batch of CSV rows through the REST write path (columns read by
        header name), committed with the job's progress: a restarted emulator neither skips nor repeats a row.
        """
        obj = self.org.obj(job["object"])
        rows = _rows(job)
        start = job.get("_next", 0)
        batch = rows[start : start + INTERNAL_BATCH]
        with self.org.store.transaction():
            self._apply(obj, job, batch)
            job["_next"] = start + len(batch)
            job["state"] = "JobComplete" if job["_next"] >= len(rows) else "InProgress"
            job["systemModstamp"] = self.org.stamp()
            self._save(job)

    def _apply(self, obj: Any, job: dict, rows: list[dict]) -> None:
        for row in rows:
            # Bulk 2.0: an empty field leaves the value alone; #N/A sets it to null.
            values = {k: (None if v == "#N/A" else v) for k, v in row.items() if k is not None and v != ""}
            op = job["operation"]
            with self.org.store.transaction():
                try:
                    if op == "insert":
                        rec, errors = self.records.save(obj, values)
                        created = True
                    elif op == "upsert":
                        field = obj.field(job["externalIdFieldName"])
                        status, result = self.records.upsert_one(
                            obj, field, str(values.get(field.name, "")), values
                        )
                        errors = result.get("errors", []) if status >= 300 else []
                        if status == 300:
                            errors = [
                                {
                                    "statusCode": "DUPLICATE_EXTERNAL_ID",
                                    "message": "more than one record found",
                                }
                            ]
                        rec = {"Id": result.get("id")}
                        created = status == 201
                    else:
                        rid = values.get("Id", "")
                        existing = (
                            self.org.store.get(obj.name, normalise_id(rid)) if is_valid_id(rid) else None
                        )
                        if existing is None:
                            rec, errors, created = (
                                None,
                                [{"statusCode": "INVALID_ID_FIELD", "message": f"invalid record id: {rid}"}],
                                False,
                            )
                        elif op == "update":
                            rec, errors = self.records.save(
                                obj, {k: v for k, v in values.items() if k != "Id"}, existing
                            )
                            created = False
                        else:
                            self.records.delete(obj, rid)
                            rec, errors, created = existing, [], False
                except (ValueError, KeyError) as exc:
                    rec, errors, created = None, [{"statusCode": "INVALID_FIELD", "message": str(exc)}], False
            if errors:
                job["_failed"].append(
                    {
                        "sf__Id": "",
                        "sf__Error": "; ".join(f"{e['statusCode']}:{e['message']}" for e in errors),
                        **row,
                    }
                )
            else:
                job["_success"].append(
                    {"sf__Id": rec["Id"], "sf__Created": "true" if created else "false", **row}
                )

    def job_results(self, req: Request) -> Response:
        job = self._get_job(req)
        if job is None:
            return job_error("Job not found", "NOT_FOUND", 404)
        columns = next(csv.reader(io.StringIO(job["_data"])), []) if job["_data"] else []
        which = req.params["which"]
        if which == "successfulResults":
            body = csv_bytes(job["_success"], ["sf__Id", "sf__Created", *columns])
        elif which == "failedResults":
            body = csv_bytes(job["_failed"], ["sf__Id", "sf__Error", *columns])
        else:
            body = csv_bytes(job["_unprocessed"], columns)
        return Response(200, body, {"Content-Type": "text/csv"})

    def query_job_results(self, req: Request) -> Response:
        job = self._get_job(req)
        if job is None or job["_kind"] != "query":
            return job_error("Job not found", "NOT_FOUND", 404)
        if job["state"] != "JobComplete":
            return job_error("The job is not complete", "INVALIDJOBSTATE", 409)
        rows = job["_rows"]
        start = int(req.arg("locator") or 0)
        size = int(req.arg("maxRecords") or 50_000)
        page = rows[start : start + size]
        header = list(rows[0].keys()) if rows else []
        nxt = start + size
        locator = str(nxt) if nxt < len(rows) else "null"
        return Response(
            200,
            csv_bytes(page, header),
            {"Content-Type": "text/csv", "Sforce-Locator": locator, "Sforce-NumberOfRecords": str(len(page))},
        )
