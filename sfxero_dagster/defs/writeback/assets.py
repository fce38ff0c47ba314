"""Write Xero identities back to Salesforce (the engine is ``sync.identity``): ContactID on the Account;
InvoiceID, number and online invoice URL on the Opportunity or Order."""

import dagster as dg

from sfxero_dagster.clients.xero_api import XeroApi
from sfxero_dagster.config import SfxeroConfig
from sfxero_dagster.defs.resources import (
    LedgerResource,
    SalesforceResource,
    SfxeroConfigResource,
    WarehouseResource,
    XeroResource,
)
from sfxero_dagster.sync.identity import online_urls, write_identities


def build_identity_writeback(config: SfxeroConfig) -> dg.AssetsDefinition:
    pushes = [
        dg.AssetKey(["xero", t.key, name]) for t in config.xero.tenants for name in ("contacts", "invoices")
    ]

    @dg.asset(
        name="xero_ids",
        key_prefix=["salesforce"],
        group_name="writeback",
        deps=pushes,
        pool="salesforce_api",
        kinds={"salesforce"},
        description="Xero ContactID on Accounts; InvoiceID, number and online URL on Opportunities and Orders.",
    )
    def xero_ids(
        context: dg.AssetExecutionContext,
        sfxero_config: SfxeroConfigResource,
        salesforce: SalesforceResource,
        xero: XeroResource,
        warehouse: WarehouseResource,
        ledger: LedgerResource,
    ) -> dg.MaterializeResult:
        cfg = sfxero_config.config
        wh, led, api = warehouse.open(), ledger.open(), XeroApi(xero.client())
        x_before = api.calls.total()
        tenants = {t.tenant_id for t in cfg.xero.tenants}
        urls, pending = online_urls(api, wh, led, tenants, context.log.info, context.log.warning)
        result = write_identities(cfg, wh, led, salesforce.client(), urls, context.run.run_id)
        return dg.MaterializeResult(
            metadata={
                "written": dg.MetadataValue.int(result.written),
                "failed": dg.MetadataValue.int(result.failed),
                **{f"{k.lower()}_updates": dg.MetadataValue.int(n) for k, n in result.updates.items()},
                "salesforce_requests": dg.MetadataValue.int(result.salesforce_requests),
                "xero_api_calls": dg.MetadataValue.int(api.calls.total() - x_before),
                "online_urls_pending": dg.MetadataValue.int(pending),
            }
        )

    return xero_ids


def writeback_defs(config: SfxeroConfig) -> dg.Definitions:
    return dg.Definitions(assets=[build_identity_writeback(config)])
