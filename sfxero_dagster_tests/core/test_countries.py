"""Country resolution: every spelling of a country is one country, and nothing else is a country."""

from __future__ import annotations

import pycountry
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from sfxero_dagster.config import RoutingConfig
from sfxero_dagster.core.countries import ALIASES, ambiguous_names, normalise, resolve_country

COUNTRIES = sorted(pycountry.countries, key=lambda c: c.alpha_2)
GARBAGE = [
    "Narnia",
    "N/A",
    "N.A.",
    "n/a",
    "123",
    "036",
    "-",
    "--",
    "?",
    "none",
    "TBC",
    "Untied Kingdom",
    "Korea",
]


def spellings(c) -> list[str]:
    return [c.alpha_2, c.alpha_3, c.name] + [
        v for v in (getattr(c, "official_name", None), getattr(c, "common_name", None)) if v
    ]


@st.composite
def messy(draw: st.DrawFn, text: str) -> str:
    """``text`` in random case, with random surrounding whitespace and widened inner spaces."""
    cased = "".join(ch.upper() if draw(st.booleans()) else ch.lower() for ch in text)
    space = st.sampled_from([" ", "  ", "\t", " \u00a0 "])
    inner = "".join(draw(space) if ch == " " else ch for ch in cased)
    pad = st.sampled_from(["", " ", "\t", "  \n"])
    return draw(pad) + inner + draw(pad)


@st.composite
def two_spellings(draw: st.DrawFn) -> tuple[object, str, str]:
    c = draw(st.sampled_from(COUNTRIES))
    names = spellings(c)
    return c, draw(st.sampled_from(names)), draw(messy(draw(st.sampled_from(names))))


@settings(max_examples=600, deadline=None)
@given(two_spellings())
def test_every_spelling_of_every_country_routes_to_the_same_tenant(case: tuple[object, str, str]) -> None:
    country, in_rule, on_record = case
    routing = RoutingConfig(rules=[{"tenant": "x", "values": [in_rule]}], default_tenant="d")
    assert resolve_country(on_record).alpha_2 == country.alpha_2
    assert routing.tenant_for(on_record) == "x", (in_rule, on_record)


def test_each_country_name_and_code_resolves_exactly() -> None:
    assert not ambiguous_names()  # no spelling names two countries with the pinned pycountry
    for c in COUNTRIES:
        for s in spellings(c):
            assert resolve_country(s).alpha_2 == c.alpha_2, s


@pytest.mark.parametrize(
    ("value", "alpha_2"),
    [
        *[(v, "GB") for v in ["UK", "u.k.", "Great Britain", "britain", "England", "Scotland", "WALES"]],
        *[(v, "GB") for v in ["Northern Ireland", "GB", "gbr", "United Kingdom", " united   kingdom "]],
        *[(v, "US") for v in ["USA", "U.S.A.", "u.s.", "US", "United States", "United States of America"]],
        ("Holland", "NL"),
        ("The Netherlands", "NL"),
        ("Éire", "IE"),
        ("Eire", "IE"),
        ("Cote d’Ivoire", "CI"),
        ("Turkiye", "TR"),
        ("Czech Republic", "CZ"),
        ("South Korea", "KR"),
        ("Virgin Islands, U.S.", "VI"),
        ("NA", "NA"),  # Namibia's code; 'N.A.' is not (dotted abbreviations are never two-letter codes)
    ],
)
def test_aliases_and_variants(value: str, alpha_2: str) -> None:
    assert resolve_country(value).alpha_2 == alpha_2


@pytest.mark.parametrize("value", GARBAGE)
def test_placeholders_typos_numbers_and_ambiguous_names_are_not_countries(value: str) -> None:
    assert resolve_country(value) is None


def test_blank_is_not_a_country_either() -> None:
    assert [resolve_country(v) for v in (None, "", "   ", float("nan"))] == [None] * 4


def test_aliases_are_only_what_pycountry_lacks() -> None:
    """The table stays small: each entry is needed (pycountry alone does not know it) and points at a
    real country."""
    known = {normalise(s).replace(".", "") for c in COUNTRIES for s in spellings(c)}
    for alias, code in ALIASES.items():
        assert pycountry.countries.get(alpha_2=code), alias
        assert normalise(alias).replace(".", "") not in known or "." in alias, alias


@settings(max_examples=300, deadline=None)
@given(st.one_of(st.sampled_from(GARBAGE), st.text(min_size=1, max_size=12)))
def test_a_value_that_is_not_a_country_never_routes_to_the_default(value: str) -> None:
    routing = RoutingConfig(rules=[{"tenant": "uk", "values": ["United Kingdom"]}], default_tenant="au")
    if value.strip() and resolve_country(value) is None:
        assert routing.tenant_for(value) is None
        assert routing.is_not_a_country(value)
