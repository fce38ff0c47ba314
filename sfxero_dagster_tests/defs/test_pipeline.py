"""Extract -> stage and validate -> match, materialised by Dagster against the seeded sandbox."""

from __future__ import annotations

import json

import dagster as dg

from .conftest import World, seed_manifest

DOWNSTREAM = dg.AssetSelection.groups("staging", "matching")


def test_definitions_load_from_the_sandbox_config(world: World) -> None:
    keys = {k.to_user_string() for k in world.defs().get_repository_def().asset_graph.get_all_asset_keys()}
    assert {
        "salesforce/accounts",
        "xero/au/reference",
        "stg_customers",
        "valid_invoices",
        "contact_matches",
    } <= keys


def test_full_cycle_queues_every_planted_problem_and_stages_the_clean_records(prepared_world: World) -> None:
    world = prepared_world  # history extracted in one run, Xero snapshots taken, then:
    result = world.materialize(DOWNSTREAM)
    queue = {(i.sf_id, i.reason_code) for i in world.ledger.queue_list()}
    manifest = seed_manifest()
    planted = set()
    for kind, entries in manifest.items():
        for e in entries:
            if e["expect"].startswith("reason:"):
                planted.add(e["id"])
                assert (e["id"], e["expect"].removeprefix("reason:")) in queue, (kind, e)
    wh = world.warehouse
    valid = set(wh.read("valid_invoice_headers")["sf_id"])
    headers = wh.read("stg_invoice_headers")
    sendable = headers.loc[~headers.is_deleted & ~headers.is_cancelled & ~headers.is_withdrawn]
    clean = set(sendable["sf_id"]) - planted
    assert clean and clean <= valid  # every clean record reaches staging
    assert not (
        valid
        & {
            e["id"]
            for k in manifest.values()
            for e in k
            if e["expect"].startswith("reason:") and e["object"] != "Account"
        }
    )
    checks = {e.check_name: e for e in result.get_asset_check_evaluations()}
    assert (
        not checks["invoice_rejects"].passed
        and checks["invoice_rejects"].severity == dg.AssetCheckSeverity.ERROR
    )
    assert "unmapped_tax_code" in checks["invoice_rejects"].metadata["by_reason"].value


def _meta(result: dg.ExecuteInProcessResult, key: str, name: str) -> int:
    mats = [m for m in result.get_asset_materialization_events() if m.asset_key.to_user_string() == key]
    return mats[-1].materialization.metadata[name].value


def _rows_read(result: dg.ExecuteInProcessResult, key: str) -> int:
    return _meta(result, key, "rows_read")


def test_delta_rereads_exactly_the_edited_records_and_the_watermark_waits_for_success(world: World) -> None:
    accounts = dg.AssetSelection.keys("salesforce/accounts")
    world.extract_all(accounts)
    ids = list(world.warehouse.read("sf_accounts")["Id"])[:5]
    world.handle.clock.advance(3600)
    for rid in ids[:3]:
        world.sf_control.call("POST", "act/edit", json={"id": rid, "fields": {"Phone": "+61 2 5555 0100"}})
    first = world.materialize(accounts, partition_key=world.today())
    assert _rows_read(first, "salesforce/accounts") == 3
    stored = world.warehouse.read("sf_accounts").set_index("Id")
    assert (stored.loc[ids[:3], "Phone"] == "+61 2 5555 0100").all() and len(stored) == 51
    mark = world.ledger.get_watermark("salesforce:Account")

    # A failed run (Salesforce down) leaves the watermark where it was; the next success catches up.
    world.handle.clock.advance(3600)
    world.sf_control.call("POST", "act/edit", json={"id": ids[3], "fields": {"Phone": "1"}})
    world.sf_control.add_fault(
        action="status",
        status=503,
        path_regex="/query",
        times=20,
        body=[{"errorCode": "SERVER_UNAVAILABLE", "message": "down"}],
    )
    failed = world.materialize(accounts, partition_key=world.today(), raise_on_error=False)
    assert not failed.success and world.ledger.get_watermark("salesforce:Account") == mark
    world.sf_control.clear_faults()
    world.sf_control.call("POST", "act/edit", json={"id": ids[4], "fields": {"Phone": "2"}})
    again = world.materialize(accounts, partition_key=world.today())
    # the two edits since the mark, plus the overlap window's re-read of the edge (unchanged, merged away)
    assert _meta(again, "salesforce/accounts", "changed") == 2
    assert (
        _rows_read(again, "salesforce/accounts") == 2 + _meta(again, "salesforce/accounts", "unchanged") == 5
    )
    assert world.ledger.get_watermark("salesforce:Account") > mark
    # and deletions arrive as tombstones
    world.handle.clock.advance(3600)
    world.sf_control.call("POST", "act/delete", json={"id": ids[0]})
    world.materialize(accounts, partition_key=world.today())
    assert world.warehouse.read("sf_accounts").set_index("Id").loc[ids[0], "IsDeleted"]


def test_a_30_day_backfill_in_one_run_stages_the_same_as_30_single_runs(
    world: World, tmp_path, monkeypatch
) -> None:
    from .conftest import make_world

    other = make_world(tmp_path / "other", monkeypatch, handle=world.handle)
    days = [f"2025-03-{d:02d}" for d in range(1, 31)]
    extracts = dg.AssetSelection.groups("salesforce_extract")
    one = world.materialize(
        extracts,
        tags={"dagster/asset_partition_range_start": days[0], "dagster/asset_partition_range_end": days[-1]},
    )
    mats = one.get_asset_materialization_events()
    assert {m.partition for m in mats} == set(days) and len(mats) == 30 * 8  # 8 extracts x 30 days, one run
    for day in days:
        other.materialize(extracts, partition_key=day)
    staging = ["stg_customers", "stg_products", "stg_invoice_headers", "stg_invoice_lines"]
    for w in (world, other):
        w.materialize(staging)
    for table in staging:
        a = world.warehouse.read(table)
        b = other.warehouse.read(table)
        assert len(a) > 0 or table in ("stg_products", "stg_invoice_lines"), table  # products date from 2024
        order = list(a.columns[:3])
        assert (
            a.sort_values(order).reset_index(drop=True).equals(b.sort_values(order).reset_index(drop=True))
        ), table
    # and what it read is exactly what Salesforce modified in March 2025
    accounts = world.warehouse.read("sf_accounts")
    assert accounts["SystemModstamp"].str.startswith("2025-03").all() and len(accounts) > 0


def test_matching_and_fixing_a_record_resolves_its_queue_item(prepared_world: World) -> None:
    world = prepared_world
    first = world.materialize(DOWNSTREAM)
    manifest = seed_manifest()
    matches = world.warehouse.read("contact_matches").set_index("sf_account_id")
    for entry in manifest["xero_near_duplicate"]:
        assert (matches.loc[entry["id"], "action"], matches.loc[entry["id"], "rule"]) == (
            "link",
            "email_domain_phone",
        )
    ambiguous = manifest["ambiguous_match"][0]["id"]
    (item,) = world.ledger.queue_list(sf_id=ambiguous)
    assert item.reason_code == "ambiguous_contact_match" and len(item.payload["candidates"]) == 2
    twin = manifest["duplicate_accounts"][0]
    (dup,) = world.ledger.queue_list(sf_id=twin["id"], reason_code="duplicate_account")
    assert twin["original"] in dup.hint
    meta = [
        m
        for m in first.get_asset_materialization_events()
        if m.asset_key.to_user_string() == "contact_matches"
    ]
    assert meta[0].materialization.metadata["rule_email_domain_phone"].value == 2

    # A person fixes the unmapped tax code in Salesforce; the next delta resolves the item.
    planted = manifest["unmapped_tax_code"][0]
    assert world.ledger.queue_list(sf_id=planted["id"], reason_code="unmapped_tax_code")
    world.handle.clock.advance(600)
    world.sf_control.call("POST", "act/edit", json={"id": planted["line"], "fields": {"Tax_Code__c": "GST"}})
    # ... and links the ambiguous account to the right contact
    chosen = json.loads(
        world.warehouse.read("contact_matches").set_index("sf_account_id").loc[ambiguous, "candidates"]
    )[0]
    world.sf_control.call(
        "POST", "act/edit", json={"id": ambiguous, "fields": {"Xero_Contact_Id__c": chosen["contact_id"]}}
    )
    delta = world.materialize(dg.AssetSelection.groups("salesforce_extract"), partition_key=world.today())
    read = {
        m.asset_key.to_user_string(): m.materialization.metadata["rows_read"].value
        for m in delta.get_asset_materialization_events()
    }
    assert read["salesforce/opportunity_line_items"] == 1 and read["salesforce/accounts"] == 1
    world.materialize(DOWNSTREAM)
    assert not world.ledger.queue_list(sf_id=planted["id"])  # resolved
    assert planted["id"] in set(world.warehouse.read("valid_invoice_headers")["sf_id"])
    assert not world.ledger.queue_list(sf_id=ambiguous)
    row = world.warehouse.read("contact_matches").set_index("sf_account_id").loc[ambiguous]
    assert (row.action, row.rule, row.xero_contact_id) == ("link", "linked_contact_id", chosen["contact_id"])
    resolved = world.ledger.queue_list(state="resolved", sf_id=planted["id"])
    assert [i.reason_code for i in resolved] == ["unmapped_tax_code"]


def test_history_backfill_from_the_dagster_cli_is_one_run(world: World, tmp_path) -> None:
    from .conftest import dagster_cli

    home = tmp_path / "dagster_home"
    proc = dagster_cli(
        home,
        "asset",
        "materialize",
        "-m",
        "sfxero_dagster.definitions",
        "--select",
        "salesforce/accounts,salesforce/contacts",
        "--partition-range",
        "2025-03-01...2025-03-30",
    )
    _, err = proc.communicate(timeout=300)
    assert proc.returncode == 0, err[-3000:]
    instance = dg.DagsterInstance.from_config(str(home))
    runs = instance.get_runs()
    assert len(runs) == 1 and runs[0].status == dg.DagsterRunStatus.SUCCESS
    accounts = world.warehouse.read("sf_accounts")
    assert len(accounts) and accounts["SystemModstamp"].str.startswith("2025-03").all()


def test_jwt_bearer_flow_reads_its_secrets_from_the_environment(world: World, monkeypatch) -> None:
    import yaml

    cfg = yaml.safe_load(world.config_path.read_text())
    cfg["salesforce"]["auth_flow"] = "jwt_bearer"
    world.config_path.write_text(yaml.safe_dump(cfg))
    for var in ("SF_CONSUMER_SECRET", "SF_PASSWORD", "SF_SECURITY_TOKEN"):
        monkeypatch.delenv(var)  # not needed by this flow
    result = world.materialize(dg.AssetSelection.keys("salesforce/accounts"), partition_key=world.today())
    assert result.success
    monkeypatch.delenv("SF_JWT_PRIVATE_KEY_FILE")
    import pytest

    with pytest.raises(dg.DagsterInvalidConfigError, match="SF_JWT_PRIVATE_KEY_FILE"):  # named, at launch
        world.materialize(dg.AssetSelection.keys("salesforce/accounts"), partition_key=world.today())
