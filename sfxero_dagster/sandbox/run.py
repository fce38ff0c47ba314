"""Start the emulators with one shared clock and a seed: ``sfxero sandbox up``, the demo and tests use this.

:meth:`SandboxHandle.info` is everything a client needs (URLs, credentials, tenant ids), printed by the
CLI as one JSON line so scripts can read it. The Salesforce emulator is served over TLS with a local CA.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from sfxero_dagster.sandbox.clock import SandboxClock
from sfxero_dagster.sandbox.httpbase import SandboxServer
from sfxero_dagster.sandbox.salesforce.app import SalesforceApp
from sfxero_dagster.sandbox.tls import ensure_local_ca, server_ssl_context
from sfxero_dagster.sandbox.xero.app import XeroApp

# The demo organisations: fixed tenant ids so the shipped sfxero.yaml points at them.
DEMO_XERO_SEED: dict[str, Any] = {
    "tenants": [
        {
            "key": "au",
            "name": "Acme Pty Ltd",
            "region": "AU",
            "base_currency": "AUD",
            "currencies": ["AUD", "USD", "NZD"],
            "tenant_id": "5a1b2c3d-0000-4000-8000-0000000000a1",
        },
        {
            "key": "uk",
            "name": "Acme UK Ltd",
            "region": "UK",
            "base_currency": "GBP",
            "currencies": ["GBP", "USD", "EUR"],
            "tenant_id": "5a1b2c3d-0000-4000-8000-0000000000b2",
        },
    ],
}


@dataclass
class SandboxHandle:
    clock: SandboxClock
    xero: XeroApp
    xero_server: SandboxServer
    salesforce: SalesforceApp
    salesforce_server: SandboxServer
    state_dir: Path
    servers: list[SandboxServer] = field(default_factory=list)
    seeded: bool = False  # True when this start created a fresh state (clients must consent again)

    def info(self) -> dict[str, Any]:
        return {
            "state_dir": str(self.state_dir),
            "clock": self.clock.state(),
            "xero": self.xero.info(),
            "salesforce": self.salesforce.info(),
        }

    def stop(self) -> None:
        for server in self.servers:
            server.stop()

    def __enter__(self) -> SandboxHandle:
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()


def start_sandbox(
    state_dir: str | Path,
    *,
    xero_seed: dict[str, Any] | None = None,
    xero_port: int = 0,
    salesforce_port: int = 0,
    host: str = "127.0.0.1",
    reset: bool = False,
    clock: SandboxClock | None = None,
) -> SandboxHandle:
    """Start the emulators on loopback; seed them when their state is empty (or on ``reset``)."""
    state = Path(state_dir)
    clock = clock or SandboxClock()
    xero = XeroApp(state / "xero", clock=clock)
    seeded = reset or xero.is_empty()
    if seeded:
        xero.reset()
        xero.load_seed(xero_seed or DEMO_XERO_SEED)
    salesforce = SalesforceApp(state / "salesforce", clock=clock)
    if reset or salesforce.is_empty():
        salesforce.reset()
        seeded = True
    xero_server = SandboxServer(xero, host=host, port=xero_port).start()
    xero.bind(xero_server.url)
    tls = server_ssl_context(ensure_local_ca(state / "salesforce" / "tls"))
    sf_server = SandboxServer(salesforce, host=host, port=salesforce_port, ssl_context=tls).start()
    salesforce.bind(sf_server.url)
    return SandboxHandle(
        clock, xero, xero_server, salesforce, sf_server, state, [xero_server, sf_server], seeded
    )
