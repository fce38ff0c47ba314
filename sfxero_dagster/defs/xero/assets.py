"""Xero reference snapshots, one asset per organisation: what a push is validated against.

Settings (tax rates, currencies, tracking categories and options, accounts, items) are small and read
whole each time; contacts are read incrementally with If-Modified-Since from the last snapshot's
newest ``UpdatedDateUTC`` (minus the overlap) and merged. Each tenant's asset runs in its own pool, so
organisations are read in parallel while each stays inside its own rate limits.
"""

from datetime import timedelta
from typing import Any

import dagster as dg
import pandas as pd

from sfxero_dagster.clients.xero_api import XeroApi
from sfxero_dagster.config import SfxeroConfig, XeroTenantConfig
from sfxero_dagster.core.matching import CONTACT_COLUMNS, contacts_frame
from sfxero_dagster.defs.pools import xero_api
from sfxero_dagster.defs.resources import (
    LedgerResource,
    SfxeroConfigResource,
    WarehouseResource,
    XeroResource,
)
from sfxero_dagster.store import tables


def _ts(value: Any) -> str | None:
    """An UpdatedDateUTC as a sortable ISO-8601 UTC string."""
    if value is None or value == "":
        return None
    stamp = pd.Timestamp(value)
    return (stamp.tz_localize("UTC") if stamp.tzinfo is None else stamp.tz_convert("UTC")).isoformat()


def reference_frames(tenant_key: str, ref: dict[str, list[dict[str, Any]]]) -> dict[str, pd.DataFrame]:
    """The API's reference lists as flat tables, one row per tax rate, currency, option, account, item."""
    org = ref["organisation"][0] if ref["organisation"] else {}
    return {
        tables.XERO_ORGANISATION: pd.DataFrame(
            [
                {
                    "tenant_key": tenant_key,
                    "name": org.get("Name"),
                    "base_currency": org.get("BaseCurrency"),
                    "country_code": org.get("CountryCode"),
                }
            ]
        ),
        tables.XERO_TAX_RATES: pd.DataFrame(
            [
                {
                    "tenant_key": tenant_key,
                    "tax_type": t.get("TaxType"),
                    "name": t.get("Name"),
                    "status": t.get("Status"),
                    "effective_rate": str(t.get("EffectiveRate") or "0"),
                }
                for t in ref["tax_rates"]
            ],
            columns=["tenant_key", "tax_type", "name", "status", "effective_rate"],
        ),
        tables.XERO_CURRENCIES: pd.DataFrame(
            [{"tenant_key": tenant_key, "code": c.get("Code")} for c in ref["currencies"]],
            columns=["tenant_key", "code"],
        ),
        tables.XERO_TRACKING_OPTIONS: pd.DataFrame(
            [
                {
                    "tenant_key": tenant_key,
                    "category": cat.get("Name"),
                    "category_status": cat.get("Status"),
                    "option": opt.get("Name"),
                    "option_status": opt.get("Status"),
                    "category_id": cat.get("TrackingCategoryID"),
                    "option_id": opt.get("TrackingOptionID"),
                }
                for cat in ref["tracking"]
                for opt in cat.get("Options") or [{}]
            ],
            columns=[
                "tenant_key",
                "category",
                "category_status",
                "option",
                "option_status",
                "category_id",
                "option_id",
            ],
        ),
        tables.XERO_ACCOUNTS: pd.DataFrame(
            [
                {
                    "tenant_key": tenant_key,
                    "code": a.get("Code"),
                    "name": a.get("Name"),
                    "type": a.get("Type"),
                    "status": a.get("Status"),
                }
                for a in ref["accounts"]
            ],
            columns=["tenant_key", "code", "name", "type", "status"],
        ),
        tables.XERO_ITEMS: pd.DataFrame(
            [
                {
                    "tenant_key": tenant_key,
                    "code": i.get("Code"),
                    "item_id": i.get("ItemID"),
                    "name": i.get("Name"),
                    "is_sold": bool(i.get("IsSold", True)),
                }
                for i in ref["items"]
            ],
            columns=["tenant_key", "code", "item_id", "name", "is_sold"],
        ),
    }


def build_reference_asset(tenant: XeroTenantConfig) -> dg.AssetsDefinition:
    @dg.asset(
        name="reference",
        key_prefix=["xero", tenant.key],
        group_name="xero_reference",
        description=f"Reference snapshot of Xero organisation {tenant.name!r}: settings and contacts.",
        pool=xero_api(tenant.key),
        kinds={"xero", "duckdb"},
        metadata={"tenant_id": tenant.tenant_id},
    )
    def _reference(
        context: dg.AssetExecutionContext,
        sfxero_config: SfxeroConfigResource,
        xero: XeroResource,
        warehouse: WarehouseResource,
        ledger: LedgerResource,
    ) -> dg.MaterializeResult:
        cfg = sfxero_config.config
        api = XeroApi(xero.client())
        wh, led = warehouse.open(), ledger.open()
        before = api.calls.total()
        frames = reference_frames(tenant.key, api.reference_data(tenant.tenant_id))
        for table, df in frames.items():
            wh.replace_where(table, df, "tenant_key", tenant.key)

        stream = f"xero:contacts:{tenant.key}"
        mark = led.get_watermark(stream)
        have = wh.has(tables.XERO_CONTACTS) and bool(
            len(wh.query(f"SELECT 1 FROM {tables.XERO_CONTACTS} WHERE tenant_key = ? LIMIT 1", [tenant.key]))
        )
        since = (
            pd.Timestamp(mark).to_pydatetime() - timedelta(minutes=cfg.delta.overlap_minutes)
            if mark and have
            else None
        )
        contacts = api.contacts(tenant.tenant_id, modified_since=since)
        df = contacts_frame(contacts, tenant.key)
        df["updated"] = [_ts(v) for v in df["updated"]]
        df = df.astype({c: "string" for c in CONTACT_COLUMNS})
        counts = wh.merge(tables.XERO_CONTACTS, df, key="contact_id", version="updated")
        newest = df["updated"].dropna().max() if len(df) else None
        if isinstance(newest, str):
            led.advance_watermark(stream, newest, run_id=context.run.run_id)
        total = int(
            wh.query(f"SELECT count(*) AS n FROM {tables.XERO_CONTACTS} WHERE tenant_key = ?", [tenant.key])[
                "n"
            ][0]
        )
        return dg.MaterializeResult(
            metadata={
                "tax_rates": dg.MetadataValue.int(len(frames[tables.XERO_TAX_RATES])),
                "currencies": dg.MetadataValue.int(len(frames[tables.XERO_CURRENCIES])),
                "tracking_options": dg.MetadataValue.int(len(frames[tables.XERO_TRACKING_OPTIONS])),
                "accounts": dg.MetadataValue.int(len(frames[tables.XERO_ACCOUNTS])),
                "items": dg.MetadataValue.int(len(frames[tables.XERO_ITEMS])),
                "contacts_read": dg.MetadataValue.int(len(df)),
                "contacts_new": dg.MetadataValue.int(counts["new"]),
                "contacts_changed": dg.MetadataValue.int(counts["changed"]),
                "contacts_total": dg.MetadataValue.int(total),
                "contacts_incremental": dg.MetadataValue.bool(since is not None),
                "xero_api_calls": dg.MetadataValue.int(api.calls.total() - before),
            }
        )

    return _reference


def xero_defs(config: SfxeroConfig) -> dg.Definitions:
    return dg.Definitions(assets=[build_reference_asset(t) for t in config.xero.tenants])
