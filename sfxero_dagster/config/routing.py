"""Routing: which Xero organisation an Account (and everything billed to it) goes to."""

from __future__ import annotations

from functools import lru_cache
from typing import Annotated, Any, Literal

from pydantic import Field, field_validator, model_validator

from sfxero_dagster.config.base import Model as _Model
from sfxero_dagster.core.countries import is_blank, resolve_country


# ----- routing ------------------------------------------------------------------------------------------
class RoutingRule(_Model):
    tenant: str
    values: Annotated[list[str], Field(min_length=1)]

    @field_validator("values", mode="before")
    @classmethod
    def _yaml_booleans(cls, v: Any) -> Any:
        # YAML 1.1 reads a bare NO (Norway), YES, ON or OFF as a boolean.
        if isinstance(v, list) and any(isinstance(x, bool) for x in v):
            raise ValueError(
                "quote country codes such as 'NO': YAML reads a bare NO, YES, ON or OFF as true/false"
            )
        return v


RoutingKind = Literal["country", "value"]


@lru_cache(maxsize=64)
def _country_table(rules: tuple[tuple[str, tuple[str, ...]], ...]) -> dict[str, str]:
    """alpha-2 -> tenant for ``(tenant, values)`` rules (first rule wins; config load rejects clashes).

    Cached on the rules themselves rather than on the frozen model, so a ``model_copy`` never reuses a
    stale table.
    """
    table: dict[str, str] = {}
    for tenant, values in rules:
        for v in values:
            country = resolve_country(v)
            if country is not None:
                table.setdefault(country.alpha_2, tenant)
    return table


class RoutingConfig(_Model):
    """Which Xero organisation a Salesforce Account (and everything billed to it) goes to.

    ``kind: country`` (the default for a field whose name ends in 'Country', e.g. BillingCountry) reads
    both the rule values and the record's value as countries (:mod:`sfxero_dagster.core.countries`), so
    'UK', 'GB', 'GBR' and 'United Kingdom' are one country. A blank value goes to ``default_tenant``; a
    value that is not a country goes nowhere (reason ``unroutable_country``), never to the default; a
    country in no rule goes to ``default_tenant``. ``kind: value`` compares plain text, as typed.
    """

    field: str = "BillingCountry"
    kind: RoutingKind = "country"
    rules: list[RoutingRule] = Field(default_factory=list)
    default_tenant: str | None = None
    case_sensitive: bool = False

    @model_validator(mode="before")
    @classmethod
    def _default_kind(cls, data: Any) -> Any:
        if isinstance(data, dict) and data.get("kind") is None:
            field = data.get("field") or "BillingCountry"
            return {**data, "kind": "country" if str(field).endswith("Country") else "value"}
        return data

    def problems(self) -> list[str]:
        """Rule values that are not countries, and countries two rules claim (``kind: country`` only)."""
        if self.kind != "country":
            return []
        out = []
        if self.case_sensitive:
            out.append("routing.case_sensitive: applies to kind: value only; countries match in any case")
        claimed: dict[str, tuple[int, str, str]] = {}  # alpha-2 -> (rule index, key path, value)
        for i, rule in enumerate(self.rules):
            for j, v in enumerate(rule.values):
                where = f"routing.rules[{i}].values[{j}]"
                country = resolve_country(v)
                if country is None:
                    out.append(
                        f"{where}: {v!r} is not a country; write a country name or an ISO 3166 code "
                        f"(e.g. 'United Kingdom', 'GB' or 'GBR'), or set routing.kind: value to match "
                        f"{self.field} as plain text"
                    )
                    continue
                first = claimed.setdefault(country.alpha_2, (i, where, v))
                if first[0] != i:
                    out.append(
                        f"{where}: {v!r} is {country}, which {first[1]} ({first[2]!r}) already routes to "
                        f"tenant {self.rules[first[0]].tenant!r}; a country goes to one tenant only"
                    )
        return out

    def is_not_a_country(self, value: str | None) -> bool:
        """True for a non-blank value that names no country (``kind: country``): unroutable, not default."""
        return self.kind == "country" and not is_blank(value) and resolve_country(value) is None

    def tenant_for(self, value: str | None) -> str | None:
        if self.kind == "country":
            if is_blank(value):
                return self.default_tenant
            country = resolve_country(value)
            if country is None:
                return None
            table = _country_table(tuple((r.tenant, tuple(r.values)) for r in self.rules))
            return table.get(country.alpha_2, self.default_tenant)
        v = (value or "").strip()
        for rule in self.rules:
            candidates = rule.values if self.case_sensitive else [x.lower() for x in rule.values]
            if (v if self.case_sensitive else v.lower()) in candidates:
                return rule.tenant
        return self.default_tenant
