"""Match Salesforce accounts to Xero contacts: external ids first, then evidence, then names.

Order of rules (the first that decides wins, and each result row says which one and why):

1. an existing link: ``Xero_Contact_Id__c`` on the account, a link in the ledger from an earlier push,
   or a Xero contact whose ``ContactNumber`` is the Salesforce Id;
2. evidence: the same tax number; or the same (non-generic) e-mail domain plus the same phone or
   billing address;
3. the normalised name (``normalise_name``), scored by ``name_score`` (the best of rapidfuzz's
   ``ratio``, ``token_sort_ratio`` and 95 % of ``token_set_ratio``), with token blocking so the cost
   grows about linearly with the number of accounts rather than with accounts × contacts. The same
   normalised name links (``exact_name``). Another name at or above ``fuzzy_threshold`` links
   (``fuzzy_name``) only when it differs as a typo does (``lookalike``): the same words reordered, a
   space more or less, or one word of four or more letters one edit away (Damerau-Levenshtein/OSA)
   with its first letter kept. Any other look-alike ('Northern Ember
   Consulting' for 'Southern Ember Consulting', 'Harbour Foods' for 'Harbour Foods Group') is a
   different company as often as not, so it goes to review as ``name_lookalike``, with the contact it
   resembles and why it was not linked. No name, however equal, links when something both sides
   have contradicts it (tax number, non-generic e-mail domain, phone or country differ): the account
   goes to review (``name_contradicted`` for the same name) with the evidence for and against.

Two candidates within ``ambiguity_margin`` of each other go to review (never a guess), as does a new
contact whose name an active Xero contact of another account already has (Xero rejects duplicate
names). Two Salesforce accounts that look like the same company are flagged ``same_as`` for review.
No candidate means the contact is created.

Layout: ``keys`` (normalised names, tax numbers, domains, phones, addresses, countries, typo test),
``index`` (one organisation's contacts indexed for the rules), ``rules`` (link, evidence, name for one
account) and here ``match_contacts`` (every account, Salesforce duplicates, contested contacts).
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Mapping
from typing import Any

import numpy as np
import pandas as pd

from sfxero_dagster.core.matching.index import (
    CONTACT_COLUMNS,
    PREFILTER_BATCH,
    MatchSettings,
    _floor,
    _name_block,
    _prefilter,
    _TenantIndex,
    contacts_frame,
)
from sfxero_dagster.core.matching.keys import (
    address_key,
    email_domain,
    lookalike,
    name_score,
    normalise_name,
    normalise_tax,
    phone_key,
)
from sfxero_dagster.core.matching.rules import MATCH_COLUMNS, _by_link_or_evidence, _by_name, _row, match_one

__all__ = [
    "CONTACT_COLUMNS",
    "MATCH_COLUMNS",
    "MatchSettings",
    "_TenantIndex",
    "contacts_frame",
    "lookalike",
    "match_contacts",
    "match_one",
    "name_score",
    "normalise_name",
    "phone_key",
]


def _sf_duplicates(customers: pd.DataFrame, settings: MatchSettings) -> dict[str, str]:
    """Accounts that look like another account of the same tenant: duplicate -> the one to keep.

    The same tax number; or the same normalised name corroborated by the same e-mail domain, phone or
    billing address ('Harbour Foods Pty Ltd' in Sydney and 'Harbour Foods Inc' in Boston are two
    companies). The one kept is the linked one, else the oldest.
    """
    live = customers.loc[~customers["is_deleted"].astype(bool) & customers["tenant_key"].notna()].copy()
    live["_linked"] = live["xero_contact_id"].notna()
    live["_filled"] = live[["email", "phone", "street", "tax_number"]].notna().sum(axis=1)
    live = live.sort_values(
        ["_linked", "_filled", "system_modstamp", "sf_account_id"],
        ascending=[False, False, True, True],
        na_position="last",
    )
    out: dict[str, str] = {}
    by_tax: dict[tuple[str, str], str] = {}
    by_name: dict[tuple[str, str], list[tuple[str, dict[str, str]]]] = defaultdict(list)
    for c in live.to_dict("records"):
        sf_id, tenant = c["sf_account_id"], c["tenant_key"]
        evidence = {
            "domain": email_domain(c.get("email"), ignore_generic=settings.ignore_generic_email_domains),
            "phone": phone_key(c.get("phone")),
            "address": address_key(c.get("street"), c.get("postal_code")),
        }
        tax = normalise_tax(c.get("tax_number"))
        norm = normalise_name(c.get("name"))
        keep = by_tax.get((tenant, tax)) if tax else None
        if keep is None and norm:
            keep = next(
                (
                    kid
                    for kid, ev in by_name[(tenant, norm)]
                    if any(v and v == ev[k] for k, v in evidence.items())
                ),
                None,
            )
        if keep is not None:
            out[sf_id] = keep
            continue
        if tax:
            by_tax[(tenant, tax)] = sf_id
        if norm:
            by_name[(tenant, norm)].append((sf_id, evidence))
    return out


RULE_STRENGTH = {
    "linked_contact_id": 0,
    "ledger_link": 0,
    "linked_contact_number": 0,
    "tax_number": 1,
    "email_domain_phone": 2,
    "email_domain_address": 2,
    "exact_name": 3,
    "fuzzy_name": 4,
}


def _contested(rows: list[dict[str, Any]]) -> None:
    """One Xero contact claimed by several accounts: a strictly strongest claim keeps it, others go to review.

    Explicit links (strength 0) are a person's decision and are never overridden.
    """
    claims: dict[tuple[str, str], list[dict[str, Any]]] = defaultdict(list)
    for row in rows:
        if row["action"] == "link":
            claims[(row["tenant_key"], row["xero_contact_id"])].append(row)
    for claimants in claims.values():
        if len(claimants) < 2:
            continue
        strength = [RULE_STRENGTH.get(r["rule"], 9) for r in claimants]
        best = min(strength)
        sole_winner = strength.count(best) == 1
        for row, st in zip(claimants, strength, strict=True):
            if st == 0 or (st == best and sole_winner):
                continue
            row.update(
                action="review", reason_code="ambiguous_contact_match", rule=f"contested:{row['rule']}"
            )


def match_contacts(
    customers: pd.DataFrame,
    xero_contacts: pd.DataFrame,
    settings: MatchSettings,
    ledger_links: Mapping[tuple[str, str], str] | None = None,
) -> pd.DataFrame:
    """One row per customer: link, create, review (with the reason) or skip (deleted, unroutable).

    ``xero_contacts`` columns: tenant_key, contact_id, name, contact_number, status, tax_number, email,
    phone, street, postal_code. ``ledger_links`` maps (tenant_key, sf_account_id) -> ContactID.
    """
    ledger_links = ledger_links or {}
    indexes = {
        tenant: _TenantIndex(frame.reset_index(drop=True), settings)
        for tenant, frame in xero_contacts.groupby("tenant_key")
    }
    empty = _TenantIndex(xero_contacts.iloc[0:0], settings)
    dupes = _sf_duplicates(customers, settings)
    rows: list[dict[str, Any]] = []
    # accounts that the name decides wait here until their blocks hold PREFILTER_BATCH candidates in all
    waiting: list[tuple[int, Mapping[str, Any], _TenantIndex, str, np.ndarray]] = []

    def decided(row: dict[str, Any]) -> dict[str, Any]:
        sf_id = row["sf_account_id"]
        if sf_id in dupes and RULE_STRENGTH.get(row["rule"], 9) > 0:
            row.update(action="review", rule="same_as", reason_code="duplicate_account", same_as=dupes[sf_id])
        return row

    def by_names() -> None:
        best = _prefilter([w[3] for w in waiting], [w[2].norm_array[w[4]] for w in waiting], _floor(settings))
        for (at, c, index, norm, block), picks in zip(waiting, best, strict=True):
            rows[at] = decided(_by_name(c, index, settings, norm, block, picks))
        waiting.clear()

    pending_pairs = 0
    for c in customers.to_dict("records"):
        sf_id, tenant = c["sf_account_id"], c.get("tenant_key")
        if c.get("is_deleted") or not isinstance(tenant, str):
            rows.append(_row(sf_id, tenant if isinstance(tenant, str) else None, "skip", rule="not_syncable"))
            continue
        index = indexes.get(tenant, empty)
        row = _by_link_or_evidence(c, index, settings, ledger_links.get((tenant, sf_id)))
        if row is not None:
            rows.append(decided(row))
            continue
        norm, block = _name_block(c, index)
        waiting.append((len(rows), c, index, norm, block))
        rows.append({})  # filled by by_names()
        pending_pairs += len(block)
        if pending_pairs >= PREFILTER_BATCH:
            by_names()
            pending_pairs = 0
    by_names()
    _contested(rows)
    return pd.DataFrame(rows, columns=MATCH_COLUMNS)
