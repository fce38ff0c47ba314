"""The ledger's rows as frozen dataclasses: what callers write and what they read back."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Literal

IntentState = Literal["pending", "succeeded", "failed", "abandoned"]
QueueState = Literal["open", "resolved", "ignored"]


@dataclass(frozen=True)
class Link:
    tenant_id: str
    sf_object: str
    sf_id: str
    xero_object: str
    xero_id: str | None
    xero_number: str | None = None
    payload_hash: str | None = None
    pushed_at: datetime | None = None
    origin: str | None = None  # 'created' or 'linked:<rule>'; the first one recorded is kept


@dataclass(frozen=True)
class IntentIn:
    target: str  # e.g. "xero:Invoices:PUT"
    tenant_id: str
    sf_object: str
    sf_id: str
    xero_object: str
    natural_key: str  # how to find the record in Xero after a crash (ContactNumber, InvoiceNumber)
    payload_hash: str
    idempotency_key: str | None = None
    run_id: str | None = None


@dataclass(frozen=True)
class Intent:
    intent_id: str
    target: str
    tenant_id: str
    sf_object: str
    sf_id: str
    xero_object: str
    natural_key: str
    payload_hash: str
    idempotency_key: str | None
    run_id: str | None
    state: str
    created_at: datetime
    closed_at: datetime | None
    outcome: dict | None


@dataclass(frozen=True)
class Closure:
    intent_id: str
    state: Literal["succeeded", "failed", "abandoned"]
    outcome: dict | None = None
    xero_id: str | None = None  # on success, the link is written in the same transaction
    xero_number: str | None = None


@dataclass(frozen=True)
class Event:
    action: str  # create, update, skip, fail, retry, void, writeback, match, resolve, ...
    run_id: str | None = None
    stream: str | None = None
    sf_object: str | None = None
    sf_id: str | None = None
    tenant_id: str | None = None
    xero_id: str | None = None
    http_status: int | None = None
    error_code: str | None = None
    message: str | None = None
    context: dict | None = None


@dataclass(frozen=True)
class QueueItemIn:
    sf_object: str
    sf_id: str
    reason_code: str
    message: str | None = None
    tenant_id: str | None = None
    field: str | None = None
    value: str | None = None
    hint: str | None = None
    payload: dict | None = None
    line_id: str | None = None


@dataclass(frozen=True)
class QueueItem:
    item_id: int
    sf_object: str
    sf_id: str
    tenant_id: str
    reason_code: str
    message: str | None
    field: str | None
    value: str | None
    hint: str | None
    payload: dict | None
    attempts: int
    state: str
    note: str | None
    first_seen: datetime
    last_seen: datetime
    resolved_at: datetime | None
    line_id: str | None = None


@dataclass
class RecoveryReport:
    linked: list[str] = field(default_factory=list)  # intent ids found in Xero and linked
    abandoned: list[str] = field(default_factory=list)  # not found: safe to send again
