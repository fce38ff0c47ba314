"""Resources per environment (the project_fully_featured pattern).

``SFXERO_ENV`` selects the set: ``sandbox`` (default; the embedded emulators) or ``production``. Both
use the same classes and code paths; they differ only in configuration: the YAML file (URLs, CA bundle,
tenants) and the environment variables that carry secrets through ``dg.EnvVar``.
"""

from __future__ import annotations

import os
from functools import cached_property
from pathlib import Path
from typing import Any

import dagster as dg
from pydantic import PrivateAttr

from sfxero_dagster.clients.salesforce import SalesforceClient, SalesforceSettings
from sfxero_dagster.clients.xero import XeroClient
from sfxero_dagster.clients.xero_tokens import FileTokenStore, XeroTokenManager
from sfxero_dagster.config import SfxeroConfig, load_config
from sfxero_dagster.store.ledger import Ledger
from sfxero_dagster.store.warehouse import Warehouse


def get_environment() -> str:
    env = os.environ.get("SFXERO_ENV", "sandbox").lower()
    if env not in {"sandbox", "production"}:
        raise ValueError(f"SFXERO_ENV must be 'sandbox' or 'production', got {env!r}")
    return env


class SfxeroConfigResource(dg.ConfigurableResource):
    """The parsed sfxero.yaml; loaded once per run so every asset sees the same mapping rules."""

    path: str = "sfxero.yaml"

    @cached_property
    def config(self) -> SfxeroConfig:
        return load_config(self.path)

    def state_path(self, name: str) -> Path:
        base = Path(self.path).resolve().parent
        return self.config.storage.path(name, base)


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


def _resolve(path: str | None, config_path: str) -> str | None:
    """Relative paths in sfxero.yaml are relative to the file, not to the process's working directory."""
    if not path:
        return None
    p = Path(path)
    return str(p if p.is_absolute() else Path(config_path).resolve().parent / p)


def token_store_path(config_path: str) -> Path:
    """Where the rotated Xero refresh token lives (``xero.token_store``, relative to the config file)."""
    c = load_config(config_path).xero
    return Path(_resolve(c.token_store, config_path) or c.token_store)


class SalesforceResource(dg.ConfigurableResource):
    """The Salesforce client: connection settings from sfxero.yaml, secrets from SF_* variables."""

    config_path: str = "sfxero.yaml"
    consumer_key: str | None = None
    consumer_secret: str | None = None
    username: str | None = None
    password: str | None = None
    security_token: str | None = None
    private_key_file: str | None = None
    _client: SalesforceClient | None = PrivateAttr(default=None)
    _log: Any = PrivateAttr(default=None)

    def settings(self) -> SalesforceSettings:
        c = load_config(self.config_path).salesforce
        return SalesforceSettings(
            auth_flow=c.auth_flow,
            login_url=c.login_url,
            api_version=c.api_version,
            ca_bundle=_resolve(c.ca_bundle, self.config_path),
            consumer_key=self.consumer_key,
            consumer_secret=self.consumer_secret,
            username=self.username,
            password=self.password,
            security_token=self.security_token,
            private_key_file=self.private_key_file,
            timeout=c.timeout_seconds,
            query_batch_size=c.query_batch_size,
            bulk_threshold=c.bulk_threshold,
        )

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
    """The Xero client: URLs and tenants from sfxero.yaml, XERO_CLIENT_ID/SECRET from the environment.

    The rotated refresh token lives in the token store file (``xero.token_store``), never in config.
    """

    config_path: str = "sfxero.yaml"
    client_id: str
    client_secret: str
    _client: XeroClient | None = PrivateAttr(default=None)
    _log: Any = PrivateAttr(default=None)

    def setup_for_execution(self, context: dg.InitResourceContext) -> None:
        self._log = context.log

    def token_manager(self) -> XeroTokenManager:
        c = load_config(self.config_path).xero
        verify: bool | str = _resolve(c.ca_bundle, self.config_path) or True
        return XeroTokenManager(
            FileTokenStore(token_store_path(self.config_path)),
            token_url=c.token_url,
            client_id=self.client_id,
            client_secret=self.client_secret,
            scopes=c.scopes,
            flow=c.auth_flow,
            verify=verify,
        )

    def client(self) -> XeroClient:
        if self._client is None:
            c = load_config(self.config_path).xero
            limits = {
                t.tenant_id: {
                    "minute": t.minute_limit,
                    "day": t.day_limit,
                    "concurrent": t.concurrent_limit,
                }
                for t in c.tenants
            }
            self._client = XeroClient(
                base_url=c.base_url,
                tokens=self.token_manager(),
                tenant_limits=limits,
                verify=_resolve(c.ca_bundle, self.config_path) or True,
                timeout=c.timeout_seconds,
            )
            if self._log is not None:
                self._client.progress_log = self._log.info
        return self._client


def _salesforce_secrets(config_path: str) -> dict[str, dg.EnvVar]:
    """EnvVar references for the secrets the configured auth flow needs (resolved at launch)."""
    try:
        flow = load_config(config_path).salesforce.auth_flow
    except Exception:  # a broken config is reported by the assets that read it, not at import
        flow = "client_credentials"
    names = {
        "client_credentials": ["consumer_key", "consumer_secret"],
        "oauth_password": ["consumer_key", "consumer_secret", "username", "password", "security_token"],
        "password": ["username", "password", "security_token"],
        "jwt_bearer": ["consumer_key", "username", "private_key_file"],
    }[flow]
    env_names = {"private_key_file": "SF_JWT_PRIVATE_KEY_FILE"}
    return {n: dg.EnvVar(env_names.get(n, f"SF_{n.upper()}")) for n in names}


def _config_file() -> str:
    return os.environ.get("SFXERO_CONFIG", "sfxero.yaml")


def _state_dir() -> Path:
    return Path(os.environ.get("SFXERO_STATE_DIR", ".sfxero_state"))


def build_resources(environment: str | None = None, config_path: str | None = None) -> dict[str, object]:
    """Resources for ``environment``; secrets are EnvVar references resolved at launch, never at import."""
    env = environment or get_environment()
    config = SfxeroConfigResource(path=config_path or _config_file())
    try:
        storage = load_config(config.path).storage
        base = Path(config.path).resolve().parent
        ledger_path, warehouse_path = (
            storage.path(storage.ledger, base),
            storage.path(storage.warehouse, base),
        )
    except Exception:  # a broken config is reported when an asset loads it
        ledger_path, warehouse_path = _state_dir() / "ledger.duckdb", _state_dir() / "warehouse.duckdb"
    ledger = LedgerResource(path=str(ledger_path))
    # Sandbox and production share classes and code paths; only the YAML and the variables differ.
    del env
    return {
        "sfxero_config": config,
        "ledger": ledger,
        "warehouse": WarehouseResource(path=str(warehouse_path)),
        "salesforce": SalesforceResource(config_path=config.path, **_salesforce_secrets(config.path)),
        "xero": XeroResource(
            config_path=config.path,
            client_id=dg.EnvVar("XERO_CLIENT_ID"),
            client_secret=dg.EnvVar("XERO_CLIENT_SECRET"),
        ),
    }
