"""The review queue in Dagster: an asset that shows what is open, and the job that reprocesses it.

``reprocess_review_queue`` re-validates, re-matches and re-sends everything staged (fixed records go
through, still-broken ones stay queued); ``sfxero queue retry`` first re-reads today's Salesforce
changes and then runs the same steps.
"""

import dagster as dg
import pandas as pd

from sfxero_dagster.config import SfxeroConfig
from sfxero_dagster.defs.pools import LEDGER_WRITER
from sfxero_dagster.defs.resources import LedgerResource, SfxeroConfigResource


def build_queue_asset(config: SfxeroConfig) -> dg.AssetsDefinition:
    deps = [dg.AssetKey(["xero", t.key, "invoices"]) for t in config.xero.tenants] + ["contact_matches"]

    @dg.asset(
        group_name="operations",
        deps=deps,
        kinds={"duckdb"},
        pool=LEDGER_WRITER,
        description="The open review queue: reason, record (with a link to Salesforce) and the hint to act on.",
    )
    def review_queue(sfxero_config: SfxeroConfigResource, ledger: LedgerResource) -> dg.MaterializeResult:
        cfg = sfxero_config.config
        base = (cfg.salesforce.instance_url or cfg.salesforce.login_url).rstrip("/")
        items = ledger.open().queue_list()
        frame = pd.DataFrame(
            [
                {
                    "id": i.item_id,
                    "reason": i.reason_code,
                    "record": f"[{i.sf_object} {i.sf_id}]({base}/{i.sf_id})",
                    "field": i.field or "",
                    "value": (i.value or "")[:40],
                    "hint": (i.hint or "")[:120],
                    "seen": i.attempts,
                }
                for i in items
            ],
            columns=["id", "reason", "record", "field", "value", "hint", "seen"],
        )
        counts = frame["reason"].value_counts().to_dict() if len(frame) else {}
        return dg.MaterializeResult(
            metadata={
                "open": dg.MetadataValue.int(len(frame)),
                **{f"reason_{k}": dg.MetadataValue.int(int(v)) for k, v in counts.items()},
                "items": dg.MetadataValue.md(
                    frame.head(100).to_markdown(index=False) if len(frame) else "Queue empty."
                ),
            }
        )

    return review_queue


reprocess_job = dg.define_asset_job(
    "reprocess_review_queue",
    selection=dg.AssetSelection.groups("staging", "matching", "push", "writeback", "operations"),
    description="Re-validate, re-match and re-send; fixed records go through and their items resolve.",
    tags={"sfxero/kind": "push"},
)


def operations_defs(config: SfxeroConfig) -> dg.Definitions:
    return dg.Definitions(assets=[build_queue_asset(config)], jobs=[reprocess_job])
