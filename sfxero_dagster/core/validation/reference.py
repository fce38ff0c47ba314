"""What a target Xero organisation accepts (currencies, tax rates, items, accounts, tracking), from its
snapshot tables: the reference every record is validated against."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from decimal import Decimal
from functools import cached_property

import pandas as pd

from sfxero_dagster.core import codes
from sfxero_dagster.core.codes import CodeIndex


@dataclass(frozen=True)
class TenantReference:
    """What the target organisation accepts, taken from its Xero reference snapshot."""

    tenant_key: str
    base_currency: str
    currencies: frozenset[str]
    tax_rates: Mapping[str, Decimal]  # active TaxType -> EffectiveRate (percent)
    item_codes: frozenset[str] = frozenset()
    account_codes: frozenset[str] = frozenset()
    tracking: Mapping[str, frozenset[str]] = field(default_factory=dict)  # category -> active options

    # Codes as Xero compares them (core.codes): validation and the payload look them up the same way.
    @cached_property
    def tax_index(self) -> CodeIndex:
        return CodeIndex(self.tax_rates)

    @cached_property
    def item_index(self) -> CodeIndex:
        return CodeIndex(self.item_codes)

    @cached_property
    def category_index(self) -> CodeIndex:
        return CodeIndex(self.tracking)

    def option_index(self, category: str) -> CodeIndex:
        return codes.index_of(self.tracking.get(category, frozenset()))


def references_from_frames(
    organisation: pd.DataFrame,
    tax_rates: pd.DataFrame,
    currencies: pd.DataFrame,
    tracking: pd.DataFrame,
    accounts: pd.DataFrame,
    items: pd.DataFrame,
) -> dict[str, TenantReference]:
    """TenantReference per tenant key from the Xero snapshot tables (only ACTIVE rates, options, accounts)."""
    out: dict[str, TenantReference] = {}
    for org in organisation.to_dict("records"):
        key = org["tenant_key"]

        def rows(df: pd.DataFrame, k: str = key) -> pd.DataFrame:
            return df.loc[df["tenant_key"] == k] if len(df) else df

        rates = rows(tax_rates)
        rates = rates.loc[rates["status"] == "ACTIVE"] if len(rates) else rates
        opts = rows(tracking)
        if len(opts):
            opts = opts.loc[(opts["category_status"] == "ACTIVE") & (opts["option_status"] == "ACTIVE")]
        acct = rows(accounts)
        acct = acct.loc[acct["status"] == "ACTIVE"] if len(acct) else acct
        tracking_map: dict[str, set[str]] = {}
        for cat, opt in zip(opts.get("category", []), opts.get("option", []), strict=True):
            tracking_map.setdefault(cat, set()).add(opt)
        out[key] = TenantReference(
            tenant_key=key,
            base_currency=org["base_currency"],
            currencies=frozenset(rows(currencies).get("code", [])),
            tax_rates={
                t: Decimal(str(r))
                for t, r in zip(rates.get("tax_type", []), rates.get("effective_rate", []), strict=True)
            },
            item_codes=frozenset(rows(items).get("code", [])),
            account_codes=frozenset(acct.get("code", [])),
            tracking={c: frozenset(o) for c, o in tracking_map.items()},
        )
    return out
