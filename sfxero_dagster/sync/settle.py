"""Cancelled sources: void what Xero lets us void; credit (and allocate) what it does not."""

from __future__ import annotations

from collections.abc import Callable
from decimal import Decimal

from sfxero_dagster.clients.xero_api import XeroApi
from sfxero_dagster.config import SfxeroConfig, XeroTenantConfig
from sfxero_dagster.core.hashing import payload_hash
from sfxero_dagster.core.mapping import invoice_payload
from sfxero_dagster.core.push import VOID, Planned
from sfxero_dagster.store import tables
from sfxero_dagster.store.ledger import Event, Ledger, Link, QueueItemIn
from sfxero_dagster.sync.execute import execute
from sfxero_dagster.sync.plan import links_by_source, tenant_references
from sfxero_dagster.sync.review import paid_item


def settle_cancellations(
    plan: list[Planned],
    api: XeroApi,
    led: Ledger,
    tenant: XeroTenantConfig,
    cfg: SfxeroConfig,
    wh,
    run_id: str,
    log: Callable[[str], None],
) -> tuple[list[Planned], dict[str, int], list[QueueItemIn]]:
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
    current = api.invoices_by_id(tenant.tenant_id, ids)
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
                held.append(paid_item(p, inv, tenant, cfg))  # money has moved: a person decides
            else:
                credit.append((p, inv))
        else:
            keep.append(p)
    trigger = cfg.invoices.credit_notes.trigger
    if credit and trigger in ("cancelled_order", "both"):
        headers = wh.read(tables.STG_INVOICE_HEADERS).set_index("sf_id")
        lines = wh.read(tables.STG_INVOICE_LINES)
        cn_links = links_by_source(led, tenant.tenant_id, "CreditNotes")
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
            counts["credited"] += execute(to_create, api, led, tenant, run_id, log)["created"]
        cn_links = links_by_source(led, tenant.tenant_id, "CreditNotes")
        for p, inv in credit:
            link = cn_links.get((p.sf_object, p.sf_id))
            if link is None or not link.xero_id:
                continue
            due = Decimal(str(inv.get("AmountDue") or 0))
            if cfg.invoices.credit_notes.allocate_to_invoice and due > 0:
                cn = api.credit_note(tenant.tenant_id, link.xero_id)
                remaining = Decimal(str(cn.get("RemainingCredit") or 0)) if cn else Decimal(0)
                amount = min(due, remaining)
                if amount > 0:
                    api.allocate_credit_note(
                        tenant.tenant_id, link.xero_id, inv["InvoiceID"], amount, str(inv["Date"])[:10]
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
