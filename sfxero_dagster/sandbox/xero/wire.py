"""Xero's wire conventions: .NET JSON dates, no nulls and the response envelope (errors: errors.py)."""

from __future__ import annotations

import re
import uuid
from datetime import UTC, date, datetime
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

_MS = re.compile(r"^/Date\((-?\d+)([+-]\d{2})?(\d{2})?\)/$")


def ms_from_datetime(dt: datetime) -> int:
    return int(dt.astimezone(UTC).timestamp() * 1000)


def ms_date(ms: int) -> str:
    """``/Date(ms+0000)/``: the form Xero emits and xero-python parses."""
    return f"/Date({ms}+0000)/"


def iso_date_to_ms(value: str) -> int:
    d = date.fromisoformat(value[:10])
    return int(datetime(d.year, d.month, d.day, tzinfo=UTC).timestamp() * 1000)


def parse_date(value: Any) -> str | None:
    """A request date (``/Date(ms)/``, ``/Date(ms+hhmm)/``, ``YYYY-MM-DD`` or ``YYYY-MM-DDThh:mm:ss``) → ISO date."""
    if value is None or value == "":
        return None
    text = str(value)
    m = _MS.match(text)
    if m:
        ms = int(m.group(1))
        if m.group(2):
            sign = -1 if m.group(2).startswith("-") else 1
            ms += sign * (abs(int(m.group(2))) * 3600 + int(m.group(3) or 0) * 60) * 1000
        return datetime.fromtimestamp(ms / 1000, tz=UTC).date().isoformat()
    try:
        return datetime.fromisoformat(text.replace("Z", "+00:00")).date().isoformat()
    except ValueError as exc:
        raise ValueError(f"'{text}' is not a valid date") from exc


def parse_if_modified_since(value: str) -> int:
    """If-Modified-Since as xero-python sends it (``isoformat()``, naive = UTC) or RFC 1123, → epoch ms."""
    text = value.strip()
    try:
        dt = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        from email.utils import parsedate_to_datetime

        dt = parsedate_to_datetime(text)
    if dt.tzinfo is None:
        dt = dt.replace(tzinfo=UTC)
    return int(dt.timestamp()) * 1000  # accurate to the second


def money(value: Any, places: int = 2) -> Decimal:
    q = Decimal(1).scaleb(-places)
    return Decimal(str(value)).quantize(q, rounding=ROUND_HALF_UP)


def prune(value: Any) -> Any:
    """Drop None values recursively: Xero's JSON never carries null (xero-python chokes on it)."""
    if isinstance(value, dict):
        return {k: prune(v) for k, v in value.items() if v is not None and not k.startswith("_")}
    if isinstance(value, list):
        return [prune(v) for v in value]
    return value


def envelope(app_name: str, now_ms: int, key: str, items: list[dict], **extra: Any) -> dict:
    body = {
        "Id": str(uuid.uuid4()),
        "Status": "OK",
        "ProviderName": app_name,
        "DateTimeUTC": f"/Date({now_ms})/",
    }
    body.update(extra)
    body[key] = items
    return prune(body)
