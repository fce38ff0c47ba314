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
"""

from __future__ import annotations

import json
import re
import unicodedata
from collections import defaultdict
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd
from rapidfuzz import fuzz, process
from rapidfuzz.distance import OSA

from sfxero_dagster.core.countries import resolve_country

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

CONTACT_COLUMNS = [
    "tenant_key",
    "contact_id",
    "name",
    "contact_number",
    "status",
    "tax_number",
    "email",
    "phone",
    "street",
    "postal_code",
    "country",
    "updated",
]

# Words that say what kind of company it is, not which one.
LEGAL_WORDS = frozenset(
    [
        "pty",
        "ltd",
        "limited",
        "inc",
        "incorporated",
        "llc",
        "llp",
        "plc",
        "gmbh",
        "ag",
        "sa",
        "sarl",
        "bv",
        "nv",
        "co",
        "company",
        "corp",
        "corporation",
        "the",
        "and",
        "kk",
        "kabushiki",
        "kaisha",
    ]
)
GENERIC_EMAIL_DOMAINS = frozenset(
    [
        "gmail.com",
        "googlemail.com",
        "outlook.com",
        "hotmail.com",
        "live.com",
        "msn.com",
        "yahoo.com",
        "yahoo.co.uk",
        "icloud.com",
        "me.com",
        "aol.com",
        "proton.me",
        "protonmail.com",
        "gmx.de",
        "gmx.net",
        "web.de",
        "bigpond.com",
        "bigpond.net.au",
        "optusnet.com.au",
        "xtra.co.nz",
        "btinternet.com",
        "orange.fr",
        "free.fr",
    ]
)
_NON_WORD = re.compile(r"[^\w]+", re.UNICODE)
BLOCK_CAP = 500  # tokens shared by more contacts than this are too common to block on
PREFILTER_LIMIT = 10  # candidates per account that get the full name score
PREFILTER_BATCH = 1_000_000  # name-candidate pairs scored per rapidfuzz call (about 50 MB of arrays)
_NO_BLOCK = np.zeros(0, dtype=np.int64)
TYPO_MIN_LETTERS = 4  # a one-letter change in a shorter word makes another word ('lau', 'lam')


@dataclass(frozen=True)
class MatchSettings:
    fuzzy_threshold: float = 90.0
    ambiguity_margin: float = 3.0
    use_tax_number: bool = True
    use_email_domain: bool = True
    ignore_generic_email_domains: bool = True


def _fold(ch: str) -> str:
    """Latin letters lose their accents (é -> e); other scripts are left whole (プ stays プ)."""
    base = unicodedata.normalize("NFKD", ch)
    return base[0] if base[0].isascii() else ch


def normalise_name(name: Any) -> str:
    """Case, accents, punctuation, spacing and legal suffixes removed: 'Zoë Café Pty. Ltd' -> 'zoe cafe'."""
    if not isinstance(name, str):
        return ""
    if name.isascii():  # NFKC and accent folding leave ASCII unchanged: skip the per-character work
        text = name.casefold().replace("&", " ")
    else:
        text = "".join(_fold(ch) for ch in unicodedata.normalize("NFKC", name)).casefold().replace("&", " ")
    tokens = [t for t in _NON_WORD.sub(" ", text).replace("_", " ").split() if t not in LEGAL_WORDS]
    return " ".join(tokens)


def name_score(a: str, b: str) -> float:
    """Similarity of two normalised names, 0-100.

    The best of the plain ratio, the token-sorted ratio, and 95 % of the token-set ratio: a name
    wholly contained in the other ('pacific software' in 'pacific software group') scores 95 whatever
    the length of the extra words, so two such candidates tie and go to review instead of one winning
    on an artefact of length (rapidfuzz's WRatio switches scale at a length ratio of 1.5).
    """
    return round(max(fuzz.ratio(a, b), fuzz.token_sort_ratio(a, b), 0.95 * fuzz.token_set_ratio(a, b)), 1)


def normalise_tax(value: Any) -> str:
    return re.sub(r"[^0-9A-Za-z]", "", value).upper() if isinstance(value, str) else ""


def email_domain(value: Any, *, ignore_generic: bool = True) -> str:
    if not isinstance(value, str) or "@" not in value:
        return ""
    domain = value.rsplit("@", 1)[1].strip().lower()
    return "" if ignore_generic and domain in GENERIC_EMAIL_DOMAINS else domain


def phone_key(value: Any) -> str:
    """The last 8 digits: '+61 2 9876 5432' and '(02) 9876 5432' are the same line."""
    digits = re.sub(r"\D", "", value) if isinstance(value, str) else ""
    return digits[-8:] if len(digits) >= 6 else ""


def address_key(street: Any, postal_code: Any) -> str:
    s = normalise_name(street.splitlines()[0]) if isinstance(street, str) and street.strip() else ""
    p = re.sub(r"\s", "", postal_code).upper() if isinstance(postal_code, str) else ""
    return f"{p}|{s}" if s and p else ""


def contacts_frame(contacts: Iterable[Mapping[str, Any]], tenant_key: str) -> pd.DataFrame:
    """Xero Contact JSON (as the API returns it) to the flat frame the matcher reads."""
    rows = []
    for c in contacts:
        phones = {p.get("PhoneType"): p for p in c.get("Phones") or []}
        phone = phones.get("DEFAULT") or phones.get("MOBILE") or {}
        addresses = {a.get("AddressType"): a for a in c.get("Addresses") or []}
        address = addresses.get("POBOX") or addresses.get("STREET") or {}
        rows.append(
            {
                "tenant_key": tenant_key,
                "contact_id": c["ContactID"],
                "name": c.get("Name"),
                "contact_number": c.get("ContactNumber") or None,
                "status": c.get("ContactStatus", "ACTIVE"),
                "tax_number": c.get("TaxNumber") or None,
                "email": c.get("EmailAddress") or None,
                "phone": " ".join(
                    str(phone.get(k))
                    for k in ("PhoneCountryCode", "PhoneAreaCode", "PhoneNumber")
                    if phone.get(k)
                )
                or None,
                "street": address.get("AddressLine1") or None,
                "postal_code": address.get("PostalCode") or None,
                "country": address.get("Country") or None,
                "updated": c.get("UpdatedDateUTC"),
            }
        )
    return pd.DataFrame(rows, columns=CONTACT_COLUMNS)


class _TenantIndex:
    """Lookup structures over one organisation's Xero contacts.

    Name blocks are numpy index arrays and the normalised names a numpy object array, so cutting a
    block, dropping contacts owned by other accounts and handing the names to rapidfuzz happen in C,
    not per candidate in Python (100,000 accounts meet about 25 million candidates).
    """

    def __init__(self, contacts: pd.DataFrame, settings: MatchSettings) -> None:
        self.rows: list[dict[str, Any]] = contacts.to_dict("records")
        self.by_id: dict[str, int] = {}
        self.by_number: dict[str, int] = {}
        self.by_tax: dict[str, list[int]] = defaultdict(list)
        self.by_domain: dict[str, list[int]] = defaultdict(list)
        self.by_exact_name: dict[str, list[int]] = defaultdict(list)
        tokens: dict[str, list[int]] = defaultdict(list)
        self.norm: list[str] = []
        self.owners: dict[int, str] = {}  # contact -> the Salesforce account in its ContactNumber
        for i, c in enumerate(self.rows):
            self.by_id[str(c["contact_id"]).lower()] = i
            number = c.get("contact_number")
            if isinstance(number, str) and number:
                self.owners[i] = number
                self.by_number[number] = i
                self.by_number.setdefault(number[:15], i)
            active = c.get("status", "ACTIVE") == "ACTIVE"
            norm = normalise_name(c.get("name"))
            self.norm.append(norm)
            c["_phone"] = phone_key(c.get("phone"))
            c["_address"] = address_key(c.get("street"), c.get("postal_code"))
            c["_country"] = country_key(c.get("country"))
            c["_tax"] = normalise_tax(c.get("tax_number")) if settings.use_tax_number else ""
            c["_domain"] = (
                email_domain(c.get("email"), ignore_generic=settings.ignore_generic_email_domains)
                if settings.use_email_domain
                else ""
            )
            if not active:
                continue  # archived contacts are only reachable by an explicit link
            if isinstance(c.get("name"), str):
                self.by_exact_name[c["name"].strip().casefold()].append(i)
            if c["_tax"]:
                self.by_tax[c["_tax"]].append(i)
            if c["_domain"]:
                self.by_domain[c["_domain"]].append(i)
            for token in set(norm.split()):
                tokens[token].append(i)
        self.by_token: dict[str, np.ndarray] = {t: np.array(v, dtype=np.int64) for t, v in tokens.items()}
        self.norm_array = np.array(self.norm, dtype=object)
        self.owned = np.zeros(len(self.rows), dtype=bool)
        self.owned[list(self.owners)] = True

    def owner(self, i: int) -> str | None:
        """The Salesforce account a contact already belongs to (its ContactNumber), if any."""
        return self.owners.get(i)

    def block(self, norm: str) -> np.ndarray:
        """Contacts sharing at least one informative token with ``norm`` (the two rarest tokens), sorted."""
        postings = sorted((self.by_token[t] for t in set(norm.split()) if t in self.by_token), key=len)
        parts: list[np.ndarray] = []
        for plist in postings[:2]:
            if len(plist) <= BLOCK_CAP or not parts:
                parts.append(plist[: BLOCK_CAP * 4])
        if len(parts) == 1:
            return parts[0]  # a posting list is already sorted and unique
        return np.unique(np.concatenate(parts)) if parts else _NO_BLOCK

    def mine(self, block: np.ndarray, sf_id: str) -> np.ndarray:
        """``block`` without the contacts that belong to another account (``_mine`` for many at once)."""
        owned = self.owned[block]
        if not owned.any():
            return block
        keep = ~owned
        keep[owned] = [_mine(self, int(i), sf_id) for i in block[owned]]
        return block[keep]


def _candidate(index: _TenantIndex, i: int, score: float, why: str | None = None) -> dict[str, Any]:
    out = {"contact_id": index.rows[i]["contact_id"], "name": index.rows[i].get("name"), "score": score}
    return {**out, "why": why} if why else out


def _row(sf_id: str, tenant: str | None, action: str, **kw: Any) -> dict[str, Any]:
    row = dict.fromkeys(MATCH_COLUMNS)
    row.update(sf_account_id=sf_id, tenant_key=tenant, action=action, candidates="[]")
    row.update(kw)
    return row


def _mine(index: _TenantIndex, i: int, sf_id: str) -> bool:
    owner = index.owner(i)
    return owner is None or owner == sf_id or owner == sf_id[:15]


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


def _quoted(words: Iterable[str]) -> str:
    return " ".join(f"'{w}'" for w in words)


def lookalike(a: str, b: str) -> str | None:
    """Why normalised name ``b`` is not ``a`` with a typo or its words reordered; None when it is.

    A typo keeps the words and their number: the same words in another order, a space more or less,
    or one word changed by one edit (an insertion, deletion, substitution or transposition of adjacent
    letters: OSA distance 1), in a word of at least ``TYPO_MIN_LETTERS`` letters, keeping its first
    letter and any digits. Everything else (another word, a word more or less, two changed words,
    'northern' for 'southern', 'kalex' for 'valex', 'lau' for 'lam', '307' for '308') can be another
    company with a similar name, which no score tells apart from the same one.
    """
    if a == b:
        return None
    ta, tb = a.split(), b.split()
    if sorted(ta) == sorted(tb):
        return None  # the same words reordered
    if a.replace(" ", "") == b.replace(" ", ""):
        return None  # a space more or less: 'solarbridge', 'solar bridge'
    only_a, only_b = [t for t in ta if t not in tb], [t for t in tb if t not in ta]
    if not only_a and not only_b:
        return "a word is repeated in only one of the names"
    if not only_a or not only_b:
        extra, side = (only_b, "the Xero contact's") if only_b else (only_a, "the account's")
        return f"{_quoted(extra)} {'is' if len(extra) == 1 else 'are'} only in {side} name"
    if len(only_a) > 1 or len(only_b) > 1 or len(ta) != len(tb):
        return f"different words: {_quoted(only_a)} vs {_quoted(only_b)}"
    t, u = only_a[0], only_b[0]
    if ta.index(t) != tb.index(u):
        return f"the words are reordered and '{t}' differs from '{u}'"
    if any(ch.isdigit() for ch in t + u):
        return f"'{t}' and '{u}' are different numbers"
    edits = OSA.distance(t, u)
    if edits > 1:
        return f"'{t}' and '{u}' differ by {edits} letters, more than a typo"
    if t[0] != u[0]:
        return f"'{t}' and '{u}' start with different letters"
    if min(len(t), len(u)) < TYPO_MIN_LETTERS:
        return f"'{t}' and '{u}' are short words a letter apart"
    return None


def country_key(value: Any) -> str:
    """The country a value names, comparable across spellings ('UK', 'United Kingdom' -> 'GB'); a value
    that names no country says nothing either way."""
    country = resolve_country(value)
    return country.alpha_2 if country else ""


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


def _floor(settings: MatchSettings) -> float:
    return max(0.0, settings.fuzzy_threshold - settings.ambiguity_margin)


def _prefilter(norms: list[str], blocks: list[np.ndarray], floor: float) -> list[list[int]]:
    """For each name, the positions in its block of the best ``PREFILTER_LIMIT`` contacts by rapidfuzz
    ``token_set_ratio`` (at least ``floor``), best first, ties in block order.

    This is ``process.extract(name, block, limit=PREFILTER_LIMIT)`` for many names in one C call that
    uses every core (``cpdist`` over all name-candidate pairs); the selection is done with numpy.
    """
    out: list[list[int]] = [[] for _ in norms]
    lens = np.fromiter((len(b) for b in blocks), dtype=np.int64, count=len(blocks))
    if not lens.sum():
        return out
    scores = process.cpdist(
        np.repeat(np.array(norms, dtype=object), lens),
        np.concatenate(blocks),
        scorer=fuzz.token_set_ratio,
        score_cutoff=floor,
        dtype=np.float64,
        workers=-1,
    )
    owner = np.repeat(np.arange(len(norms)), lens)
    position = np.arange(len(scores)) - np.repeat(np.cumsum(lens) - lens, lens)
    hit = np.flatnonzero(scores >= floor)
    hit = hit[np.lexsort((position[hit], -scores[hit], owner[hit]))]
    rank = np.arange(len(hit)) - np.searchsorted(owner[hit], owner[hit])
    hit = hit[rank < PREFILTER_LIMIT]
    for k, pos in zip(owner[hit].tolist(), position[hit].tolist(), strict=True):
        out[k].append(pos)
    return out


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


def _name_block(c: Mapping[str, Any], index: _TenantIndex) -> tuple[str, np.ndarray]:
    """The normalised name and the contacts it may match: its token block minus other accounts' own."""
    norm = normalise_name(c.get("name"))
    return norm, (index.mine(index.block(norm), c["sf_account_id"]) if norm else _NO_BLOCK)


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
