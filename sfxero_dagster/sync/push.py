"""One push of one collection (Contacts or Invoices) to one organisation, start to finish.

In order: resolve intents a crash left pending, plan from the warehouse and the ledger, record contact
links (contacts) or create missing items and settle cancellations (invoices), send the writes, sync the
push's own review items, and compute the invariants the asset checks report.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

from sfxero_dagster.clients.governor import DailyLimitReached
from sfxero_dagster.clients.xero_api import XeroApi
from sfxero_dagster.config import SfxeroConfig, XeroTenantConfig
from sfxero_dagster.core.push import Planned, plan_summary
from sfxero_dagster.store.ledger import Ledger
from sfxero_dagster.store.warehouse import Warehouse
from sfxero_dagster.sync.contacts import record_contact_links
from sfxero_dagster.sync.execute import execute, recover
from sfxero_dagster.sync.invariants import duplicate_live_documents, foreign_contact_changes
from sfxero_dagster.sync.plan import load_plan, plan_items
from sfxero_dagster.sync.review import PUSH_SYNCED, planned_items
from sfxero_dagster.sync.settle import settle_cancellations


@dataclass
class PushResult:
    plan: list[Planned]
    counts: dict[str, int]  # created, updated, voided, failed (+ credited, allocated, linked, ...)
    calls: int  # Xero calls this push made for the tenant
    recovered: tuple[int, int]  # (linked, abandoned) pending intents resolved first
    violations: dict[str, list[str]] = field(default_factory=dict)  # invariant check name -> examples

    @property
    def sent(self) -> int:
        c = self.counts
        return c["created"] + c["updated"] + c["voided"] + c["failed"]


def run_push(
    collection: str,
    tenant: XeroTenantConfig,
    cfg: SfxeroConfig,
    api: XeroApi,
    led: Ledger,
    wh: Warehouse,
    run_id: str,
    log: Callable[[str], None],
) -> PushResult:
    """Push ``collection`` for ``tenant``. On the day's last call (``DailyLimitReached``) the review items
    planned so far are queued before the exception propagates: what was sent is closed in the ledger and
    the rest is planned again next run."""
    before = api.calls.total(tenant.tenant_id)
    recovered = recover(api, led, tenant.tenant_id, collection)
    if collection == "Invoices":
        for other in ("Items", "CreditNotes"):
            more = recover(api, led, tenant.tenant_id, other)
            recovered = (recovered[0] + more[0], recovered[1] + more[1])
    plan = load_plan(collection, tenant, cfg, wh, led)
    queue_items = planned_items(plan, tenant, cfg)
    if collection == "Contacts":
        led.queue_upsert(queue_items)
    log(f"{tenant.key} {collection} plan: {plan_summary(plan)}")
    mismatches: list[str] = []
    try:
        extra: dict[str, int] = {}
        if collection == "Contacts":
            extra["linked"] = record_contact_links(led, plan, tenant, cfg, run_id)
        if collection == "Invoices" and (items := plan_items(plan, tenant, cfg, wh, led)):
            extra["items_created"] = execute(items, api, led, tenant, run_id, log)["created"]
        if collection == "Invoices":
            plan, settled, held = settle_cancellations(plan, api, led, tenant, cfg, wh, run_id, log)
            extra.update(settled)
            queue_items += held
        counts = execute(plan, api, led, tenant, run_id, log, mismatches)
        counts.update(extra)
        if collection == "Invoices":
            led.queue_sync(
                PUSH_SYNCED, queue_items, sf_objects=["Opportunity", "Order"], tenant_id=tenant.tenant_id
            )
    except DailyLimitReached:
        led.queue_upsert(queue_items)  # what waits is visible even when the day's calls ran out
        raise
    result = PushResult(plan, counts, api.calls.total(tenant.tenant_id) - before, recovered)
    if collection == "Contacts":
        masters = cfg.contacts.salesforce_masters()
        result.violations["foreign_contacts_untouched"] = foreign_contact_changes(
            led, run_id, tenant.tenant_id, masters
        )
    else:
        result.violations["one_live_document"] = duplicate_live_documents(led)
        result.violations["xero_arithmetic"] = mismatches
    return result
