"""The Salesforce client: simple-salesforce for data calls, with login, retries and limits done right.

The login (``salesforce_login.py``) fetches the session from ``login_url`` itself, since simple-salesforce's
own cannot point at a My Domain URL given in full, a proxy or the local sandbox. Production and sandbox
differ only in ``login_url``/``instance_url`` and the CA bundle.

It also adds what unattended runs need: bounded re-authentication on ``INVALID_SESSION_ID`` (simple-
salesforce's own SFType loop can recurse forever), retries with tenacity for 5xx and dropped connections
on idempotent calls only, a clean :class:`SalesforceDailyLimitReached` on ``REQUEST_LIMIT_EXCEEDED``
instead of a retry loop, and a count of every call made.
"""

from __future__ import annotations

import csv
import io
import re
import time
from collections import Counter
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

import requests
from simple_salesforce import Salesforce, format_soql
from simple_salesforce.exceptions import (
    SalesforceExpiredSession,
    SalesforceGeneralError,
    SalesforceRefusedRequest,
)
from tenacity import Retrying, retry_if_exception, stop_after_attempt, wait_exponential_jitter

from sfxero_dagster.clients.salesforce_login import (
    SalesforceAuthError,
    SalesforceCredentials,
    SalesforceLogin,
    SalesforceSettings,
    _TimeoutSession,
)
from sfxero_dagster.core.progress import Progress

__all__ = [
    "RecordOutcome",
    "SalesforceAuthError",
    "SalesforceClient",
    "SalesforceCredentials",
    "SalesforceDailyLimitReached",
    "SalesforceSettings",
    "flatten",
]
COLLECTION_SIZE = 200


class SalesforceDailyLimitReached(RuntimeError):
    """The org's daily API allocation is spent; stop cleanly and resume tomorrow."""

    def __init__(self, usage: str | None) -> None:
        super().__init__(
            f"Salesforce daily API limit reached ({usage or 'usage unknown'}); resume after the limit resets"
        )
        self.usage = usage


@dataclass
class RecordOutcome:
    """One record of a collection write, in input order."""

    index: int
    key: str | None
    success: bool
    sf_id: str | None = None
    created: bool | None = None
    errors: list[dict[str, Any]] = field(default_factory=list)

    @property
    def message(self) -> str:
        return "; ".join(f"{e.get('statusCode')}: {e.get('message')}" for e in self.errors)


def flatten(record: dict[str, Any], prefix: str = "") -> dict[str, Any]:
    """Drop ``attributes`` and flatten parent paths (``Account.Name``); child sub-queries stay as lists."""
    out: dict[str, Any] = {}
    for key, value in record.items():
        if key == "attributes":
            continue
        name = f"{prefix}{key}"
        if isinstance(value, dict) and "records" in value and "totalSize" in value:
            out[name] = [flatten(r) for r in value["records"]]
        elif isinstance(value, dict):
            out.update(flatten(value, f"{name}."))
        else:
            out[name] = value
    return out


class SalesforceClient(SalesforceLogin):
    def __init__(self, settings: SalesforceSettings, *, sleep: Callable[[float], None] = time.sleep) -> None:
        self.settings = settings
        self.sleep = sleep
        self.http = _TimeoutSession(settings.timeout_seconds)
        self.http.trust_env = False  # REQUESTS_CA_BUNDLE must not override the configured CA bundle
        self.http.verify = settings.ca_bundle or True
        self.calls: Counter[str] = Counter()
        self.http_requests = 0  # every HTTP request, bulk job polls included
        self.http.hooks["response"].append(self._count_request)
        self._describes: dict[str, dict[str, Any]] = {}
        self.logins = 0
        self.last_usage: str | None = None
        self._sf: Salesforce | None = None
        self.progress_log: Callable[[str], None] | None = None  # e.g. a Dagster run's log.info

    def _count_request(self, response: requests.Response, *args: Any, **kwargs: Any) -> None:
        self.http_requests += 1

    # ----- calls --------------------------------------------------------------------------------
    def call(self, kind: str, fn: Callable[[Salesforce], Any], *, idempotent: bool = True) -> Any:
        """Run ``fn(sf)`` with bounded re-login, retries for transient failures, and limit handling."""
        relogins = 0

        def transient(exc: BaseException) -> bool:
            if not idempotent:
                return False
            if isinstance(exc, SalesforceGeneralError):
                return exc.status >= 500
            return isinstance(exc, requests.ConnectionError | requests.Timeout)

        def attempt() -> Any:
            nonlocal relogins
            while True:
                self.calls[kind] += 1
                try:
                    result = fn(self.sf)
                    break
                except SalesforceExpiredSession:
                    if relogins >= self.settings.max_relogins:
                        raise  # bounded: never the endless re-login loop
                    relogins += 1
                    self.login()
                except SalesforceRefusedRequest as exc:
                    codes = (
                        {e.get("errorCode") for e in exc.content} if isinstance(exc.content, list) else set()
                    )
                    if "REQUEST_LIMIT_EXCEEDED" in codes:
                        raise SalesforceDailyLimitReached(self.last_usage) from exc
                    raise
            usage = self.sf.api_usage.get("api-usage") if self._sf else None
            if usage:
                self.last_usage = f"{usage[0]}/{usage[1]}"
            return result

        retrying = Retrying(
            retry=retry_if_exception(transient),
            stop=stop_after_attempt(self.settings.max_attempts),
            wait=wait_exponential_jitter(multiplier=0.5, max=30),
            sleep=self.sleep,
            reraise=True,
        )
        return retrying(attempt)

    # ----- reads --------------------------------------------------------------------------------
    def query(self, soql: str, *, include_deleted: bool = False) -> Iterator[dict[str, Any]]:
        """All records of ``soql``, flattened: REST paging, or Bulk API 2.0 when the result is large.

        The first REST page tells the size (``totalSize``); above ``bulk_threshold`` (and when the
        query has no child sub-query, which Bulk 2.0 cannot run) the rest comes from one bulk query
        job, ~50,000 rows per request instead of 2,000.
        """
        headers = {"Sforce-Query-Options": f"batchSize={self.settings.query_batch_size}"}
        page = self.call("query", lambda sf: sf.query(soql, include_deleted=include_deleted, headers=headers))
        total = page.get("totalSize", 0)
        progress = Progress(self.progress_log, f"Salesforce {_object_of(soql)} read", total, unit="rows")
        if (
            total > self.settings.bulk_threshold
            and not page.get("done", True)
            and "(select" not in soql.lower()
        ):
            if self.progress_log:
                self.progress_log(
                    f"Salesforce {_object_of(soql)}: {total:,} rows, reading them in a Bulk 2.0 job"
                )
            for record in self.bulk_query(soql, include_deleted=include_deleted):
                progress.add(1)
                yield record
            progress.finish()
            return
        while True:
            for record in page["records"]:
                yield flatten(record)
            progress.add(len(page["records"]))
            if page.get("done", True):
                progress.finish()
                return
            url = page["nextRecordsUrl"]
            page = self.call(
                "query", lambda sf, u=url: sf.query_more(u, identifier_is_url=True, headers=headers)
            )

    def bulk_query(self, soql: str, *, include_deleted: bool = False) -> Iterator[dict[str, Any]]:
        """A Bulk API 2.0 query job; CSV cells typed back to what REST returns (via describe)."""
        object_name = _object_of(soql)

        def run(sf: Salesforce) -> list[str]:
            handler = getattr(sf.bulk2, object_name)
            fn = handler.query_all if include_deleted else handler.query
            return list(fn(soql, wait=self.settings.bulk_poll_seconds))

        pages = self.call("bulk_query", run)
        for text in pages:
            for row in csv.DictReader(io.StringIO(text)):
                yield {k: self._typed(object_name, k, v) for k, v in row.items()}

    def describe(self, object_name: str) -> dict[str, Any]:
        if object_name not in self._describes:
            self._describes[object_name] = self.call(
                "describe", lambda sf: getattr(sf, object_name).describe()
            )
        return self._describes[object_name]

    def _typed(self, object_name: str, path: str, value: str) -> Any:
        if value == "":
            return None  # Bulk CSV writes null as an empty cell
        *parents, name = path.split(".")
        obj = object_name
        for rel in parents:  # walk Account.Owner.Email through the relationship names
            ref = next((f for f in self.describe(obj)["fields"] if f.get("relationshipName") == rel), None)
            if not ref or not ref.get("referenceTo"):
                return value
            obj = ref["referenceTo"][0]
        field_type = next((f["type"] for f in self.describe(obj)["fields"] if f["name"] == name), "string")
        if field_type == "boolean":
            return value.lower() == "true"
        if field_type == "int":
            return int(value)
        if field_type in {"double", "currency", "percent"}:
            return float(value)
        return value

    def extract(
        self,
        object_name: str,
        fields: Sequence[str],
        *,
        since: datetime | None = None,
        until: datetime | None = None,
        overlap: timedelta = timedelta(minutes=10),
        where: str | None = None,
        include_deleted: bool = True,
    ) -> list[dict[str, Any]]:
        """Records whose SystemModstamp is in [since − overlap, until), oldest first, deleted ones included.

        ``>=`` with an overlap re-reads the edge (records committed in the same second as the last
        watermark are not lost); duplicates are dropped by (Id, SystemModstamp). ``queryAll`` carries
        deletions as tombstones (``IsDeleted = true``).
        """
        wanted = list(dict.fromkeys(["Id", "SystemModstamp", "IsDeleted", *fields]))
        clauses = []
        if since is not None:
            clauses.append(format_soql("SystemModstamp >= {}", (since - overlap).astimezone(UTC)))
        if until is not None:
            clauses.append(format_soql("SystemModstamp < {}", until.astimezone(UTC)))
        if where:
            clauses.append(f"({where})")
        soql = f"SELECT {', '.join(wanted)} FROM {object_name}"
        if clauses:
            soql += " WHERE " + " AND ".join(clauses)
        soql += " ORDER BY SystemModstamp, Id"
        seen: set[tuple[str, str]] = set()
        out = []
        for record in self.query(soql, include_deleted=include_deleted):
            key = (record["Id"], record.get("SystemModstamp") or "")
            if key not in seen:
                seen.add(key)
                out.append(record)
        return out

    # ----- writes -------------------------------------------------------------------------------
    def upsert(
        self, object_name: str, external_id_field: str, records: Sequence[dict[str, Any]]
    ) -> list[RecordOutcome]:
        """Upsert by external id: collections of 200, or one Bulk 2.0 job above ``bulk_threshold``."""
        if len(records) > self.settings.bulk_threshold:
            return self.bulk_upsert(object_name, external_id_field, records)
        return self.upsert_collection(object_name, external_id_field, records)

    def bulk_upsert(
        self, object_name: str, external_id_field: str, records: Sequence[dict[str, Any]]
    ) -> list[RecordOutcome]:
        """One Bulk API 2.0 upsert job; outcomes matched back to the input by external id.

        ``None`` is sent as ``#N/A`` (Bulk's null; an empty cell would leave the field unchanged).
        Upsert by external id is idempotent, so a retried job cannot duplicate.
        """
        if not records:
            return []
        columns = list(dict.fromkeys(k for r in records for k in r))
        rows = [{c: _csv_cell(r.get(c, None), c in r) for c in columns} for r in records]

        def run(sf: Salesforce) -> tuple[list[dict[str, str]], list[dict[str, str]], list[dict[str, str]]]:
            handler = getattr(sf.bulk2, object_name)
            results = handler.upsert(
                records=rows,
                external_id_field=external_id_field,
                wait=self.settings.bulk_poll_seconds,
            )
            ok: list[dict[str, str]] = []
            failed: list[dict[str, str]] = []
            unprocessed: list[dict[str, str]] = []
            for summary in results:
                job = summary["job_id"]
                ok += csv.DictReader(io.StringIO(handler.get_successful_records(job)))
                if summary["numberRecordsFailed"]:
                    failed += csv.DictReader(io.StringIO(handler.get_failed_records(job)))
                if summary["numberRecordsProcessed"] < summary["numberRecordsTotal"]:
                    unprocessed += csv.DictReader(io.StringIO(handler.get_unprocessed_records(job)))
            return ok, failed, unprocessed

        started = time.monotonic()
        if self.progress_log:
            self.progress_log(f"Salesforce {object_name}: {len(records):,} rows in one Bulk 2.0 upsert job")
        ok, failed, unprocessed = self.call("bulk_write", run)
        if self.progress_log:
            seconds = max(time.monotonic() - started, 1e-6)
            self.progress_log(
                f"Salesforce {object_name} written: {len(ok):,} ok, {len(failed):,} failed, "
                f"{len(unprocessed):,} unprocessed, {len(records) / seconds:,.1f}/s"
            )
        by_key: dict[str, RecordOutcome] = {}
        for row in ok:
            key = row.get(external_id_field)
            by_key[key] = RecordOutcome(-1, key, True, row.get("sf__Id"), row.get("sf__Created") == "true")
        for row in failed:
            key = row.get(external_id_field)
            errors = []
            for part in (row.get("sf__Error") or "").split("; "):
                code, _, message = part.partition(":")
                errors.append({"statusCode": code, "message": message, "fields": []})
            by_key[key] = RecordOutcome(-1, key, False, row.get("sf__Id") or None, None, errors)
        for row in unprocessed:
            key = row.get(external_id_field)
            by_key[key] = RecordOutcome(
                -1, key, False, errors=[{"statusCode": "UNPROCESSED", "message": "job ended first"}]
            )
        outcomes = []
        for i, rec in enumerate(records):
            key = str(rec.get(external_id_field))
            got = by_key.get(key) or RecordOutcome(
                -1, key, False, errors=[{"statusCode": "NO_RESULT", "message": "not in the job results"}]
            )
            outcomes.append(RecordOutcome(i, key, got.success, got.sf_id, got.created, got.errors))
        return outcomes

    def upsert_collection(
        self, object_name: str, external_id_field: str, records: Sequence[dict[str, Any]]
    ) -> list[RecordOutcome]:
        """Upsert by external id, 200 per call (allOrNone=false): safe to retry, one outcome per record."""
        outcomes: list[RecordOutcome] = []
        progress = Progress(self.progress_log, f"Salesforce {object_name} written", len(records))
        for start in range(0, len(records), COLLECTION_SIZE):
            chunk = list(records[start : start + COLLECTION_SIZE])
            body = {
                "allOrNone": False,
                "records": [{"attributes": {"type": object_name}, **_jsonable(r)} for r in chunk],
            }
            path = f"composite/sobjects/{object_name}/{external_id_field}"
            results = self.call("write", lambda sf, b=body, p=path: sf.restful(p, method="PATCH", json=b))
            for i, (rec, res) in enumerate(zip(chunk, results, strict=True)):
                outcomes.append(
                    RecordOutcome(
                        start + i,
                        str(rec.get(external_id_field)),
                        bool(res.get("success")),
                        res.get("id"),
                        res.get("created"),
                        list(res.get("errors") or []),
                    )
                )
            progress.add(len(chunk))
        return outcomes

    def update(self, object_name: str, records: Sequence[dict[str, Any]]) -> list[RecordOutcome]:
        """Update by Id: collections of 200, or one Bulk 2.0 job (upsert on Id) above ``bulk_threshold``."""
        if len(records) > self.settings.bulk_threshold:
            return self.bulk_upsert(
                object_name, "Id", [{"Id": r.get("Id") or r.get("id"), **r} for r in records]
            )
        return self.update_collection(object_name, records)

    def update_collection(self, object_name: str, records: Sequence[dict[str, Any]]) -> list[RecordOutcome]:
        """Update records by Id, 200 per call (allOrNone=false)."""
        outcomes: list[RecordOutcome] = []
        progress = Progress(self.progress_log, f"Salesforce {object_name} written", len(records))
        for start in range(0, len(records), COLLECTION_SIZE):
            chunk = list(records[start : start + COLLECTION_SIZE])
            body = {
                "allOrNone": False,
                "records": [{"attributes": {"type": object_name}, **_jsonable(r)} for r in chunk],
            }
            results = self.call(
                "write", lambda sf, b=body: sf.restful("composite/sobjects", method="PATCH", json=b)
            )
            for i, (rec, res) in enumerate(zip(chunk, results, strict=True)):
                outcomes.append(
                    RecordOutcome(
                        start + i,
                        rec.get("id") or rec.get("Id"),
                        bool(res.get("success")),
                        res.get("id"),
                        None,
                        list(res.get("errors") or []),
                    )
                )
            progress.add(len(chunk))
        return outcomes


def _object_of(soql: str) -> str:
    match = re.search(r"\bfrom\s+(\w+)", soql, re.IGNORECASE)
    if not match:
        raise ValueError(f"cannot tell the object of {soql!r}")
    return match.group(1)


def _csv_cell(value: Any, present: bool) -> str:
    """A Bulk 2.0 CSV cell: ``#N/A`` nulls a field, booleans are lower-case, the rest as text."""
    if value is None:
        return "#N/A" if present else ""
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def _jsonable(value: Any) -> Any:
    """Decimals (exact money from the core) as JSON numbers; nested relationship references kept."""
    from decimal import Decimal

    if isinstance(value, Decimal):
        return float(value)
    if isinstance(value, dict):
        return {k: _jsonable(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_jsonable(v) for v in value]
    return value
