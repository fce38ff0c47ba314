"""contact_matches: which Xero contact each valid Salesforce account maps to, and why.

Reads the valid customers, every tenant's contact snapshot and the ledger's links from earlier
pushes; writes one row per account (action, rule, score, competing candidates). Reviews go to the
queue with their candidates; an item whose account now matches cleanly is resolved.
"""

import dagster as dg

from sfxero_dagster.config import SfxeroConfig
from sfxero_dagster.defs.pools import LEDGER_WRITER
from sfxero_dagster.defs.resources import LedgerResource, SfxeroConfigResource, WarehouseResource
from sfxero_dagster.sync.matching import match_and_review


def build_match_asset(config: SfxeroConfig) -> dg.AssetsDefinition:
    refs = [dg.AssetKey(["xero", t.key, "reference"]) for t in config.xero.tenants]

    @dg.asset(
        group_name="matching",
        deps=["valid_customers", *refs],
        kinds={"duckdb"},
        pool=LEDGER_WRITER,
        check_specs=[dg.AssetCheckSpec("match_reviews", asset="contact_matches", blocking=False)],
    )
    def contact_matches(
        context: dg.AssetExecutionContext,
        sfxero_config: SfxeroConfigResource,
        warehouse: WarehouseResource,
        ledger: LedgerResource,
    ):
        """Each valid account's Xero contact: link (with the rule and score), create, or review."""
        r = match_and_review(sfxero_config.config, warehouse.open(), ledger.open())
        matches, reviews, customers = r.matches, r.reviews, r.customers
        by_action = matches["action"].value_counts().to_dict()
        by_rule = matches["rule"].value_counts().to_dict()
        examples = reviews.merge(customers[["sf_account_id", "name"]], on="sf_account_id", how="left")[
            ["sf_account_id", "name", "tenant_key", "reason_code", "rule", "score", "candidates"]
        ]
        yield dg.MaterializeResult(
            metadata={
                "rows": dg.MetadataValue.int(len(matches)),
                **{f"action_{k}": dg.MetadataValue.int(int(v)) for k, v in by_action.items()},
                **{f"rule_{k.replace(':', '_')}": dg.MetadataValue.int(int(v)) for k, v in by_rule.items()},
                "queue_open": dg.MetadataValue.int(r.opened),
                "queue_resolved": dg.MetadataValue.int(r.resolved),
                "reviews": dg.MetadataValue.md(
                    examples.head(20).to_markdown(index=False) if len(examples) else "_none_"
                ),
            }
        )
        yield dg.AssetCheckResult(
            check_name="match_reviews",
            passed=reviews.empty,
            severity=dg.AssetCheckSeverity.WARN,
            metadata={
                "reviews": dg.MetadataValue.int(len(reviews)),
                **{
                    f"reason_{k}": dg.MetadataValue.int(int(v))
                    for k, v in reviews["reason_code"].value_counts().items()
                },
            },
        )

    return contact_matches


def matching_defs(config: SfxeroConfig) -> dg.Definitions:
    return dg.Definitions(assets=[build_match_asset(config)])
