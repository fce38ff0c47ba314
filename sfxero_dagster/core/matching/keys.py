"""Normalised keys the matching rules compare: names (legal words folded), tax numbers, e-mail domains,
phones, addresses, countries, and what makes two names differ the way a typo does."""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable
from typing import Any

from rapidfuzz import fuzz
from rapidfuzz.distance import OSA

from sfxero_dagster.core.countries import resolve_country

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
TYPO_MIN_LETTERS = 4  # a one-letter change in a shorter word makes another word ('lau', 'lam')


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
