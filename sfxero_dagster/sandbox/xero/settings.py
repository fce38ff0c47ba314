"""The emulated Xero app's limits and credentials, apart from the app so every module can read them."""

from __future__ import annotations

from dataclasses import dataclass, field

ALLOWED_TOKEN_SCOPES = "offline_access accounting.transactions accounting.contacts accounting.settings"


@dataclass
class XeroSandboxSettings:
    """Limits and credentials of the emulated Xero app (the limits are Xero's documented defaults)."""

    minute_limit: int = 60
    day_limit: int = 5000
    concurrent_limit: int = 5
    app_minute_limit: int = 10_000
    access_token_ttl: int = 1800
    refresh_grace: int = 1800
    refresh_ttl: int = 60 * 24 * 3600
    idempotency_ttl: int = 360
    client_id: str = "SANDBOXCLIENTID0000000000000000X"
    client_secret: str = "sandbox-client-secret-not-a-real-secret"
    app_name: str = "sfxero sandbox"
    extra_limits: dict[str, dict[str, int]] = field(default_factory=dict)  # tenant -> overrides
