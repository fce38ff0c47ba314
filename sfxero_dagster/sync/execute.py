"""Send a plan's writes to Xero with intents, and resolve the intents a crash left pending.

Crash safety: before each batch of ≤50 is sent, one intent per element goes into the ledger. Each
element's outcome closes its intent (a success writes the link in the same transaction). A run that
starts with intents still pending (a crash, a kill, a dropped connection after Xero committed) first
looks those records up in Xero by their natural key (ContactNumber, InvoiceNumber) and links or
abandons them, so nothing is sent twice even after the Idempotency-Keys (minutes) have expired.
"""

from __future__ import annotations

import re
from collections.abc import Callable

from sfxero_dagster.clients import xero_collections as xc
from sfxero_dagster.clients.xero_api import XeroApi
from sfxero_dagster.config import XeroTenantConfig
from sfxero_dagster.core.progress import Progress
from sfxero_dagster.core.push import Planned, posted_differs
from sfxero_dagster.core.reasons import hint as reason_hint
from sfxero_dagster.core.reasons import xero_field
from sfxero_dagster.store.ledger import Closure, Event, Intent, IntentIn, Ledger, QueueItemIn

# Write batches on the wire at once (never more than the tenant's concurrent_limit): our ledger work
# on one batch overlaps Xero's on the next, so the minutes a rate-limited push waits are not followed by
# a slow tail (P3 benchmark). Two leave Xero's other concurrent slots to sensors and write-backs.
IN_FLIGHT = 2

# Xero's words for "this document is paid, credited or otherwise locked"
NOT_EDITABLE = re.compile(
    r"not of valid status for modification|cannot be (edited|modified)|status of a (PAID|VOIDED|DELETED) document",
    re.IGNORECASE,
)
XERO_REJECTIONS = ("xero_validation_error", "invoice_not_editable")  # resolved by a later success


def recover(api: XeroApi, led: Ledger, tenant_id: str, collection: str) -> tuple[int, int]:
    """Resolve pending intents before anything is sent again: (linked, abandoned).

    A create (PUT) is looked up by its natural key (ContactNumber, InvoiceNumber, CreditNoteNumber, item
    Code): found, it is linked; not found, abandoned, so the plan sends it again. An update or void (POST
    by id) would be found whether or not it landed, so it is always abandoned: linking it marked the change
    as sent and the next plan skipped it. Sending it again is harmless (POST by id updates in place).
    """
    pending = [i for i in led.pending_intents(tenant_id=tenant_id) if i.xero_object == collection]
    if not pending:
        return 0, 0
    creates = [i for i in pending if not i.target.endswith(":POST")]
    resolve = _resolver(api, tenant_id, collection, creates) if creates else None
    linked = abandoned = 0
    for target in sorted({i.target for i in pending}):
        fn = resolve if resolve is not None and not target.endswith(":POST") else _resend
        report = led.recover_pending(fn, tenant_id=tenant_id, target=target)
        linked, abandoned = linked + len(report.linked), abandoned + len(report.abandoned)
    return linked, abandoned


def _resend(intent: Intent) -> None:
    return None


def _resolver(
    api: XeroApi, tenant_id: str, collection: str, creates: list[Intent]
) -> Callable[[Intent], tuple[str, str | None] | None]:
    """Looks a created record up in Xero by its natural key: (id, number), or None when absent."""
    spec = xc.collection(collection)
    if spec is xc.ITEMS:
        found = {str(i["Code"]): i for i in api.items(tenant_id)}
    elif spec is xc.CREDIT_NOTES:
        found = api.credit_notes_by_number(tenant_id, [i.natural_key for i in creates])
    elif spec is xc.INVOICES:
        found = api.invoices_by_number(tenant_id, [i.natural_key for i in creates])
    else:  # contacts: looked up one by one, by ContactNumber, as recovery asks

        def resolve_contact(intent: Intent) -> tuple[str, str | None] | None:
            contact = api.contact_by_number(tenant_id, intent.natural_key)
            return (str(contact[xc.CONTACTS.id_field]), None) if contact else None

        return resolve_contact

    def resolve(intent: Intent) -> tuple[str, str | None] | None:
        record = found.get(intent.natural_key)
        if not record:
            return None
        return str(record[spec.id_field]), record.get(spec.number_field) if spec.number_field else None

    return resolve


def execute(
    plan: list[Planned],
    api: XeroApi,
    led: Ledger,
    tenant: XeroTenantConfig,
    run_id: str,
    log: Callable[[str], None],
    posted_mismatches: list[str] | None = None,
) -> dict[str, int]:
    """Send the writes of ``plan`` batch by batch with intents; queue what Xero rejects.

    Every invoice Xero answers for is compared with our arithmetic of it; differences are appended to
    ``posted_mismatches`` (the ``xero_arithmetic`` check).
    """
    counts = {"created": 0, "updated": 0, "voided": 0, "failed": 0}
    writes = [p for p in plan if p.writes]
    progress = Progress(log, f"Xero {tenant.key}: {plan[0].collection if plan else ''} writes", len(writes))
    for update in (False, True):
        group = [p for p in writes if (p.action != "create") == update]
        if not group:
            continue
        collection = group[0].collection
        spec = xc.collection(collection)
        verb = "POST" if update else "PUT"
        ids: dict[int, int] = {}

        def record(
            start: int,
            end: int,
            group: list[Planned] = group,
            ids: dict[int, int] = ids,
            target: str = f"xero:{collection}:{verb}",
        ) -> None:
            """The batch's intents, recorded before the client may send it."""
            new = led.record_intents(
                IntentIn(
                    target=target,
                    tenant_id=tenant.tenant_id,
                    sf_object=p.sf_object,
                    sf_id=p.sf_id,
                    xero_object=group[start].collection,
                    natural_key=p.natural_key,
                    payload_hash=p.payload_hash or "",
                    run_id=run_id,
                )
                for p in group[start:end]
            )
            ids.update(zip(range(start, end), new, strict=True))

        for _key, outcomes in api.write(
            tenant.tenant_id,
            spec,
            [p.payload for p in group],
            update=update,
            before_batch=record,
            in_flight=min(IN_FLIGHT, tenant.concurrent_limit),
        ):
            closures, events, queue = [], [], []
            for outcome in outcomes:
                p, intent_id = group[outcome.index], ids[outcome.index]
                if outcome.ok and outcome.record:
                    xero_id = str(outcome.record[spec.id_field])
                    number_field = spec.number_field
                    closures.append(
                        Closure(
                            intent_id,
                            "succeeded",
                            {"warnings": outcome.warnings} if outcome.warnings else None,
                            xero_id,
                            outcome.record.get(number_field) if number_field else None,
                        )
                    )
                    kind = {"create": "created", "update": "updated", "void": "voided"}[p.action]
                    counts[kind] += 1
                    differs = posted_differs(p.expected, outcome.record) if p.action != "void" else []
                    if differs and posted_mismatches is not None:
                        posted_mismatches.append(f"{p.sf_object} {p.sf_id}: {', '.join(differs)}")
                    sent = sorted(set(p.payload or {}) - {spec.id_field})
                    events.append(
                        Event(
                            p.action,
                            run_id,
                            collection,
                            p.sf_object,
                            p.sf_id,
                            tenant.tenant_id,
                            xero_id,
                            context={"fields": sent, "origin": p.origin}
                            if collection == "Contacts"
                            else None,
                        )
                    )
                else:
                    message = "; ".join(outcome.errors) or "rejected"
                    closures.append(Closure(intent_id, "failed", {"errors": outcome.errors}))
                    counts["failed"] += 1
                    events.append(
                        Event(
                            "fail",
                            run_id,
                            collection,
                            p.sf_object,
                            p.sf_id,
                            tenant.tenant_id,
                            error_code="xero_validation_error",
                            message=message,
                        )
                    )
                    code = (
                        "invoice_not_editable"
                        if p.action == "update" and NOT_EDITABLE.search(message)
                        else "xero_validation_error"
                    )
                    queue.append(
                        QueueItemIn(
                            p.sf_object,
                            p.sf_id,
                            code,
                            message=message,
                            tenant_id=tenant.tenant_id,
                            field=xero_field(p.collection.rstrip("s")),
                            value=p.natural_key,
                            hint=reason_hint(code, message=message, value=p.natural_key),
                            # the refused change: a later plan of the same change is not sent again
                            payload={
                                "action": p.action,
                                "natural_key": p.natural_key,
                                "payload_hash": p.payload_hash,
                            },
                        )
                    )
            led.close_intents(closures)
            led.log_events(events)
            if queue:
                led.queue_upsert(queue)
            done = [(group[o.index].sf_object, group[o.index].sf_id) for o in outcomes if o.ok and o.record]
            led.queue_resolve_records(done, tenant.tenant_id, XERO_REJECTIONS)
            progress.add(len(outcomes))
    return counts
