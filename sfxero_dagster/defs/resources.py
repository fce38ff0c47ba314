"""Resources per environment (the project_fully_featured pattern), built from values parsed once.

``build_resources`` takes the process's :class:`~sfxero_dagster.config.Settings` (``SFXERO_ENV`` picks the
environment and its file; see ``config/settings.py``) and hands each resource the part it needs as a
value: the whole configuration, a connection model, a path. No resource reads the file again. Secrets are
``dg.EnvVar`` references, resolved at launch, never at import.

Sandbox and production use the same classes; the environment decides which file is read and what it may
contain (production refuses loopback and plain-http connections), so ``SFXERO_ENV=production`` with the
shipped sandbox file fails at load instead of syncing against an emulator.

No ``from __future__ import annotations`` here: Dagster reads ``ResourceDependency[...]`` at class creation.
"""

from typing import Any

import dagster as dg
from pydantic import PrivateAttr

from sfxero_dagster.clients.salesforce import SalesforceClient, SalesforceCredentials, SalesforceSettings
from sfxero_dagster.clients.xero import XeroClient
from sfxero_dagster.clients.xero_tokens import FileTokenStore, XeroTokenManager
from sfxero_dagster.config import SalesforceConfig, Settings, SfxeroConfig, XeroConfig, load_settings
from sfxero_dagster.config.settings import get_environment
from sfxero_dagster.store.ledger import Ledger
from sfxero_dagster.store.warehouse import Warehouse

__all__ = [
    "LedgerResource",
    "SalesforceResource",
    "SfxeroConfigResource",
    "WarehouseResource",
    "XeroResource",
    "build_resources",
    "get_environment",
]


class SfxeroConfigResource(dg.ConfigurableResource):
    """The parsed sfxero.yaml, handed in as a value, so every asset of a run sees the same mapping rules."""

    settings: dg.ResourceDependency[Settings]

    @property
    def config(self) -> SfxeroConfig:
        return self.settings.config


class LedgerResource(dg.ConfigurableResource):
    """The durable sync ledger (links, intents, events, review queue, watermarks) in DuckDB."""

    path: str

    def open(self) -> Ledger:
        return Ledger(self.path)


class WarehouseResource(dg.ConfigurableResource):
    """The DuckDB warehouse (extracts, snapshots, staging, matches), next to the ledger."""

    path: str

    def open(self) -> Warehouse:
        return Warehouse(self.path)


class SalesforceResource(dg.ConfigurableResource):
    """The Salesforce client: the connection from sfxero.yaml (a value), secrets from SF_* variables."""

    connection: dg.ResourceDependency[SalesforceConfig]
    consumer_key: str | None = None
    consumer_secret: str | None = None
    username: str | None = None
    password: str | None = None
    security_token: str | None = None
    private_key_file: str | None = None
    _client: SalesforceClient | None = PrivateAttr(default=None)
    _log: Any = PrivateAttr(default=None)

    def settings(self) -> SalesforceSettings:
        secrets = {k: getattr(self, k) for k in SalesforceCredentials.model_fields}
        return SalesforceSettings.of(self.connection, SalesforceCredentials(**secrets))

    def setup_for_execution(self, context: dg.InitResourceContext) -> None:
        self._log = context.log

    def client(self) -> SalesforceClient:
        """One client per run (one login, one call count); progress lines of long reads/writes go to the run's log."""
        if self._client is None:
            self._client = SalesforceClient(self.settings())
            if self._log is not None:
                self._client.progress_log = self._log.info
        return self._client


class XeroResource(dg.ConfigurableResource):
    """The Xero client: URLs and tenants from sfxero.yaml (a value), XERO_CLIENT_ID/SECRET from the environment.

    The rotated refresh token lives in the token store file (``xero.token_store``), never in config.
    """

    connection: dg.ResourceDependency[XeroConfig]
    client_id: str
    client_secret: str
    _client: XeroClient | None = PrivateAttr(default=None)
    _log: Any = PrivateAttr(default=None)

    def setup_for_execution(self, context: dg.InitResourceContext) -> None:
        self._log = context.log

    def token_manager(self) -> XeroTokenManager:
        c = self.connection
        return XeroTokenManager(
            FileTokenStore(c.token_store),
            token_url=c.token_url,
            client_id=self.client_id,
            client_secret=self.client_secret,
            scopes=c.scopes,
            flow=c.auth_flow,
            verify=c.ca_bundle or True,
        )

    def client(self) -> XeroClient:
        if self._client is None:
            c = self.connection
            limits = {
                t.tenant_id: {"minute": t.minute_limit, "day": t.day_limit, "concurrent": t.concurrent_limit}
                for t in c.tenants
            }
            self._client = XeroClient(
                base_url=c.base_url,
                tokens=self.token_manager(),
                tenant_limits=limits,
                verify=c.ca_bundle or True,
                timeout=c.timeout_seconds,
            )
            if self._log is not None:
                self._client.progress_log = self._log.info
        return self._client


# The secrets each Salesforce auth flow needs, and the variables that carry them.
SALESFORCE_SECRETS: dict[str, tuple[str, ...]] = {
    "client_credentials": ("consumer_key", "consumer_secret"),
    "oauth_password": ("consumer_key", "consumer_secret", "username", "password", "security_token"),
    "password": ("username", "password", "security_token"),
    "jwt_bearer": ("consumer_key", "username", "private_key_file"),
}
_ENV_NAMES = {"private_key_file": "SF_JWT_PRIVATE_KEY_FILE"}


def salesforce_secrets(connection: SalesforceConfig) -> dict[str, dg.EnvVar]:
    """EnvVar references for the secrets the configured auth flow needs (resolved at launch)."""
    return {
        n: dg.EnvVar(_ENV_NAMES.get(n, f"SF_{n.upper()}")) for n in SALESFORCE_SECRETS[connection.auth_flow]
    }


def build_resources(
    settings: Settings | None = None, *, environment: str | None = None, config_path: str | None = None
) -> dict[str, object]:
    """The resources of ``settings``; without them, of ``environment``'s file (or ``config_path``), parsed now."""
    settings = settings or load_settings(config_path, environment)
    cfg = settings.config
    return {
        "sfxero_config": SfxeroConfigResource(settings=settings),
        "ledger": LedgerResource(path=str(settings.ledger_path)),
        "warehouse": WarehouseResource(path=str(settings.warehouse_path)),
        "salesforce": SalesforceResource(connection=cfg.salesforce, **salesforce_secrets(cfg.salesforce)),
        "xero": XeroResource(
            connection=cfg.xero,
            client_id=dg.EnvVar("XERO_CLIENT_ID"),
            client_secret=dg.EnvVar("XERO_CLIENT_SECRET"),
        ),
    }
