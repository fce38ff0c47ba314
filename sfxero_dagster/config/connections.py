"""The two connections, modelled once each: what sfxero.yaml says about Salesforce and Xero.

The clients take these models (``clients.salesforce.SalesforceSettings`` adds only the credentials and retry
tuning to :class:`SalesforceConfig`); the resources are handed them as values. Secrets are not here.
"""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import Field, field_validator, model_validator

from sfxero_dagster.config.base import Model as _Model


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
