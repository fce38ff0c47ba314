"""Canonical payload hashes and deterministic idempotency keys.

A record is re-sent only when the hash of its mapped payload differs from the last successful push, so
the hash must not depend on key order, float formatting or Decimal trailing zeros.
"""

from __future__ import annotations

import hashlib
import json
from datetime import date, datetime
from decimal import Decimal
from typing import Any

# Xero documents a 128-character maximum for Idempotency-Key.
MAX_IDEMPOTENCY_KEY = 128


def _canonical(value: Any) -> Any:
    if isinstance(value, Decimal):
        normalized = value.normalize()
        return (
            format(normalized, "f") if normalized != normalized.to_integral_value() else str(int(normalized))
        )
    if isinstance(value, float):
        return _canonical(Decimal(repr(value)))
    if isinstance(value, datetime | date):
        return value.isoformat()
    if isinstance(value, dict):
        return {str(k): _canonical(v) for k, v in value.items() if v is not None}
    if isinstance(value, list | tuple):
        return [_canonical(v) for v in value]
    return value


def canonical_json(value: Any) -> str:
    return json.dumps(_canonical(value), sort_keys=True, separators=(",", ":"), ensure_ascii=False)


def payload_hash(value: Any) -> str:
    """sha256 of the canonical JSON: equal payloads hash equal however they were built."""
    return hashlib.sha256(canonical_json(value).encode("utf-8")).hexdigest()


def idempotency_key(*parts: object) -> str:
    """A deterministic key (≤128 chars) from its parts: the same logical write always gets the same key."""
    digest = hashlib.sha256("\x1f".join(str(p) for p in parts).encode("utf-8")).hexdigest()
    prefix = "-".join(str(p) for p in parts[:2] if p is not None)[:40]
    return f"sfx-{prefix}-{digest}"[:MAX_IDEMPOTENCY_KEY]
