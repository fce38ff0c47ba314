"""contact_matches: which Xero contact each valid Salesforce account maps to, and why.

Reads the valid customers, every tenant's contact snapshot and the ledger's links from earlier
pushes; writes one row per account (action, rule, score, competing candidates). Reviews go to the
queue with their candidates; an item whose account now matches cleanly is resolved.
"""

import json

import dagster as dg

from sfxero_dagster.config import SfxeroConfig
from sfxero_dagster.core.ledger import QueueItemIn
from sfxero_dagster.core.matching import CONTACT_COLUMNS, MATCH_COLUMNS, MatchSettings, match_contacts
from sfxero_dagster.core.reasons import REASONS
from sfxero_dagster.core.reasons import hint as reason_hint
from sfxero_dagster.defs.pools import LEDGER_WRITER
from sfxero_dagster.defs.resources import LedgerResource, SfxeroConfigResource, WarehouseResource

MATCH_REASONS = [code for code, r in REASONS.items() if r.stage == "match"]


LINK_REASONS = ("stale_link", "linked_contact_archived")


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
        cfg = sfxero_config.config
        wh, led = warehouse.open(), ledger.open()
        customers = wh.read("valid_customers")
        contacts = wh.read("xero_contacts", CONTACT_COLUMNS)
        tenant_ids = {t.key: t.tenant_id for t in cfg.xero.tenants}
        keys = {v: k for k, v in tenant_ids.items()}
        links = led.links_frame(xero_object="Contacts")  # the push's name for them
        ledger_links = {
            (keys.get(r["tenant_id"]), r["sf_id"]): r["xero_id"]
            for r in links.to_dict("records")
            if r["xero_id"] and r["tenant_id"] in keys
        }
        m = cfg.matching
        matches = match_contacts(
            customers,
            contacts,
            MatchSettings(
                fuzzy_threshold=m.fuzzy_threshold,
                ambiguity_margin=m.ambiguity_margin,
                use_tax_number=m.use_tax_number,
                use_email_domain=m.use_email_domain,
                ignore_generic_email_domains=m.ignore_generic_email_domains,
            ),
            ledger_links,
        )
        wh.replace("contact_matches", matches[MATCH_COLUMNS])
        names = customers.set_index("sf_account_id")["name"].to_dict() if len(customers) else {}
        reviews = matches.loc[matches["reason_code"].notna()]
        items = []
        for r in reviews.to_dict("records"):
            candidates = json.loads(r["candidates"])
            first = candidates[0] if candidates else {}  # a look-alike's one candidate: its name and why
            # A link that points nowhere (or at an archived contact) is about Xero_Contact_Id__c and its
            # value; the others are about the account's name.
            on_link = r["reason_code"] in LINK_REASONS
            field, value = (
                ("Xero_Contact_Id__c", r["xero_contact_id"])
                if on_link
                else ("Name", names.get(r["sf_account_id"]))
            )
            items.append(
                QueueItemIn(
                    sf_object="Account",
                    sf_id=r["sf_account_id"],
                    reason_code=r["reason_code"],
                    message=f"{REASONS[r['reason_code']].description} ({r['rule']})",
                    tenant_id=tenant_ids.get(r["tenant_key"]),
                    field=field,
                    value=value,
                    hint=reason_hint(
                        r["reason_code"],
                        field=field,
                        value=r["same_as"] or r["xero_contact_id"] or value or "",
                        tenant=r["tenant_key"],
                        contact=first.get("name") or "",
                        contact_id=first.get("contact_id") or "",
                        candidates=", ".join(
                            f"{c.get('name')!r} ({c.get('contact_id')})" for c in candidates
                        ),
                        why=first.get("why") or "",
                    ),
                    payload={"rule": r["rule"], "score": r["score"], "candidates": candidates},
                )
            )
        opened, resolved = led.queue_sync(MATCH_REASONS, items, sf_objects=["Account"])
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
                "queue_open": dg.MetadataValue.int(opened),
                "queue_resolved": dg.MetadataValue.int(resolved),
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
