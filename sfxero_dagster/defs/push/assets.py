"""Push to Xero, per organisation: contacts, then invoices (create, update, void).

Crash safety: before each batch of ≤50 is sent, one intent per element goes into the ledger. Each
element's outcome closes its intent (a success writes the link in the same transaction). A run that
starts with intents still pending (a crash, a kill, a dropped connection after Xero committed) first
looks those records up in Xero by their natural key (ContactNumber, InvoiceNumber) and links or
abandons them, so nothing is sent twice even after the Idempotency-Keys (minutes) have expired.
"""

import json
import re
from collections.abc import Callable
from dataclasses import replace
from decimal import Decimal

import dagster as dg
import pandas as pd

from sfxero_dagster.clients.governor import DailyLimitReached
from sfxero_dagster.clients.xero import BATCH_SIZE, XeroClient
from sfxero_dagster.config import SfxeroConfig, XeroTenantConfig
from sfxero_dagster.core.hashing import idempotency_key, payload_hash
from sfxero_dagster.core.ledger import Closure, Event, Intent, IntentIn, Ledger, Link, QueueItemIn
from sfxero_dagster.core.mapping import invoice_payload
from sfxero_dagster.core.progress import Progress
from sfxero_dagster.core.push import (
    NEVER_ON_LINK,
    VOID,
    LiveElsewhere,
    Planned,
    contact_scope,
    foreign_contact_writes,
    plan_contacts,
    plan_invoices,
    plan_summary,
    posted_differs,
)
from sfxero_dagster.core.reasons import REASONS, xero_field
from sfxero_dagster.core.reasons import hint as reason_hint
from sfxero_dagster.defs.resources import (
    LedgerResource,
    SfxeroConfigResource,
    WarehouseResource,
    XeroResource,
)
from sfxero_dagster.defs.staging.assets import tenant_references

# Write batches on the wire at once (never more than the tenant's concurrent_limit): our ledger work
# on one batch overlaps Xero's on the next, so the minutes a rate-limited push waits are not followed by
# a slow tail (P3 benchmark). Two leave Xero's other concurrent slots to sensors and write-backs.
IN_FLIGHT = 2

# Xero's words for "this document is paid, credited or otherwise locked"
NOT_EDITABLE = re.compile(
    r"not of valid status for modification|cannot be (edited|modified)|status of a (PAID|VOIDED|DELETED) document",
    re.IGNORECASE,
)
ID_FIELD = {
    "Contacts": "ContactID",
    "Invoices": "InvoiceID",
    "CreditNotes": "CreditNoteID",
    "Items": "ItemID",
}
NUMBER_FIELD = {
    "Contacts": None,
    "Invoices": "InvoiceNumber",
    "CreditNotes": "CreditNoteNumber",
    "Items": "Code",
}


XERO_REJECTIONS = ("xero_validation_error", "invoice_not_editable")  # resolved by a later success


def recover(client: XeroClient, led: Ledger, tenant_id: str, collection: str) -> tuple[int, int]:
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
    resolve = _resolver(client, tenant_id, collection, creates) if creates else None
    linked = abandoned = 0
    for target in sorted({i.target for i in pending}):
        fn = resolve if resolve is not None and not target.endswith(":POST") else _resend
        report = led.recover_pending(fn, tenant_id=tenant_id, target=target)
        linked, abandoned = linked + len(report.linked), abandoned + len(report.abandoned)
    return linked, abandoned


def _resend(intent: Intent) -> None:
    return None


def _resolver(
    client: XeroClient, tenant_id: str, collection: str, creates: list[Intent]
) -> Callable[[Intent], tuple[str, str | None] | None]:
    """Looks a created record up in Xero by its natural key: (id, number), or None when absent."""
    if collection == "Items":
        codes = {str(i["Code"]): i for i in client.read_all(tenant_id, "get_items", "items", paged=False)}

        def resolve(intent: Intent) -> tuple[str, str | None] | None:
            item = codes.get(intent.natural_key)
            return (str(item["ItemID"]), item["Code"]) if item else None
    elif collection == "CreditNotes":
        found = {}
        for intent in creates:
            where = f'CreditNoteNumber=="{intent.natural_key}"'
            for cn in client.read_all(
                tenant_id, "get_credit_notes", "credit_notes", where=where, paged=False
            ):
                found[cn["CreditNoteNumber"]] = cn

        def resolve(intent: Intent) -> tuple[str, str | None] | None:
            cn = found.get(intent.natural_key)
            return (str(cn["CreditNoteID"]), cn.get("CreditNoteNumber")) if cn else None
    elif collection == "Invoices":
        found = client.invoices_by_number(tenant_id, [i.natural_key for i in creates])

        def resolve(intent: Intent) -> tuple[str, str | None] | None:
            inv = found.get(intent.natural_key)
            if not inv:
                return None
            return str(inv["InvoiceID"]), inv.get("InvoiceNumber")
    else:

        def resolve(intent: Intent) -> tuple[str, str | None] | None:
            contact = client.contact_by_number(tenant_id, intent.natural_key)
            return (str(contact["ContactID"]), None) if contact else None

    return resolve


def execute(
    plan: list[Planned],
    client: XeroClient,
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

        for _key, outcomes in client.write(
            tenant.tenant_id,
            collection,
            [p.payload for p in group],
            update=update,
            before_batch=record,
            in_flight=min(IN_FLIGHT, tenant.concurrent_limit),
        ):
            closures, events, queue = [], [], []
            for outcome in outcomes:
                p, intent_id = group[outcome.index], ids[outcome.index]
                if outcome.ok and outcome.record:
                    xero_id = str(outcome.record[ID_FIELD[collection]])
                    number_field = NUMBER_FIELD[collection]
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
                    sent = sorted(set(p.payload or {}) - {ID_FIELD[collection]})
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


def plan_items(
    plan: list[Planned], tenant: XeroTenantConfig, cfg: SfxeroConfig, wh, led: Ledger
) -> list[Planned]:
    """Items the planned invoices use that the organisation lacks (only when ``items.create_missing``)."""
    if not cfg.items.create_missing:
        return []
    have = set(wh.query("SELECT code FROM xero_items WHERE tenant_key = ?", [tenant.key])["code"])
    made = {link.xero_number for link in _links(led, tenant.tenant_id, "Items").values()}
    used = {
        li["ItemCode"]
        for p in plan
        if p.writes and p.payload
        for li in p.payload.get("LineItems", [])
        if li.get("ItemCode")
    }
    missing = sorted(used - have - made)
    if not missing:
        return []
    products = wh.read("stg_products").drop_duplicates("sku").set_index("sku")
    tax_map = cfg.tax.mapping.get(tenant.key, {})
    out = []
    for code in missing:
        prod = products.loc[code].to_dict() if code in products.index else {}
        sales = {
            "AccountCode": prod.get("account_code") or cfg.accounts.default_sales_account,
            "TaxType": tax_map.get(prod.get("tax_code") or ""),
        }
        payload = {
            "Code": code,
            "Name": (prod.get("name") or code)[:50],
            "IsSold": True,
            "SalesDetails": {k: v for k, v in sales.items() if v},
        }
        out.append(
            Planned(
                tenant.key,
                "Items",
                "create",
                "Product2",
                prod.get("sf_product_id") or code,
                code,
                payload,
                payload_hash(payload),
            )
        )
    return out


def settle_cancellations(
    plan: list[Planned],
    client: XeroClient,
    led: Ledger,
    tenant: XeroTenantConfig,
    cfg: SfxeroConfig,
    wh,
    run_id: str,
    log: Callable[[str], None],
) -> tuple[list[Planned], dict[str, int]]:
    """Cancelled sources: void what Xero lets us void; credit what it does not (payments or credits).

    Xero refuses to void an invoice that has payments or allocations. For those (with the
    ``cancelled_order`` credit-note trigger) a credit note for the same lines is created and, when
    configured, allocated against what is still due. Returns the plan without the voids it handled.
    """
    counts = {"credited": 0, "allocated": 0, "already_voided": 0, "held": 0}
    voids = [p for p in plan if p.action == "void"]
    if not voids:
        return plan, counts, []
    ids = [p.payload["InvoiceID"] for p in voids if p.payload]
    current: dict[str, dict] = {}
    for start in range(0, len(ids), BATCH_SIZE):
        for inv in client.read_all(
            tenant.tenant_id, "get_invoices", "invoices", i_ds=ids[start : start + BATCH_SIZE], paged=False
        ):
            current[str(inv["InvoiceID"])] = inv
    keep, credit = [], []
    held: list[QueueItemIn] = []
    settled_hash = payload_hash(VOID)

    def settle(p: Planned, inv: dict) -> None:
        """Mark the invoice link as settled (voided or credited): nothing more to do for the source."""
        link = Link(
            tenant.tenant_id,
            p.sf_object,
            p.sf_id,
            "Invoices",
            inv["InvoiceID"],
            inv.get("InvoiceNumber"),
            settled_hash,
        )
        led.upsert_links([link])

    for p in voids:
        inv = current.get(p.payload["InvoiceID"]) if p.payload else None
        if inv is None:
            keep.append(p)  # let Xero answer (and the queue show) why it is missing
            continue
        if inv.get("Status") in ("VOIDED", "DELETED"):
            settle(p, inv)
            counts["already_voided"] += 1
        elif Decimal(str(inv.get("AmountPaid") or 0)) > 0 or Decimal(str(inv.get("AmountCredited") or 0)) > 0:
            if p.reason_code in ("invoice_withdrawn", "invoice_rerouted"):
                held.append(_paid_item(p, inv, tenant, cfg))  # money has moved: a person decides
            else:
                credit.append((p, inv))
        else:
            keep.append(p)
    trigger = cfg.invoices.credit_notes.trigger
    if credit and trigger in ("cancelled_order", "both"):
        headers = wh.read("stg_invoice_headers").set_index("sf_id")
        lines = wh.read("stg_invoice_lines")
        cn_links = _links(led, tenant.tenant_id, "CreditNotes")
        to_create: list[Planned] = []
        for p, inv in credit:
            if (p.sf_object, p.sf_id) in cn_links:
                continue  # created earlier; only the allocation may be missing
            h = {"sf_id": p.sf_id, **headers.loc[p.sf_id].to_dict()}
            payload = invoice_payload(
                h,
                lines.loc[lines["sf_header_id"] == p.sf_id].to_dict("records"),
                cfg,
                {"ContactID": inv["Contact"]["ContactID"]},
                credit_note=True,
                reference=tenant_references(wh).get(tenant.key),
            )
            payload["Status"] = "AUTHORISED"  # an allocation needs an authorised credit note
            to_create.append(
                Planned(
                    tenant.key,
                    "CreditNotes",
                    "create",
                    p.sf_object,
                    p.sf_id,
                    payload["CreditNoteNumber"],
                    payload,
                    payload_hash(payload),
                )
            )
        if to_create:
            counts["credited"] += execute(to_create, client, led, tenant, run_id, log)["created"]
        cn_links = _links(led, tenant.tenant_id, "CreditNotes")
        for p, inv in credit:
            link = cn_links.get((p.sf_object, p.sf_id))
            if link is None or not link.xero_id:
                continue
            due = Decimal(str(inv.get("AmountDue") or 0))
            if cfg.invoices.credit_notes.allocate_to_invoice and due > 0:
                cn = client.get_one(tenant.tenant_id, "get_credit_note", "credit_notes", link.xero_id)
                remaining = Decimal(str(cn.get("RemainingCredit") or 0)) if cn else Decimal(0)
                amount = min(due, remaining)
                if amount > 0:
                    allocation = client.to_model(
                        "Allocations",
                        [
                            {
                                "Invoice": {"InvoiceID": inv["InvoiceID"]},
                                "Amount": amount,
                                "Date": str(inv["Date"])[:10],
                            }
                        ],
                    )
                    client.call(
                        tenant.tenant_id,
                        "write",
                        "create_credit_note_allocation",
                        link.xero_id,
                        allocation,
                        idempotency_key=idempotency_key(
                            tenant.tenant_id, "alloc", link.xero_id, inv["InvoiceID"], amount
                        ),
                    )
                    counts["allocated"] += 1
            settle(p, inv)
            led.log_events(
                [Event("credit", run_id, "CreditNotes", p.sf_object, p.sf_id, tenant.tenant_id, link.xero_id)]
            )
    else:
        keep += [p for p, _ in credit]
    others = [p for p in plan if p.action != "void"]
    counts["held"] = len(held)
    return others + keep, counts, held


def _paid_item(p: Planned, inv: dict, tenant: XeroTenantConfig, cfg: SfxeroConfig) -> QueueItemIn:
    """A withdrawn or re-routed record whose invoice has payments or credits, so it cannot be voided."""
    code = "invoice_withdrawn" if p.reason_code == "invoice_withdrawn" else "rerouted_invoice_paid"
    paid = Decimal(str(inv.get("AmountPaid") or 0)) + Decimal(str(inv.get("AmountCredited") or 0))
    number = inv.get("InvoiceNumber") or inv["InvoiceID"]
    message = f"invoice {number} in {tenant.key!r} has {paid} paid or credited; {p.message or ''}".strip()
    values = {
        "value": number,
        "org": tenant.key,
        "target": p.expected.get("new_tenant", ""),
        "message": message,
        "field": _item_field(code, p.sf_object, cfg),
    }
    return QueueItemIn(
        p.sf_object,
        p.sf_id,
        code,
        message=message,
        tenant_id=tenant.tenant_id,
        field=values["field"],
        value=number,
        hint=reason_hint(code, **values),
        payload={
            "invoice_id": inv["InvoiceID"],
            "invoice_number": number,
            "paid_or_credited": str(paid),
            "new_tenant": p.expected.get("new_tenant"),
        },
    )


def _links(led: Ledger, tenant_id: str, xero_object: str) -> dict:
    frame = led.links_frame(tenant_id=tenant_id, xero_object=xero_object)
    return {
        (r["sf_object"], r["sf_id"]): Link(
            r["tenant_id"],
            r["sf_object"],
            r["sf_id"],
            r["xero_object"],
            r["xero_id"],
            r["xero_number"],
            r["payload_hash"],
            origin=r.get("origin"),
        )
        for r in frame.to_dict("records")
    }


def record_contact_links(
    led: Ledger, plan: list[Planned], tenant: XeroTenantConfig, cfg: SfxeroConfig, run_id: str
) -> int:
    """Before a contact push: refuse writes beyond invariant 1, and record how each matched contact was
    linked (its origin) so the push and later runs know what they may change on it.

    A ``link`` (a contact linked by weak evidence: nothing it may change) is recorded here and costs no
    call. An update of a newly linked contact starts with an empty hash, so a failed update is retried.
    """
    if bad := foreign_contact_writes(plan, cfg.contacts.salesforce_masters()):
        raise dg.Failure(
            "refusing to change Xero contacts this project did not create: " + "; ".join(bad[:10]),
            allow_retries=False,
        )
    known = _links(led, tenant.tenant_id, "Contacts")
    links, events = [], []
    for p in plan:
        if p.collection != "Contacts" or p.action not in ("link", "update") or not p.payload:
            continue
        contact_id = p.payload["ContactID"]
        before = known.get((p.sf_object, p.sf_id))
        if p.action == "update" and before is not None and before.xero_id == contact_id:
            continue  # linked already; the update's outcome moves its hash
        digest = p.payload_hash if p.action == "link" else ""
        links.append(
            Link(
                tenant.tenant_id, p.sf_object, p.sf_id, "Contacts", contact_id, None, digest, origin=p.origin
            )
        )
        events.append(
            Event(
                "link",
                run_id,
                "Contacts",
                p.sf_object,
                p.sf_id,
                tenant.tenant_id,
                contact_id,
                context={"origin": p.origin},
            )
        )
    led.upsert_links(links)
    led.log_events(events)
    return len(links)


def foreign_contact_changes(led: Ledger, run_id: str, tenant_id: str, masters: frozenset[str]) -> list[str]:
    """Invariant 1 on what this run sent: contact updates beyond their link's origin (from the events)."""
    ev = led.events(run_id=run_id, action="update")
    ev = ev.loc[(ev["stream"] == "Contacts") & (ev["tenant_id"] == tenant_id)] if len(ev) else ev
    out = []
    for r in ev.to_dict("records"):
        ctx = json.loads(r["context"]) if r["context"] else {}
        scope = contact_scope(ctx.get("origin"))
        allowed = {"owned": None, "strong": masters - NEVER_ON_LINK, "none": frozenset()}[scope]
        extra = set(ctx.get("fields") or []) - allowed if allowed is not None else set()
        if extra:
            out.append(
                f"Account {r['sf_id']}: contact {r['xero_id']} ({ctx.get('origin')}) got {sorted(extra)}"
            )
    return out


def live_documents(led: Ledger) -> pd.DataFrame:
    """Invoice links whose Xero document is live (sent and neither voided nor credited away)."""
    links = led.links_frame(xero_object="Invoices")
    if not len(links):
        return links
    return links.loc[links["xero_id"].notna() & (links["payload_hash"] != payload_hash(VOID))]


def duplicate_live_documents(led: Ledger) -> list[str]:
    """Invariant 3: sources with a live invoice in more than one organisation."""
    live = live_documents(led)
    if not len(live):
        return []
    per = live.groupby(["sf_object", "sf_id"])["tenant_id"].nunique()
    return [f"{obj} {sf_id}: live in {n} organisations" for (obj, sf_id), n in per.items() if n > 1]


def _invariant_check(name: str, violations: list[str]) -> dg.AssetCheckResult:
    return dg.AssetCheckResult(
        check_name=name,
        passed=not violations,
        severity=dg.AssetCheckSeverity.ERROR,
        metadata={
            "violations": dg.MetadataValue.int(len(violations)),
            "examples": dg.MetadataValue.md("\n".join(f"- {v}" for v in violations[:20]) or "_none_"),
        },
    )


# What an invoice push itself raises and re-checks every run: an item it no longer raises is resolved.
PUSH_SYNCED = (
    "contact_pending_review",
    "contact_not_pushed",
    "amount_mismatch",
    "invoice_rerouted",
    "invoice_withdrawn",
    "rerouted_invoice_paid",
)


def _item_field(code: str, sf_object: str, cfg: SfxeroConfig) -> str:
    """The field a push-stage item points at (core.reasons' convention): where a person acts."""
    if code in ("contact_pending_review", "contact_not_pushed"):
        return "AccountId"
    if code == "amount_mismatch":
        return "TotalAmount" if sf_object == "Order" else "Amount"
    if code in ("invoice_rerouted", "rerouted_invoice_paid"):
        return f"Account.{cfg.routing.field}"
    if code == "invoice_withdrawn":
        return "Status" if sf_object == "Order" else "StageName"
    return xero_field("Invoice")


def _planned_items(plan: list[Planned], tenant: XeroTenantConfig, cfg: SfxeroConfig) -> list[QueueItemIn]:
    return [
        QueueItemIn(
            p.sf_object,
            p.sf_id,
            p.reason_code or "xero_validation_error",
            message=p.message,
            tenant_id=tenant.tenant_id,
            field=_item_field(p.reason_code or "xero_validation_error", p.sf_object, cfg),
            value=p.expected.get("value") or p.natural_key,
            hint=reason_hint(
                p.reason_code or "xero_validation_error",
                **{
                    "value": p.natural_key,
                    "message": p.message,
                    "org": tenant.key,
                    "field": _item_field(p.reason_code or "xero_validation_error", p.sf_object, cfg),
                    **p.expected,
                    **p.hint_values,
                    "expected": p.expected.get("sub_total"),
                },
            ),
            payload={"expected": p.expected} if p.expected else None,
        )
        for p in plan
        if p.action == "queue"
    ]


def _result(
    plan: list[Planned], counts: dict[str, int], calls: int, recovered: tuple[int, int]
) -> dg.MaterializeResult:
    sent = counts["created"] + counts["updated"] + counts["voided"] + counts["failed"]
    skipped = sum(1 for p in plan if p.action == "skip")
    queued = sum(1 for p in plan if p.action == "queue")
    return dg.MaterializeResult(
        metadata={
            "created": dg.MetadataValue.int(counts["created"]),
            "updated": dg.MetadataValue.int(counts["updated"]),
            "voided": dg.MetadataValue.int(counts["voided"]),
            "skipped": dg.MetadataValue.int(skipped),
            "failed": dg.MetadataValue.int(counts["failed"]),
            "queued": dg.MetadataValue.int(queued),
            **{
                k: dg.MetadataValue.int(counts[k])
                for k in ("credited", "allocated", "already_voided", "held", "items_created", "linked")
                if k in counts
            },
            "recovered_linked": dg.MetadataValue.int(recovered[0]),
            "recovered_abandoned": dg.MetadataValue.int(recovered[1]),
            "xero_api_calls": dg.MetadataValue.int(calls),
            "calls_per_record": dg.MetadataValue.float(round(calls / sent, 3) if sent else 0.0),
        }
    )


NEW_CONTACT = "new:"  # + the Salesforce Account Id: a contact this push will create


def load_plan(
    collection: str, tenant: XeroTenantConfig, cfg: SfxeroConfig, wh, led: Ledger, *, preview: bool = False
) -> list[Planned]:
    """The plan for one tenant and collection, from the warehouse and the ledger (no API calls).

    ``preview`` (for ``sfxero plan``) assumes the planned contacts exist, so their invoices show as
    the creates they will be rather than as waiting.
    """
    if collection == "Contacts":
        links = {
            (tenant.key, sf_id): link
            for (_, sf_id), link in _links(led, tenant.tenant_id, "Contacts").items()
        }
        return plan_contacts(
            wh.read("contact_matches"),
            wh.read("valid_customers"),
            links,
            tenant.key,
            cfg.contacts.salesforce_masters(),
        )
    contact_links = _links(led, tenant.tenant_id, "Contacts")
    contact_ids = {sf_id: link.xero_id for (_, sf_id), link in contact_links.items() if link.xero_id}
    if preview:
        for p in load_plan("Contacts", tenant, cfg, wh, led):
            contact_ids.setdefault(p.sf_id, (p.payload or {}).get("ContactID", NEW_CONTACT + p.sf_id))
    # An invoice without a contact names its account's open review items (this run's match reviews and
    # any open Account item: a rejected account, a failed contact push), or says there are none.
    matches = wh.read("contact_matches")
    pending: dict[str, set[str]] = {}
    if len(matches):
        reviews = matches.loc[matches["action"] == "review"]
        for sf_id, code in zip(reviews["sf_account_id"], reviews["reason_code"], strict=True):
            pending.setdefault(sf_id, set()).add(code)
    for item in led.queue_list(state="open"):
        if item.sf_object == "Account" and item.tenant_id in (tenant.tenant_id, None):
            pending.setdefault(item.sf_id, set()).add(item.reason_code)
    rates = wh.query(
        "SELECT tax_type, effective_rate FROM xero_tax_rates WHERE tenant_key = ? AND status = 'ACTIVE'",
        [tenant.key],
    )
    keys = {t.tenant_id: t.key for t in cfg.xero.tenants}
    live = live_documents(led)
    elsewhere = {
        (r["sf_object"], r["sf_id"]): LiveElsewhere(
            keys.get(r["tenant_id"], r["tenant_id"]), r["xero_id"], r["xero_number"]
        )
        for r in live.to_dict("records")
        if r["tenant_id"] != tenant.tenant_id
    }
    plan = plan_invoices(
        wh.read("valid_invoice_headers"),
        wh.read("valid_invoice_lines"),
        wh.read("stg_invoice_headers"),
        contact_ids,
        pending,
        _links(led, tenant.tenant_id, "Invoices"),
        {t: Decimal(str(r)) for t, r in zip(rates["tax_type"], rates["effective_rate"], strict=True)},
        cfg,
        tenant.key,
        elsewhere,
        reference=tenant_references(wh).get(tenant.key),
    )
    return hold_refused(plan, led, tenant.tenant_id)


def hold_refused(plan: list[Planned], led: Ledger, tenant_id: str) -> list[Planned]:
    """Skip an update Xero already refused as not editable (paid or credited) while it is the same change.

    The review item asks a person to make the change in Xero or credit the invoice; sending it again on
    every run only earned the same refusal (a rerun that wrote). A different change is tried again, and
    so is this one once the item is resolved or ignored."""
    refused = {
        i.sf_id: (i.payload or {}).get("payload_hash")
        for i in led.queue_list(reason_code="invoice_not_editable", tenant_id=tenant_id)
    }
    if not refused:
        return plan
    return [
        replace(p, action="skip")
        if p.action == "update" and p.payload_hash and refused.get(p.sf_id) == p.payload_hash
        else p
        for p in plan
    ]


def build_push_assets(tenant: XeroTenantConfig) -> list[dg.AssetsDefinition]:
    def push(collection: str):
        def _push(
            context: dg.AssetExecutionContext,
            sfxero_config: SfxeroConfigResource,
            xero: XeroResource,
            warehouse: WarehouseResource,
            ledger: LedgerResource,
        ) -> dg.MaterializeResult:
            cfg = sfxero_config.config
            client, led, wh = xero.client(), ledger.open(), warehouse.open()
            before = client.calls.total(tenant.tenant_id)
            recovered = recover(client, led, tenant.tenant_id, collection)
            if collection == "Invoices":
                for other in ("Items", "CreditNotes"):
                    more = recover(client, led, tenant.tenant_id, other)
                    recovered = (recovered[0] + more[0], recovered[1] + more[1])
            plan = load_plan(collection, tenant, cfg, wh, led)
            queue_items = _planned_items(plan, tenant, cfg)
            if collection == "Contacts":
                led.queue_upsert(queue_items)
            context.log.info(f"{tenant.key} {collection} plan: {plan_summary(plan)}")
            try:
                extra: dict[str, int] = {}
                if collection == "Contacts":
                    extra["linked"] = record_contact_links(led, plan, tenant, cfg, context.run.run_id)
                if collection == "Invoices" and (items := plan_items(plan, tenant, cfg, wh, led)):
                    extra["items_created"] = execute(
                        items, client, led, tenant, context.run.run_id, context.log.info
                    )["created"]
                if collection == "Invoices":
                    plan, settled, held = settle_cancellations(
                        plan, client, led, tenant, cfg, wh, context.run.run_id, context.log.info
                    )
                    extra.update(settled)
                    queue_items += held
                mismatches: list[str] = []
                counts = execute(plan, client, led, tenant, context.run.run_id, context.log.info, mismatches)
                counts.update(extra)
                if collection == "Invoices":
                    led.queue_sync(
                        PUSH_SYNCED,
                        queue_items,
                        sf_objects=["Opportunity", "Order"],
                        tenant_id=tenant.tenant_id,
                    )
            except DailyLimitReached as exc:
                led.queue_upsert(queue_items)  # what waits is visible even when the day's calls ran out
                # Park: what was sent is closed in the ledger; the rest is planned again next run.
                raise dg.Failure(
                    f"Xero daily limit reached for {tenant.key}; resume after {pd.Timestamp(exc.resume_at, unit='s', tz='UTC')}",
                    allow_retries=False,
                ) from exc
            result = _result(plan, counts, client.calls.total(tenant.tenant_id) - before, recovered)
            if collection == "Contacts":
                bad = foreign_contact_changes(
                    led, context.run.run_id, tenant.tenant_id, cfg.contacts.salesforce_masters()
                )
                checks = [_invariant_check("foreign_contacts_untouched", bad)]
            else:
                checks = [
                    _invariant_check("one_live_document", duplicate_live_documents(led)),
                    _invariant_check("xero_arithmetic", mismatches),
                ]
            for check in checks:
                if not check.passed:
                    context.log.error(f"{tenant.key} {collection}: invariant {check.check_name} violated")
            return dg.MaterializeResult(metadata=result.metadata, check_results=checks)

        return _push

    contacts = dg.asset(
        name="contacts",
        key_prefix=["xero", tenant.key],
        group_name="push",
        deps=["contact_matches", "valid_customers"],
        pool=f"xero_api_{tenant.key}",
        kinds={"xero"},
        check_specs=[
            dg.AssetCheckSpec(
                "foreign_contacts_untouched",
                asset=dg.AssetKey(["xero", tenant.key, "contacts"]),
                description="No contact this project did not create was changed beyond its link's evidence.",
            )
        ],
        description=f"Xero contacts of {tenant.name!r}: created for new accounts, updated when Salesforce changes.",
    )(push("Contacts"))
    invoices = dg.asset(
        name="invoices",
        key_prefix=["xero", tenant.key],
        group_name="push",
        deps=["valid_invoices", dg.AssetKey(["xero", tenant.key, "contacts"])],
        pool=f"xero_api_{tenant.key}",
        kinds={"xero"},
        check_specs=[
            dg.AssetCheckSpec(
                "one_live_document",
                asset=dg.AssetKey(["xero", tenant.key, "invoices"]),
                description="No Salesforce record has a live invoice in more than one organisation.",
            ),
            dg.AssetCheckSpec(
                "xero_arithmetic",
                asset=dg.AssetKey(["xero", tenant.key, "invoices"]),
                description="Every invoice this run created or updated has the totals our arithmetic gives.",
            ),
        ],
        description=f"Xero invoices of {tenant.name!r}: created, updated while editable, voided when cancelled.",
    )(push("Invoices"))
    return [contacts, invoices]


def plan_frame(cfg: SfxeroConfig, wh, led: Ledger) -> pd.DataFrame:
    """Every tenant's plan as one table: what a push would create, update, void, skip or queue."""
    rows = [
        {
            "tenant": p.tenant_key,
            "collection": p.collection,
            "action": p.action,
            "sf_object": p.sf_object,
            "sf_id": p.sf_id,
            "natural_key": p.natural_key,
            "reason": p.reason_code or "",
            "expected_total": p.expected.get("total", ""),
        }
        for t in cfg.xero.tenants
        for collection in ("Contacts", "Invoices")
        for p in load_plan(collection, t, cfg, wh, led, preview=True)
    ]
    return pd.DataFrame(
        rows,
        columns=[
            "tenant",
            "collection",
            "action",
            "sf_object",
            "sf_id",
            "natural_key",
            "reason",
            "expected_total",
        ],
    )


@dg.asset(
    group_name="push",
    deps=["valid_invoices", "contact_matches"],
    kinds={"duckdb"},
    pool="ledger_writer",
    description="What a push would write to Xero (create, update, void, skip, queue), without writing anything.",
)
def push_plan(
    sfxero_config: SfxeroConfigResource, warehouse: WarehouseResource, ledger: LedgerResource
) -> dg.MaterializeResult:
    wh = warehouse.open()
    plan = plan_frame(sfxero_config.config, wh, ledger.open())
    wh.replace("push_plan", plan)
    summary = plan.groupby(["tenant", "collection", "action"]).size().rename("records").reset_index()
    return dg.MaterializeResult(
        metadata={
            "writes": dg.MetadataValue.int(int(plan["action"].isin(["create", "update", "void"]).sum())),
            **{
                f"{c.lower()}_{a}": dg.MetadataValue.int(int(n))
                for (c, a), n in plan.groupby(["collection", "action"]).size().items()
            },
            "summary": dg.MetadataValue.md(summary.to_markdown(index=False) if len(summary) else "_nothing_"),
        }
    )


plan_push_job = dg.define_asset_job(
    "plan_push", selection=[push_plan], description="Preview a push; writes nothing."
)


def push_defs(config: SfxeroConfig) -> dg.Definitions:
    return dg.Definitions(
        assets=[push_plan, *(a for t in config.xero.tenants for a in build_push_assets(t))],
        jobs=[plan_push_job],
    )


__all__ = ["REASONS", "execute", "load_plan", "push_defs", "recover"]
