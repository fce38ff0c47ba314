"""The contacts of one organisation, indexed for matching: by link, number, tax number, e-mail domain,
phone, address and name tokens (blocking keeps name scoring about linear in the number of accounts)."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd
from rapidfuzz import fuzz, process

from sfxero_dagster.core.matching.keys import (
    address_key,
    country_key,
    email_domain,
    normalise_name,
    normalise_tax,
    phone_key,
)

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

BLOCK_CAP = 500  # tokens shared by more contacts than this are too common to block on
PREFILTER_LIMIT = 10  # candidates per account that get the full name score
PREFILTER_BATCH = 1_000_000  # name-candidate pairs scored per rapidfuzz call (about 50 MB of arrays)
_NO_BLOCK = np.zeros(0, dtype=np.int64)


@dataclass(frozen=True)
class MatchSettings:
    fuzzy_threshold: float = 90.0
    ambiguity_margin: float = 3.0
    use_tax_number: bool = True
    use_email_domain: bool = True
    ignore_generic_email_domains: bool = True


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


def _name_block(c: Mapping[str, Any], index: _TenantIndex) -> tuple[str, np.ndarray]:
    """The normalised name and the contacts it may match: its token block minus other accounts' own."""
    norm = normalise_name(c.get("name"))
    return norm, (index.mine(index.block(norm), c["sf_account_id"]) if norm else _NO_BLOCK)


def _mine(index: _TenantIndex, i: int, sf_id: str) -> bool:
    owner = index.owner(i)
    return owner is None or owner == sf_id or owner == sf_id[:15]
