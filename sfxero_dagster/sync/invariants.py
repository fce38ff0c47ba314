"""The push's invariants computed from the ledger (what the asset checks report), no Dagster."""

from __future__ import annotations

import json

import pandas as pd

from sfxero_dagster.core.hashing import payload_hash
from sfxero_dagster.core.push import NEVER_ON_LINK, VOID, contact_scope
from sfxero_dagster.store.ledger import Ledger


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
