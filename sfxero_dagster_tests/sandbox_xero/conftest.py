"""A live Xero emulator on an ephemeral port, and the real xero-python client pointed at it."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path

import pytest
import requests
from xero_python.accounting import AccountingApi
from xero_python.api_client import ApiClient, Configuration
from xero_python.api_client.oauth2 import OAuth2Token, TokenApi
from xero_python.identity import IdentityApi

from sfxero_dagster.sandbox.clock import SandboxClock
from sfxero_dagster.sandbox.control import SandboxControl
from sfxero_dagster.sandbox.httpbase import SandboxServer
from sfxero_dagster.sandbox.xero.app import XeroApp

SEED = {
    "tenants": [
        {
            "key": "au",
            "name": "Acme Pty Ltd",
            "region": "AU",
            "base_currency": "AUD",
            "currencies": ["AUD", "USD", "NZD"],
            "tenant_id": "3b7a7c60-0000-4000-8000-0000000000a1",
        },
        {
            "key": "uk",
            "name": "Acme UK Ltd",
            "region": "UK",
            "base_currency": "GBP",
            "currencies": ["GBP", "USD", "EUR"],
            "tenant_id": "3b7a7c60-0000-4000-8000-0000000000b2",
        },
    ],
    "per_tenant": {
        "au": {
            "contacts": [
                {
                    "Name": "Existing Customer Pty Ltd",
                    "EmailAddress": "ap@existing.com.au",
                    "ContactNumber": "0015g0000000000EXA",
                }
            ],
            "items": [
                {
                    "Code": "WID-1",
                    "Name": "Widget",
                    "Description": "Widget",
                    "SalesDetails": {
                        "UnitPrice": Decimal("59.99"),
                        "AccountCode": "200",
                        "TaxType": "OUTPUT",
                    },
                }
            ],
        },
        "uk": {"contacts": [], "items": []},
    },
}
AU, UK = SEED["tenants"][0]["tenant_id"], SEED["tenants"][1]["tenant_id"]


@dataclass
class XeroSandbox:
    app: XeroApp
    server: SandboxServer
    control: SandboxControl
    info: dict
    state_dir: Path

    @property
    def url(self) -> str:
        return self.server.url

    def raw(
        self, method: str, path: str, tenant: str | None = AU, token: str | None = None, **kw
    ) -> requests.Response:
        """A request outside xero-python, for wire-level checks."""
        headers = {
            "Authorization": f"Bearer {token or fresh_access_token(self)}",
            "Accept": "application/json",
        }
        if tenant:
            headers["xero-tenant-id"] = tenant
        headers.update(kw.pop("headers", {}))
        return requests.request(method, f"{self.info['base_url']}{path}", headers=headers, timeout=10, **kw)


def refresh_grant(sb: XeroSandbox, refresh_token: str) -> requests.Response:
    """POST the refresh_token grant the way xero-python does (credentials in the form body)."""
    data = {
        "grant_type": "refresh_token",
        "refresh_token": refresh_token,
        "client_id": sb.info["client_id"],
        "client_secret": sb.info["client_secret"],
    }
    return requests.post(sb.info["token_url"], data=data, timeout=10)


def fresh_access_token(sb: XeroSandbox) -> str:
    resp = refresh_grant(sb, sb.control.call("POST", "refresh_token")["refresh_token"])
    resp.raise_for_status()
    return resp.json()["access_token"]


def start(
    state_dir: Path, clock: SandboxClock | None = None, seed: bool = True
) -> tuple[XeroApp, SandboxServer]:
    app = XeroApp(state_dir, clock=clock or SandboxClock())
    if seed:
        app.load_seed(SEED)
    server = SandboxServer(app).start()
    app.bind(server.url)
    return app, server


@pytest.fixture
def xero(tmp_path: Path) -> Iterator[XeroSandbox]:
    clock = SandboxClock()
    clock.freeze()
    app, server = start(tmp_path / "xero", clock)
    try:
        yield XeroSandbox(app, server, SandboxControl(server.url), app.info(), tmp_path / "xero")
    finally:
        server.stop()


def make_client(info: dict, store: dict | None = None) -> ApiClient:
    """The real xero-python ApiClient, with the token URL redirected and an in-memory token store."""
    store = store if store is not None else {}
    cfg = Configuration(
        oauth2_token=OAuth2Token(client_id=info["client_id"], client_secret=info["client_secret"])
    )
    client = ApiClient(cfg, pool_threads=1)
    # urllib3's default Retry honours Retry-After on 429s: a day-limit 429 would sleep for hours inside
    # xero-python. Tests (like our production client) see every response as it is.
    client.rest_client.pool_manager.connection_pool_kw["retries"] = False
    store.setdefault(
        "token",
        {
            "access_token": "none",
            "refresh_token": info["refresh_token"],
            "scope": info["scopes"],
            "expires_in": 0,
            "token_type": "Bearer",
            "expires_at": 0,
        },
    )

    @client.oauth2_token_getter
    def _get() -> dict:
        return store["token"]

    @client.oauth2_token_saver
    def _save(token: dict) -> None:
        store["token"] = token

    client.set_oauth2_token(store["token"])
    return client


@pytest.fixture
def accounting(xero: XeroSandbox, monkeypatch: pytest.MonkeyPatch) -> AccountingApi:
    monkeypatch.setattr(TokenApi, "refresh_token_url", xero.info["token_url"])
    monkeypatch.setattr(TokenApi, "client_credentials_token_url", xero.info["token_url"])
    return AccountingApi(make_client(xero.info), base_url=xero.info["base_url"])


@pytest.fixture
def identity(xero: XeroSandbox, accounting: AccountingApi) -> IdentityApi:
    return IdentityApi(accounting.api_client, base_url=xero.info["identity_url"])
