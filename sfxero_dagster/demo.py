"""``make demo``: start the sandbox with the seed org and run the sync stages that exist against it.

Today that is extract (all history, one run) -> Xero reference snapshots -> stage and validate ->
match contacts -> push contacts and invoices -> write Xero ids back, materialised by Dagster into the
instance under ``DAGSTER_HOME`` (so the runs show in the UI), followed by a summary: counts per stage,
the review queue by reason and the API calls used. The payment sensor arrives with a later issue; the
demo says so rather than pretending.
"""

from __future__ import annotations

import logging
import os
from pathlib import Path
from urllib.parse import urlsplit

import click
import dagster as dg

from sfxero_dagster.clients.xero_tokens import FileTokenStore
from sfxero_dagster.config import load_config

NOT_BUILT = [
    "simulated payments with a sensor tick, and serving the UI afterwards (issue #8)",
]


QUIET = {"loggers": {"console": {"config": {"log_level": "WARNING"}}}}


def _instance() -> dg.DagsterInstance:
    return dg.DagsterInstance.get() if os.environ.get("DAGSTER_HOME") else dg.DagsterInstance.ephemeral()


def run_demo(state_dir: str = ".sandbox_state", config_path: str | None = None) -> dict:
    from sfxero_dagster.definitions import domain_defs
    from sfxero_dagster.defs.partitions import daily_partitions
    from sfxero_dagster.defs.resources import _config_file, build_resources, token_store_path
    from sfxero_dagster.sandbox.run import start_sandbox

    path = config_path or _config_file()
    cfg = load_config(path)
    base = Path(path).resolve().parent
    click.echo(f"Configuration OK: Xero tenants {', '.join(t.key for t in cfg.xero.tenants)}")
    handle = start_sandbox(
        state_dir,
        xero_port=urlsplit(cfg.xero.base_url).port or 0,
        salesforce_port=urlsplit(cfg.salesforce.login_url).port or 0,
    )
    summary: dict = {}
    try:
        click.echo(
            f"Sandbox: Xero {handle.xero.info()['base_url']}, Salesforce {handle.salesforce.info()['instance_url']}"
        )
        # What production reads from the environment, the sandbox hands out.
        for key, value in handle.client_environment().items():
            os.environ.setdefault(key, value)
        store = FileTokenStore(token_store_path(path))
        if store.load() is None or handle.seeded:
            # The first consent (in production a browser step); a freshly seeded sandbox needs it again.
            store.save({"refresh_token": handle.xero.info()["refresh_token"], "expires_at": 0})

        logging.getLogger("dagster").setLevel(logging.WARNING)  # step-by-step events are in the UI
        assets = [a for d in domain_defs(cfg) for a in d.assets or []]
        resources = build_resources(config_path=path)
        instance = _instance()
        keys = daily_partitions(cfg).get_partition_keys()
        stages = [
            (
                "extract Salesforce history (one run)",
                dg.AssetSelection.groups("salesforce_extract"),
                {
                    "dagster/asset_partition_range_start": keys[0],
                    "dagster/asset_partition_range_end": keys[-1],
                },
            ),
            ("snapshot Xero reference data", dg.AssetSelection.groups("xero_reference"), {}),
            ("stage, validate and match", dg.AssetSelection.groups("staging", "matching"), {}),
            ("push contacts and invoices to Xero", dg.AssetSelection.groups("push"), {}),
            (
                "write Xero ids, invoice and payment status back to Salesforce, reconcile",
                dg.AssetSelection.groups("writeback"),
                {},
            ),
        ]
        metadata: dict[str, dict] = {}
        for title, selection, tags in stages:
            result = dg.materialize(
                assets,
                selection=selection,
                resources=resources,
                instance=instance,
                tags=tags,
                run_config=QUIET,  # step-by-step events are in the UI; the console gets the summary
            )
            for event in result.get_asset_materialization_events():
                m = event.materialization
                metadata[m.asset_key.to_user_string()] = {k: v.value for k, v in m.metadata.items()}
            click.echo(f"  ok  {title} (run {result.run_id[:8]})")

        from sfxero_dagster.core.ledger import Ledger

        ledger = Ledger(cfg.storage.path(cfg.storage.ledger, base))
        # a range run records one materialisation per partition, all with the run's metadata
        read = {k.split("/", 1)[1]: v["rows_read"] for k, v in metadata.items() if "rows_read" in v}
        summary = {
            "salesforce_rows": read,
            "staged": {
                k: metadata[k]["rows"] for k in ("stg_customers", "stg_invoice_headers", "stg_invoice_lines")
            },
            "valid_invoices": metadata["valid_invoices"]["rows"],
            "valid_customers": metadata["valid_customers"]["rows"],
            "matches": {
                k.removeprefix("action_"): v
                for k, v in metadata["contact_matches"].items()
                if k.startswith("action_")
            },
            "queue": ledger.queue_counts(),
            "pushed": {
                t.key: {
                    k: metadata[f"xero/{t.key}/invoices"][k]
                    for k in ("created", "updated", "voided", "skipped", "queued", "failed")
                }
                | {"contacts_created": metadata[f"xero/{t.key}/contacts"]["created"]}
                for t in cfg.xero.tenants
            },
            "written_back": metadata["salesforce/xero_ids"]["written"],
            "status_written": sum(
                metadata[f"salesforce/{t.key}/invoice_status"]["invoices_written"] for t in cfg.xero.tenants
            ),
            "reconciliation_mismatches": metadata["reconciliation"]["mismatches"],
            "xero_api_calls": sum(
                metadata[f"xero/{t.key}/{a}"]["xero_api_calls"]
                for t in cfg.xero.tenants
                for a in ("reference", "contacts", "invoices")
            )
            + metadata["salesforce/xero_ids"]["xero_api_calls"]
            + sum(metadata[f"salesforce/{t.key}/invoice_status"]["xero_api_calls"] for t in cfg.xero.tenants),
            "not_built": NOT_BUILT,
        }
    finally:
        handle.stop()
    _print(summary)
    return summary


def _print(s: dict) -> None:
    click.echo("\nSummary")
    click.echo("  Salesforce rows read: " + ", ".join(f"{k} {v}" for k, v in s["salesforce_rows"].items()))
    click.echo("  staged: " + ", ".join(f"{k.removeprefix('stg_')} {v}" for k, v in s["staged"].items()))
    click.echo(f"  valid: {s['valid_customers']} customers, {s['valid_invoices']} invoices")
    click.echo("  contact matches: " + ", ".join(f"{k} {v}" for k, v in sorted(s["matches"].items())))
    click.echo(f"  review queue ({sum(s['queue'].values())} open):")
    for reason, n in sorted(s["queue"].items(), key=lambda kv: -kv[1]):
        click.echo(f"    {n:4d}  {reason}")
    for tenant, p in s["pushed"].items():
        click.echo(
            f"  Xero {tenant}: {p['contacts_created']} contacts created; invoices {p['created']} created, "
            f"{p['updated']} updated, {p['voided']} voided, {p['skipped']} unchanged, {p['queued']} waiting, "
            f"{p['failed']} rejected"
        )
    click.echo(f"  Salesforce records given their Xero ids: {s['written_back']}")
    click.echo(f"  Xero_Invoice__c records written: {s['status_written']}")
    click.echo(f"  reconciliation mismatches: {s['reconciliation_mismatches']}")
    click.echo(f"  Xero API calls used: {s['xero_api_calls']}")
    click.echo("Not built yet:")
    for item in s["not_built"]:
        click.echo(f"  - {item}")
