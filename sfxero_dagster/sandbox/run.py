"""Start both emulators with one shared clock and a seed org: ``sfxero sandbox up`` and the tests use this.

The handle's :meth:`SandboxHandle.info` is everything a client needs (URLs, credentials, CA bundle,
tenant ids), printed by the CLI as one JSON line so scripts can read it.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sfxero_dagster.sandbox.clock import SandboxClock
from sfxero_dagster.sandbox.httpbase import SandboxServer
from sfxero_dagster.sandbox.salesforce.app import SalesforceApp
from sfxero_dagster.sandbox.tls import ensure_local_ca, server_ssl_context
from sfxero_dagster.sandbox.xero.app import XeroApp


@dataclass
class SandboxHandle:
    clock: SandboxClock
    xero: XeroApp
    salesforce: SalesforceApp
    xero_server: SandboxServer
    salesforce_server: SandboxServer
    state_dir: Path

    def info(self) -> dict[str, Any]:
        return {
            "state_dir": str(self.state_dir),
            "xero": self.xero.info(),
            "salesforce": self.salesforce.info(),
        }

    def stop(self) -> None:
        for server in (self.xero_server, self.salesforce_server):
            server.stop()

    def __enter__(self) -> SandboxHandle:
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()


def start_sandbox(
    state_dir: str | Path,
    *,
    scale: str | None = "small",
    seed: int = 7,
    xero_port: int = 0,
    salesforce_port: int = 0,
    reset: bool = False,
    clock: SandboxClock | None = None,
) -> SandboxHandle:
    """Start both emulators on 127.0.0.1; seed them when their state is empty (or ``reset``)."""
    state = Path(state_dir)
    clock = clock or SandboxClock()
    xero = XeroApp(state / "xero", clock=clock)
    salesforce = SalesforceApp(state / "salesforce", clock=clock)
    if reset:
        xero.reset()
        salesforce.reset()
    if scale and (reset or xero.is_empty() or salesforce.is_empty()):
        from sfxero_dagster.sandbox.seed import generate

        data = generate(scale, seed)
        xero.reset()
        salesforce.reset()
        xero.load_seed(data.xero)
        salesforce.load_seed(data.salesforce)
    xero_server = SandboxServer(xero, port=xero_port).start()
    tls = ensure_local_ca(state / "salesforce" / "tls")
    sf_server = SandboxServer(salesforce, port=salesforce_port, ssl_context=server_ssl_context(tls)).start()
    xero.bind(xero_server.url)
    salesforce.bind(sf_server.url)
    return SandboxHandle(clock, xero, salesforce, xero_server, sf_server, state)
