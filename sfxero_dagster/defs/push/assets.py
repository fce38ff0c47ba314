"""Push to Xero, per organisation: contacts, then invoices (create, update, void), and the plan preview.

The engine is ``sync.push`` (crash recovery, planning, execution with intents, settlement of
cancellations); these assets read their resources, run it and report counts and invariant checks.
"""

import dagster as dg
import pandas as pd

from sfxero_dagster.clients.governor import DailyLimitReached
from sfxero_dagster.clients.xero_api import XeroApi
from sfxero_dagster.config import SfxeroConfig, XeroTenantConfig
from sfxero_dagster.defs.resources import (
    LedgerResource,
    SfxeroConfigResource,
    WarehouseResource,
    XeroResource,
)
from sfxero_dagster.store import tables
from sfxero_dagster.sync.contacts import ForeignContactWrites
from sfxero_dagster.sync.plan import plan_frame
from sfxero_dagster.sync.push import PushResult, run_push


def _invariant_check(name: str, violations: list[str]) -> dg.AssetCheckResult:
    return dg.AssetCheckResult(
        check_name=name,
        passed=not violations,
        severity=dg.AssetCheckSeverity.ERROR,
        metadata={
            "violations": dg.MetadataValue.int(len(violations)),
            "examples": dg.MetadataValue.md("\n".join(f"- {v}" for v in violations[:20]) or "_none_"),
        },
    )


def _metadata(result: PushResult) -> dict[str, dg.MetadataValue]:
    counts, calls, sent = result.counts, result.calls, result.sent
    return {
        "created": dg.MetadataValue.int(counts["created"]),
        "updated": dg.MetadataValue.int(counts["updated"]),
        "voided": dg.MetadataValue.int(counts["voided"]),
        "skipped": dg.MetadataValue.int(sum(1 for p in result.plan if p.action == "skip")),
        "failed": dg.MetadataValue.int(counts["failed"]),
        "queued": dg.MetadataValue.int(sum(1 for p in result.plan if p.action == "queue")),
        **{
            k: dg.MetadataValue.int(counts[k])
            for k in ("credited", "allocated", "already_voided", "held", "items_created", "linked")
            if k in counts
        },
        "recovered_linked": dg.MetadataValue.int(result.recovered[0]),
        "recovered_abandoned": dg.MetadataValue.int(result.recovered[1]),
        "xero_api_calls": dg.MetadataValue.int(calls),
        "calls_per_record": dg.MetadataValue.float(round(calls / sent, 3) if sent else 0.0),
    }


def _push(
    collection: str,
    tenant: XeroTenantConfig,
    context: dg.AssetExecutionContext,
    sfxero_config: SfxeroConfigResource,
    xero: XeroResource,
    warehouse: WarehouseResource,
    ledger: LedgerResource,
) -> dg.MaterializeResult:
    api, led, wh = XeroApi(xero.client()), ledger.open(), warehouse.open()
    try:
        result = run_push(
            collection, tenant, sfxero_config.config, api, led, wh, context.run.run_id, context.log.info
        )
    except ForeignContactWrites as exc:
        raise dg.Failure(str(exc), allow_retries=False) from exc
    except DailyLimitReached as exc:
        # Parked: what was sent is closed in the ledger; the rest is planned again next run.
        raise dg.Failure(
            f"Xero daily limit reached for {tenant.key}; resume after {pd.Timestamp(exc.resume_at, unit='s', tz='UTC')}",
            allow_retries=False,
        ) from exc
    checks = [_invariant_check(name, found) for name, found in result.violations.items()]
    for check in checks:
        if not check.passed:
            context.log.error(f"{tenant.key} {collection}: invariant {check.check_name} violated")
    return dg.MaterializeResult(metadata=_metadata(result), check_results=checks)


def build_push_assets(tenant: XeroTenantConfig) -> list[dg.AssetsDefinition]:
    @dg.asset(
        name="contacts",
        key_prefix=["xero", tenant.key],
        group_name="push",
        deps=["contact_matches", "valid_customers"],
        pool=f"xero_api_{tenant.key}",
        kinds={"xero"},
        check_specs=[
            dg.AssetCheckSpec(
                "foreign_contacts_untouched",
                asset=dg.AssetKey(["xero", tenant.key, "contacts"]),
                description="No contact this project did not create was changed beyond its link's evidence.",
            )
        ],
        description=f"Xero contacts of {tenant.name!r}: created for new accounts, updated when Salesforce changes.",
    )
    def contacts(
        context: dg.AssetExecutionContext,
        sfxero_config: SfxeroConfigResource,
        xero: XeroResource,
        warehouse: WarehouseResource,
        ledger: LedgerResource,
    ) -> dg.MaterializeResult:
        return _push("Contacts", tenant, context, sfxero_config, xero, warehouse, ledger)

    @dg.asset(
        name="invoices",
        key_prefix=["xero", tenant.key],
        group_name="push",
        deps=["valid_invoices", dg.AssetKey(["xero", tenant.key, "contacts"])],
        pool=f"xero_api_{tenant.key}",
        kinds={"xero"},
        check_specs=[
            dg.AssetCheckSpec(
                "one_live_document",
                asset=dg.AssetKey(["xero", tenant.key, "invoices"]),
                description="No Salesforce record has a live invoice in more than one organisation.",
            ),
            dg.AssetCheckSpec(
                "xero_arithmetic",
                asset=dg.AssetKey(["xero", tenant.key, "invoices"]),
                description="Every invoice this run created or updated has the totals our arithmetic gives.",
            ),
        ],
        description=f"Xero invoices of {tenant.name!r}: created, updated while editable, voided when cancelled.",
    )
    def invoices(
        context: dg.AssetExecutionContext,
        sfxero_config: SfxeroConfigResource,
        xero: XeroResource,
        warehouse: WarehouseResource,
        ledger: LedgerResource,
    ) -> dg.MaterializeResult:
        return _push("Invoices", tenant, context, sfxero_config, xero, warehouse, ledger)

    return [contacts, invoices]


@dg.asset(
    group_name="push",
    deps=["valid_invoices", "contact_matches"],
    kinds={"duckdb"},
    pool="ledger_writer",
    description="What a push would write to Xero (create, update, void, skip, queue), without writing anything.",
)
def push_plan(
    sfxero_config: SfxeroConfigResource, warehouse: WarehouseResource, ledger: LedgerResource
) -> dg.MaterializeResult:
    wh = warehouse.open()
    plan = plan_frame(sfxero_config.config, wh, ledger.open())
    wh.replace(tables.PUSH_PLAN, plan)
    summary = plan.groupby(["tenant", "collection", "action"]).size().rename("records").reset_index()
    return dg.MaterializeResult(
        metadata={
            "writes": dg.MetadataValue.int(int(plan["action"].isin(["create", "update", "void"]).sum())),
            **{
                f"{c.lower()}_{a}": dg.MetadataValue.int(int(n))
                for (c, a), n in plan.groupby(["collection", "action"]).size().items()
            },
            "summary": dg.MetadataValue.md(summary.to_markdown(index=False) if len(summary) else "_nothing_"),
        }
    )


plan_push_job = dg.define_asset_job(
    "plan_push", selection=[push_plan], description="Preview a push; writes nothing."
)


def push_defs(config: SfxeroConfig) -> dg.Definitions:
    return dg.Definitions(
        assets=[push_plan, *(a for t in config.xero.tenants for a in build_push_assets(t))],
        jobs=[plan_push_job],
    )
