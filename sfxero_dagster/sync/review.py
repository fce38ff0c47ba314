"""Review items the push raises itself (not Xero's refusals): what waits for a person, and where to act."""

from __future__ import annotations

from decimal import Decimal

from sfxero_dagster.config import SfxeroConfig, XeroTenantConfig
from sfxero_dagster.core.push import Planned
from sfxero_dagster.core.reasons import hint as reason_hint
from sfxero_dagster.core.reasons import xero_field
from sfxero_dagster.store.ledger import QueueItemIn

# What an invoice push itself raises and re-checks every run: an item it no longer raises is resolved.
PUSH_SYNCED = (
    "contact_pending_review",
    "contact_not_pushed",
    "amount_mismatch",
    "invoice_rerouted",
    "invoice_withdrawn",
    "rerouted_invoice_paid",
)


def item_field(code: str, sf_object: str, cfg: SfxeroConfig) -> str:
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


def planned_items(plan: list[Planned], tenant: XeroTenantConfig, cfg: SfxeroConfig) -> list[QueueItemIn]:
    return [
        QueueItemIn(
            p.sf_object,
            p.sf_id,
            p.reason_code or "xero_validation_error",
            message=p.message,
            tenant_id=tenant.tenant_id,
            field=item_field(p.reason_code or "xero_validation_error", p.sf_object, cfg),
            value=p.expected.get("value") or p.natural_key,
            hint=reason_hint(
                p.reason_code or "xero_validation_error",
                **{
                    "value": p.natural_key,
                    "message": p.message,
                    "org": tenant.key,
                    "field": item_field(p.reason_code or "xero_validation_error", p.sf_object, cfg),
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


def paid_item(p: Planned, inv: dict, tenant: XeroTenantConfig, cfg: SfxeroConfig) -> QueueItemIn:
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
        "field": item_field(code, p.sf_object, cfg),
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
