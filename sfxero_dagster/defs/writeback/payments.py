"""Invoice and payment status from Xero to Salesforce: a sensor per organisation, the write-back asset
(engine: ``sync.status``) and the nightly reconciliation (engine: ``sync.reconcile``).

The sensor only looks (If-Modified-Since on Invoices, first page) and requests a run of the write-back
asset; it never writes to Salesforce. Its cursor is JSON per tenant: ``acked`` (the newest change a
successful run has written) and ``pending`` (the window of the run it requested). ``acked`` moves only
when that run succeeded, so a failed run's changes are requested again; ``run_key`` carries the window.
"""

import json
from datetime import timedelta

import dagster as dg
import pandas as pd

from sfxero_dagster.clients.xero_api import XeroApi
from sfxero_dagster.config import SfxeroConfig, XeroTenantConfig
from sfxero_dagster.defs.resources import (
    LedgerResource,
    SalesforceResource,
    SfxeroConfigResource,
    WarehouseResource,
    XeroResource,
)
from sfxero_dagster.sync.reconcile import reconcile
from sfxero_dagster.sync.status import newest_update, write_status


def build_status_writeback(tenant: XeroTenantConfig) -> dg.AssetsDefinition:
    @dg.asset(
        name="invoice_status",
        key_prefix=["salesforce", tenant.key],
        group_name="writeback",
        # after the identity write-back: it caches the online URLs this asset writes; in the same run
        # before it, new invoices went without their URL and every rerun wrote them all again
        deps=[dg.AssetKey(["xero", tenant.key, "invoices"]), dg.AssetKey(["salesforce", "xero_ids"])],
        pool="salesforce_api",
        kinds={"salesforce", "xero"},
        description=f"Invoice and payment status of {tenant.name!r} written to Xero_Invoice__c / Xero_Payment__c.",
    )
    def invoice_status(
        context: dg.AssetExecutionContext,
        sfxero_config: SfxeroConfigResource,
        xero: XeroResource,
        salesforce: SalesforceResource,
        warehouse: WarehouseResource,
        ledger: LedgerResource,
    ) -> dg.MaterializeResult:
        r = write_status(
            tenant,
            sfxero_config.config,
            XeroApi(xero.client()),
            salesforce.client(),
            warehouse.open(),
            ledger.open(),
            context.run.run_id,
        )
        return dg.MaterializeResult(
            metadata={
                "invoices_read": dg.MetadataValue.int(r.invoices_read),
                "invoices_written": dg.MetadataValue.int(r.invoices_written),
                "payments_written": dg.MetadataValue.int(r.payments_written),
                "rollups_written": dg.MetadataValue.int(r.rollups_written),
                "invoice_write_calls": dg.MetadataValue.int(r.invoice_write_calls),
                "payment_write_calls": dg.MetadataValue.int(r.payment_write_calls),
                "failed": dg.MetadataValue.int(r.failed),
                "salesforce_requests": dg.MetadataValue.int(r.salesforce_requests),
                "xero_api_calls": dg.MetadataValue.int(r.xero_api_calls),
            }
        )

    return invoice_status


def build_payment_sensor(tenant: XeroTenantConfig, target: dg.AssetsDefinition) -> dg.SensorDefinition:
    @dg.sensor(
        name=f"xero_{tenant.key}_payment_status",
        asset_selection=[target.key],
        minimum_interval_seconds=120,
        default_status=dg.DefaultSensorStatus.STOPPED,
        description=f"Polls {tenant.name!r} for invoice and payment changes and requests the write-back.",
    )
    def _sensor(context: dg.SensorEvaluationContext, xero: XeroResource, sfxero_config: SfxeroConfigResource):
        cursor = json.loads(context.cursor) if context.cursor else {}
        pending = cursor.get("pending")
        if pending:
            runs = context.instance.get_runs(
                filters=dg.RunsFilter(tags={"dagster/run_key": pending["run_key"]}), limit=1
            )
            status = runs[0].status if runs else None
            if status == dg.DagsterRunStatus.SUCCESS:
                cursor = {"acked": pending["until"]}
            elif status in (dg.DagsterRunStatus.FAILURE, dg.DagsterRunStatus.CANCELED):
                cursor = {"acked": cursor.get("acked")}  # ask again from the same point
            elif runs:
                return dg.SkipReason(f"waiting for run {runs[0].run_id} to finish")
        acked = cursor.get("acked")
        overlap = timedelta(minutes=sfxero_config.config.delta.overlap_minutes)
        since = pd.Timestamp(acked).to_pydatetime() - overlap if acked else None
        changed = XeroApi(xero.client()).invoices(
            tenant.tenant_id, modified_since=since, first_page_only=True
        )
        newest = newest_update(changed)
        if not changed or (acked and newest and newest <= acked):
            context.update_cursor(json.dumps(cursor))
            return dg.SkipReason("no invoice or payment changes since the last successful write-back")
        run_key = f"{tenant.key}:{acked or 'start'}:{newest}"
        cursor["pending"] = {"run_key": run_key, "until": newest}
        context.update_cursor(json.dumps(cursor))
        return dg.RunRequest(run_key=run_key, tags={"sfxero/tenant": tenant.key})

    return _sensor


def build_reconciliation(config: SfxeroConfig) -> dg.AssetsDefinition:
    deps = [dg.AssetKey(["salesforce", t.key, "invoice_status"]) for t in config.xero.tenants]

    @dg.asset(
        group_name="writeback",
        deps=deps,
        kinds={"salesforce", "xero"},
        pool="salesforce_api",
        check_specs=[dg.AssetCheckSpec("salesforce_matches_xero", asset="reconciliation", blocking=False)],
        description="Every pushed invoice, Salesforce against Xero (a full read, so it also catches changes "
        "that did not bump UpdatedDateUTC); totals per tenant and currency.",
    )
    def reconciliation(
        context: dg.AssetExecutionContext,
        sfxero_config: SfxeroConfigResource,
        xero: XeroResource,
        salesforce: SalesforceResource,
        ledger: LedgerResource,
    ):
        result = reconcile(sfxero_config.config, XeroApi(xero.client()), salesforce.client(), ledger.open())
        problems, totals = result.problems, result.totals
        table = problems.head(25).to_markdown(index=False) if len(problems) else "Salesforce matches Xero."
        yield dg.MaterializeResult(
            metadata={
                "invoices_compared": dg.MetadataValue.int(result.compared),
                "mismatches": dg.MetadataValue.int(len(problems)),
                "mismatch_examples": dg.MetadataValue.md(table),
                "totals": dg.MetadataValue.md(totals.to_markdown(index=False) if len(totals) else "_none_"),
            }
        )
        yield dg.AssetCheckResult(
            check_name="salesforce_matches_xero",
            passed=problems.empty,
            metadata={
                "mismatches": dg.MetadataValue.int(len(problems)),
                "examples": dg.MetadataValue.md(table),
            },
        )

    return reconciliation


reconciliation_job = dg.define_asset_job("full_reconciliation", selection=["reconciliation"])
reconciliation_schedule = dg.ScheduleDefinition(
    job=reconciliation_job,
    cron_schedule="30 2 * * *",
    default_status=dg.DefaultScheduleStatus.STOPPED,
    description="Nightly full comparison: catches changes in Xero that did not bump UpdatedDateUTC.",
)


def payment_defs(config: SfxeroConfig) -> dg.Definitions:
    assets, sensors = [], []
    for tenant in config.xero.tenants:
        asset = build_status_writeback(tenant)
        assets.append(asset)
        sensors.append(build_payment_sensor(tenant, asset))
    return dg.Definitions(
        assets=[*assets, build_reconciliation(config)],
        sensors=sensors,
        jobs=[reconciliation_job],
        schedules=[reconciliation_schedule],
    )
