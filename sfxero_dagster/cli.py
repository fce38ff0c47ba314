"""The ``sfxero`` command line: config checks, the sandbox, the demo (later: plan, queue)."""

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


if __name__ == "__main__":  # pragma: no cover
    main()
