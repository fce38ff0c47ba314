"""Project configuration: one YAML file parsed into pydantic models, once per process.

- ``base``: the frozen, unknown-keys-forbidden base model;
- ``connections``: Salesforce and Xero, one model each (the clients and resources take them as values);
- ``routing``: which Xero organisation an Account goes to;
- ``model``: the other sections and the whole file (:class:`SfxeroConfig`);
- ``load``: YAML to model, one precise error line per problem, secrets refused;
- ``settings``: the environment (``SFXERO_ENV``), its file, paths resolved once (:func:`load_settings`).
"""

from __future__ import annotations

from sfxero_dagster.config.connections import SalesforceConfig, XeroConfig, XeroTenantConfig
from sfxero_dagster.config.load import (
    CONFIG_ENV_VAR,
    DEFAULT_CONFIG_FILE,
    SECRET_KEYS,
    ConfigError,
    config_path,
    load_config,
    parse_config,
)
from sfxero_dagster.config.model import (
    AccountCodeConfig,
    ContactField,
    ContactsConfig,
    CreditNoteConfig,
    CurrencyConfig,
    DeltaConfig,
    InvoiceConfig,
    ItemConfig,
    Master,
    MatchingConfig,
    PaymentWriteBackConfig,
    Severity,
    SfxeroConfig,
    StorageConfig,
    TaxConfig,
    TrackingMapping,
    ValidationConfig,
)
from sfxero_dagster.config.routing import RoutingConfig, RoutingKind, RoutingRule
from sfxero_dagster.config.settings import Environment, Settings, get_environment, load_settings

__all__ = [
    "CONFIG_ENV_VAR",
    "DEFAULT_CONFIG_FILE",
    "SECRET_KEYS",
    "AccountCodeConfig",
    "ConfigError",
    "ContactField",
    "ContactsConfig",
    "CreditNoteConfig",
    "CurrencyConfig",
    "DeltaConfig",
    "Environment",
    "InvoiceConfig",
    "ItemConfig",
    "Master",
    "MatchingConfig",
    "PaymentWriteBackConfig",
    "RoutingConfig",
    "RoutingKind",
    "RoutingRule",
    "SalesforceConfig",
    "Settings",
    "Severity",
    "SfxeroConfig",
    "StorageConfig",
    "TaxConfig",
    "TrackingMapping",
    "ValidationConfig",
    "XeroConfig",
    "XeroTenantConfig",
    "config_path",
    "get_environment",
    "load_config",
    "load_settings",
    "parse_config",
]
