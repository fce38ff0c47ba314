"""Codes compared the way Xero compares them: surrounding whitespace is not significant and letter case
is not either (tax types, item codes, tracking categories and options are case-insensitive in Xero).

A Salesforce value is looked up in the target organisation's reference under its key (strip +
casefold) and replaced by the organisation's own spelling, so what validation accepts is exactly what
the payload sends ('gst ' -> the mapping's 'GST' -> TaxType 'OUTPUT'; 'sku-1 ' -> ItemCode 'SKU-1';
'north' -> Option 'North'). A key that two reference codes share (they differ only in case or spaces) is
ambiguous: it is never guessed, the record is held instead.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from functools import lru_cache
from typing import Any, Literal


def code_key(value: Any) -> str | None:
    """The comparison key of a code (stripped, casefolded); None for a blank or non-text value."""
    if not isinstance(value, str):
        return None
    key = value.strip().casefold()
    return key or None


@dataclass(frozen=True)
class Resolved:
    """A value looked up in a :class:`CodeIndex`: ``found`` (with ``code``), ``missing`` or ``ambiguous``."""

    status: Literal["found", "missing", "ambiguous", "blank"]
    code: str | None = None
    candidates: tuple[str, ...] = ()
    mapped: str | None = None  # a two-step lookup's intermediate value (the TaxType a tax code maps to)

    @property
    def ok(self) -> bool:
        return self.status == "found"


class CodeIndex:
    """The codes of one reference (a Xero organisation's tax types, items, options; a config mapping's
    keys) indexed by :func:`code_key`, each key pointing at the reference's own spelling."""

    def __init__(self, codes: Iterable[str]) -> None:
        spellings: dict[str, set[str]] = {}
        for code in codes:
            if (key := code_key(code)) is not None:
                spellings.setdefault(key, set()).add(code)
        self._canonical = {k: next(iter(v)) for k, v in spellings.items() if len(v) == 1}
        self._ambiguous = {k: tuple(sorted(v)) for k, v in spellings.items() if len(v) > 1}

    def resolve(self, value: Any) -> Resolved:
        key = code_key(value)
        if key is None:
            return Resolved("blank")
        if key in self._canonical:
            return Resolved("found", self._canonical[key])
        if key in self._ambiguous:
            return Resolved("ambiguous", candidates=self._ambiguous[key])
        return Resolved("missing")

    def canonical(self, value: Any) -> str | None:
        """The reference's spelling of ``value``, or None when it is blank, unknown or ambiguous."""
        return self.resolve(value).code

    @property
    def clashes(self) -> dict[str, tuple[str, ...]]:
        """Keys that more than one code shares: {key: (spellings...)}."""
        return dict(self._ambiguous)


@lru_cache(maxsize=256)
def _index(codes: frozenset[str]) -> CodeIndex:
    return CodeIndex(codes)


def index_of(codes: Iterable[str]) -> CodeIndex:
    """A (cached) :class:`CodeIndex` of ``codes``."""
    return _index(frozenset(codes))


def lookup(mapping: Mapping[str, str], value: Any) -> Resolved:
    """``value`` looked up by key in a config mapping (``tax.mapping.<tenant>``, ``tracking[].option_map``):
    ``code`` is the mapped value, ``candidates`` the clashing keys when ambiguous."""
    found = index_of(mapping).resolve(value)
    if not found.ok:
        return found
    return Resolved("found", mapping[found.code])  # type: ignore[index]


# ----- the lookups validation and the payload share ------------------------------------------------------
# ``reference`` is a :class:`sfxero_dagster.core.validation.TenantReference` (its ``tax_index``,
# ``item_index``, ``category_index`` and ``option_index``); None means "no reference at hand" (a payload
# built without the organisation's snapshot): the value is then only trimmed.


def tax_type(tax_map: Mapping[str, str], code: Any, reference: Any | None) -> Resolved:
    """Salesforce tax code -> the organisation's TaxType: the config mapping looked up by key, then the
    mapped TaxType looked up among the organisation's active tax rates. A result whose ``mapped`` is set
    failed at the second step (the mapping names a TaxType the organisation does not have)."""
    mapped = lookup(tax_map, code)
    if not mapped.ok:
        return mapped
    if reference is None:
        return Resolved("found", (mapped.code or "").strip())
    found = reference.tax_index.resolve(mapped.code)
    return Resolved(found.status, found.code, found.candidates, mapped.code)


def item_code(sku: Any, reference: Any | None) -> Resolved:
    if reference is None:
        return Resolved("found", sku.strip()) if code_key(sku) else Resolved("blank")
    return reference.item_index.resolve(sku)


def tracking_option(
    category: str, option_map: Mapping[str, str], value: Any, reference: Any | None
) -> tuple[Resolved, Resolved]:
    """(category, option) as the organisation spells them; ``option_map`` (Salesforce value -> Xero option)
    is looked up by key first."""
    mapped = lookup(option_map, value)
    option = mapped.code if mapped.ok else value
    if reference is None:
        return (
            Resolved("found", category.strip()),
            Resolved("found", option.strip()) if code_key(option) else Resolved("blank"),
        )
    cat = reference.category_index.resolve(category)
    if not cat.ok:
        return cat, Resolved("missing")
    return cat, reference.option_index(cat.code).resolve(option)
