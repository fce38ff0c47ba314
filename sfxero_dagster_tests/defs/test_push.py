"""Push to Xero against the seeded sandbox: exactly once, Xero's arithmetic, idempotent re-runs."""

from __future__ import annotations

from decimal import Decimal

import dagster as dg

from .conftest import World, dagster_cli

PUSH = dg.AssetSelection.groups("push")


def prepared(world: World) -> World:
    """The prepared_world fixture already holds extracted, staged and matched data."""
    assert world.warehouse.has("contact_matches")
    return world


def _meta(result: dg.ExecuteInProcessResult, key: str) -> dict:
    mats = [m for m in result.get_asset_materialization_events() if m.asset_key.to_user_string() == key]
    return {k: v.value for k, v in mats[-1].materialization.metadata.items()}


def xero_records(world: World, kind: str) -> list[dict]:
    """Straight from the emulator's store: the ground truth of what exists in Xero."""
    return [
        r
        for t in world.handle.xero.info()["tenants"]
        for r in world.handle.xero.store.all(f"{t['tenantId']}/{kind}")
    ]


def test_every_valid_invoice_exists_once_with_our_totals_and_a_rerun_writes_nothing(
    prepared_world: World,
) -> None:
    world = prepared(prepared_world)
    first = world.materialize(PUSH)
    valid = world.warehouse.read("valid_invoice_headers")
    matches = world.warehouse.read("contact_matches")
    in_review = set(matches.loc[matches["action"] == "review", "sf_account_id"])
    # an invoice whose customer's contact match waits for a person waits too, visibly
    waiting = {i.sf_id for i in world.ledger.queue_list(reason_code="contact_pending_review")}
    assert waiting == set(valid.loc[valid["sf_account_id"].isin(in_review), "sf_id"]) != set()
    valid = valid.loc[~valid["sf_id"].isin(waiting)]
    links = world.ledger.links_frame(xero_object="Invoices")
    assert set(links["sf_id"]) == set(valid["sf_id"])
    assert _meta(first, "xero/au/invoices")["created"] + _meta(first, "xero/uk/invoices")["created"] == len(
        valid
    )
    for tenant in ("au", "uk"):
        meta = _meta(first, f"xero/{tenant}/invoices")
        assert meta["failed"] == 0 and meta["calls_per_record"] <= 0.05
    invoices = [i for i in xero_records(world, "Invoice") if i.get("Type") == "ACCREC"]
    numbers = [i["InvoiceNumber"] for i in invoices if i["InvoiceNumber"].startswith("SF-")]
    assert sorted(numbers) == sorted(valid["invoice_number"])  # each exactly once
    from sfxero_dagster.config import load_config
    from sfxero_dagster.sync.plan import load_plan

    cfg = load_config(world.config_path)
    by_number = {i["InvoiceNumber"]: i for i in invoices}
    # what we computed with Xero's arithmetic is what Xero posted
    checked = 0
    for tenant in cfg.xero.tenants:
        for p in load_plan("Invoices", tenant, cfg, world.warehouse, world.ledger):
            if p.expected:
                inv = by_number[p.natural_key]
                assert Decimal(str(inv["Total"])) == Decimal(p.expected["total"]), p.natural_key
                assert Decimal(str(inv["TotalTax"])) == Decimal(p.expected["total_tax"])
                # lines, discounts, taxes and tracking as mapped
                sent = (p.payload or {})["LineItems"]
                assert len(inv["LineItems"]) == len(sent)
                for got, want in zip(inv["LineItems"], sent, strict=True):
                    for f in ("ItemCode", "TaxType", "AccountCode"):
                        assert got.get(f) == want.get(f), (p.natural_key, f)
                    for f in ("Quantity", "UnitAmount", "DiscountRate"):
                        assert Decimal(str(got.get(f) or 0)) == Decimal(str(want.get(f) or 0)), (
                            p.natural_key,
                            f,
                        )
                    tracking = {(t["Name"], t["Option"]) for t in got.get("Tracking") or []}
                    assert tracking == {(t["Name"], t["Option"]) for t in want.get("Tracking") or []}
                assert inv["CurrencyCode"] == p.payload["CurrencyCode"] and inv["Reference"] == p.sf_id
                checked += 1
    assert checked == len(valid)
    second = world.materialize(PUSH)
    for key in ("xero/au/contacts", "xero/uk/contacts", "xero/au/invoices", "xero/uk/invoices"):
        m = _meta(second, key)
        assert m["created"] == m["updated"] == m["failed"] == 0 and m["xero_api_calls"] == 0, (key, m)


def xero_control(world: World):
    from sfxero_dagster.sandbox.control import SandboxControl

    return SandboxControl(world.handle.xero.info()["identity_url"])


def assert_exactly_once(world: World) -> None:
    """Every sendable valid invoice exists in Xero exactly once, and the ledger links each one."""
    valid = world.warehouse.read("valid_invoice_headers")
    waiting = {i.sf_id for i in world.ledger.queue_list(reason_code="contact_pending_review")}
    expected = sorted(valid.loc[~valid["sf_id"].isin(waiting), "invoice_number"])
    numbers = sorted(
        i["InvoiceNumber"]
        for i in xero_records(world, "Invoice")
        if i.get("Type") == "ACCREC" and i["InvoiceNumber"].startswith("SF-")
    )
    assert numbers == expected  # zero duplicates, zero missing
    contacts = [c.get("ContactNumber") for c in xero_records(world, "Contact") if c.get("ContactNumber")]
    assert len(contacts) == len(set(contacts))
    assert not world.ledger.pending_intents()
    assert set(world.ledger.links_frame(xero_object="Invoices")["xero_number"]) == set(expected)


def test_503_dropped_connection_after_commit_and_429_minute_lose_and_duplicate_nothing(
    prepared_world: World,
) -> None:
    world = prepared(prepared_world)
    world.materialize(dg.AssetSelection.keys("xero/au/contacts", "xero/uk/contacts"))
    ctl = xero_control(world)
    tenants = {t["key"]: t["tenantId"] for t in world.handle.xero.info()["tenants"]}
    au, uk = {"xero-tenant-id": tenants["au"]}, {"xero-tenant-id": tenants["uk"]}
    ctl.add_fault(action="status", status=503, methods=["PUT"], path_regex="/Invoices", header=au, times=1)
    ctl.add_fault(action="drop_after_commit", methods=["PUT"], path_regex="/Invoices", header=au, times=1)
    ctl.add_fault(
        action="status",
        status=429,
        methods=["PUT"],
        path_regex="/Invoices",
        header=uk,
        times=1,
        headers={"Retry-After": "1", "X-Rate-Limit-Problem": "minute"},
        body="Rate limit exceeded",
    )
    result = world.materialize(dg.AssetSelection.keys("xero/au/invoices", "xero/uk/invoices"))
    fired = ctl.faults()
    assert all(r["fired"] == r["times"] for r in fired["rules"]), fired
    assert result.success
    assert_exactly_once(world)


def test_day_limit_parks_the_run_and_the_next_run_finishes_without_duplicates(prepared_world: World) -> None:
    world = prepared(prepared_world)
    world.materialize(dg.AssetSelection.keys("xero/au/contacts", "xero/uk/contacts"))
    ctl = xero_control(world)
    ctl.add_fault(
        action="status",
        status=429,
        methods=["PUT"],
        path_regex="/Invoices",
        times=1,
        headers={"Retry-After": "3600", "X-Rate-Limit-Problem": "day"},
        body="Rate limit exceeded",
    )
    parked = world.materialize(dg.AssetSelection.keys("xero/au/invoices"), raise_on_error=False)
    assert not parked.success
    failure = next(e for e in parked.all_events if e.is_step_failure)
    assert "daily limit" in str(failure.step_failure_data.error.message)
    assert world.ledger.pending_intents()  # the refused batch is remembered, not lost
    world.handle.clock.advance(86_400)  # the next day
    world.materialize(dg.AssetSelection.keys("xero/au/invoices", "xero/uk/invoices"))
    assert_exactly_once(world)


def test_sigkill_mid_batch_then_a_rerun_ten_sandbox_minutes_later_duplicates_nothing(
    prepared_world: World, tmp_path
) -> None:
    import os
    import signal
    import subprocess
    import time

    world = prepared(prepared_world)
    world.materialize(dg.AssetSelection.keys("xero/au/contacts", "xero/uk/contacts"))
    ctl = xero_control(world)
    ctl.add_fault(action="delay", delay_seconds=4, methods=["PUT"], path_regex="/Invoices", times=1)
    proc = dagster_cli(
        tmp_path / "dagster_home",
        "asset",
        "materialize",
        "-m",
        "sfxero_dagster.definitions",
        "--select",
        "xero/au/invoices",
        start_new_session=True,  # its own process group: the CLI and the step process it spawns
        stdout=subprocess.DEVNULL,  # never read: a full pipe must not stall the run we are about to kill
        stderr=subprocess.DEVNULL,
    )
    deadline = time.time() + 120
    while not world.ledger.pending_intents() and time.time() < deadline:
        time.sleep(0.2)
    assert world.ledger.pending_intents(), "the push never started"
    time.sleep(1.5)  # inside the delayed PUT: Xero will commit the batch, the client will never hear
    os.killpg(proc.pid, signal.SIGKILL)  # the whole run, step process included
    proc.wait(timeout=30)
    time.sleep(4)  # let the server finish (and commit) the request
    pending = world.ledger.pending_intents()
    assert pending and all(i.xero_object == "Invoices" for i in pending)
    committed = [i for i in xero_records(world, "Invoice") if i.get("Type") == "ACCREC"]
    assert committed  # Xero has the batch the dead process never recorded

    world.handle.clock.advance(600)  # ten sandbox minutes: the Idempotency-Keys have expired
    rerun = world.materialize(dg.AssetSelection.keys("xero/au/invoices", "xero/uk/invoices"))
    assert _meta(rerun, "xero/au/invoices")["recovered_linked"] == len(pending)
    assert _meta(rerun, "xero/au/invoices")["created"] == 0
    assert_exactly_once(world)


def test_two_tenants_push_in_parallel_each_within_its_limits(prepared_world: World, tmp_path) -> None:

    world = prepared(prepared_world)
    home = tmp_path / "dagster_home"
    world.handle.xero.request_log.clear()
    proc = dagster_cli(
        home,
        "asset",
        "materialize",
        "-m",
        "sfxero_dagster.definitions",
        "--select",
        "xero/au/contacts,xero/uk/contacts,xero/au/invoices,xero/uk/invoices",
    )
    _, err = proc.communicate(timeout=300)
    assert proc.returncode == 0, err[-3000:]
    instance = dg.DagsterInstance.from_config(str(home))
    (run,) = instance.get_runs()
    stats = {s.step_key: s for s in instance.get_run_step_stats(run.run_id)}
    au, uk = stats["xero__au__contacts"], stats["xero__uk__contacts"]
    assert au.start_time < uk.end_time and uk.start_time < au.end_time  # the tenants ran side by side
    statuses = [r["status"] for r in world.handle.xero.request_log]
    assert statuses and 429 not in statuses  # neither organisation was ever over its limits
    assert_exactly_once(world)


def test_plan_shows_the_push_and_makes_no_api_call(prepared_world: World) -> None:
    from click.testing import CliRunner

    from sfxero_dagster.cli import main

    world = prepared(prepared_world)
    world.handle.xero.request_log.clear()
    result = world.materialize(dg.AssetSelection.keys("push_plan"))
    cli = CliRunner().invoke(main, ["plan"])
    assert cli.exit_code == 0, cli.output
    assert world.handle.xero.request_log == []  # zero calls, so zero write calls
    plan = world.warehouse.read("push_plan")
    valid = world.warehouse.read("valid_invoice_headers")
    creates = plan.loc[(plan["collection"] == "Invoices") & (plan["action"] == "create")]
    waiting = plan.loc[plan["reason"] == "contact_pending_review", "sf_id"]
    assert set(creates["sf_id"]) | set(waiting) == set(valid["sf_id"])
    per_tenant = creates["tenant"].value_counts()
    words = " ".join(cli.output.split())
    for tenant, n in per_tenant.items():
        assert f"{tenant} Invoices create {n}" in words, cli.output
    meta = result.get_asset_materialization_events()[0].materialization.metadata
    assert meta["writes"].value == int(plan["action"].isin(["create", "update"]).sum()) > 0
    # after the push, the plan is all skips
    world.materialize(PUSH)
    world.materialize(dg.AssetSelection.keys("push_plan"))
    after = world.warehouse.read("push_plan")
    assert set(after.loc[after["reason"] == "", "action"]) == {"skip"}


def test_xero_ids_are_written_back_to_salesforce_once(prepared_world: World) -> None:
    from sfxero_dagster.clients.salesforce import SalesforceClient
    from sfxero_dagster.defs.resources import SalesforceResource

    world = prepared(prepared_world)
    world.materialize(PUSH)
    first = world.materialize(dg.AssetSelection.keys("salesforce/xero_ids"))
    meta = _meta(first, "salesforce/xero_ids")
    links = world.ledger.links_frame()
    n_contacts = int((links["xero_object"] == "Contacts").sum())
    n_invoices = int((links["xero_object"] == "Invoices").sum())
    assert meta["written"] == n_contacts + n_invoices and meta["failed"] == 0
    assert meta["salesforce_requests"] <= 1 + 3  # a login and one collection per object (all under 200)
    # a rerun before the next extract (whose copy still lacks the ids) remembers what it wrote
    rerun = world.materialize(dg.AssetSelection.keys("salesforce/xero_ids"))
    assert _meta(rerun, "salesforce/xero_ids")["written"] == 0
    sf = SalesforceClient(
        SalesforceResource(
            connection=world.settings().config.salesforce,
            consumer_key=world.handle.salesforce.info()["consumer_key"],
            consumer_secret=world.handle.salesforce.info()["consumer_secret"],
        ).settings()
    )
    opps = {
        r["Id"]: r
        for r in sf.query(
            "SELECT Id, Xero_Invoice_Id__c, Xero_Invoice_Number__c, Xero_Online_Invoice_Url__c FROM Opportunity"
        )
    }
    for r in links.loc[(links["xero_object"] == "Invoices") & (links["sf_object"] == "Opportunity")].to_dict(
        "records"
    ):
        got = opps[r["sf_id"]]
        assert (got["Xero_Invoice_Id__c"], got["Xero_Invoice_Number__c"]) == (r["xero_id"], r["xero_number"])
        assert got["Xero_Online_Invoice_Url__c"].startswith("http")
    accounts = {
        r["Id"]: r["Xero_Contact_Id__c"] for r in sf.query("SELECT Id, Xero_Contact_Id__c FROM Account")
    }
    for r in links.loc[links["xero_object"] == "Contacts"].to_dict("records"):
        assert accounts[r["sf_id"]] == r["xero_id"]
    # the next delta reads the echo of our own writes; nothing is pushed or written again
    world.materialize(dg.AssetSelection.groups("salesforce_extract"), partition_key=world.today())
    world.materialize(dg.AssetSelection.groups("staging", "matching"))
    again = world.materialize(PUSH | dg.AssetSelection.keys("salesforce/xero_ids"))
    assert _meta(again, "salesforce/xero_ids")["written"] == 0
    assert _meta(again, "salesforce/xero_ids")["xero_api_calls"] == 0
    for key in ("xero/au/contacts", "xero/uk/contacts", "xero/au/invoices", "xero/uk/invoices"):
        assert _meta(again, key)["xero_api_calls"] == 0, key
    # someone clears an id in Salesforce: once an extract has seen it, it is written again (only it)
    cleared = links.loc[links["xero_object"] == "Contacts", "sf_id"].iloc[0]
    world.handle.clock.advance(60)
    world.handle.salesforce.act("edit", id=cleared, fields={"Xero_Contact_Id__c": None})
    world.handle.clock.advance(60)
    world.materialize(dg.AssetSelection.groups("salesforce_extract"), partition_key=world.today())
    restored = world.materialize(dg.AssetSelection.keys("salesforce/xero_ids"))
    assert _meta(restored, "salesforce/xero_ids")["written"] == 1
    assert _meta(restored, "salesforce/xero_ids")["account_updates"] == 1
    (row,) = sf.query(f"SELECT Xero_Contact_Id__c FROM Account WHERE Id = '{cleared}'")
    assert row["Xero_Contact_Id__c"] == links.set_index("sf_id").loc[cleared, "xero_id"]


def test_a_changed_opportunity_updates_its_invoice_and_a_cancelled_order_voids_it(
    prepared_world: World,
) -> None:
    world = prepared(prepared_world)
    world.materialize(PUSH)
    links = world.ledger.links_frame(xero_object="Invoices").set_index("sf_id")
    lines = world.warehouse.read("valid_invoice_lines")
    opp_line = lines.loc[(lines["source"] == "opportunity") & lines["sf_header_id"].isin(links.index)].iloc[0]
    order_id = next(i for i in links.index if i.startswith("801"))
    world.handle.clock.advance(600)
    world.sf_control.call(
        "POST",
        "act/edit",
        json={"id": opp_line["sf_line_id"], "fields": {"Quantity": float(opp_line["quantity"]) + 1}},
    )
    world.sf_control.call("POST", "act/cancel_order", json={"id": order_id})
    world.materialize(dg.AssetSelection.groups("salesforce_extract"), partition_key=world.today())
    world.materialize(dg.AssetSelection.groups("staging", "matching"))
    result = world.materialize(PUSH)
    metas = [_meta(result, f"xero/{t}/invoices") for t in ("au", "uk")]
    assert sum(m["updated"] for m in metas) == 1 and sum(m["voided"] for m in metas) == 1
    assert sum(m["created"] for m in metas) == 0
    invoices = {i["InvoiceID"]: i for i in xero_records(world, "Invoice")}
    updated = invoices[links.loc[opp_line["sf_header_id"], "xero_id"]]
    qty = {Decimal(str(li["Quantity"])) for li in updated["LineItems"]}
    assert Decimal(repr(float(opp_line["quantity"]) + 1)) in qty
    assert invoices[links.loc[order_id, "xero_id"]]["Status"] == "VOIDED"
    numbers = [i["InvoiceNumber"] for i in invoices.values() if i.get("Type") == "ACCREC"]
    assert len(numbers) == len(set(numbers))  # updated in place, never re-created
    assert all(
        m["xero_api_calls"] == 0
        for m in (_meta(world.materialize(PUSH), f"xero/{t}/invoices") for t in ("au", "uk"))
    )


def test_a_cancelled_order_with_a_payment_is_credited_and_allocated_not_voided(prepared_world: World) -> None:
    world = prepared(prepared_world)
    world.materialize(PUSH)
    links = world.ledger.links_frame(xero_object="Invoices").set_index("sf_id")
    order_id = next(i for i in links.index if i.startswith("801"))
    tenant_id, invoice_id = links.loc[order_id, "tenant_id"], links.loc[order_id, "xero_id"]
    ctl = xero_control(world)
    invoice = world.handle.xero.store.get(f"{tenant_id}/Invoice", invoice_id)
    part = (Decimal(str(invoice["Total"])) / 2).quantize(Decimal("0.01"))
    ctl.call("POST", "act/pay", json={"tenant_id": tenant_id, "invoice": invoice_id, "amount": str(part)})
    world.handle.clock.advance(600)
    world.sf_control.call("POST", "act/cancel_order", json={"id": order_id})
    world.materialize(dg.AssetSelection.groups("salesforce_extract"), partition_key=world.today())
    world.materialize(dg.AssetSelection.groups("staging", "matching"))
    result = world.materialize(PUSH)
    metas = [_meta(result, f"xero/{t}/invoices") for t in ("au", "uk")]
    assert sum(m.get("credited", 0) for m in metas) == 1 and sum(m.get("allocated", 0) for m in metas) == 1
    assert sum(m["voided"] for m in metas) == 0
    after = world.handle.xero.store.get(f"{tenant_id}/Invoice", invoice_id)
    assert (
        Decimal(str(after["AmountDue"])) == 0
        and Decimal(str(after["AmountCredited"])) == Decimal(str(invoice["Total"])) - part
    )
    notes = [c for c in xero_records(world, "CreditNote") if c.get("Reference") == order_id]
    assert len(notes) == 1 and notes[0]["CreditNoteNumber"] == f"{invoice['InvoiceNumber']}-CN"
    # settled: the next push does nothing
    again = world.materialize(PUSH)
    assert all(_meta(again, f"xero/{t}/invoices")["xero_api_calls"] == 0 for t in ("au", "uk"))


def test_missing_items_are_created_first_when_the_config_allows(prepared_world: World) -> None:
    import yaml

    world = prepared(prepared_world)
    cfg = yaml.safe_load(world.config_path.read_text())
    cfg["items"] = {"create_missing": True}
    world.config_path.write_text(yaml.safe_dump(cfg))
    world.materialize(dg.AssetSelection.groups("staging", "matching"))
    valid = world.warehouse.read("valid_invoice_lines")
    assert "SKU-NOT-IN-XERO" in set(valid["sku"])  # no longer rejected
    result = world.materialize(PUSH)
    created = sum(_meta(result, f"xero/{t}/invoices").get("items_created", 0) for t in ("au", "uk"))
    items = [i for i in xero_records(world, "Item") if i["Code"] == "SKU-NOT-IN-XERO"]
    assert created == len(items) >= 1
    assert_exactly_once(world)
    again = world.materialize(PUSH)
    assert all(_meta(again, f"xero/{t}/invoices")["xero_api_calls"] == 0 for t in ("au", "uk"))


def test_a_name_taken_in_xero_since_the_snapshot_is_queued_and_the_rest_of_the_batch_lands(
    prepared_world: World,
) -> None:
    world = prepared(prepared_world)
    matches = world.warehouse.read("contact_matches")
    customers = world.warehouse.read("valid_customers").set_index("sf_account_id")
    victim = matches.loc[(matches["action"] == "create") & (matches["tenant_key"] == "au")].iloc[0]
    tenant_id = next(t["tenantId"] for t in world.handle.xero.info()["tenants"] if t["key"] == "au")
    other = next(c for c in world.handle.xero.store.all(f"{tenant_id}/Contact") if not c.get("ContactNumber"))
    name = customers.loc[victim["sf_account_id"], "name"]
    xero_control(world).call(
        "POST",
        "act/rename_contact",
        json={"tenant_id": tenant_id, "contact_id": other["ContactID"], "name": name},
    )
    result = world.materialize(PUSH)
    meta = _meta(result, "xero/au/contacts")
    planned = int(((matches["tenant_key"] == "au") & (matches["action"] == "create")).sum())
    assert meta["failed"] == 1 and meta["created"] == planned - 1  # the good elements of the batch landed
    (item,) = world.ledger.queue_list(sf_id=victim["sf_account_id"], reason_code="xero_validation_error")
    assert "already" in item.message.lower() or "name" in item.message.lower()
    waiting = {i.sf_id for i in world.ledger.queue_list(reason_code="contact_pending_review")}
    headers = world.warehouse.read("valid_invoice_headers")
    assert set(headers.loc[headers["sf_account_id"] == victim["sf_account_id"], "sf_id"]) <= waiting


def test_a_change_to_a_paid_invoice_is_queued_as_not_editable(prepared_world: World) -> None:
    world = prepared(prepared_world)
    world.materialize(PUSH)
    links = world.ledger.links_frame(xero_object="Invoices").set_index("sf_id")
    lines = world.warehouse.read("valid_invoice_lines")
    line = lines.loc[(lines["source"] == "opportunity") & lines["sf_header_id"].isin(links.index)].iloc[0]
    opp = line["sf_header_id"]
    xero_control(world).call(
        "POST",
        "act/pay",
        json={"tenant_id": links.loc[opp, "tenant_id"], "invoice": links.loc[opp, "xero_id"]},
    )
    world.handle.clock.advance(600)
    world.sf_control.call(
        "POST",
        "act/edit",
        json={"id": line["sf_line_id"], "fields": {"Quantity": float(line["quantity"]) + 2}},
    )
    world.materialize(dg.AssetSelection.groups("salesforce_extract"), partition_key=world.today())
    world.materialize(dg.AssetSelection.groups("staging", "matching"))
    world.materialize(PUSH)
    (item,) = world.ledger.queue_list(sf_id=opp)
    assert item.reason_code == "invoice_not_editable" and "credit note" in item.hint
    paid = world.handle.xero.store.get(f"{links.loc[opp, 'tenant_id']}/Invoice", links.loc[opp, "xero_id"])
    assert paid["Status"] == "PAID"  # untouched


def test_the_xero_arithmetic_check_passes_on_a_push_and_fails_when_our_arithmetic_is_wrong(
    prepared_world: World,
) -> None:
    world = prepared(prepared_world)
    # Our picture of the 'uk' organisation's tax rates goes wrong (a rate Xero does not apply): every uk
    # invoice we plan then has totals Xero will not post, which the check after the push must say.
    wh = world.warehouse
    rates = wh.read("xero_tax_rates")
    uk = rates["tenant_key"] == "uk"
    rate = rates["effective_rate"].map(Decimal)  # kept as exact decimal text
    assert (rate[uk] > 0).any()
    rates["effective_rate"] = rate.where(~uk | (rate == 0), rate + 1).map(str)
    wh.replace("xero_tax_rates", rates)
    result = world.materialize(PUSH, raise_on_error=False)
    checks = {(c.asset_key.to_user_string(), c.check_name): c for c in result.get_asset_check_evaluations()}
    au, uk_check = (
        checks[("xero/au/invoices", "xero_arithmetic")],
        checks[("xero/uk/invoices", "xero_arithmetic")],
    )
    assert au.passed and au.metadata["violations"].value == 0
    created = _meta(result, "xero/uk/invoices")["created"]
    assert not uk_check.passed and 0 < uk_check.metadata["violations"].value <= created
    assert "TotalTax" in uk_check.metadata["examples"].value
