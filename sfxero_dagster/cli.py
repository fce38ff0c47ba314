"""The ``sfxero`` command line: config checks, the sandbox, the demo, push plans (later: queue)."""

from __future__ import annotations

import json
import sys

import click

from sfxero_dagster.config import ConfigError


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
    """Validate PATH (default: $SFXERO_CONFIG, else the $SFXERO_ENV environment's file) and print a summary."""
    from sfxero_dagster.config import load_settings

    try:
        cfg = load_settings(path).config
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
@click.option("--serve/--no-serve", default=True, show_default=True, help="Serve the Dagster UI afterwards.")
@click.option("--host", default="127.0.0.1", show_default=True, help="Where the UI listens.")
@click.option("--port", default=3000, show_default=True, type=int, help="UI port; 0 picks a free one.")
def demo(state_dir: str, serve: bool, host: str, port: int) -> None:
    """Start the sandbox, run one full sync cycle on it, print a summary, then serve the Dagster UI."""
    from sfxero_dagster.demo import run_demo

    run_demo(state_dir, serve=serve, host=host, port=port)


@main.command()
@click.option("--tenant", help="Only this tenant key.")
@click.option("--show", default=20, show_default=True, help="How many planned writes to list.")
def plan(tenant: str | None, show: int) -> None:
    """What a push would create, update, void, skip or queue, from the last staged data. Writes nothing."""
    from sfxero_dagster.store.ledger import Ledger
    from sfxero_dagster.store.warehouse import Warehouse
    from sfxero_dagster.sync.plan import plan_frame

    settings = _settings()
    frame = plan_frame(settings.config, Warehouse(settings.warehouse_path), Ledger(settings.ledger_path))
    if tenant:
        frame = frame.loc[frame["tenant"] == tenant]
    counts = frame.groupby(["tenant", "collection", "action"]).size().rename("records").reset_index()
    click.echo(counts.to_string(index=False) if len(counts) else "nothing to push")
    writes = frame.loc[frame["action"] != "skip"]
    if len(writes) and show:
        click.echo("")
        click.echo(writes.head(show).to_string(index=False))


@main.group()
def queue() -> None:
    """The review queue: records that need a person, with the reason and a hint."""


def _settings():
    """This process's configuration ($SFXERO_ENV, $SFXERO_CONFIG), parsed once; a bad file exits with 2."""
    from sfxero_dagster.config import load_settings

    try:
        return load_settings()
    except ConfigError as exc:
        click.echo(str(exc), err=True)
        sys.exit(2)


@queue.command("list")
@click.option("--state", default="open", type=click.Choice(["open", "resolved", "ignored", "all"]))
@click.option("--reason", help="Only this reason code.")
@click.option("--record", help="Only this Salesforce record Id.")
def queue_list(state: str, reason: str | None, record: str | None) -> None:
    """Items, one per line: id, reason, record, field and value."""
    from sfxero_dagster.queue_ops import open_ledger

    items = open_ledger(_settings()).queue_list(
        state=None if state == "all" else state, reason_code=reason, sf_id=record
    )
    for i in items:
        click.echo(
            f"{i.item_id:6d}  {i.state:8s}  {i.reason_code:28s}  {i.sf_object:12s} {i.sf_id}  {i.field or ''}={i.value or ''}"
        )
    click.echo(f"{len(items)} item(s)")


@queue.command("show")
@click.argument("item_id", type=int)
def queue_show(item_id: int) -> None:
    """One item in full, with the hint a person can act on."""
    from sfxero_dagster.queue_ops import describe, open_ledger

    item = open_ledger(_settings()).queue_get(item_id)
    if item is None:
        click.echo(f"no review item {item_id}", err=True)
        sys.exit(2)
    click.echo(describe(item))


@queue.command("ignore")
@click.argument("item_id", type=int)
@click.option("--note", required=True, help="Why it is fine to leave this record out of the sync.")
def queue_ignore(item_id: int, note: str) -> None:
    """Stop showing an item (it stays ignored if the record fails again for the same reason)."""
    from sfxero_dagster.queue_ops import open_ledger

    try:
        changed = open_ledger(_settings()).queue_ignore(item_id, note)
    except ValueError as exc:
        click.echo(str(exc), err=True)
        sys.exit(2)
    click.echo(f"item {item_id} ignored" if changed else f"item {item_id} was not open")


@queue.command("retry")
@click.option("--reason", help="Only report on this reason code.")
@click.option("--record", help="Only report on this Salesforce record Id.")
def queue_retry(reason: str | None, record: str | None) -> None:
    """Re-read today's Salesforce changes, re-validate, re-match and re-send; report what resolved."""
    from sfxero_dagster.queue_ops import open_ledger, reprocess

    settings = _settings()
    ledger = open_ledger(settings)
    before = {i.item_id: i for i in ledger.queue_list(reason_code=reason, sf_id=record)}
    runs = reprocess(settings)
    still = {i.item_id for i in ledger.queue_list(reason_code=reason, sf_id=record)}
    resolved = [i for k, i in before.items() if k not in still]
    for i in resolved:
        click.echo(f"resolved  {i.item_id}  {i.reason_code}  {i.sf_object} {i.sf_id}")
    click.echo(f"{len(resolved)} resolved, {len(still)} still open (runs {', '.join(r[:8] for r in runs)})")


@main.group()
def xero() -> None:
    """Xero connection set-up."""


@xero.command("bootstrap")
@click.option("--env-var", default="XERO_REFRESH_TOKEN", show_default=True)
def xero_bootstrap(env_var: str) -> None:
    """Store the refresh token of the first OAuth consent (read from an environment variable, never an
    argument, so it stays out of shell history), then check it by refreshing once. Later tokens rotate
    into the token store by themselves."""
    import os

    from sfxero_dagster.defs.resources import XeroResource

    token = os.environ.get(env_var)
    missing = [v for v in (env_var, "XERO_CLIENT_ID", "XERO_CLIENT_SECRET") if not os.environ.get(v)]
    if missing:
        click.echo(f"set {', '.join(missing)} first", err=True)
        sys.exit(2)
    settings = _settings()
    manager = XeroResource(
        connection=settings.config.xero,
        client_id=os.environ["XERO_CLIENT_ID"],
        client_secret=os.environ["XERO_CLIENT_SECRET"],
    ).token_manager()
    manager.bootstrap(token)
    manager.access_token()  # one refresh: proves the consent, rotates the token into the store
    click.echo(f"Xero token stored in {settings.token_store} (mode 0600); it rotates on every refresh")


if __name__ == "__main__":  # pragma: no cover
    main()
