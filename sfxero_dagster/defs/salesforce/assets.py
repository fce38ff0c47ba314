"""Salesforce extracts: one daily-partitioned asset per object, merged into the warehouse.

A partition reads the records whose ``SystemModstamp`` falls in its day (the first partition also
takes everything older). Re-materialising a partition that holds the object's watermark reads only
from the watermark (minus the overlap window), so today's partition can run every few minutes and
read just what changed. The watermark moves only after the rows are safely merged. Deleted records
come through ``queryAll`` as tombstones (``IsDeleted = true``). A history backfill runs as one run
per range (``BackfillPolicy.single_run``).
"""

import json
import warnings
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import dagster as dg
import pandas as pd

from sfxero_dagster.config import SfxeroConfig
from sfxero_dagster.defs.partitions import daily_partitions
from sfxero_dagster.defs.pools import SALESFORCE_API
from sfxero_dagster.defs.resources import (
    LedgerResource,
    SalesforceResource,
    SfxeroConfigResource,
    WarehouseResource,
)
from sfxero_dagster.store import tables

# single-run backfills are the point of these assets; the API's "beta" label is noted, not repeated per asset
warnings.filterwarnings("ignore", message=".*backfill_policy.*", category=dg.BetaWarning)

ASSET_NAMES = tables.SF_OBJECT_NAMES  # the asset sf/<name> writes the table sf_<name>


@dataclass(frozen=True)
class Extract:
    object_name: str
    fields: tuple[str, ...]
    description: str

    @property
    def name(self) -> str:
        return ASSET_NAMES[self.object_name]

    @property
    def table(self) -> str:
        return tables.sf_extract(self.object_name)

    @property
    def stream(self) -> str:
        return f"salesforce:{self.object_name}"


def extracts(config: SfxeroConfig) -> list[Extract]:
    """What is read from each object; mapped fields from the configuration are added."""
    tracking = tuple(t.sf_field for t in config.tracking)
    account_code = (config.accounts.product_field,) if config.accounts.product_field else ()
    out = [
        Extract(
            "Account",
            (
                "Name",
                "Phone",
                "Website",
                "BillingStreet",
                "BillingCity",
                "BillingState",
                "BillingPostalCode",
                "BillingCountry",
                "CurrencyIsoCode",
                "Tax_Number__c",
                "Xero_Contact_Id__c",
                config.routing.field,
            ),
            "Accounts: the customers that become Xero contacts.",
        ),
        Extract(
            "Contact",
            ("AccountId", "FirstName", "LastName", "Name", "Email", "Phone", "Is_Billing_Contact__c"),
            "Contacts: the billing contact (e-mail, phone) of each account.",
        ),
        Extract(
            "Product2",
            (
                "Name",
                "ProductCode",
                "Description",
                "Family",
                "IsActive",
                config.tax.product_field,
                *account_code,
            ),
            "Products: SKUs that map to Xero item codes.",
        ),
        Extract(
            "PricebookEntry",
            ("Pricebook2Id", "Product2Id", "UnitPrice", "IsActive", "CurrencyIsoCode"),
            "Price book entries: list prices per product and currency.",
        ),
    ]
    if config.invoices.source in ("opportunity", "both"):
        out += [
            Extract(
                "Opportunity",
                (
                    "AccountId",
                    "Name",
                    "StageName",
                    "CloseDate",
                    "Amount",
                    "IsWon",
                    "IsClosed",
                    "CurrencyIsoCode",
                    "Xero_Invoice_Id__c",
                    "Xero_Invoice_Number__c",
                    "Xero_Online_Invoice_Url__c",
                    *tracking,
                ),
                "Opportunities: closed-won ones become Xero invoices.",
            ),
            Extract(
                "OpportunityLineItem",
                (
                    "OpportunityId",
                    "PricebookEntryId",
                    "Product2Id",
                    "Quantity",
                    "UnitPrice",
                    "Discount",
                    "TotalPrice",
                    "Description",
                    "CurrencyIsoCode",
                    config.tax.line_field,
                ),
                "Opportunity products: the invoice lines.",
            ),
        ]
    if config.invoices.source in ("order", "both"):
        out += [
            Extract(
                "Order",
                (
                    "AccountId",
                    "Status",
                    "EffectiveDate",
                    "OrderNumber",
                    "TotalAmount",
                    "CurrencyIsoCode",
                    "Xero_Invoice_Id__c",
                    "Xero_Invoice_Number__c",
                    "Xero_Online_Invoice_Url__c",
                    *tracking,
                ),
                "Orders: activated ones become Xero invoices; cancelled ones are voided or credited.",
            ),
            Extract(
                "OrderItem",
                (
                    "OrderId",
                    "PricebookEntryId",
                    "Product2Id",
                    "Quantity",
                    "UnitPrice",
                    "TotalPrice",
                    "Description",
                    "Discount__c",
                    config.tax.line_field,
                ),
                "Order products: the invoice lines of orders.",
            ),
        ]
    return [Extract(e.object_name, tuple(dict.fromkeys(e.fields)), e.description) for e in out]


_NUMERIC = {"double", "currency", "percent", "int"}


def typed_frame(records: list[dict], fields: list[str], types: dict[str, str]) -> pd.DataFrame:
    """Records to a frame with stable column types (so DuckDB never guesses from a batch of nulls)."""
    df = pd.DataFrame.from_records(records, columns=fields)
    for col in fields:
        kind = types.get(col, "string")
        if kind == "boolean":
            df[col] = df[col].astype("boolean")
        elif kind in _NUMERIC:
            df[col] = pd.to_numeric(df[col], errors="coerce").astype("float64")
        else:
            df[col] = df[col].astype("string")
    return df


def _iso(stamp: str) -> str:
    """Salesforce's '2025-01-02T03:04:05.000+0000' as a sortable ISO-8601 UTC string."""
    return pd.Timestamp(stamp).tz_convert("UTC").strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "Z"


def window_start(
    extract: Extract, start: datetime, end: datetime, first_partition: datetime, watermark: str | None
) -> datetime | None:
    """Where this materialisation starts reading: the window start, or the watermark inside it."""
    since: datetime | None = None if start <= first_partition else start
    if watermark:
        mark = pd.Timestamp(watermark).to_pydatetime()
        if (since is None or mark > since) and mark < end:
            since = mark
    return since


def build_extract_asset(extract: Extract, partitions: dg.DailyPartitionsDefinition) -> dg.AssetsDefinition:
    @dg.asset(
        name=extract.name,
        key_prefix=["salesforce"],
        group_name="salesforce_extract",
        description=extract.description,
        partitions_def=partitions,
        backfill_policy=dg.BackfillPolicy.single_run(),
        pool=SALESFORCE_API,
        kinds={"salesforce", "duckdb"},
        metadata={"table": extract.table, "fields": ", ".join(extract.fields)},
    )
    def _extract(
        context: dg.AssetExecutionContext,
        sfxero_config: SfxeroConfigResource,
        salesforce: SalesforceResource,
        warehouse: WarehouseResource,
        ledger: LedgerResource,
    ) -> dg.MaterializeResult:
        cfg = sfxero_config.config
        client = salesforce.client()
        window = context.partition_time_window
        start, end = window.start.astimezone(UTC), window.end.astimezone(UTC)
        first = datetime.combine(cfg.delta.start_date, datetime.min.time(), tzinfo=UTC)
        led = ledger.open()
        mark = led.get_watermark(extract.stream)
        since = window_start(extract, start, end, first, mark)

        types = field_types(client, warehouse.open(), extract.object_name, extract.fields)
        missing = [f for f in extract.fields if f not in types]
        if missing:
            raise dg.Failure(
                f"{extract.object_name} has no field(s) {', '.join(missing)} in this org; create them "
                "(docs/salesforce_setup.md) or change the mapping in sfxero.yaml",
                metadata={"missing_fields": ", ".join(missing)},
            )
        calls_before = client.http_requests
        rows = client.extract(
            extract.object_name,
            list(extract.fields),
            since=since,
            until=end,
            overlap=timedelta(minutes=cfg.delta.overlap_minutes),
        )
        fields = list(dict.fromkeys(["Id", "SystemModstamp", "IsDeleted", *extract.fields]))
        df = typed_frame(rows, fields, types)
        counts = warehouse.open().merge(extract.table, df)
        tombstones = int(df["IsDeleted"].fillna(False).sum()) if len(df) else 0
        newest = max((r["SystemModstamp"] for r in rows), default=None)
        if newest:
            led.advance_watermark(extract.stream, _iso(newest), run_id=context.run.run_id)
        context.log.info(
            f"{extract.object_name}: read {len(df)} rows since {since or 'the beginning'} "
            f"({counts['new']} new, {counts['changed']} changed, {tombstones} deleted)"
        )
        return dg.MaterializeResult(
            metadata={
                "rows_read": dg.MetadataValue.int(len(df)),
                "new": dg.MetadataValue.int(counts["new"]),
                "changed": dg.MetadataValue.int(counts["changed"]),
                "unchanged": dg.MetadataValue.int(counts["unchanged"]),
                "tombstones": dg.MetadataValue.int(tombstones),
                "salesforce_requests": dg.MetadataValue.int(client.http_requests - calls_before),
                "read_from": dg.MetadataValue.text(since.isoformat() if since else "beginning"),
                "read_until": dg.MetadataValue.text(end.isoformat()),
                "watermark": dg.MetadataValue.text(led.get_watermark(extract.stream) or ""),
            }
        )

    return _extract


DESCRIBE_TTL = timedelta(hours=24)


def field_types(client, wh, object_name: str, wanted, now: datetime | None = None) -> dict[str, str]:
    """Field name -> Salesforce type, from a describe kept for a day in the warehouse (``sf_describes``).

    A delta run every few minutes then costs its query pages only, not one describe per object. A field
    the cached describe lacks (just created in Salesforce) triggers a fresh describe at once, so a new
    mapping never fails on a stale cache. The numeric fields' ``scale`` is kept beside the types for
    staging (``described_scales``); a row cached before scales were kept is described again.
    """
    now = now or datetime.now(UTC)
    if wh.has(tables.SF_DESCRIBES):
        row = wh.query(f"SELECT * FROM {tables.SF_DESCRIBES} WHERE object = ?", [object_name])
        if len(row) and isinstance(row.iloc[0].get("scales"), str):
            types = json.loads(row.iloc[0]["types"])
            fresh = now - pd.Timestamp(row.iloc[0]["fetched_at"]).to_pydatetime() < DESCRIBE_TTL
            if fresh and all(f in types for f in wanted):
                return types
    fields = client.describe(object_name)["fields"]
    types = {f["name"]: f["type"] for f in fields}
    # a describe without scale (or a non-numeric field) leaves the field out: Xero's precision alone
    scales = {
        f["name"]: int(f["scale"])
        for f in fields
        if f["type"] in _NUMERIC and isinstance(f.get("scale"), int) and f["scale"] >= 0
    }
    wh.merge(
        tables.SF_DESCRIBES,
        pd.DataFrame(
            [
                {
                    "object": object_name,
                    "types": json.dumps(types),
                    "scales": json.dumps(scales),
                    "fetched_at": now.isoformat(),
                }
            ]
        ),
        key="object",
        version="fetched_at",
    )
    return types


def described_scales(wh) -> dict[str, dict[str, int]]:
    """Object -> numeric field -> decimal places, from the cached describes (empty before any extract)."""
    if not wh.has(tables.SF_DESCRIBES):
        return {}
    rows = wh.query(f"SELECT * FROM {tables.SF_DESCRIBES}")
    if "scales" not in rows.columns:
        return {}
    return {
        r["object"]: {k: int(v) for k, v in json.loads(r["scales"]).items()}
        for r in rows.to_dict("records")
        if isinstance(r["scales"], str)
    }


def salesforce_defs(config: SfxeroConfig) -> dg.Definitions:
    partitions = daily_partitions(config)
    return dg.Definitions(assets=[build_extract_asset(e, partitions) for e in extracts(config)])
