"""The configuration file's sections (beyond the connections and routing) and the whole-file model."""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from pathlib import Path
from typing import Annotated, Literal

from pydantic import Field, field_validator, model_validator

from sfxero_dagster.config.base import Model as _Model
from sfxero_dagster.config.connections import SalesforceConfig, XeroConfig, XeroTenantConfig
from sfxero_dagster.config.routing import RoutingConfig
from sfxero_dagster.core.codes import CodeIndex


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
