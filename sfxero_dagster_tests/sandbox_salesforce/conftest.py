"""A live Salesforce emulator over TLS on an ephemeral port, and the real simple-salesforce pointed at it."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
import requests
from simple_salesforce import Salesforce

from sfxero_dagster.sandbox.clock import SandboxClock
from sfxero_dagster.sandbox.control import SandboxControl
from sfxero_dagster.sandbox.httpbase import SandboxServer
from sfxero_dagster.sandbox.salesforce.app import SalesforceApp
from sfxero_dagster.sandbox.tls import ensure_local_ca, server_ssl_context


@dataclass
class SalesforceSandbox:
    app: SalesforceApp
    server: SandboxServer
    control: SandboxControl
    info: dict
    state_dir: Path

    def session(self) -> requests.Session:
        s = requests.Session()
        s.trust_env = False  # a CI's REQUESTS_CA_BUNDLE must not override the sandbox CA
        s.verify = self.info["ca_bundle"]
        return s

    def login(self) -> str:
        resp = self.session().post(
            self.info["token_url"],
            data={"grant_type": "client_credentials"},
            auth=(self.info["consumer_key"], self.info["consumer_secret"]),
            timeout=10,
        )
        resp.raise_for_status()
        return resp.json()["access_token"]

    def client(self, token: str | None = None) -> Salesforce:
        return Salesforce(
            instance_url=self.info["instance_url"],
            session_id=token or self.login(),
            session=self.session(),
            version="59.0",
        )


def start(state_dir: Path, clock: SandboxClock | None = None) -> tuple[SalesforceApp, SandboxServer]:
    app = SalesforceApp(state_dir, clock=clock or SandboxClock())
    app.reset() if app.is_empty() else None
    server = SandboxServer(app, ssl_context=server_ssl_context(ensure_local_ca(state_dir / "tls"))).start()
    app.bind(server.url)
    return app, server


@pytest.fixture
def sf_sandbox(tmp_path: Path) -> Iterator[SalesforceSandbox]:
    clock = SandboxClock()
    clock.freeze()
    app, server = start(tmp_path / "sf", clock)
    info = app.info()
    try:
        yield SalesforceSandbox(
            app, server, SandboxControl(server.url, verify=info["ca_bundle"]), info, tmp_path / "sf"
        )
    finally:
        server.stop()


@pytest.fixture
def sf(sf_sandbox: SalesforceSandbox) -> Salesforce:
    return sf_sandbox.client()
