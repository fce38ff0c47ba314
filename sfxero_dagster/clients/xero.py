"""The Xero client: xero-python, made safe to run unattended.

What it adds to xero-python, and why:

- **Pacing.** Every call goes through the tenant's :class:`RateGovernor`, so a run stays under 60/min and
  5 concurrent and parks cleanly on the daily limit.
- **Retries** (tenacity) for 429 minute/concurrency limits (honouring Retry-After), 5xx and dropped
  connections, with exponential backoff and jitter. urllib3's own retries are switched off: by default
  they sleep for a 429's Retry-After inside xero-python, which for a day-limit 429 means hours.
- **Idempotent batches.** Writes go in batches of at most 50 with ``summarizeErrors=false`` (otherwise
  Xero drops the IDs of the valid elements when one fails) and a deterministic Idempotency-Key per batch,
  so a retried batch is replayed by Xero rather than applied twice.
- **Tokens** from :class:`XeroTokenManager`, refreshed under an inter-process lock; a 401 refreshes once.
- **Accounting** of every call (per tenant, reads and writes), which the benchmarks report.
"""

from __future__ import annotations

import random
import re
import threading
import time
from collections import Counter, deque
from collections.abc import Callable, Iterable, Iterator, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from enum import Enum
from typing import Any

import urllib3
from tenacity import RetryCallState, Retrying, retry_if_exception, stop_after_attempt
from xero_python.accounting import AccountingApi
from xero_python.api_client import ApiClient, Configuration
from xero_python.api_client.deserializer import deserialize
from xero_python.api_client.oauth2 import OAuth2Token
from xero_python.exceptions import HTTPStatusException, NotFoundException, RateLimitException

from sfxero_dagster.clients import xero_collections as xc
from sfxero_dagster.clients.governor import DailyLimitReached, RateGovernor
from sfxero_dagster.clients.xero_tokens import XeroTokenManager
from sfxero_dagster.core.hashing import idempotency_key, payload_hash
from sfxero_dagster.core.progress import Progress

BATCH_SIZE = 50
PAGE_SIZE = 1000
_ISO_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$")


class XeroRequestError(RuntimeError):
    """A request Xero refused for a reason retrying cannot fix (400, 403, 404 ...)."""

    def __init__(self, status: int, message: str, body: Any = None) -> None:
        super().__init__(f"Xero answered {status}: {message}")
        self.status = status
        self.body = body


@dataclass
class ElementOutcome:
    """What happened to one element of a batch write."""

    index: int
    ok: bool
    record: dict[str, Any] | None
    errors: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)


@dataclass
class CallCounter:
    reads: Counter[str] = field(default_factory=Counter)
    writes: Counter[str] = field(default_factory=Counter)
    retries: Counter[str] = field(default_factory=Counter)

    def total(self, tenant: str | None = None) -> int:
        if tenant is None:
            return sum(self.reads.values()) + sum(self.writes.values())
        return self.reads[tenant] + self.writes[tenant]


class _Retryable(Exception):
    def __init__(self, reason: str, wait: float | None = None) -> None:
        super().__init__(reason)
        self.wait = wait


def plain(value: Any) -> Any:
    """A xero-python model as a dict keyed like Xero's JSON (PascalCase), keeping Decimal and dates."""
    if hasattr(value, "attribute_map") and hasattr(value, "openapi_types"):
        out = {}
        for attr, key in value.attribute_map.items():
            v = getattr(value, attr, None)
            if v is not None:
                out[key] = plain(v)
        return out
    if isinstance(value, list):
        return [plain(v) for v in value]
    if isinstance(value, Enum):
        return value.value
    return value


def _to_xero_json(value: Any) -> Any:
    """Our payload dicts use ISO dates; xero-python's model loader wants its /Date(ms)/ form."""
    if isinstance(value, dict):
        return {k: _to_xero_json(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_to_xero_json(v) for v in value]
    if isinstance(value, str) and _ISO_DATE.match(value):
        d = date.fromisoformat(value)
        return f"/Date({int(datetime(d.year, d.month, d.day, tzinfo=UTC).timestamp() * 1000)}+0000)/"
    return value


class XeroClient:
    def __init__(
        self,
        *,
        base_url: str,
        tokens: XeroTokenManager,
        tenant_limits: dict[str, dict[str, int]] | None = None,
        verify: bool | str = True,
        timeout: float = 60.0,
        max_attempts: int = 6,
        clock: Callable[[], float] = time.time,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self.tokens = tokens
        self.clock = clock
        self.sleep = sleep
        self.timeout = timeout
        self.max_attempts = max_attempts
        self.calls = CallCounter()
        self._count_lock = threading.Lock()  # write batches may run on several threads
        self.progress_log: Callable[[str], None] | None = None  # e.g. a Dagster run's log.info
        self._limits = tenant_limits or {}
        self._governors: dict[str, RateGovernor] = {}
        config = Configuration(
            oauth2_token=OAuth2Token(client_id=tokens.client_id, client_secret=tokens.client_secret)
        )
        if isinstance(verify, str):
            config.ssl_ca_cert = verify
        elif verify is False:
            config.verify_ssl = False
        self.api_client = ApiClient(config, pool_threads=1)
        self.api_client.rest_client.pool_manager.connection_pool_kw["retries"] = False
        self._token: dict[str, Any] = {}
        self.api_client.oauth2_token_getter(lambda: self._token)
        self.api_client.oauth2_token_saver(lambda token: None)  # tokens are saved by the manager only
        self.api = AccountingApi(self.api_client, base_url=base_url)

    # ----- plumbing ---------------------------------------------------------------------------
    def governor(self, tenant_id: str) -> RateGovernor:
        if tenant_id not in self._governors:
            lim = self._limits.get(tenant_id, {})
            self._governors[tenant_id] = RateGovernor(
                tenant_id,
                minute_limit=lim.get("minute", 60),
                day_limit=lim.get("day", 5000),
                concurrent_limit=lim.get("concurrent", 5),
                clock=self.clock,
                sleep=self.sleep,
            )
        return self._governors[tenant_id]

    def _set_token(self, access_token: str) -> None:
        # No expires_at: xero-python must never refresh on its own (it would bypass our lock and store).
        self._token = {
            "access_token": access_token,
            "token_type": "Bearer",
            "expires_in": 1800,
            "scope": self.tokens.scopes,
        }
        self.api_client.set_oauth2_token(self._token)

    def _wait(self, state: RetryCallState) -> float:
        exc = state.outcome.exception() if state.outcome else None
        if isinstance(exc, _Retryable) and exc.wait is not None:
            return exc.wait
        return min(60.0, 0.5 * 2 ** (state.attempt_number - 1)) * (0.5 + random.random() / 2)

    def call(
        self, tenant_id: str, kind: str, method: str, *args: Any, **kwargs: Any
    ) -> tuple[Any, dict[str, str]]:
        """Call ``AccountingApi.<method>`` for ``tenant_id``; returns (data, headers)."""
        governor = self.governor(tenant_id)
        fn = getattr(self.api, method)
        counter = self.calls.reads if kind == "read" else self.calls.writes

        def attempt() -> tuple[Any, dict[str, str]]:
            token = self.tokens.access_token()
            self._set_token(token)
            with governor.slot():
                with self._count_lock:
                    counter[tenant_id] += 1
                try:
                    data, _status, headers = fn(
                        tenant_id,
                        *args,
                        _return_http_data_only=False,
                        _request_timeout=self.timeout,
                        **kwargs,
                    )
                except RateLimitException as exc:
                    retry_after = float(exc.headers.get("Retry-After") or 60) if exc.headers else 60.0
                    governor.throttled(exc.rate_limit, retry_after)  # raises DailyLimitReached for "day"
                    raise _Retryable("429", 0.0) from exc
                except NotFoundException:
                    raise
                except HTTPStatusException as exc:
                    status = int(exc.status or 0)
                    if status == 401:
                        self.tokens.invalidate(token)
                        raise _Retryable("401", 0.0) from exc
                    if status >= 500:
                        raise _Retryable(str(status)) from exc
                    raise XeroRequestError(
                        status, getattr(exc, "reason", "") or str(exc), getattr(exc, "error_data", None)
                    ) from exc
                except (urllib3.exceptions.HTTPError, OSError) as exc:
                    raise _Retryable(type(exc).__name__) from exc
            governor.observe(headers)
            return data, dict(headers or {})

        def count_retry(state: RetryCallState) -> None:
            with self._count_lock:
                self.calls.retries[tenant_id] += 1

        retrying = Retrying(
            retry=retry_if_exception(lambda e: isinstance(e, _Retryable)),
            stop=stop_after_attempt(self.max_attempts),
            wait=self._wait,
            sleep=self.sleep,
            before_sleep=count_retry,
            reraise=True,
        )
        try:
            return retrying(attempt)
        except _Retryable as exc:
            raise XeroRequestError(0, f"gave up after {self.max_attempts} attempts: {exc}") from exc.__cause__

    # ----- writes --------------------------------------------------------------------------------
    def to_model(self, collection: str | xc.XeroCollection, elements: Sequence[dict[str, Any]]) -> Any:
        """A batch of plain dicts as the collection's xero-python wrapper model."""
        model = xc.collection(collection).model
        return deserialize(model, {model: _to_xero_json(list(elements))}, self.api.get_model_finder())

    def write(
        self,
        tenant_id: str,
        collection: str | xc.XeroCollection,
        elements: Sequence[dict[str, Any]],
        *,
        update: bool = False,
        before_batch: Callable[[int, int], None] | None = None,
        in_flight: int = 1,
    ) -> Iterator[tuple[str, list[ElementOutcome]]]:
        """Send ``elements`` in batches of ≤50 (PUT creates, POST creates or updates).

        Yields ``(idempotency_key, outcomes)`` per batch, in order, so the caller can close its ledger
        intents batch by batch. The key depends only on the batch content, so a rerun of the same batch
        within Xero's retention window is replayed, not re-applied.

        ``before_batch(start, end)`` runs on the caller's thread before ``elements[start:end]`` can be
        sent (the push records its intents there). With ``in_flight`` > 1, up to that many batches are
        on the wire at once (the governor still allows no more than the tenant's concurrent limit): the
        caller's bookkeeping for one batch overlaps Xero's work on the next, which is what keeps the
        last minute of a rate-limited push short. Outcomes still come back in input order; if a batch
        fails, the exception is raised once the batches already sent have ended, and their intents stay
        pending for the next run's recovery, as after a crash.
        """
        spec = xc.collection(collection)
        method = spec.update_method if update else spec.create_method
        if method is None:
            raise ValueError(f"Xero collection {spec.name} is not written")

        def send(start: int) -> tuple[str, list[ElementOutcome]]:
            batch = list(elements[start : start + BATCH_SIZE])
            key = idempotency_key(
                tenant_id, f"{spec.name}:{'POST' if update else 'PUT'}", payload_hash(batch)
            )
            kwargs: dict[str, Any] = {"summarize_errors": False, "idempotency_key": key}
            if spec.unitdp:
                kwargs["unitdp"] = 4
            data, _ = self.call(tenant_id, "write", method, self.to_model(spec, batch), **kwargs)
            outcomes = []
            for i, element in enumerate(getattr(data, spec.attr) or []):
                record = plain(element)
                errors = [e.message for e in (getattr(element, "validation_errors", None) or [])]
                warns = [w.message for w in (getattr(element, "warnings", None) or [])]
                ok = not errors and getattr(element, "status_attribute_string", "OK") != "ERROR"
                outcomes.append(ElementOutcome(start + i, ok, record if ok else None, errors, warns))
            return key, outcomes

        starts = range(0, len(elements), BATCH_SIZE)
        if in_flight <= 1:
            for start in starts:
                if before_batch:
                    before_batch(start, min(start + BATCH_SIZE, len(elements)))
                yield send(start)
            return
        with ThreadPoolExecutor(max_workers=in_flight, thread_name_prefix="xero-write") as pool:
            sent: deque[Future[tuple[str, list[ElementOutcome]]]] = deque()
            for start in starts:
                if before_batch:
                    before_batch(start, min(start + BATCH_SIZE, len(elements)))
                sent.append(pool.submit(send, start))
                if len(sent) >= in_flight:
                    yield sent.popleft().result()
            while sent:
                yield sent.popleft().result()

    # ----- reads ---------------------------------------------------------------------------------
    def read_all(
        self,
        tenant_id: str,
        method: str,
        attr: str,
        *,
        modified_since: datetime | None = None,
        paged: bool = True,
        **kwargs: Any,
    ) -> list[dict[str, Any]]:
        """Every record of a list endpoint (pageSize=1000 until a short page), as plain dicts."""
        if modified_since is not None:
            # Xero asks for a UTC timestamp "yyyy-mm-ddThh:mm:ss"; xero-python sends isoformat().
            kwargs["if_modified_since"] = modified_since.astimezone(UTC).replace(tzinfo=None, microsecond=0)
        out: list[dict[str, Any]] = []
        page = 1
        progress = Progress(self.progress_log if paged else None, f"Xero {attr} read", unit="rows")
        while True:
            if paged:
                kwargs.update(page=page, page_size=PAGE_SIZE)
            data, _ = self.call(tenant_id, "read", method, **kwargs)
            rows = getattr(data, attr) or []
            out.extend(plain(r) for r in rows)
            progress.add(len(rows))
            if not paged or len(rows) < PAGE_SIZE:
                if page > 1:  # one page is quick; the line is for reads that took several
                    progress.finish()
                return out
            page += 1

    def get_one(
        self, tenant_id: str, method: str, attr: str, ref: str, **kwargs: Any
    ) -> dict[str, Any] | None:
        try:
            data, _ = self.call(tenant_id, "read", method, ref, **kwargs)
        except NotFoundException:
            return None
        rows = getattr(data, attr) or []
        return plain(rows[0]) if rows else None

    def contact_by_number(self, tenant_id: str, contact_number: str) -> dict[str, Any] | None:
        """Crash recovery: find a contact by our natural key (ContactNumber = Salesforce Account Id)."""
        return self.get_one(tenant_id, "get_contact_by_contact_number", xc.CONTACTS.attr, contact_number)

    def invoices_by_number(self, tenant_id: str, numbers: Iterable[str]) -> dict[str, dict[str, Any]]:
        """Crash recovery: look invoices up by InvoiceNumber (unique for ACCREC), 50 numbers per call."""
        found: dict[str, dict[str, Any]] = {}
        wanted = list(dict.fromkeys(numbers))
        for start in range(0, len(wanted), BATCH_SIZE):
            chunk = wanted[start : start + BATCH_SIZE]
            for inv in self.read_all(
                tenant_id, str(xc.INVOICES.list_method), xc.INVOICES.attr, invoice_numbers=chunk, paged=False
            ):
                found[inv["InvoiceNumber"]] = inv
        return found

    def reference_data(self, tenant_id: str) -> dict[str, list[dict[str, Any]]]:
        """Settings a push validates against: tax rates, currencies, tracking, accounts, items, organisation."""

        def whole(c: xc.XeroCollection, **kwargs: Any) -> list[dict[str, Any]]:
            return self.read_all(tenant_id, str(c.list_method), c.attr, paged=False, **kwargs)

        return {
            "organisation": whole(xc.ORGANISATIONS),
            "tax_rates": whole(xc.TAX_RATES),
            "currencies": whole(xc.CURRENCIES),
            "tracking": whole(xc.TRACKING_CATEGORIES),
            "accounts": whole(xc.ACCOUNTS),
            "items": whole(xc.ITEMS, unitdp=4),
        }


__all__ = ["DailyLimitReached", "ElementOutcome", "XeroClient", "XeroRequestError"]
