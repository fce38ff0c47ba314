"""The matching rules for one account: an existing link, then evidence, then the name, each result row
saying which rule decided and why (see the package docstring for the order)."""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from typing import Any

import numpy as np

from sfxero_dagster.core.matching.index import (
    MatchSettings,
    _floor,
    _mine,
    _name_block,
    _prefilter,
    _TenantIndex,
)
from sfxero_dagster.core.matching.keys import (
    address_key,
    country_key,
    email_domain,
    lookalike,
    name_score,
    normalise_tax,
    phone_key,
)

MATCH_COLUMNS = [
    "sf_account_id",
    "tenant_key",
    "action",  # link | create | review | skip
    "xero_contact_id",
    "xero_name",
    "rule",
    "score",
    "candidates",  # JSON list of {contact_id, name, score}
    "reason_code",
    "same_as",
]


def _candidate(index: _TenantIndex, i: int, score: float, why: str | None = None) -> dict[str, Any]:
    out = {"contact_id": index.rows[i]["contact_id"], "name": index.rows[i].get("name"), "score": score}
    return {**out, "why": why} if why else out


def _row(sf_id: str, tenant: str | None, action: str, **kw: Any) -> dict[str, Any]:
    row = dict.fromkeys(MATCH_COLUMNS)
    row.update(sf_account_id=sf_id, tenant_key=tenant, action=action, candidates="[]")
    row.update(kw)
    return row


def _link(
    index: _TenantIndex, c: Mapping[str, Any], i: int, rule: str, score: float, reason: str | None = None
) -> dict[str, Any]:
    r = index.rows[i]
    return _row(
        c["sf_account_id"],
        c["tenant_key"],
        "link",
        xero_contact_id=r["contact_id"],
        xero_name=r.get("name"),
        rule=rule,
        score=score,
        reason_code=reason,
        candidates=json.dumps([_candidate(index, i, score)]),
    )


def _ledger_link(c: Mapping[str, Any], contact_id: str) -> dict[str, Any]:
    """A contact our own push created or linked after the Xero snapshot was taken: the ledger knows it
    exists, so it is neither stale nor to be matched again (a later snapshot shows it as usual)."""
    return _row(
        c["sf_account_id"],
        c["tenant_key"],
        "link",
        xero_contact_id=contact_id,
        rule="ledger_link",
        score=100.0,
    )


def _review(
    index: _TenantIndex,
    c: Mapping[str, Any],
    reason: str,
    rule: str,
    hits: Iterable[tuple[int, float]],
    value: str | None = None,
    why: str | None = None,
    evidence: Mapping[str, list[str]] | None = None,
) -> dict[str, Any]:
    """A review row; ``evidence`` ({"for": [...], "against": [...]}) goes on the first candidate."""
    hits = list(hits)
    candidates = [_candidate(index, i, s, why) for i, s in hits]
    if evidence and candidates:
        candidates[0]["evidence"] = dict(evidence)
    return _row(
        c["sf_account_id"],
        c["tenant_key"],
        "review",
        rule=rule,
        score=max((s for _, s in hits), default=None),
        reason_code=reason,
        xero_contact_id=value,
        candidates=json.dumps(candidates, ensure_ascii=False),
    )


def _by_link_or_evidence(
    c: Mapping[str, Any], index: _TenantIndex, settings: MatchSettings, ledger_contact: str | None
) -> dict[str, Any] | None:
    """Rules 1 and 2; None when neither decides and the name has to."""
    sf_id = c["sf_account_id"]
    # 1. links
    explicit = c.get("xero_contact_id")
    if isinstance(explicit, str) and explicit.strip():
        i = index.by_id.get(explicit.strip().lower())
        if i is None:
            if ledger_contact and ledger_contact.lower() == explicit.strip().lower():
                return _ledger_link(c, ledger_contact)
            return _review(index, c, "stale_link", "linked_contact_id", [], value=explicit)
        archived = index.rows[i].get("status", "ACTIVE") != "ACTIVE"
        return _link(index, c, i, "linked_contact_id", 100.0, "linked_contact_archived" if archived else None)
    if ledger_contact:
        i = index.by_id.get(ledger_contact.lower())
        return _link(index, c, i, "ledger_link", 100.0) if i is not None else _ledger_link(c, ledger_contact)
    i = index.by_number.get(sf_id)
    if i is None:
        i = index.by_number.get(sf_id[:15])
    if i is not None:
        return _link(index, c, i, "linked_contact_number", 100.0)

    # 2. evidence
    if settings.use_tax_number and (tax := normalise_tax(c.get("tax_number"))):
        hits = [i for i in index.by_tax.get(tax, []) if _mine(index, i, sf_id)]
        if len(hits) == 1:
            return _link(index, c, hits[0], "tax_number", 100.0)
        if len(hits) > 1:
            return _review(index, c, "ambiguous_contact_match", "tax_number", [(i, 100.0) for i in hits])
    domain = email_domain(c.get("email"), ignore_generic=settings.ignore_generic_email_domains)
    if settings.use_email_domain and domain:
        phone = phone_key(c.get("phone"))
        address = address_key(c.get("street"), c.get("postal_code"))
        by_phone = [
            i
            for i in index.by_domain.get(domain, [])
            if phone and index.rows[i]["_phone"] == phone and _mine(index, i, sf_id)
        ]
        by_address = [
            i
            for i in index.by_domain.get(domain, [])
            if address and index.rows[i]["_address"] == address and _mine(index, i, sf_id)
        ]
        hits = by_phone or by_address
        rule = "email_domain_phone" if by_phone else "email_domain_address"
        if len(hits) == 1:
            return _link(index, c, hits[0], rule, 100.0)
        if len(hits) > 1:
            return _review(index, c, "ambiguous_contact_match", rule, [(i, 100.0) for i in hits])
    return None


def _evidence(
    c: Mapping[str, Any], contact: Mapping[str, Any], settings: MatchSettings
) -> tuple[list[str], list[str]]:
    """What on record says a name-only candidate is this account's company (for) and what says it is
    another company (against): each of tax number, e-mail domain, phone and country that both sides have.

    Name-only evidence never outweighs a contradiction: a customer's invoices posted to another company
    put its money and details in the wrong place, while a review costs a person a minute.
    """
    tax = normalise_tax(c.get("tax_number")) if settings.use_tax_number else ""
    domain = (
        email_domain(c.get("email"), ignore_generic=settings.ignore_generic_email_domains)
        if settings.use_email_domain
        else ""
    )
    pairs = [
        ("tax number", tax, contact["_tax"]),
        ("e-mail domain", domain, contact["_domain"]),
        ("phone", phone_key(c.get("phone")), contact["_phone"]),
        ("country", country_key(c.get("country")), contact["_country"]),
    ]
    agree = [f"the {what}s are the same" for what, ours, theirs in pairs if ours and ours == theirs]
    differ = [
        f"the {what}s differ" + ("" if what == "tax number" else f" ({ours} vs {theirs})")
        for what, ours, theirs in pairs
        if ours and theirs and ours != theirs
    ]
    return agree, differ


def _by_name(
    c: Mapping[str, Any],
    index: _TenantIndex,
    settings: MatchSettings,
    norm: str,
    block: np.ndarray,
    best: list[int],
) -> dict[str, Any]:
    """Rule 3, from ``_name_block``'s name and block and the prefilter's picks (positions in the block)."""
    sf_id = c["sf_account_id"]
    exact = index.by_exact_name.get(str(c.get("name") or "").strip().casefold(), [])
    taken = [i for i in exact if not _mine(index, i, sf_id)]
    if norm:
        floor = _floor(settings)
        hits = [(int(block[pos]), name_score(norm, index.norm[block[pos]])) for pos in best]
        hits = sorted(((i, s) for i, s in hits if s >= floor), key=lambda h: (-h[1], h[0]))
        if hits and hits[0][1] >= settings.fuzzy_threshold:
            top = hits[0][1]
            close = [h for h in hits if h[1] >= top - settings.ambiguity_margin]
            if len(close) > 1:
                return _review(index, c, "ambiguous_contact_match", "fuzzy_name", close)
            i = hits[0][0]
            contact = index.rows[i]["contact_id"]
            agree, differ = _evidence(c, index.rows[i], settings)
            if index.norm[i] == norm:
                if differ:  # the same name is not the same company when the details say otherwise
                    evidence = {
                        "for": ["the names are the same after normalising", *agree],
                        "against": differ,
                    }
                    return _review(
                        index,
                        c,
                        "name_contradicted",
                        "exact_name",
                        [(i, top)],
                        value=contact,
                        why="; ".join(differ),
                        evidence=evidence,
                    )
                return _link(index, c, i, "exact_name", top)
            why = lookalike(norm, index.norm[i]) or ("; ".join(differ) if differ else None)
            if why:
                evidence = {"for": [f"the names score {top:g}", *agree], "against": [why]}
                return _review(
                    index,
                    c,
                    "name_lookalike",
                    "fuzzy_name",
                    [(i, top)],
                    value=contact,
                    why=why,
                    evidence=evidence,
                )
            return _link(index, c, i, "fuzzy_name", top)
    if taken:
        return _review(index, c, "name_clash", "exact_name", [(i, 100.0) for i in taken])
    return _row(sf_id, c["tenant_key"], "create", rule="no_candidate")


def match_one(
    c: Mapping[str, Any], index: _TenantIndex, settings: MatchSettings, ledger_contact: str | None
) -> dict[str, Any]:
    """The match for one account (``match_contacts`` does the same for many, with the names batched)."""
    row = _by_link_or_evidence(c, index, settings, ledger_contact)
    if row is not None:
        return row
    norm, block = _name_block(c, index)
    best = _prefilter([norm], [index.norm_array[block]], _floor(settings))[0]
    return _by_name(c, index, settings, norm, block, best)
