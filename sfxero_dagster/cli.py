"""The ``sfxero`` command line: config checks, the sandbox, the demo, push plans (later: queue)."""

from __future__ import annotations

import json
import sys

import click

from sfxero_dagster.config import ConfigError, load_config


@click.group()
@click.version_option(package_name="sfxero_dagster")
def main() -> None:
    """Keep Salesforce and Xero in sync with Dagster."""


@main.group()
def config() -> None:
    """Inspect the configuration file."""


@config.command("check")
@click.argument("path", required=False)
def config_check(path: str | None) -> None:
    """Validate PATH (default: $SFXERO_CONFIG or ./sfxero.yaml) and print a summary."""
    try:
        cfg = load_config(path)
    except ConfigError as exc:
        click.echo(str(exc), err=True)
        sys.exit(2)
    summary = {
        "tenants": [{"key": t.key, "name": t.name, "tenant_id": t.tenant_id} for t in cfg.xero.tenants],
        "routing": {"field": cfg.routing.field, "default": cfg.routing.default_tenant},
        "invoice_source": cfg.invoices.source,
        "status_on_create": cfg.invoices.status_on_create,
    }
    click.echo(json.dumps(summary, indent=2))


@main.group()
def sandbox() -> None:
    """The local Salesforce and Xero emulators."""


@sandbox.command("up")
@click.option(
    "--state-dir", default=".sandbox_state", show_default=True, help="Where the emulators keep state."
)
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--xero-port", default=18710, show_default=True, type=int, help="0 picks a free port.")
@click.option(
    "--salesforce-port", default=18711, show_default=True, type=int, help="0 picks a free port (HTTPS)."
)
@click.option("--reset", is_flag=True, help="Wipe the state and seed again.")
@click.option("--scale", type=click.Choice(["small", "medium", "large"]), default="small", show_default=True)
@click.option(
    "--seed", "seed_number", type=int, default=7, show_default=True, help="Seed of the generated org."
)
@click.option(
    "--seed-file",
    type=click.Path(exists=True, dir_okay=False),
    help="JSON for the Xero side ({'tenants': [...], 'per_tenant': {key: {contacts, items}}}) instead of the generated one.",
)
def sandbox_up(
    state_dir: str,
    host: str,
    xero_port: int,
    salesforce_port: int,
    reset: bool,
    scale: str,
    seed_number: int,
    seed_file: str | None,
) -> None:
    """Run the sandbox in the foreground; print one JSON line with everything a client needs."""
    import signal
    import threading
    from pathlib import Path

    from sfxero_dagster.sandbox.run import start_sandbox

    xero_seed = json.loads(Path(seed_file).read_text()) if seed_file else None
    handle = start_sandbox(
        state_dir,
        scale=scale,
        seed=seed_number,
        xero_seed=xero_seed,
        xero_port=xero_port,
        salesforce_port=salesforce_port,
        host=host,
        reset=reset or bool(xero_seed),
    )
    click.echo(json.dumps(handle.info()), nl=True)
    sys.stdout.flush()
    stop = threading.Event()
    for sig in (signal.SIGINT, signal.SIGTERM):
        signal.signal(sig, lambda *_: stop.set())
    stop.wait()
    handle.stop()
    click.echo("sandbox stopped", err=True)


@main.command()
@click.option("--state-dir", default=".sandbox_state", show_default=True)
def demo(state_dir: str) -> None:
    """Start the sandbox and run what exists of the sync on it (see README for what is not built yet)."""
    from sfxero_dagster.demo import run_demo

    run_demo(state_dir)


if __name__ == "__main__":  # pragma: no cover
    main()


@main.command()
@click.option("--tenant", help="Only this tenant key.")
@click.option("--show", default=20, show_default=True, help="How many planned writes to list.")
def plan(tenant: str | None, show: int) -> None:
    """What a push would create, update, void, skip or queue, from the last staged data. Writes nothing."""
    from pathlib import Path

    from sfxero_dagster.core.ledger import Ledger
    from sfxero_dagster.core.warehouse import Warehouse
    from sfxero_dagster.defs.push.assets import plan_frame
    from sfxero_dagster.defs.resources import _config_file

    path = _config_file()
    cfg = load_config(path)
    base = Path(path).resolve().parent
    frame = plan_frame(
        cfg,
        Warehouse(cfg.storage.path(cfg.storage.warehouse, base)),
        Ledger(cfg.storage.path(cfg.storage.ledger, base)),
    )
    if tenant:
        frame = frame.loc[frame["tenant"] == tenant]
    counts = frame.groupby(["tenant", "collection", "action"]).size().rename("records").reset_index()
    click.echo(counts.to_string(index=False) if len(counts) else "nothing to push")
    writes = frame.loc[frame["action"] != "skip"]
    if len(writes) and show:
        click.echo("")
        click.echo(writes.head(show).to_string(index=False))
