"""Country resolution for routing: the many ways people write a country -> one ISO 3166 country.

Why: routing compared ``BillingCountry`` to the configured values as plain text, so 'UK', 'GB' or
'Great Britain' silently fell through to the default organisation (a UK customer was billed Australian
GST). Here every spelling of a country resolves to the same ISO 3166-1 country, from pycountry's data:
the short, official and common names and the alpha-2 and alpha-3 codes, plus a small table of common
English names pycountry does not know ('UK', 'Great Britain', 'Holland', ...). Numeric codes are not
accepted ('036' in a country field is a data error, not Australia).

Matching is exact after normalisation (case, accents, whitespace, dots, a leading 'The'); there is no
fuzzy search, on purpose: a misspelt country goes to review rather than to a guessed organisation.
A dotted abbreviation is read as a name or alias, never as a bare two-letter code, so 'U.K.' and
'U.S.A.' resolve but 'N.A.' ("not applicable") does not become Namibia.

Pure: no Dagster, no network.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from functools import cache, lru_cache

import pycountry


@dataclass(frozen=True)
class Country:
    alpha_2: str
    alpha_3: str
    name: str

    def __str__(self) -> str:
        return f"{self.name} ({self.alpha_2})"


# Common English names that ISO 3166 / pycountry do not list, each unambiguous. Deliberately small:
# anything not here or in pycountry is reviewed, not guessed. Left out on purpose: 'America' (a
# continent too), 'Korea' (two countries), 'Macedonia' (also a Greek region), native-language names
# such as 'Deutschland' (pycountry's translations would let one language's name clash with another's).
ALIASES: dict[str, str] = {
    "UK": "GB",  # ISO 3166 reserves UK for the United Kingdom; 'U.K.' reads the same
    "Great Britain": "GB",
    "Britain": "GB",
    "England": "GB",
    "Scotland": "GB",
    "Wales": "GB",
    "Northern Ireland": "GB",
    "U.S.": "US",  # bare 'US' is the alpha-2 code, but a dotted form is only read as a name
    "Holland": "NL",
    "Republic of Ireland": "IE",
    "Éire": "IE",
    "Russia": "RU",
    "Turkey": "TR",
    "Ivory Coast": "CI",
    "Cape Verde": "CV",
    "Swaziland": "SZ",
    "Burma": "MM",
    "East Timor": "TL",
    "Vatican City": "VA",
    "UAE": "AE",
    "Brunei": "BN",
    "Palestine": "PS",
}

_SPACE = re.compile(r"\s+")
_APOSTROPHES = str.maketrans({"\u2019": "'", "\u2018": "'", "`": "'", "\u00b4": "'"})


def normalise(text: str) -> str:
    """Case-, accent- and whitespace-insensitive form of ``text`` (dots kept; see :func:`resolve_country`)."""
    decomposed = unicodedata.normalize("NFKD", text)
    plain = "".join(ch for ch in decomposed if not unicodedata.combining(ch))
    return _SPACE.sub(" ", plain.translate(_APOSTROPHES).casefold()).strip()


def _name_key(normalised: str) -> str:
    """The key names are indexed under: without dots ('u.s.a.' -> 'usa') or a leading 'the'."""
    return _SPACE.sub(" ", normalised.replace(".", "")).strip().removeprefix("the ")


def _country(c: object) -> Country:
    return Country(c.alpha_2, c.alpha_3, c.name)  # type: ignore[attr-defined]


@dataclass(frozen=True)
class _Index:
    codes: dict[str, Country]  # alpha-2, lower case
    names: dict[str, Country]  # alpha-3, names, official and common names, aliases
    clashes: frozenset[str]  # keys two countries claim: left out, so they are reviewed


@cache
def _index() -> _Index:
    codes = {c.alpha_2.casefold(): _country(c) for c in pycountry.countries}
    names: dict[str, Country] = {}
    clashes: set[str] = set()

    def put(key: str, country: Country) -> None:
        if names.setdefault(key, country) != country:
            clashes.add(key)

    for c in pycountry.countries:
        country = _country(c)
        put(c.alpha_3.casefold(), country)
        for attr in ("name", "official_name", "common_name"):
            value = getattr(c, attr, None)
            if value:
                put(_name_key(normalise(value)), country)
    for alias, code in ALIASES.items():
        put(_name_key(normalise(alias)), codes[code.casefold()])
    for key in clashes:
        del names[key]
    return _Index(codes, names, frozenset(clashes))


def ambiguous_names() -> frozenset[str]:
    """Spellings that would name two countries, and so resolve to none (empty for the pinned pycountry)."""
    return _index().clashes


def is_blank(value: object) -> bool:
    """No value at all: None, NaN or only whitespace (routed to the default tenant, not reviewed)."""
    return not isinstance(value, str) or not value.strip()


def resolve_country(value: object) -> Country | None:
    """The country ``value`` names, or None (blank, a typo, a placeholder such as 'N/A', a number)."""
    return _resolve(value) if isinstance(value, str) else None


@lru_cache(maxsize=4096)  # a country field has few distinct values across many records
def _resolve(value: str) -> Country | None:
    key = normalise(value)
    if not key:
        return None
    index = _index()
    if "." not in key and key in index.codes:
        return index.codes[key]
    return index.names.get(_name_key(key))
