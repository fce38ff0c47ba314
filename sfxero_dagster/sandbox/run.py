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

    def client_environment(self) -> dict[str, str]:
        """The variables production reads its secrets from, filled with this sandbox's credentials."""
        x, sf = self.xero.info(), self.salesforce.info()
        return {
            "XERO_CLIENT_ID": x["client_id"],
            "XERO_CLIENT_SECRET": x["client_secret"],
            "SF_CONSUMER_KEY": sf["consumer_key"],
            "SF_CONSUMER_SECRET": sf["consumer_secret"],
            "SF_USERNAME": sf["username"],
            "SF_PASSWORD": sf["password"],
            "SF_SECURITY_TOKEN": sf["security_token"],
            "SF_JWT_PRIVATE_KEY_FILE": sf["jwt_private_key"],
        }

    def write_client_config(self, template: str | Path, out: str | Path, state_dir: str | Path) -> Path:
        """A copy of ``template`` (an sfxero.yaml) pointed at this sandbox's ports, CA and ``state_dir``.

        Only URLs, the CA bundle and the state directory change: that is all that differs between
        sandbox and production.
        """
        import yaml

        cfg = yaml.safe_load(Path(template).read_text())
        x, sf = self.xero.info(), self.salesforce.info()
        cfg.setdefault("salesforce", {}).update(
            login_url=sf["login_url"], instance_url=sf["instance_url"], ca_bundle=sf["ca_bundle"]
        )
        cfg["xero"].update(
            base_url=x["base_url"],
            identity_url=x["identity_url"],
            token_url=x["token_url"],
            token_store=str(Path(state_dir) / "xero_token.json"),
        )
        cfg.setdefault("storage", {})["state_dir"] = str(state_dir)
        path = Path(out)
        path.write_text(yaml.safe_dump(cfg, sort_keys=False, allow_unicode=True))
        return path

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
    scale: str = "small",
    seed: int = 7,
    xero_seed: dict[str, Any] | None = None,
    xero_port: int = 0,
    salesforce_port: int = 0,
    host: str = "127.0.0.1",
    reset: bool = False,
    clock: SandboxClock | None = None,
) -> SandboxHandle:
    """Start the emulators on loopback; seed both from the generator when empty (or on ``reset``).

    ``xero_seed`` replaces the generated Xero side (tenants, contacts, items), e.g. from ``--seed-file``.
    """
    state = Path(state_dir)
    clock = clock or SandboxClock()
    xero = XeroApp(state / "xero", clock=clock)
    salesforce = SalesforceApp(state / "salesforce", clock=clock)
    seeded = reset or xero.is_empty() or salesforce.is_empty()
    if seeded:
        from sfxero_dagster.sandbox.seed import generate

        data = generate(scale, seed)
        xero.reset()
        xero.load_seed(xero_seed or data.xero)
        salesforce.reset()
        salesforce.load_seed(data.salesforce)
    xero_server = SandboxServer(xero, host=host, port=xero_port).start()
    xero.bind(xero_server.url)
    tls = server_ssl_context(ensure_local_ca(state / "salesforce" / "tls"))
    sf_server = SandboxServer(salesforce, host=host, port=salesforce_port, ssl_context=tls).start()
    salesforce.bind(sf_server.url)
    return SandboxHandle(
        clock, xero, xero_server, salesforce, sf_server, state, [xero_server, sf_server], seeded
    )
