"""``make demo``: start the sandbox with the seed org, run one full sync cycle on it, then serve the UI.

The cycle: extract all history (one run) -> Xero reference snapshots -> stage and validate -> match
contacts -> push contacts and invoices -> write Xero ids back -> customers pay in Xero (the sandbox plays
the accountant: full and part payments, a void, a credit note) -> the payment sensor's tick requests the
status write-back -> reconciliation. Everything is materialised by Dagster into the instance under
``DAGSTER_HOME``, so the runs show in the UI, and the console gets a summary (counts per stage, the
review queue by reason, API calls used). Then ``dagster dev`` serves the UI against the still-running
sandbox; Ctrl-C stops the UI, its daemon and code servers, and the sandbox, and checks none is left.
"""

from __future__ import annotations

import logging
import os
import random
import signal
import socket
import subprocess
import sys
import time
from decimal import Decimal
from pathlib import Path
from urllib.parse import urlsplit

import click
import dagster as dg

from sfxero_dagster.clients.xero_tokens import FileTokenStore
from sfxero_dagster.config import load_settings
from sfxero_dagster.runner import (
    EXTRACT,
    IDS,
    PUSH,
    QUEUE,
    RECONCILE,
    REFERENCE,
    STAGE,
    Runner,
    history_tags,
    keys,
)


class _Stages:
    """Runs one stage at a time (the cycle's :class:`~sfxero_dagster.runner.Runner`) and keeps every
    asset's latest metadata for the summary."""

    def __init__(self, runner: Runner) -> None:
        self.runner = runner
        self.resources, self.instance = runner.resources, runner.instance
        self.metadata: dict[str, dict] = {}

    def run(
        self, title: str, selection: dg.AssetSelection, tags: dict | None = None
    ) -> dg.ExecuteInProcessResult:
        started = time.monotonic()
        result = self.runner.run(selection, tags=tags)
        self.record(result)
        click.echo(f"  ok  {title} (run {result.run_id[:8]}, {time.monotonic() - started:.1f} s)")
        return result

    def record(self, result: dg.ExecuteInProcessResult) -> None:
        for event in result.get_asset_materialization_events():
            m = event.materialization
            self.metadata[m.asset_key.to_user_string()] = {k: v.value for k, v in m.metadata.items()}


def sensor_tick(
    defs: dg.Definitions,
    stages: _Stages,
    tenant_key: str,
    cursor: str | None,
) -> tuple[str | None, str | None]:
    """One evaluation of the tenant's payment sensor, and the run it requests, as the daemon would do it.

    Returns the new cursor and the requested run's key (None when the sensor saw nothing new).
    """
    sensor = defs.resolve_sensor_def(f"xero_{tenant_key}_payment_status")
    with dg.build_sensor_context(instance=stages.instance, cursor=cursor, resources=stages.resources) as ctx:
        result = sensor(ctx)
        cursor = ctx.cursor
    if not isinstance(result, dg.RunRequest):
        return cursor, None
    stages.run(
        f"sensor xero_{tenant_key}_payment_status requested the status write-back",
        keys(f"salesforce/{tenant_key}/invoice_status"),
        tags={"dagster/run_key": result.run_key, **result.tags},
    )
    return cursor, result.run_key


def simulate_payments(handle, tenants: dict[str, str], links, seed: int = 7) -> dict[str, int]:
    """What customers and the accountant do in Xero after the push: pay in full, pay part, void, credit.

    Done through the sandbox's user actions, which go through the same logic as the Xero API.
    """
    rng = random.Random(seed)
    counts = {"paid": 0, "partially_paid": 0, "voided": 0, "credited": 0}
    for tid in tenants.values():
        ids = sorted(links.loc[links["tenant_id"] == tid, "xero_id"].dropna())
        for xero_id in ids:
            inv = handle.xero.store.get(f"{tid}/Invoice", xero_id)
            untouched = (
                inv
                and inv.get("Status") == "AUTHORISED"
                and not any(Decimal(str(inv.get(k) or 0)) for k in ("AmountPaid", "AmountCredited"))
            )
            if not untouched:  # e.g. paid in an earlier demo on the same sandbox state
                continue
            due = Decimal(str(inv["AmountDue"]))
            roll = rng.random()
            if roll < 0.35:
                handle.xero.act("pay", tenant_id=tid, invoice=xero_id)
                counts["paid"] += 1
            elif roll < 0.50:
                part = (due / 2).quantize(Decimal("0.01"))
                handle.xero.act("pay", tenant_id=tid, invoice=xero_id, amount=str(part))
                counts["partially_paid"] += 1
            elif roll < 0.54:
                handle.xero.act("void", tenant_id=tid, invoice=xero_id)
                counts["voided"] += 1
            elif roll < 0.58:
                credit, line = (due / 4).quantize(Decimal("0.01")), inv["LineItems"][0]
                handle.xero.act(
                    "credit",
                    tenant_id=tid,
                    invoice=xero_id,
                    amount=str(credit),
                    credit_note={
                        "Contact": {"ContactID": inv["Contact"]["ContactID"]},
                        "CurrencyCode": inv.get("CurrencyCode"),
                        "LineAmountTypes": "Inclusive",  # the note's total is the credit
                        "LineItems": [
                            {
                                "Description": "Goodwill credit",
                                "Quantity": 1,
                                "UnitAmount": str(credit),
                                "AccountCode": line.get("AccountCode"),
                                "TaxType": line.get("TaxType"),
                            }
                        ],
                    },
                )
                counts["credited"] += 1
    return counts


def run_demo(
    state_dir: str = ".sandbox_state",
    config_path: str | None = None,
    *,
    serve: bool = True,
    host: str = "127.0.0.1",
    port: int = 3000,
) -> dict:
    from sfxero_dagster.definitions import build_definitions
    from sfxero_dagster.defs.partitions import daily_partitions
    from sfxero_dagster.sandbox.run import start_sandbox
    from sfxero_dagster.store.ledger import Ledger

    settings = load_settings(config_path, "sandbox")  # the demo runs against the sandbox, whatever SFXERO_ENV
    cfg, path = settings.config, str(settings.source)
    click.echo(f"Configuration OK: Xero tenants {', '.join(t.key for t in cfg.xero.tenants)}")
    handle = start_sandbox(
        state_dir,
        xero_port=urlsplit(cfg.xero.base_url).port or 0,
        salesforce_port=urlsplit(cfg.salesforce.login_url).port or 0,
    )
    try:
        click.echo(
            f"Sandbox: Xero {handle.xero.info()['base_url']}, Salesforce {handle.salesforce.info()['instance_url']}"
        )
        # What production reads from the environment, the sandbox hands out.
        for key, value in handle.client_environment().items():
            os.environ.setdefault(key, value)
        store = FileTokenStore(settings.token_store)
        if store.load() is None or handle.seeded:
            # The first consent (in production a browser step); a freshly seeded sandbox needs it again.
            store.save({"refresh_token": handle.xero.info()["refresh_token"], "expires_at": 0})

        logging.getLogger("dagster").setLevel(logging.WARNING)  # step-by-step events are in the UI
        defs = build_definitions(settings=settings)
        stages = _Stages(
            Runner(settings, quiet=True)
        )  # step events are in the UI; the console gets a summary
        keys = daily_partitions(cfg).get_partition_keys()
        stages.run(
            f"extract Salesforce history, {len(keys)} daily partitions in one run",
            EXTRACT,
            history_tags(cfg),
        )
        stages.run("snapshot Xero reference data", REFERENCE)
        stages.run("stage, validate and match", STAGE)
        stages.run("push contacts and invoices to Xero", PUSH)
        stages.run("write Xero ids back to Salesforce", IDS)

        tenants = {t.key: t.tenant_id for t in cfg.xero.tenants}
        cursors: dict[str, str | None] = {}
        for key in tenants:  # the first tick writes every pushed invoice's status
            cursors[key], _ = sensor_tick(defs, stages, key, None)
        first_status = _status_totals(stages, tenants)

        ledger = Ledger(settings.ledger_path)
        handle.clock.advance(120)  # a couple of minutes later, customers start paying
        payments = simulate_payments(handle, tenants, ledger.links_frame(xero_object="Invoices"))
        click.echo(
            "  ok  in Xero: "
            + ", ".join(f"{n} {k.replace('_', ' ')}" for k, n in payments.items())
            + " (simulated customers and accountant)"
        )
        handle.clock.advance(120)  # the sensor's next tick
        ticks = {}
        for key in tenants:
            cursors[key], ticks[key] = sensor_tick(defs, stages, key, cursors[key])
        second_status = _status_totals(stages, tenants)
        stages.run(
            "reconcile Xero against Salesforce; list the review queue",
            RECONCILE | QUEUE,
        )

        metadata = stages.metadata
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
            "payments_simulated": payments,
            "sensor_runs": {k: v is not None for k, v in ticks.items()},
            "status_first_tick": first_status,
            "status_after_payments": second_status,
            "salesforce_status": _salesforce_statuses(stages.resources["salesforce"]),
            "reconciliation_mismatches": metadata["reconciliation"]["mismatches"],
            "xero_api_calls": sum(
                v.get("xero_api_calls", 0)
                for v in metadata.values()
                if isinstance(v.get("xero_api_calls"), int)
            ),
        }
        _print(summary)
        if serve:
            serve_ui(host, port, path)
    finally:
        handle.stop()
    return summary


def _status_totals(stages: _Stages, tenants: dict[str, str]) -> dict[str, int]:
    """Invoices and payments the latest status write-back runs wrote, over all tenants."""
    out = {"invoices_written": 0, "payments_written": 0}
    for key in tenants:
        meta = stages.metadata.get(f"salesforce/{key}/invoice_status", {})
        for k in out:
            out[k] += int(meta.get(k, 0))
    return out


def _salesforce_statuses(resource) -> dict[str, int]:
    """What Salesforce now shows: Xero_Invoice__c records by status (read back, not taken from our logs)."""
    from collections import Counter

    with resource.process_config_and_initialize_cm() as initialised:  # resolves the EnvVar secrets
        client = initialised.client()
        client.progress_log = None  # a one-page read; the console shows the summary only
        return dict(Counter(r["Status__c"] for r in client.query("SELECT Status__c FROM Xero_Invoice__c")))


def serve_ui(host: str, port: int, config_path: str) -> None:
    """``dagster dev`` against the running sandbox, until Ctrl-C; then stop it and everything it started.

    dagster dev runs in its own session (process group), so the terminal's Ctrl-C reaches only us; we
    forward it, wait for the webserver, daemon and code servers to exit, and kill what is left.
    """
    import shutil

    if port == 0:
        with socket.socket() as s:
            s.bind((host, 0))
            port = s.getsockname()[1]
    dagster = shutil.which("dagster", path=str(Path(sys.executable).parent)) or "dagster"
    target = (
        ["-w", "workspace.yaml"] if Path("workspace.yaml").exists() else ["-m", "sfxero_dagster.definitions"]
    )
    env = {**os.environ, "SFXERO_CONFIG": str(Path(config_path).resolve()), "SFXERO_ENV": "sandbox"}
    proc = subprocess.Popen(
        [dagster, "dev", *target, "-h", host, "-p", str(port)],
        env=env,
        start_new_session=True,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    url = f"http://{host}:{port}"
    try:
        _wait_for(url + "/server_info", proc)
        click.echo(f"\nDagster UI: {url}  (runs above are under Runs; the sandbox keeps running)")
        click.echo("Press Ctrl-C to stop the UI and the sandbox.", nl=True)
        sys.stdout.flush()
        proc.wait()
    except KeyboardInterrupt:
        pass
    finally:
        signal.signal(signal.SIGINT, signal.SIG_IGN)  # a second Ctrl-C must not cut the clean-up short
        stop_group(proc)
        click.echo("Stopped the Dagster UI, its daemon and code servers, and the sandbox.")


def _wait_for(url: str, proc: subprocess.Popen, timeout: float = 180) -> None:
    import urllib.request

    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise click.ClickException(f"dagster dev exited with {proc.returncode} before serving {url}")
        try:
            with urllib.request.urlopen(url, timeout=2) as r:
                if r.status == 200:
                    return
        except OSError:
            time.sleep(0.5)
    raise click.ClickException(f"the Dagster UI did not answer at {url} within {timeout:.0f} s")


def stop_group(proc: subprocess.Popen, grace: float = 30) -> None:
    """SIGINT to the whole process group (dagster dev shuts its children down), then SIGKILL what remains.

    Returns only when no process of the group is left.
    """
    pgid = proc.pid
    for sig, wait in ((signal.SIGINT, grace), (signal.SIGTERM, 10), (signal.SIGKILL, 10)):
        try:
            os.killpg(pgid, sig)
        except ProcessLookupError:
            break
        deadline = time.monotonic() + wait
        while time.monotonic() < deadline:
            proc.poll()
            try:
                os.killpg(pgid, 0)
            except ProcessLookupError:
                proc.poll()
                return
            time.sleep(0.2)
    proc.poll()


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
    click.echo(
        "  payments in Xero: "
        + ", ".join(f"{n} {k.replace('_', ' ')}" for k, n in s["payments_simulated"].items())
    )
    f, a = s["status_first_tick"], s["status_after_payments"]
    click.echo(
        f"  payment sensor: first tick wrote {f['invoices_written']} invoices; after the payments one tick per "
        f"organisation wrote {a['invoices_written']} invoices and {a['payments_written']} payments"
    )
    click.echo(
        "  Salesforce Xero_Invoice__c by status: "
        + ", ".join(f"{k} {v}" for k, v in sorted(s["salesforce_status"].items(), key=lambda kv: -kv[1]))
    )
    click.echo(f"  reconciliation mismatches: {s['reconciliation_mismatches']}")
    click.echo(f"  Xero API calls used: {s['xero_api_calls']}")
