"""Project configuration: one YAML file parsed into pydantic models.

Why pydantic with ``extra="forbid"``: a typo in a mapping key must fail loudly at load time, naming the
key path and what is allowed, rather than silently falling back to a default and posting wrong invoices.
Secrets never live here; they come from environment variables (Dagster ``EnvVar``), and a secret-looking
key in the file is rejected with the environment variable to use instead.
"""

from __future__ import annotations

import os
from datetime import date
from decimal import Decimal
from functools import lru_cache
from pathlib import Path
from typing import Annotated, Any, Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from sfxero_dagster.core.codes import CodeIndex
from sfxero_dagster.core.countries import is_blank, resolve_country

DEFAULT_CONFIG_FILE = "sfxero.yaml"
CONFIG_ENV_VAR = "SFXERO_CONFIG"

# Keys that would hold secrets, and the environment variables that hold them instead (per section).
SECRET_KEYS: dict[str, dict[str, str]] = {
    "salesforce": {
        "client_secret": "SF_CONSUMER_SECRET",
        "consumer_secret": "SF_CONSUMER_SECRET",
        "password": "SF_PASSWORD",
        "security_token": "SF_SECURITY_TOKEN",
        "private_key": "SF_JWT_PRIVATE_KEY_FILE",
        "access_token": "(none: obtained at run time)",
    },
    "xero": {
        "client_secret": "XERO_CLIENT_SECRET",
        "refresh_token": "XERO_REFRESH_TOKEN (first consent only; rotated tokens live in the token store)",
        "access_token": "(none: obtained at run time)",
    },
}
_ANY_SECTION_SECRETS = {k for keys in SECRET_KEYS.values() for k in keys}


class ConfigError(ValueError):
    """A configuration problem, with one line per error: ``<file>: <key.path>: <what is wrong>``."""

    def __init__(self, source: str, errors: list[str]) -> None:
        self.source = source
        self.errors = errors
        super().__init__("\n".join(f"{source}: {e}" for e in errors))


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True)


# ----- Salesforce -----------------------------------------------------------------------------------
class SalesforceConfig(_Model):
    """Connection settings. Credentials come from SF_* environment variables."""

    auth_flow: Literal["client_credentials", "password", "oauth_password", "jwt_bearer"] = (
        "client_credentials"
    )
    login_url: str = "https://login.salesforce.com"
    instance_url: str | None = None
    api_version: str = "59.0"
    ca_bundle: str | None = None
    bulk_threshold: Annotated[int, Field(ge=1)] = 10_000
    query_batch_size: Annotated[int, Field(ge=200, le=2000)] = 2000
    max_daily_usage_fraction: Annotated[float, Field(gt=0, le=1)] = 0.8
    timeout_seconds: Annotated[float, Field(gt=0)] = 60.0

    @field_validator("api_version")
    @classmethod
    def _version(cls, v: str) -> str:
        if v.lower().startswith("v"):
            raise ValueError("write the API version without a leading 'v', e.g. '59.0'")
        major, _, minor = v.partition(".")
        if not (major.isdigit() and minor.isdigit()):
            raise ValueError("API version must look like '59.0'")
        return v


# ----- Xero -------------------------------------------------------------------------------------------
class XeroTenantConfig(_Model):
    """One Xero organisation this project writes to."""

    key: Annotated[str, Field(pattern=r"^[a-z][a-z0-9_]{0,30}$")]
    tenant_id: str
    name: str
    tier: Literal["standard", "starter"] = "standard"
    minute_limit: Annotated[int, Field(ge=1)] = 60
    concurrent_limit: Annotated[int, Field(ge=1)] = 5

    @property
    def day_limit(self) -> int:
        # Xero's 2026 tiers: 5,000 calls/day per organisation, Starter 1,000.
        return 1_000 if self.tier == "starter" else 5_000


class XeroConfig(_Model):
    """Connection settings. XERO_CLIENT_ID / XERO_CLIENT_SECRET come from the environment."""

    auth_flow: Literal["refresh_token", "client_credentials"] = "refresh_token"
    base_url: str = "https://api.xero.com/api.xro/2.0"
    identity_url: str = "https://api.xero.com"
    token_url: str = "https://identity.xero.com/connect/token"
    ca_bundle: str | None = None
    token_store: str = ".sfxero_state/xero_token.json"
    scopes: list[str] = Field(
        default_factory=lambda: [
            "offline_access",
            "accounting.transactions",
            "accounting.contacts",
            "accounting.settings",
        ]
    )
    timeout_seconds: Annotated[float, Field(gt=0)] = 60.0
    tenants: Annotated[list[XeroTenantConfig], Field(min_length=1)]

    @model_validator(mode="after")
    def _unique_tenants(self) -> XeroConfig:
        keys = [t.key for t in self.tenants]
        dupes = sorted({k for k in keys if keys.count(k) > 1})
        if dupes:
            raise ValueError(f"tenant keys must be unique; repeated: {', '.join(dupes)}")
        ids = [t.tenant_id for t in self.tenants]
        if len(set(ids)) != len(ids):
            raise ValueError("tenant_id values must be unique")
        return self


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


# ----- invoices -------------------------------------------------------------------------------------------
class CreditNoteConfig(_Model):
    trigger: Literal["cancelled_order", "negative_lines", "both", "none"] = "cancelled_order"
    allocate_to_invoice: bool = True


class InvoiceConfig(_Model):
    source: Literal["opportunity", "order", "both"] = "both"
    opportunity_filter: str = "IsWon = true"
    order_filter: str = "Status = 'Activated'"
    status_on_create: Literal["DRAFT", "AUTHORISED"] = "AUTHORISED"
    line_amount_type: Literal["Exclusive", "Inclusive", "NoTax"] = "Exclusive"
    number_prefix: Annotated[str, Field(max_length=20)] = "SF-"
    due_days: Annotated[int, Field(ge=0, le=365)] = 30
    void_on_cancel: bool = True
    # A record that stops being invoiceable after its push (reopened, back to draft): void its invoice
    # when nothing is paid or credited on it and queue it otherwise, or always queue it for a person.
    on_withdrawn: Literal["void", "queue"] = "void"
    update_editable: bool = True
    rounding_tolerance: Annotated[Decimal, Field(ge=0)] = Decimal("0.01")
    credit_notes: CreditNoteConfig = Field(default_factory=CreditNoteConfig)


class AccountCodeConfig(_Model):
    default_sales_account: str = "200"
    per_product: dict[str, str] = Field(default_factory=dict)  # SKU -> AccountCode
    product_field: str | None = "Xero_Account_Code__c"


class TaxConfig(_Model):
    """Salesforce tax code (a field on the line, falling back to the product) → Xero TaxType per tenant."""

    line_field: str = "Tax_Code__c"
    product_field: str = "Tax_Code__c"
    default_code: str | None = None
    mapping: dict[str, dict[str, str]] = Field(default_factory=dict)  # tenant key -> {sf code: TaxType}


class TrackingMapping(_Model):
    sf_field: str
    xero_category: Annotated[str, Field(max_length=100)]
    option_map: dict[str, str] = Field(default_factory=dict)  # SF value -> Xero option; identity if absent


class CurrencyConfig(_Model):
    policy: Literal["reject_if_not_enabled"] = "reject_if_not_enabled"


class ItemConfig(_Model):
    create_missing: bool = False


class MatchingConfig(_Model):
    fuzzy_threshold: Annotated[float, Field(ge=50, le=100)] = 90.0
    ambiguity_margin: Annotated[float, Field(ge=0, le=50)] = 3.0
    use_tax_number: bool = True
    use_email_domain: bool = True
    ignore_generic_email_domains: bool = True


ContactField = Literal[
    "Name", "ContactNumber", "EmailAddress", "Phones", "Addresses", "TaxNumber", "DefaultCurrency"
]
Master = Literal["salesforce", "xero"]


class ContactsConfig(_Model):
    """Which system is the master of each Xero contact field.

    A contact this project created is Salesforce's in every field. A contact that existed in Xero is
    changed only when it was linked by strong evidence (an explicit ContactID, its ContactNumber, the
    tax number), only in the fields mastered by Salesforce, and never in its Name; a contact linked by
    weaker evidence (e-mail domain, name) is linked and left as it is.
    """

    master: dict[ContactField, Master] = Field(default_factory=dict)

    def salesforce_masters(self) -> frozenset[str]:
        fields = ContactField.__args__  # type: ignore[attr-defined]
        return frozenset(f for f in fields if self.master.get(f, "salesforce") == "salesforce")


class PaymentWriteBackConfig(_Model):
    invoice_object: str = "Xero_Invoice__c"
    invoice_external_id: str = "Xero_Invoice_Id__c"
    payment_object: str = "Xero_Payment__c"
    payment_external_id: str = "Xero_Payment_Id__c"
    mirror_xero_created_invoices: bool = False
    rollups: bool = True


class DeltaConfig(_Model):
    start_date: date = date(2025, 1, 1)
    overlap_minutes: Annotated[int, Field(ge=0, le=1440)] = 10
    timezone: str = "UTC"


Severity = Literal["ERROR", "WARN"]


class ValidationConfig(_Model):
    default_severity: Severity = "ERROR"
    severity: dict[str, Severity] = Field(default_factory=dict)  # reason code -> severity

    @field_validator("severity")
    @classmethod
    def _known_codes(cls, value: dict[str, Severity]) -> dict[str, Severity]:
        """A misspelt reason code would silently keep its default severity: refuse it at load."""
        from sfxero_dagster.core.reasons import REASONS

        unknown = sorted(set(value) - set(REASONS))
        if unknown:
            raise ValueError(
                f"unknown reason code(s) {', '.join(unknown)}; known: {', '.join(sorted(REASONS))}"
            )
        return value


class StorageConfig(_Model):
    state_dir: str = ".sfxero_state"
    ledger: str = "ledger.duckdb"
    warehouse: str = "warehouse.duckdb"

    def path(self, name: str, base: Path | None = None) -> Path:
        root = Path(self.state_dir)
        if not root.is_absolute() and base is not None:
            root = base / root
        return root / name


class SfxeroConfig(_Model):
    """The whole configuration file."""

    salesforce: SalesforceConfig = Field(default_factory=SalesforceConfig)
    xero: XeroConfig
    routing: RoutingConfig = Field(default_factory=RoutingConfig)
    invoices: InvoiceConfig = Field(default_factory=InvoiceConfig)
    accounts: AccountCodeConfig = Field(default_factory=AccountCodeConfig)
    tax: TaxConfig = Field(default_factory=TaxConfig)
    tracking: list[TrackingMapping] = Field(default_factory=list)
    currency: CurrencyConfig = Field(default_factory=CurrencyConfig)
    items: ItemConfig = Field(default_factory=ItemConfig)
    matching: MatchingConfig = Field(default_factory=MatchingConfig)
    contacts: ContactsConfig = Field(default_factory=ContactsConfig)
    payments: PaymentWriteBackConfig = Field(default_factory=PaymentWriteBackConfig)
    delta: DeltaConfig = Field(default_factory=DeltaConfig)
    validation: ValidationConfig = Field(default_factory=ValidationConfig)
    storage: StorageConfig = Field(default_factory=StorageConfig)

    @model_validator(mode="after")
    def _cross_references(self) -> SfxeroConfig:
        known = {t.key for t in self.xero.tenants}
        allowed = ", ".join(sorted(known))
        problems: list[str] = []
        for i, rule in enumerate(self.routing.rules):
            if rule.tenant not in known:
                problems.append(
                    f"routing.rules[{i}].tenant: unknown tenant {rule.tenant!r}; defined tenants: {allowed}"
                )
        if self.routing.default_tenant is not None and self.routing.default_tenant not in known:
            problems.append(
                f"routing.default_tenant: unknown tenant {self.routing.default_tenant!r}; defined tenants: {allowed}"
            )
        if self.routing.default_tenant is None and not self.routing.rules and len(known) > 1:
            problems.append("routing: several tenants are defined, so give rules or a default_tenant")
        problems.extend(self.routing.problems())
        for tenant in self.tax.mapping:
            if tenant not in known:
                problems.append(
                    f"tax.mapping.{tenant}: unknown tenant {tenant!r}; defined tenants: {allowed}"
                )
        # Codes are looked up the way Xero compares them (core.codes: trimmed, any letter case), so two
        # keys that differ only in case or spaces would make a lookup ambiguous.
        keyed = [(f"tax.mapping.{t}", m) for t, m in self.tax.mapping.items()]
        keyed += [(f"tracking[{i}].option_map", m.option_map) for i, m in enumerate(self.tracking)]
        for where, mapping in keyed:
            for spellings in CodeIndex(mapping).clashes.values():
                problems.append(
                    f"{where}: keys {', '.join(map(repr, spellings))} differ only in letter case or spaces, "
                    "which codes are compared without; keep one"
                )
        if problems:
            raise ValueError("\n".join(problems))
        return self

    def tenant(self, key: str) -> XeroTenantConfig:
        for t in self.xero.tenants:
            if t.key == key:
                return t
        raise KeyError(f"unknown tenant {key!r}")

    def route(self, value: str | None) -> str | None:
        """Tenant key for a routing-field value (a single tenant needs no rules)."""
        if len(self.xero.tenants) == 1 and not self.routing.rules:
            return self.xero.tenants[0].key
        return self.routing.tenant_for(value)


# ----- loading -------------------------------------------------------------------------------------------
def _loc(loc: tuple[Any, ...]) -> str:
    out = ""
    for part in loc:
        if isinstance(part, int):
            out += f"[{part}]"
        else:
            out += f".{part}" if out else str(part)
    return out or "(top level)"


def _allowed_keys(model: type[BaseModel], loc: tuple[Any, ...]) -> list[str]:
    """Walk the model along ``loc`` (minus the bad key) to list the keys allowed at that level."""
    current: Any = model
    for part in loc[:-1]:
        if isinstance(part, int):
            continue
        field = getattr(current, "model_fields", {}).get(part)
        if field is None:
            return []
        ann = field.annotation
        for candidate in (ann, *getattr(ann, "__args__", ())):
            for inner in (candidate, *getattr(candidate, "__args__", ())):
                if isinstance(inner, type) and issubclass(inner, BaseModel):
                    current = inner
                    break
    return sorted(getattr(current, "model_fields", {}))


def _find_secrets(data: Any, path: str = "") -> list[str]:
    found = []
    if isinstance(data, dict):
        for k, v in data.items():
            p = f"{path}.{k}" if path else str(k)
            key = str(k).lower()
            if key in _ANY_SECTION_SECRETS and v not in (None, ""):
                section = SECRET_KEYS.get(p.split(".")[0].split("[")[0], {})
                env = section.get(key) or next(
                    e for keys in SECRET_KEYS.values() for s, e in keys.items() if s == key
                )
                found.append(
                    f"{p}: secrets must not be stored in the config file; set the environment variable {env}"
                )
            found.extend(_find_secrets(v, p))
    elif isinstance(data, list):
        for i, v in enumerate(data):
            found.extend(_find_secrets(v, f"{path}[{i}]"))
    return found


def parse_config(data: Any, source: str = "<config>") -> SfxeroConfig:
    """Validate a parsed YAML document; raise :class:`ConfigError` with one precise line per problem."""
    if not isinstance(data, dict):
        raise ConfigError(source, ["(top level): expected a mapping of sections (salesforce, xero, ...)"])
    secrets = _find_secrets(data)
    if secrets:
        raise ConfigError(source, secrets)
    try:
        return SfxeroConfig.model_validate(data)
    except ValidationError as exc:
        errors = []
        for err in exc.errors():
            loc = tuple(err["loc"])
            where = _loc(loc)
            if err["type"] == "extra_forbidden":
                allowed = _allowed_keys(SfxeroConfig, loc)
                errors.append(f"{where}: unknown key; allowed keys here: {', '.join(allowed)}")
            elif err["type"] == "literal_error":
                expected = err.get("ctx", {}).get("expected", "")
                errors.append(f"{where}: {err['input']!r} is not allowed; expected {expected}")
            elif err["type"] == "missing":
                errors.append(f"{where}: required key is missing")
            elif err["type"] == "value_error" and not loc:
                errors.extend(str(err["msg"]).removeprefix("Value error, ").splitlines())
            else:
                msg = str(err["msg"]).removeprefix("Value error, ")
                errors.append(f"{where}: {msg} (got {err.get('input')!r})")
        raise ConfigError(source, errors) from None


def config_path(path: str | os.PathLike[str] | None = None) -> Path:
    return Path(path or os.environ.get(CONFIG_ENV_VAR) or DEFAULT_CONFIG_FILE)


def load_config(path: str | os.PathLike[str] | None = None) -> SfxeroConfig:
    """Load ``path`` (default: $SFXERO_CONFIG or ./sfxero.yaml)."""
    p = config_path(path)
    if not p.exists():
        raise ConfigError(str(p), [f"config file not found (set {CONFIG_ENV_VAR} or pass a path)"])
    try:
        data = yaml.safe_load(p.read_text(encoding="utf-8"))
    except yaml.YAMLError as exc:
        raise ConfigError(str(p), [f"not valid YAML: {exc}"]) from None
    return parse_config(data, source=str(p))
