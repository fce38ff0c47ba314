"""Contact matching with its review items: which Xero contact each valid account maps to, and why.

Reads the valid customers, every tenant's contact snapshot and the ledger's links from earlier
pushes; writes one row per account (action, rule, score, competing candidates) to ``contact_matches``.
Reviews go to the queue with their candidates; an item whose account now matches cleanly is resolved
(the stage re-checks every account, so ``queue_sync`` knows what was fixed).
"""

from __future__ import annotations

import json
from dataclasses import dataclass

import pandas as pd

from sfxero_dagster.config import SfxeroConfig
from sfxero_dagster.core.matching import CONTACT_COLUMNS, MATCH_COLUMNS, MatchSettings, match_contacts
from sfxero_dagster.core.reasons import REASONS
from sfxero_dagster.core.reasons import hint as reason_hint
from sfxero_dagster.store import tables
from sfxero_dagster.store.ledger import Ledger, QueueItemIn
from sfxero_dagster.store.warehouse import Warehouse

MATCH_REASONS = [code for code, r in REASONS.items() if r.stage == "match"]
LINK_REASONS = ("stale_link", "linked_contact_archived")


@dataclass
class MatchResult:
    matches: pd.DataFrame  # one row per valid account
    reviews: pd.DataFrame  # the rows with a reason code
    customers: pd.DataFrame  # the valid customers matched
    opened: int  # review items opened or still open
    resolved: int  # review items resolved by this pass


def match_and_review(cfg: SfxeroConfig, wh: Warehouse, led: Ledger) -> MatchResult:
    """Match every valid account, write ``contact_matches`` and sync the matching stage's review items."""
    customers = wh.read(tables.VALID_CUSTOMERS)
    contacts = wh.read(tables.XERO_CONTACTS, CONTACT_COLUMNS)
    tenant_ids = {t.key: t.tenant_id for t in cfg.xero.tenants}
    keys = {v: k for k, v in tenant_ids.items()}
    links = led.links_frame(xero_object="Contacts")  # the push's name for them
    ledger_links = {
        (keys.get(r["tenant_id"]), r["sf_id"]): r["xero_id"]
        for r in links.to_dict("records")
        if r["xero_id"] and r["tenant_id"] in keys
    }
    m = cfg.matching
    matches = match_contacts(
        customers,
        contacts,
        MatchSettings(
            fuzzy_threshold=m.fuzzy_threshold,
            ambiguity_margin=m.ambiguity_margin,
            use_tax_number=m.use_tax_number,
            use_email_domain=m.use_email_domain,
            ignore_generic_email_domains=m.ignore_generic_email_domains,
        ),
        ledger_links,
    )
    wh.replace(tables.CONTACT_MATCHES, matches[MATCH_COLUMNS])
    names = customers.set_index("sf_account_id")["name"].to_dict() if len(customers) else {}
    reviews = matches.loc[matches["reason_code"].notna()]
    items = []
    for r in reviews.to_dict("records"):
        candidates = json.loads(r["candidates"])
        first = candidates[0] if candidates else {}  # a look-alike's one candidate: its name and why
        # A link that points nowhere (or at an archived contact) is about Xero_Contact_Id__c and its
        # value; the others are about the account's name.
        on_link = r["reason_code"] in LINK_REASONS
        field, value = (
            ("Xero_Contact_Id__c", r["xero_contact_id"])
            if on_link
            else ("Name", names.get(r["sf_account_id"]))
        )
        items.append(
            QueueItemIn(
                sf_object="Account",
                sf_id=r["sf_account_id"],
                reason_code=r["reason_code"],
                message=f"{REASONS[r['reason_code']].description} ({r['rule']})",
                tenant_id=tenant_ids.get(r["tenant_key"]),
                field=field,
                value=value,
                hint=reason_hint(
                    r["reason_code"],
                    field=field,
                    value=r["same_as"] or r["xero_contact_id"] or value or "",
                    tenant=r["tenant_key"],
                    contact=first.get("name") or "",
                    contact_id=first.get("contact_id") or "",
                    candidates=", ".join(f"{c.get('name')!r} ({c.get('contact_id')})" for c in candidates),
                    why=first.get("why") or "",
                ),
                payload={"rule": r["rule"], "score": r["score"], "candidates": candidates},
            )
        )
    opened, resolved = led.queue_sync(MATCH_REASONS, items, sf_objects=["Account"])
    return MatchResult(matches, reviews, customers, opened, resolved)
