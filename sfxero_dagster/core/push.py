"""Plan what a push writes to Xero: create, update, void, skip or queue, per record (pure, no I/O).

A record is sent only when the hash of its mapped payload differs from the one its ledger link holds
from the last successful push, so an unchanged re-run plans nothing. The same plan feeds the push
assets and ``sfxero plan`` (which writes nothing).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field, replace
from decimal import Decimal
from typing import TYPE_CHECKING, Any, Literal

import pandas as pd

from sfxero_dagster.config import ContactField, SfxeroConfig
from sfxero_dagster.core.hashing import payload_hash
from sfxero_dagster.core.mapping import contact_payload, expected_totals, invoice_payload

if TYPE_CHECKING:  # the ledger's row type only: the plan itself does no I/O
    from sfxero_dagster.store.ledger import Link

Action = Literal["create", "update", "void", "skip", "queue", "link"]
VOID = {"Status": "VOIDED"}
# Match rules that are evidence enough to let Salesforce change a contact this project did not create
# (a person's explicit ContactID, the contact's own ContactNumber, the same tax number).
STRONG_RULES = frozenset({"linked_contact_id", "linked_contact_number", "tax_number"})
NEVER_ON_LINK = frozenset({"Name"})  # linking never renames a contact that was in Xero before us


@dataclass(frozen=True)
class Planned:
    tenant_key: str
    collection: str  # Contacts | Invoices
    action: Action
    sf_object: str
    sf_id: str
    natural_key: str
    payload: dict[str, Any] | None = None
    payload_hash: str | None = None
    reason_code: str | None = None
    message: str | None = None
    expected: dict[str, str] = field(default_factory=dict)
    origin: str | None = None  # a contact's link origin: 'created' or 'linked:<rule>'
    hint_values: dict[str, str] = field(default_factory=dict)  # a queued record's values for its hint

    @property
    def writes(self) -> bool:
        return self.action in ("create", "update", "void")


def contact_scope(origin: str | None) -> Literal["owned", "strong", "none"]:
    """What a push may change on a linked contact: everything (we created it), the Salesforce-mastered
    fields but the name (linked by strong evidence), or nothing (linked by e-mail domain or name)."""
    if origin == "created":
        return "owned"
    rule = (origin or "").removeprefix("linked:")
    return "strong" if rule in STRONG_RULES else "none"


def foreign_contact_writes(plan: list[Planned], masters: frozenset[str]) -> list[str]:
    """Planned contact writes that would change a contact we did not create beyond invariant 1 (a bug if
    any): each as a line naming the account and the fields."""
    out = []
    for p in plan:
        if p.collection != "Contacts" or p.action != "update" or contact_scope(p.origin) == "owned":
            continue
        fields = set(p.payload or {}) - {"ContactID"}
        allowed = masters - NEVER_ON_LINK if contact_scope(p.origin) == "strong" else frozenset()
        if fields - allowed:
            out.append(f"Account {p.sf_id} ({p.origin}): would change {', '.join(sorted(fields - allowed))}")
    return out


def _obj(source: str) -> str:
    return {"opportunity": "Opportunity", "order": "Order"}[source]


def _waiting(
    tenant_key: str,
    sf_object: str,
    sf_id: str,
    number: str,
    reason: str,
    message: str,
    expected: dict[str, str] | None = None,
) -> Planned:
    """An invoice that is not sent this run: it waits in the review queue with ``reason``."""
    return Planned(
        tenant_key,
        "Invoices",
        "queue",
        sf_object,
        sf_id,
        number,
        reason_code=reason,
        message=message,
        expected=expected or {},
    )


def plan_contacts(
    matches: pd.DataFrame,
    customers: pd.DataFrame,
    links: Mapping[tuple[str, str], Link],
    tenant_key: str,
    masters: frozenset[str] | None = None,
) -> list[Planned]:
    """Contacts for one tenant: create the unmatched, update linked ones whose data changed.

    ``links`` maps (tenant_key, sf_account_id) -> the Contact link from the last push; ``masters`` are
    the contact fields Salesforce is the master of (all when None). A contact we created gets the whole
    payload; one that was in Xero before us gets only what its link's origin allows (``contact_scope``):
    the Salesforce-mastered fields but never the name after a strong link, nothing after a weak one
    (action ``link``: the link is recorded, Xero is not called).
    """
    masters = masters if masters is not None else frozenset(ContactField.__args__)  # type: ignore[attr-defined]
    by_id = customers.set_index("sf_account_id").to_dict("index") if len(customers) else {}
    out = []
    for m in matches.loc[matches["tenant_key"] == tenant_key].to_dict("records"):
        sf_id = m["sf_account_id"]
        if m["action"] not in ("link", "create") or sf_id not in by_id:
            continue  # reviews are queued by the match stage; skipped accounts are not synced
        payload = contact_payload({"sf_account_id": sf_id, **by_id[sf_id]})
        link = links.get((tenant_key, sf_id))
        contact_id = m["xero_contact_id"] if m["action"] == "link" else (link.xero_id if link else None)
        same = link is not None and link.xero_id == contact_id
        origin = (link.origin if same and link and link.origin else None) or (
            f"linked:{m['rule']}" if contact_id else None
        )
        if contact_id and contact_scope(origin) != "owned":
            allowed = masters - NEVER_ON_LINK if contact_scope(origin) == "strong" else frozenset()
            payload = {k: v for k, v in payload.items() if k in allowed}
        digest = payload_hash(payload)  # of the data, not the id: a created contact is not re-sent
        action: Action
        if same and link and link.payload_hash == digest:
            action = "skip"
        elif contact_id and not payload:
            action = "link"  # nothing it may change: record the link, call nothing
        else:
            action = "update" if contact_id else "create"
        if contact_id:
            payload = {"ContactID": contact_id, **payload}
        out.append(
            Planned(tenant_key, "Contacts", action, "Account", sf_id, sf_id, payload, digest, origin=origin)
        )
    return out


@dataclass(frozen=True)
class LiveElsewhere:
    """A source's live invoice in another organisation (a re-routed record)."""

    tenant_key: str
    invoice_id: str
    invoice_number: str | None


def plan_invoices(
    headers: pd.DataFrame,
    lines: pd.DataFrame,
    staged: pd.DataFrame,
    contact_ids: Mapping[str, str],
    pending_review: Mapping[str, Iterable[str]],
    links: Mapping[tuple[str, str], Link],
    tax_rates: Mapping[str, Decimal],
    config: SfxeroConfig,
    tenant_key: str,
    elsewhere: Mapping[tuple[str, str], LiveElsewhere] | None = None,
    reference: Any | None = None,
) -> list[Planned]:
    """Invoices for one tenant: create new, update changed, void what must go, queue what must wait.

    ``headers`` are the valid headers (every tenant); ``staged`` every staged header (cancelled,
    deleted and withdrawn ones too); ``contact_ids`` maps sf_account_id -> ContactID (from the ledger
    after the contact push); ``pending_review`` maps sf_account_id -> the reason codes of its open review
    items (an invoice without a contact names them, or says there are none); ``reference`` (the
    organisation's TenantReference) puts codes in its own spelling; ``links`` maps (sf_object, sf_id) -> this tenant's Invoice link;
    ``elsewhere`` the sources with a live invoice in another organisation.

    One live document per source across all organisations: a source routed here whose invoice is live
    elsewhere waits (``invoice_rerouted``) until that one is voided, and this tenant voids its own live
    invoice of a source now valid for another organisation, so the void always comes first.
    """
    elsewhere = elsewhere or {}
    # One to_dict for all lines, grouped in Python: a to_dict per invoice made a no-op plan of 10,000
    # invoices take ~20 s; this way it takes ~2 s. Lines keep their order within an invoice.
    lines_by: dict[str, list[dict]] = {}
    for line in lines.to_dict("records") if len(lines) else []:
        lines_by.setdefault(line["sf_header_id"], []).append(line)
    tolerance = Decimal(str(config.invoices.rounding_tolerance))
    out: list[Planned] = []
    valid_elsewhere: dict[tuple[str, str], str] = {}
    for h in headers.to_dict("records"):
        if h["tenant_key"] != tenant_key:
            if isinstance(h["tenant_key"], str):
                valid_elsewhere[(_obj(h["source"]), h["sf_id"])] = h["tenant_key"]
            continue
        obj, sf_id, number = _obj(h["source"]), h["sf_id"], h["invoice_number"]

        if (live := elsewhere.get((obj, sf_id))) is not None:
            message = (
                f"invoice {live.invoice_number or live.invoice_id} is live in organisation "
                f"{live.tenant_key!r}; it is voided there before this record is invoiced here"
            )
            out.append(
                _waiting(
                    tenant_key,
                    obj,
                    sf_id,
                    number,
                    "invoice_rerouted",
                    message,
                    {"old_tenant": live.tenant_key, "old_invoice": live.invoice_number or live.invoice_id},
                )
            )
            continue
        contact = contact_ids.get(h["sf_account_id"])
        if contact is None:
            account = h["sf_account_id"]
            reasons = sorted(set(pending_review.get(account, ())))
            if reasons:
                code, why = "contact_pending_review", f"open review item(s) {', '.join(reasons)}"
            else:  # never point at a review item that does not exist
                code, why = "contact_not_pushed", "no Xero contact yet and no open review item"
            values = {"account": account, "account_reasons": ", ".join(reasons), "org": tenant_key}
            waiting = _waiting(tenant_key, obj, sf_id, number, code, f"account {account}: {why}")
            out.append(replace(waiting, hint_values=values))
            continue
        payload = invoice_payload(
            h, lines_by.get(sf_id, []), config, {"ContactID": contact}, reference=reference
        )
        totals = expected_totals(payload, tax_rates)
        expected = {
            "sub_total": str(totals.sub_total),
            "total_tax": str(totals.total_tax),
            "total": str(totals.total),
        }
        if (
            pd.notna(h.get("sf_total"))
            and abs(Decimal(repr(float(h["sf_total"]))) - totals.sub_total) > tolerance
        ):
            message = f"Salesforce {h['sf_total']}, Xero would post {totals.sub_total}"
            expected = {**expected, "value": str(h["sf_total"])}
            out.append(_waiting(tenant_key, obj, sf_id, number, "amount_mismatch", message, expected))
            continue
        link = links.get((obj, sf_id))
        if link and link.xero_id:
            payload = {"InvoiceID": link.xero_id, **payload}
        digest = payload_hash({k: v for k, v in payload.items() if k != "InvoiceID"})
        if link and link.xero_id and link.payload_hash == digest:
            action: Action = "skip"
        else:
            action = "update" if link and link.xero_id else "create"
        out.append(
            Planned(tenant_key, "Invoices", action, obj, sf_id, number, payload, digest, expected=expected)
        )
    return out + _plan_voids(staged, links, valid_elsewhere, config, tenant_key)


def _plan_voids(
    staged: pd.DataFrame,
    links: Mapping[tuple[str, str], Link],
    valid_elsewhere: Mapping[tuple[str, str], str],
    config: SfxeroConfig,
    tenant_key: str,
) -> list[Planned]:
    """This tenant's live invoices whose source must not keep one here, by why (``reason_code``):
    ``cancelled`` (closed lost, cancelled, deleted; when ``void_on_cancel``), ``invoice_withdrawn`` (no
    longer invoiceable; ``on_withdrawn``) and ``invoice_rerouted`` (valid now for another organisation).

    Driven by the links, not by the headers' current tenant: a re-routed or re-parented record's old
    invoice is found in the organisation that holds it. Whether a void is possible (nothing paid or
    credited) is known only in Xero: ``settle_cancellations`` decides that.
    """
    void_hash = payload_hash(VOID)
    by_key = {(_obj(h["source"]), h["sf_id"]): h for h in staged.to_dict("records")} if len(staged) else {}
    out: list[Planned] = []
    for key, link in links.items():
        h = by_key.get(key)
        if h is None or not link.xero_id or link.payload_hash == void_hash:
            continue  # never sent, or already voided
        obj, sf_id = key
        if h["is_deleted"] or h["is_cancelled"]:
            why = "cancelled" if config.invoices.void_on_cancel else None
        elif h.get("is_withdrawn"):
            why = "invoice_withdrawn"
        elif key in valid_elsewhere:
            why = "invoice_rerouted"
        else:
            continue
        number = link.xero_number or h["invoice_number"]
        if why == "invoice_withdrawn" and config.invoices.on_withdrawn == "queue":
            message = f"invoice {number} is live in Xero, but {obj} {sf_id} is {h.get('status') or 'not invoiceable'}"
            out.append(_waiting(tenant_key, obj, sf_id, number, why, message, {"invoice": number}))
        elif why is not None:
            message = (
                f"moved to organisation {valid_elsewhere[key]!r}"
                if why == "invoice_rerouted"
                else h.get("status")
            )
            out.append(
                Planned(
                    tenant_key,
                    "Invoices",
                    "void",
                    obj,
                    sf_id,
                    number,
                    {"InvoiceID": link.xero_id, **VOID},
                    void_hash,
                    reason_code=why,
                    message=message,
                    expected={"new_tenant": valid_elsewhere[key]} if why == "invoice_rerouted" else {},
                )
            )
    return out


def plan_summary(plan: list[Planned]) -> dict[str, int]:
    counts: dict[str, int] = {}
    for p in plan:
        counts[f"{p.collection.lower()}_{p.action}"] = counts.get(f"{p.collection.lower()}_{p.action}", 0) + 1
    return counts


TOTAL_FIELDS = {"sub_total": "SubTotal", "total_tax": "TotalTax", "total": "Total"}


def posted_differs(expected: Mapping[str, str], posted: Mapping[str, Any]) -> list[str]:
    """Where the document Xero answered with differs from our arithmetic of what we sent.

    Checked on every created or updated invoice: a difference means our Xero arithmetic (and so the
    amount-mismatch guard and every plan) is wrong for this organisation, which must not pass silently.
    """
    out = []
    for ours, theirs in TOTAL_FIELDS.items():
        if ours in expected and theirs in posted and Decimal(str(posted[theirs])) != Decimal(expected[ours]):
            out.append(f"{theirs} {posted[theirs]} (ours {expected[ours]})")
    return out
