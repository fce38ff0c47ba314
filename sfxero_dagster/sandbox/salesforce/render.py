"""Request parsing and response rendering shared by the Salesforce resources (the wire format).

Records render with their ``attributes`` (type and URL); datetimes parse as simple-salesforce sends them;
query results flatten to Bulk 2.0 CSV columns. No state and no rules live here.
"""

from __future__ import annotations

import csv
import io
import re
from datetime import UTC, datetime
from typing import Any

from ..httpbase import Request
from .schema import ObjectDef

DEFAULT_BATCH = 2000  # records per query page unless Sforce-Query-Options asks for fewer


def json_body(req: Request) -> dict | list | None:
    """The request's JSON body, or None when it is not JSON."""
    try:
        return req.json()
    except ValueError:
        return None


def batch_size(req: Request) -> int:
    """Query page size from ``Sforce-Query-Options: batchSize=n`` (200..2000)."""
    opts = req.header("Sforce-Query-Options") or ""
    m = re.search(r"batchSize\s*=\s*(\d+)", opts)
    return max(200, min(int(m.group(1)), DEFAULT_BATCH)) if m else DEFAULT_BATCH


def sobject_url(version: str, object_name: str, record_id: str) -> str:
    return f"/services/data/v{version}/sobjects/{object_name}/{record_id}"


def record(obj: ObjectDef, rec: dict, version: str, fields: str | None = None) -> dict:
    """A stored record as the REST API answers it: ``attributes`` then every (or the asked) field."""
    out: dict[str, Any] = {"attributes": {"type": obj.name, "url": sobject_url(version, obj.name, rec["Id"])}}
    names = (
        [obj.field(x).name for x in fields.split(",") if obj.field(x.strip())] if fields else list(obj.fields)
    )
    for n in names:
        out[n] = rec.get(n)
    return out


def parse_sf_datetime(text: str) -> datetime:
    """``2024-01-01T00:00:00+00:00`` as simple-salesforce sends it (query-string encoded), or ``Z``."""
    value = text.strip().replace("Z", "+00:00").replace(" ", "+")
    if re.search(r"[+-]\d{4}$", value):
        value = value[:-2] + ":" + value[-2:]
    dt = datetime.fromisoformat(value)
    if dt.tzinfo is None:
        raise ValueError("a time zone is required")
    return dt.astimezone(UTC)


def flatten_for_csv(record: dict[str, Any], prefix: str = "") -> dict[str, Any]:
    """A query record as Bulk 2.0 CSV columns: parent paths as ``Account.Name``, booleans lower-case."""
    out: dict[str, Any] = {}
    for key, value in record.items():
        if key == "attributes":
            continue
        if isinstance(value, dict):
            out.update(flatten_for_csv(value, f"{prefix}{key}."))
        elif isinstance(value, bool):
            out[f"{prefix}{key}"] = "true" if value else "false"
        else:
            out[f"{prefix}{key}"] = "" if value is None else value
    return out


def csv_bytes(rows: list[dict], header: list[str]) -> bytes:
    """Bulk 2.0 result CSV (LF line ends, columns in ``header`` order, extra keys dropped)."""
    buf = io.StringIO()
    writer = csv.DictWriter(buf, fieldnames=header, lineterminator="\n", extrasaction="ignore")
    writer.writeheader()
    writer.writerows(rows)
    return buf.getvalue().encode("utf-8")
