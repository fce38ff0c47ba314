"""The soak's invariants, checked against the ground truth after every schedule.

Everything is read straight from the emulators' stores, the ledger and the seed manifest, never through
the sync's own clients, so a bug in a client cannot hide itself. The invariants:

- **duplicates**: per organisation, no InvoiceNumber, invoice Reference, ContactNumber, active contact
  name, CreditNoteNumber or item Code twice;
- **losses**: every record a fault-free run puts in Xero (the baseline) is there, live, and linked;
  every invoiceable Salesforce record is either in Xero or in the review queue;
- **stale**: a live invoice's lines are Salesforce's lines and a contact has its Account's phone
  (updates landed); a cancelled source's invoice is voided or credited;
- **orphans**: nothing in Xero carries our keys without a ledger link (a write the ledger lost);
- **writeback**: Salesforce holds each link's Xero ids, number and online URL, Xero_Invoice__c
  matches Xero (status, total, paid, credited, due) and every payment and credit allocation is a
  Xero_Payment__c with its amount;
- **ledger**: no open intents; every link points at an existing Xero object with its number; no two
  records linked to one invoice;
- **queue**: every planted problem (manifest) is open with its reason, and the open queue is the
  baseline's (a fault neither loses an item nor parks a valid record).
"""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from sfxero_dagster.config import SfxeroConfig
from sfxero_dagster.core.writeback import invoice_state
from sfxero_dagster.sandbox.salesforce.app import SalesforceApp
from sfxero_dagster.sandbox.xero.app import XeroApp
from sfxero_dagster.store.ledger import Ledger

CATEGORIES = ("duplicates", "losses", "stale", "orphans", "writeback", "ledger", "queue")
KIND = {"Contacts": "Contact", "Invoices": "Invoice", "CreditNotes": "CreditNote", "Items": "Item"}
DEAD = ("VOIDED", "DELETED")
LinkKey = tuple[str, str, str, str]  # tenant_id, xero_object, sf_object, sf_id
QueueKey = tuple[str, str, str, str]  # sf_object, sf_id, tenant_id, reason_code


@dataclass
class Expected:
    """What a fault-free run leaves behind (the baseline), adjusted for this schedule's own edits."""

    links: set[LinkKey]
    queue: set[QueueKey]
    created: set[tuple[str, str]] = field(default_factory=set)  # (sf_object, sf_id) made mid-schedule
    touched: set[str] = field(default_factory=set)  # sf ids edited mid-schedule: their queue may differ


def _dec(value: Any) -> Decimal:
    return Decimal(str(value if value not in (None, "") else 0))


def _qty(values: Iterable[Any]) -> list[Decimal]:
    return sorted(_dec(v).normalize() for v in values)


def snapshot_expected(led: Ledger) -> Expected:
    """The baseline: the links and the open queue a fault-free run produced."""
    links = led.links_frame()
    return Expected(
        links={
            (r["tenant_id"], r["xero_object"], r["sf_object"], r["sf_id"])
            for r in links.to_dict("records")
            if r["xero_object"] in ("Contacts", "Invoices") and r["xero_id"]
        },
        queue={(i.sf_object, i.sf_id, i.tenant_id, i.reason_code) for i in led.queue_list()},
    )


def check(
    xero: XeroApp,
    sf: SalesforceApp,
    led: Ledger,
    cfg: SfxeroConfig,
    manifest: dict[str, list[dict]],
    expected: Expected | None = None,
) -> dict[str, list[str]]:
    """Every invariant, as problems per category (empty lists: all hold)."""
    out: dict[str, list[str]] = {c: [] for c in CATEGORIES}
    prefix = cfg.invoices.number_prefix
    tenants = [t.tenant_id for t in cfg.xero.tenants]
    docs = {
        (tid, kind): {r[f"{kind}ID"]: r for r in xero.store.all(f"{tid}/{kind}")}
        for tid in tenants
        for kind in KIND.values()
    }
    sf_rec = {o: {r["Id"]: r for r in sf.store.all(o)} for o in ("Account", "Opportunity", "Order")}
    links = led.links_frame().to_dict("records")
    linked_ids = {(r["tenant_id"], r["xero_id"]) for r in links if r["xero_id"]}
    linked_names = {
        tid: {
            str(c.get("Name")).casefold()
            for c in docs[(tid, "Contact")].values()
            if (tid, c["ContactID"]) in linked_ids
        }
        for tid in tenants
    }

    # ----- duplicates (and orphans: our keys in Xero without a link)
    for tid in tenants:
        invoices = [i for i in docs[(tid, "Invoice")].values() if i.get("Type", "ACCREC") == "ACCREC"]
        ours = [i for i in invoices if str(i.get("InvoiceNumber") or "").startswith(prefix)]
        for label, counter in (
            ("invoice number", Counter(i.get("InvoiceNumber") for i in invoices if i.get("InvoiceNumber"))),
            ("invoice reference", Counter(i.get("Reference") for i in ours if i.get("Reference"))),
            (
                "contact number",
                Counter(
                    c.get("ContactNumber") for c in docs[(tid, "Contact")].values() if c.get("ContactNumber")
                ),
            ),
            (
                "active contact name",
                Counter(
                    str(c.get("Name")).casefold()
                    for c in docs[(tid, "Contact")].values()
                    if c.get("ContactStatus", "ACTIVE") == "ACTIVE"
                    and str(c.get("Name")).casefold() in linked_names[tid]
                ),  # the seed's own Xero side has look-alike twins; only names involving ours count
            ),
            (
                "credit note number",
                Counter(c.get("CreditNoteNumber") for c in docs[(tid, "CreditNote")].values()),
            ),
            ("item code", Counter(i.get("Code") for i in docs[(tid, "Item")].values())),
        ):
            out["duplicates"] += [f"{tid[-4:]} {label} {k!r} x{n}" for k, n in counter.items() if k and n > 1]
        out["orphans"] += [
            f"{tid[-4:]} invoice {i['InvoiceNumber']} has no link"
            for i in ours
            if (tid, i["InvoiceID"]) not in linked_ids
        ]
        out["orphans"] += [
            f"{tid[-4:]} contact {c['ContactNumber']} has no link"
            for c in docs[(tid, "Contact")].values()
            if c.get("ContactNumber") in sf_rec["Account"] and (tid, c["ContactID"]) not in linked_ids
        ]
        out["orphans"] += [
            f"{tid[-4:]} credit note {c.get('CreditNoteNumber')} has no link"
            for c in docs[(tid, "CreditNote")].values()
            if str(c.get("CreditNoteNumber") or "").startswith(prefix)
            and (tid, c["CreditNoteID"]) not in linked_ids
        ]

    # ----- one live document per record across all organisations (invariant 3), from Xero itself
    live_in = Counter(
        i.get("Reference")
        for tid in tenants
        for i in {
            i.get("Reference"): i
            for i in docs[(tid, "Invoice")].values()
            if i.get("Type", "ACCREC") == "ACCREC"
            and str(i.get("InvoiceNumber") or "").startswith(prefix)
            and i.get("Status") not in DEAD
        }.values()
    )
    out["duplicates"] += [
        f"record {ref} has a live invoice in {n} organisations" for ref, n in live_in.items() if ref and n > 1
    ]

    # ----- ledger
    out["ledger"] += [f"intent still pending: {i.target} {i.sf_id}" for i in led.pending_intents()]
    per_invoice = Counter((r["tenant_id"], r["xero_id"]) for r in links if r["xero_object"] == "Invoices")
    out["ledger"] += [
        f"{n} records linked to invoice {k[1]}" for k, n in per_invoice.items() if k[1] and n > 1
    ]
    target: dict[tuple[str, str, str], dict] = {}  # (tenant, sf_object, sf_id) -> the live Xero invoice
    for r in links:
        kind = KIND.get(r["xero_object"])
        if kind is None or not r["xero_id"]:
            continue
        doc = docs.get((r["tenant_id"], kind), {}).get(r["xero_id"])
        if doc is None:
            out["ledger"] += [f"{r['xero_object']} link of {r['sf_id']} points at missing {r['xero_id']}"]
            continue
        number = doc.get("InvoiceNumber") if kind == "Invoice" else None
        if number and r["xero_number"] and number != r["xero_number"]:
            out["ledger"] += [f"link of {r['sf_id']} says {r['xero_number']}, Xero says {number}"]
        if kind == "Invoice":
            target[(r["tenant_id"], r["sf_object"], r["sf_id"])] = doc

    # ----- losses
    queue = led.queue_list()
    queued_ids = {i.sf_id for i in queue}
    in_xero = {(t, o, s) for (t, o, s), d in target.items() if d.get("Status") not in DEAD}
    source_live = {
        ("Opportunity", i)
        for i, r in sf_rec["Opportunity"].items()
        if r.get("IsWon") and not r.get("IsDeleted")
    } | {
        ("Order", i)
        for i, r in sf_rec["Order"].items()
        if r.get("Status") == "Activated" and not r.get("IsDeleted")
    }
    placed = {(o, s) for (_, o, s) in in_xero}
    out["losses"] += [
        f"{o} {s} is neither in Xero nor in the review queue"
        for o, s in sorted(source_live - placed)
        if s not in queued_ids
    ]
    if expected is not None:
        have_links = {
            (r["tenant_id"], r["xero_object"], r["sf_object"], r["sf_id"]) for r in links if r["xero_id"]
        }
        for t, xo, so, sid in sorted(expected.links):
            if (t, xo, so, sid) not in have_links:
                out["losses"] += [f"{xo} of {so} {sid} lost its link"]
            elif xo == "Invoices" and (so, sid) in source_live and (t, so, sid) not in in_xero:
                out["losses"] += [f"invoice of {so} {sid} is not live in Xero"]
        out["losses"] += [
            f"{o} {s} created mid-run never reached Xero" for o, s in sorted(expected.created - placed)
        ]

    # ----- stale: lines as in Salesforce; cancelled sources voided or credited
    lines: dict[str, list[Any]] = defaultdict(list)
    for obj, parent in (("OpportunityLineItem", "OpportunityId"), ("OrderItem", "OrderId")):
        for ln in sf.store.all(obj):
            if not ln.get("IsDeleted"):
                lines[ln.get(parent)].append(ln.get("Quantity"))
    credit_numbers = {
        (tid, c.get("CreditNoteNumber")) for tid in tenants for c in docs[(tid, "CreditNote")].values()
    }
    for (tid, so, sid), inv in target.items():
        src = sf_rec.get(so, {}).get(sid)
        cancelled = (
            src is None or src.get("IsDeleted") or (so == "Order" and src.get("Status") == "Cancelled")
        )
        if cancelled:
            if (
                inv.get("Status") not in DEAD
                and (tid, f"{inv.get('InvoiceNumber')}-CN") not in credit_numbers
            ):
                out["stale"] += [
                    f"{so} {sid} was cancelled; invoice {inv.get('InvoiceNumber')} is {inv.get('Status')}"
                ]
        elif inv.get("Status") not in DEAD and _qty(
            li.get("Quantity") for li in inv.get("LineItems") or []
        ) != _qty(lines.get(sid, [])):
            out["stale"] += [f"invoice {inv.get('InvoiceNumber')} lines differ from {so} {sid}"]

    for r in links:  # a contact update that was lost: Xero's phone is not the Account's
        acc = sf_rec["Account"].get(r["sf_id"])
        contact = docs.get((r["tenant_id"], "Contact"), {}).get(r["xero_id"] or "")
        phone = str((acc or {}).get("Phone") or "").strip()
        if r["xero_object"] != "Contacts" or not contact or not phone or r["sf_id"] in queued_ids:
            continue
        if phone not in {
            p.get("PhoneNumber") for p in contact.get("Phones") or [] if p.get("PhoneType") == "DEFAULT"
        }:
            out["stale"] += [f"contact of Account {r['sf_id']} lacks the phone {phone!r}"]

    # ----- write-back to Salesforce
    pay = cfg.payments
    status_rows = {r.get(pay.invoice_external_id): r for r in sf.store.all(pay.invoice_object)}
    for r in links:
        if not r["xero_id"]:
            continue
        if r["xero_object"] == "Contacts":
            acc = sf_rec["Account"].get(r["sf_id"])
            if acc is not None and acc.get("Xero_Contact_Id__c") != r["xero_id"]:
                out["writeback"] += [f"Account {r['sf_id']} lacks ContactID {r['xero_id']}"]
        elif r["xero_object"] == "Invoices":
            src = sf_rec.get(r["sf_object"], {}).get(r["sf_id"])
            if src is not None and (
                src.get("Xero_Invoice_Id__c") != r["xero_id"]
                or src.get("Xero_Invoice_Number__c") != r["xero_number"]
                or not src.get("Xero_Online_Invoice_Url__c")
            ):
                out["writeback"] += [f"{r['sf_object']} {r['sf_id']} lacks its Xero id, number or URL"]
            inv = docs.get((r["tenant_id"], "Invoice"), {}).get(r["xero_id"])
            row = status_rows.get(r["xero_id"])
            if inv is None:
                continue
            if row is None:
                out["writeback"] += [f"no {pay.invoice_object} for invoice {inv.get('InvoiceNumber')}"]
                continue
            want = {
                "Status__c": invoice_state(inv),
                "Total__c": inv.get("Total"),
                "Amount_Paid__c": inv.get("AmountPaid"),
                "Amount_Credited__c": inv.get("AmountCredited"),
                "Amount_Due__c": inv.get("AmountDue"),
            }
            for f, v in want.items():
                have = row.get(f)
                same = have == v or (f != "Status__c" and abs(_dec(have) - _dec(v)) < Decimal("0.005"))
                if not same:
                    out["writeback"] += [
                        f"{pay.invoice_object} {inv.get('InvoiceNumber')} {f}: {row.get(f)} vs {v}"
                    ]

    payments = {r.get(pay.payment_external_id): r for r in sf.store.all(pay.payment_object)}
    for inv in target.values():  # every payment and credit allocation in Xero_Payment__c
        settled = [(p["PaymentID"], p.get("Amount")) for p in inv.get("Payments") or []]
        settled += [
            (f"{c['CreditNoteID']}:{inv['InvoiceID']}", c.get("AppliedAmount", c.get("Amount")))
            for c in inv.get("CreditNotes") or []
        ]
        for key, amount in settled:
            row = payments.get(key)
            if (
                row is None
                or row.get("Status__c") == "Deleted"
                or abs(_dec(row.get("Amount__c")) - _dec(amount)) >= Decimal("0.005")
            ):
                out["writeback"] += [
                    f"{pay.payment_object} {key} of {inv.get('InvoiceNumber')} missing or wrong"
                ]

    # ----- queue: planted problems open with their reason; the baseline's queue otherwise
    open_items = {(i.sf_object, i.sf_id, i.tenant_id, i.reason_code) for i in queue}
    by_reason = {(i.sf_id, i.reason_code) for i in queue}
    touched = expected.touched if expected else set()
    for kind, entries in manifest.items():
        for e in entries:
            reason = e["expect"].removeprefix("reason:")
            if (
                e["expect"].startswith("reason:")
                and e["id"] not in touched
                and (e["id"], reason) not in by_reason
            ):
                out["queue"] += [f"planted {kind} {e['id']} is not queued as {reason}"]
    if expected is not None:
        out["queue"] += [
            f"queue item lost: {k}" for k in sorted(expected.queue - open_items) if k[1] not in touched
        ]
        out["queue"] += [
            f"unexpected queue item: {k}" for k in sorted(open_items - expected.queue) if k[1] not in touched
        ]
    return out


def summary(problems: dict[str, list[str]]) -> dict[str, int]:
    """Counts for the report: duplicates, losses, and every other category as an inconsistency."""
    counts = {c: len(v) for c, v in problems.items()}
    counts["inconsistencies"] = sum(n for c, n in counts.items() if c not in ("duplicates", "losses"))
    return counts
