"""Stage and validate: raw extracts -> typed, pandera-checked staging tables -> records safe to send.

Staging is recomputed from the warehouse's current copy of Salesforce (cheap, local, and the same
whether the extracts came from one backfill run or thirty partition runs). Validation checks every
record against the target Xero organisation's snapshot; a failing record goes to the review queue with
a reason, field, value and hint, and never blocks the good ones. The queue is synced per stage: an
item whose record now passes is resolved.

Each staging table's pandera model is also its Dagster type (``dagster_pandera``): the asset carries the
type's table schema as ``dagster/column_schema``, so the UI lists the staging columns, their types and
the checks pandera applies.
"""

import warnings

import dagster as dg
import pandas as pd
from dagster_pandera import pandera_schema_to_dagster_type

from sfxero_dagster.config import SfxeroConfig
from sfxero_dagster.core.reasons import REASONS
from sfxero_dagster.core.staging import STAGING_SCHEMAS, StgInvoiceHeaders, StgInvoiceLines
from sfxero_dagster.core.transform import stage_customers, stage_invoices, stage_products
from sfxero_dagster.core.validation import (
    TenantReference,
    ValidationResult,
    validate_customers,
    validate_invoices,
)
from sfxero_dagster.defs.pools import LEDGER_WRITER
from sfxero_dagster.defs.resources import LedgerResource, SfxeroConfigResource, WarehouseResource
from sfxero_dagster.defs.salesforce.assets import described_scales, extracts
from sfxero_dagster.store import tables
from sfxero_dagster.store.ledger import QueueItemIn
from sfxero_dagster.store.warehouse import Warehouse
from sfxero_dagster.sync.plan import tenant_references

STAGING_TABLES = (
    tables.STG_CUSTOMERS,
    tables.STG_PRODUCTS,
    tables.STG_INVOICE_HEADERS,
    tables.STG_INVOICE_LINES,
)
SF_PREFIX = ["salesforce"]


def _raw(wh: Warehouse, object_name: str, flag: str | None = None) -> pd.DataFrame | None:
    """The raw rows of an object; ``flag`` (the user's invoice filter) is returned per row as the
    column ``_invoiceable``."""
    table = tables.sf_extract(object_name)
    if not wh.has(table):
        return None
    sql = f'SELECT *{f", coalesce(({flag}), false) AS _invoiceable" if flag else ""} FROM "{table}"'
    try:
        return wh.query(sql)
    except Exception as exc:  # the filter is the user's text from sfxero.yaml
        raise dg.Failure(f"invoices filter {flag!r} on {object_name} is not valid here: {exc}") from exc


def stage_all(wh: Warehouse, config: SfxeroConfig) -> dict[str, pd.DataFrame]:
    """The four staging frames from the raw tables (tombstones kept as ``is_deleted``)."""
    accounts = _raw(wh, "Account")
    contacts = _raw(wh, "Contact")
    products = _raw(wh, "Product2")
    empty = pd.DataFrame(columns=["Id", "IsDeleted", "SystemModstamp"])
    customers = stage_customers(
        accounts if accounts is not None else empty,
        contacts if contacts is not None else empty.assign(AccountId=None),
        config,
    )
    stg_products = stage_products(products if products is not None else empty, config)
    inv = config.invoices
    # The configured filter chooses what becomes an invoice; every other record is kept too, flagged, so
    # that an invoice already in Xero can be voided or credited (cancelled, deleted) or handled by
    # invoices.on_withdrawn (no longer invoiceable).
    opportunities = (
        _raw(wh, "Opportunity", inv.opportunity_filter) if inv.source in ("opportunity", "both") else None
    )
    orders = _raw(wh, "Order", inv.order_filter) if inv.source in ("order", "both") else None
    headers, lines = stage_invoices(
        customers,
        stg_products,
        opportunities,
        _raw(wh, "OpportunityLineItem") if opportunities is not None else None,
        orders,
        _raw(wh, "OrderItem") if orders is not None else None,
        config,
        scales=described_scales(wh),  # amounts at the field's scale, then Xero's precision
    )
    return {
        tables.STG_CUSTOMERS: customers,
        tables.STG_PRODUCTS: stg_products,
        tables.STG_INVOICE_HEADERS: headers,
        tables.STG_INVOICE_LINES: lines,
    }


def _extract_keys(config: SfxeroConfig) -> list[dg.AssetKey]:
    return [dg.AssetKey([*SF_PREFIX, e.name]) for e in extracts(config)]


def _md(df: pd.DataFrame, limit: int = 10) -> str:
    return df.head(limit).to_markdown(index=False) if len(df) else "_none_"


def reject_summary(rejects: pd.DataFrame) -> tuple[dict[str, int], str]:
    """Counts of records per reason, and a markdown table: reason, severity, records, an example."""
    if rejects.empty:
        return {}, "No rejected records."
    grouped = (
        rejects.groupby(["reason_code", "severity"])
        .agg(
            records=("sf_id", "nunique"),
            example=("sf_id", "first"),
            field=("field", "first"),
            hint=("hint", "first"),
        )
        .reset_index()
        .sort_values(["severity", "records"], ascending=[True, False])
    )
    counts = rejects.groupby("reason_code")["sf_id"].nunique().to_dict()
    return {k: int(v) for k, v in counts.items()}, grouped.to_markdown(index=False)


def queue_items(rejects: pd.DataFrame, tenant_ids: dict[str, str]) -> list[QueueItemIn]:
    return [
        QueueItemIn(
            sf_object=r["sf_object"],
            sf_id=r["sf_id"],
            reason_code=r["reason_code"],
            message=REASONS[r["reason_code"]].description,
            tenant_id=tenant_ids.get(r["tenant_key"]) if isinstance(r["tenant_key"], str) else None,
            field=r["field"],
            value=r["value"],
            hint=r["hint"],
            line_id=r["line_id"] if isinstance(r["line_id"], str) else None,
            payload={"severity": r["severity"]},
        )
        for r in rejects.to_dict("records")
    ]


# The staging tables' pandera models as Dagster types: their table schemas show in the UI. The function
# is marked beta; what we use of it (a type's table schema) is the part it has had since 0.15.
with warnings.catch_warnings():
    warnings.simplefilter("ignore", dg.BetaWarning)
    STAGING_TYPES: dict[str, dg.DagsterType] = {
        name: pandera_schema_to_dagster_type(model) for name, model in STAGING_SCHEMAS.items()
    }


def column_schema(table: str) -> dg.TableSchema:
    return STAGING_TYPES[table].metadata["schema"].schema


def build_staging_asset(config: SfxeroConfig) -> dg.AssetsDefinition:
    raw = _extract_keys(config)

    @dg.multi_asset(
        specs=[
            dg.AssetSpec(
                name,
                group_name="staging",
                deps=raw,
                kinds={"duckdb", "pandera"},
                description=desc,
                metadata={"dagster/column_schema": column_schema(name)},
            )
            for name, desc in [
                (
                    tables.STG_CUSTOMERS,
                    "One row per Salesforce account with its billing contact, routed to a Xero tenant.",
                ),
                (tables.STG_PRODUCTS, "Products with SKU, tax code and account code."),
                (
                    tables.STG_INVOICE_HEADERS,
                    "One row per Opportunity or Order: invoiceable, cancelled, deleted or withdrawn (flagged).",
                ),
                (tables.STG_INVOICE_LINES, "Invoice lines: item, quantity, unit price, discount, tax code."),
            ]
        ],
        pool=LEDGER_WRITER,
    )
    def staging(
        context: dg.AssetExecutionContext, sfxero_config: SfxeroConfigResource, warehouse: WarehouseResource
    ):
        """Typed, normalised staging tables validated with pandera (``core.staging``)."""
        wh = warehouse.open()
        frames = stage_all(wh, sfxero_config.config)
        for name, df in frames.items():
            wh.replace(name, df)
            meta: dict[str, dg.MetadataValue] = {
                "rows": dg.MetadataValue.int(len(df)),
                "preview": dg.MetadataValue.md(_md(df, 5)),
            }
            if "is_deleted" in df.columns:
                meta["deleted"] = dg.MetadataValue.int(int(df["is_deleted"].sum()))
            if "tenant_key" in df.columns:
                for tenant, n in df["tenant_key"].fillna("unroutable").value_counts().items():
                    meta[f"rows_{tenant}"] = dg.MetadataValue.int(int(n))
            yield dg.MaterializeResult(asset_key=name, metadata=meta)

    return staging


def _tenant_ids(config: SfxeroConfig) -> dict[str, str]:
    return {t.key: t.tenant_id for t in config.xero.tenants}


def _xero_reference_keys(config: SfxeroConfig) -> list[dg.AssetKey]:
    return [dg.AssetKey(["xero", t.key, "reference"]) for t in config.xero.tenants]


def _check_result(name: str, result: ValidationResult, total: int) -> dg.AssetCheckResult:
    counts, table = reject_summary(result.rejects)
    errors = result.rejects.loc[result.rejects["severity"] == "ERROR", "sf_id"].nunique()
    return dg.AssetCheckResult(
        check_name=name,
        passed=result.rejects.empty,
        severity=dg.AssetCheckSeverity.ERROR if errors else dg.AssetCheckSeverity.WARN,
        metadata={
            "records_checked": dg.MetadataValue.int(total),
            "records_rejected": dg.MetadataValue.int(int(errors)),
            "by_reason": dg.MetadataValue.md(table),
            **{f"reason_{k}": dg.MetadataValue.int(v) for k, v in counts.items()},
        },
    )


VALIDATE_REASONS = [code for code, r in REASONS.items() if r.stage == "validate"]


def build_validation_assets(config: SfxeroConfig) -> list[dg.AssetsDefinition]:
    refs = _xero_reference_keys(config)

    @dg.asset(
        group_name="staging",
        deps=["stg_customers", *refs],
        kinds={"duckdb"},
        pool=LEDGER_WRITER,
        check_specs=[dg.AssetCheckSpec("customer_rejects", asset="valid_customers", blocking=False)],
        description="Customers that can become (or link to) Xero contacts; the others are in the review queue.",
    )
    def valid_customers(
        context: dg.AssetExecutionContext,
        sfxero_config: SfxeroConfigResource,
        warehouse: WarehouseResource,
        ledger: LedgerResource,
    ):
        cfg = sfxero_config.config
        wh = warehouse.open()
        customers = wh.read(tables.STG_CUSTOMERS)
        live = customers.loc[~customers["is_deleted"].astype(bool)] if len(customers) else customers
        result = validate_customers(live, cfg)
        wh.replace(tables.VALID_CUSTOMERS, result.valid)
        wh.replace(tables.CUSTOMER_REJECTS, result.rejects)
        opened, resolved = ledger.open().queue_sync(
            VALIDATE_REASONS, queue_items(result.rejects, _tenant_ids(cfg)), sf_objects=["Account"]
        )
        _, table = reject_summary(result.rejects)
        yield dg.MaterializeResult(
            metadata={
                "rows": dg.MetadataValue.int(len(result.valid)),
                "rejected": dg.MetadataValue.int(len(live) - len(result.valid)),
                "queue_open": dg.MetadataValue.int(opened),
                "queue_resolved": dg.MetadataValue.int(resolved),
                "by_reason": dg.MetadataValue.md(table),
            }
        )
        yield _check_result("customer_rejects", result, len(live))

    @dg.asset(
        group_name="staging",
        deps=["stg_invoice_headers", "stg_invoice_lines", "stg_customers", *refs],
        kinds={"duckdb"},
        pool=LEDGER_WRITER,
        check_specs=[dg.AssetCheckSpec("invoice_rejects", asset="valid_invoices", blocking=False)],
        description=(
            "Invoices (headers and lines) that pass every check against their Xero organisation; an invoice "
            "with any blocking problem on any line is held back whole."
        ),
    )
    def valid_invoices(
        context: dg.AssetExecutionContext,
        sfxero_config: SfxeroConfigResource,
        warehouse: WarehouseResource,
        ledger: LedgerResource,
    ):
        cfg = sfxero_config.config
        wh = warehouse.open()
        headers, lines, references = validation_inputs(wh)
        missing = sorted({t.key for t in cfg.xero.tenants} - set(references))
        if missing:
            raise dg.Failure(
                f"no Xero reference snapshot for tenant(s) {', '.join(missing)}: materialise xero/*/reference first"
            )
        to_send = headers.loc[
            ~headers["is_deleted"].astype(bool)
            & ~headers["is_cancelled"].astype(bool)
            & ~headers["is_withdrawn"].astype(bool)
        ]
        customers = wh.read(tables.STG_CUSTOMERS, ["sf_account_id", "route_value"])
        result = validate_invoices(to_send, lines, references, cfg, customers=customers)
        valid_lines = result.valid_lines if result.valid_lines is not None else lines.iloc[0:0]
        wh.replace(tables.VALID_INVOICE_HEADERS, result.valid)
        wh.replace(tables.VALID_INVOICE_LINES, valid_lines)
        wh.replace(tables.INVOICE_REJECTS, result.rejects)
        opened, resolved = ledger.open().queue_sync(
            VALIDATE_REASONS,
            queue_items(result.rejects, _tenant_ids(cfg)),
            sf_objects=["Opportunity", "Order"],
        )
        _, table = reject_summary(result.rejects)
        meta = {
            "rows": dg.MetadataValue.int(len(result.valid)),
            "lines": dg.MetadataValue.int(len(valid_lines)),
            "rejected": dg.MetadataValue.int(len(to_send) - len(result.valid)),
            "queue_open": dg.MetadataValue.int(opened),
            "queue_resolved": dg.MetadataValue.int(resolved),
            "by_reason": dg.MetadataValue.md(table),
        }
        for tenant, n in result.valid["tenant_key"].value_counts().items():
            meta[f"rows_{tenant}"] = dg.MetadataValue.int(int(n))
        yield dg.MaterializeResult(metadata=meta)
        yield _check_result("invoice_rejects", result, len(to_send))

    return [valid_customers, valid_invoices]


def validation_inputs(wh: Warehouse) -> tuple[pd.DataFrame, pd.DataFrame, dict[str, TenantReference]]:
    """What ``valid_invoices`` validates: the staged headers and lines, and each tenant's Xero settings."""
    headers = wh.read(tables.STG_INVOICE_HEADERS, list(StgInvoiceHeaders.to_schema().columns))
    lines = wh.read(tables.STG_INVOICE_LINES, list(StgInvoiceLines.to_schema().columns))
    return headers, lines, tenant_references(wh)


def staging_defs(config: SfxeroConfig) -> dg.Definitions:
    return dg.Definitions(assets=[build_staging_asset(config), *build_validation_assets(config)])
