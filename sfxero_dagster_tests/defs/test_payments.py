"""Payment status from Xero to Salesforce: one sensor tick plus the run it requests per user action."""

from __future__ import annotations

import dagster as dg

from sfxero_dagster.clients.salesforce import SalesforceClient
from sfxero_dagster.defs.resources import SalesforceResource, build_resources

from .conftest import World
from .test_push import PUSH, xero_control


def sf_client(world: World) -> SalesforceClient:
    info = world.handle.salesforce.info()
    return SalesforceClient(
        SalesforceResource(
            connection=world.settings().config.salesforce,
            consumer_key=info["consumer_key"],
            consumer_secret=info["consumer_secret"],
        ).settings()
    )


def tick(world: World, tenant: str, cursor: str | None):
    """One sensor evaluation; when it asks for a run, run it as the daemon would (same run_key)."""
    defs = world.defs()
    sensor = defs.get_sensor_def(f"xero_{tenant}_payment_status")
    resources = build_resources(config_path=str(world.config_path))
    with dg.build_sensor_context(instance=world.instance, cursor=cursor, resources=resources) as ctx:
        result = sensor(ctx)
        cursor = ctx.cursor
    requests = [result] if isinstance(result, dg.RunRequest) else []
    for req in requests:
        world.materialize(
            dg.AssetSelection.keys(f"salesforce/{tenant}/invoice_status"),
            tags={"dagster/run_key": req.run_key},
        )
    return requests, cursor


def state(world: World, invoice_id: str) -> dict:
    sf = sf_client(world)
    (inv,) = sf.query(
        "SELECT Status__c, Amount_Paid__c, Amount_Due__c, Amount_Credited__c, Total__c FROM Xero_Invoice__c "
        f"WHERE Xero_Invoice_Id__c = '{invoice_id}'"
    )
    payments = list(
        sf.query(
            "SELECT Xero_Payment_Id__c, Amount__c, Status__c, Payment_Type__c FROM Xero_Payment__c "
            f"WHERE Xero_Invoice__r.Xero_Invoice_Id__c = '{invoice_id}'"
        )
    )
    return {"invoice": inv, "payments": payments}


def test_each_user_action_reaches_salesforce_in_one_tick(prepared_world: World) -> None:
    world = prepared_world
    world.materialize(PUSH)
    links = world.ledger.links_frame(xero_object="Invoices")
    au_tid = next(t["tenantId"] for t in world.handle.xero.info()["tenants"] if t["key"] == "au")
    au = links.loc[links["tenant_id"] == au_tid].sort_values("sf_id")
    ids = list(au["xero_id"])
    ctl = xero_control(world)

    requests, cursor = tick(world, "au", None)  # the first tick writes every pushed invoice
    assert len(requests) == 1
    first = state(world, ids[0])
    assert first["invoice"]["Status__c"] == "Awaiting Payment" and first["payments"] == []
    requests, cursor = tick(world, "au", cursor)
    assert requests == []  # nothing changed: nothing requested

    def act(action: str, **kw) -> dict:
        return ctl.call("POST", f"act/{action}", json={"tenant_id": au_tid, **kw})

    total = float(first["invoice"]["Total__c"])
    # full payment
    world.handle.clock.advance(60)
    act("pay", invoice=ids[0])
    requests, cursor = tick(world, "au", cursor)
    got = state(world, ids[0])
    assert (
        len(requests) == 1 and got["invoice"]["Status__c"] == "Paid" and got["invoice"]["Amount_Due__c"] == 0
    )
    assert [p["Amount__c"] for p in got["payments"]] == [total]
    # partial payment
    world.handle.clock.advance(60)
    part = round(float(state(world, ids[1])["invoice"]["Total__c"]) / 2, 2)
    paid = act("pay", invoice=ids[1], amount=str(part))
    requests, cursor = tick(world, "au", cursor)
    assert len(requests) == 1
    got = state(world, ids[1])
    assert got["invoice"]["Status__c"] == "Partially Paid" and got["invoice"]["Amount_Paid__c"] == part
    # void
    world.handle.clock.advance(60)
    act("void", invoice=ids[2])
    requests, cursor = tick(world, "au", cursor)
    assert len(requests) == 1
    assert state(world, ids[2])["invoice"]["Status__c"] == "Voided"
    # credit-note allocation
    world.handle.clock.advance(60)
    inv3 = state(world, ids[3])["invoice"]
    contact = world.handle.xero.store.get(f"{au_tid}/Invoice", ids[3])["Contact"]["ContactID"]
    act(
        "credit",
        invoice=ids[3],
        amount=str(inv3["Total__c"]),
        credit_note={
            "Contact": {"ContactID": contact},
            "LineItems": [
                {
                    "Description": "goodwill",
                    "Quantity": 1,
                    "UnitAmount": inv3["Total__c"],
                    "TaxType": "EXEMPTOUTPUT",
                    "AccountCode": "200",
                }
            ],
        },
    )
    requests, cursor = tick(world, "au", cursor)
    assert len(requests) == 1
    got = state(world, ids[3])
    assert got["invoice"]["Status__c"] == "Credited"
    assert [p["Payment_Type__c"] for p in got["payments"]] == ["Credit Note"]
    # payment deletion reverts the Salesforce side
    world.handle.clock.advance(60)
    payment_id = paid.get("PaymentID") or paid.get("Payments", [{}])[0].get("PaymentID")
    act("delete_payment", payment_id=payment_id)
    requests, cursor = tick(world, "au", cursor)
    assert len(requests) == 1
    got = state(world, ids[1])
    assert got["invoice"]["Status__c"] == "Awaiting Payment" and got["invoice"]["Amount_Paid__c"] == 0
    assert [p["Status__c"] for p in got["payments"]] == ["Deleted"]
    # roll-ups on the Account follow
    contact = world.handle.xero.store.get(f"{au_tid}/Invoice", ids[0])["Contact"]["ContactID"]
    contacts = world.ledger.links_frame(xero_object="Contacts").set_index("xero_id")
    account = contacts.loc[contact, "sf_id"]
    (acct,) = sf_client(world).query(f"SELECT Xero_Paid__c FROM Account WHERE Id = '{account}'")
    assert acct["Xero_Paid__c"] >= total
    # quiet again: a tick requests nothing, and re-running the write-back writes nothing
    requests, cursor = tick(world, "au", cursor)
    assert requests == []
    again = world.materialize(dg.AssetSelection.keys("salesforce/au/invoice_status"))
    meta = again.get_asset_materialization_events()[0].materialization.metadata
    assert (
        meta["rollups_written"].value == meta["invoices_written"].value == meta["payments_written"].value == 0
    )
    assert meta["invoices_read"].value > 0  # the overlap window re-read them; nothing differed


def test_a_thousand_payments_reach_salesforce_in_five_write_calls(prepared_world: World) -> None:
    world = prepared_world
    world.materialize(PUSH)
    tick(world, "au", None)  # the invoices are in Salesforce
    links = world.ledger.links_frame(xero_object="Invoices")
    au_tid = next(t["tenantId"] for t in world.handle.xero.info()["tenants"] if t["key"] == "au")
    invoices = list(links.loc[links["tenant_id"] == au_tid, "xero_id"])
    for i in range(1000):  # a thousand small payments, spread over the organisation's invoices
        world.handle.xero.act("pay", tenant_id=au_tid, invoice=invoices[i % len(invoices)], amount="0.01")
    world.handle.clock.advance(60)
    result = world.materialize(dg.AssetSelection.keys("salesforce/au/invoice_status"))
    meta = {
        k: v.value for k, v in result.get_asset_materialization_events()[0].materialization.metadata.items()
    }
    assert meta["payments_written"] == 1000 and meta["failed"] == 0
    assert meta["payment_write_calls"] <= 5
    sf = sf_client(world)
    assert sf.call("count", lambda s: s.query("SELECT COUNT() FROM Xero_Payment__c")["totalSize"]) == 1000


def test_reconciliation_finds_a_change_that_did_not_bump_updated_date(prepared_world: World) -> None:
    world = prepared_world
    world.materialize(PUSH)
    cursor = None
    for tenant in ("au", "uk"):
        tick(world, tenant, cursor)
    first = world.materialize(dg.AssetSelection.keys("reconciliation"))
    (check,) = first.get_asset_check_evaluations()
    meta = first.get_asset_materialization_events()[0].materialization.metadata
    assert check.passed and meta["mismatches"].value == 0 and meta["invoices_compared"].value > 0
    assert "invoiced" in meta["totals"].value
    # a change inside Xero that the incremental sensor cannot see (UpdatedDateUTC untouched)
    links = world.ledger.links_frame(xero_object="Invoices")
    row = links.iloc[0]
    store = world.handle.xero.store
    inv = store.get(f"{row['tenant_id']}/Invoice", row["xero_id"])
    store.put(f"{row['tenant_id']}/Invoice", row["xero_id"], {**inv, "Status": "VOIDED"})
    second = world.materialize(dg.AssetSelection.keys("reconciliation"))
    (check,) = second.get_asset_check_evaluations()
    assert not check.passed and row["xero_id"] in check.metadata["examples"].value


def test_invoices_created_in_xero_for_linked_contacts_are_mirrored_when_switched_on(
    prepared_world: World,
) -> None:
    import yaml

    world = prepared_world
    world.materialize(PUSH)
    cfg = yaml.safe_load(world.config_path.read_text())
    cfg["payments"]["mirror_xero_created_invoices"] = True
    world.config_path.write_text(yaml.safe_dump(cfg))
    au_tid = next(t["tenantId"] for t in world.handle.xero.info()["tenants"] if t["key"] == "au")
    contacts = world.ledger.links_frame(tenant_id=au_tid, xero_object="Contacts")
    contact_id, account = contacts.iloc[0]["xero_id"], contacts.iloc[0]["sf_id"]
    made = xero_control(world).call(
        "POST",
        "act/create_invoice",
        json={
            "tenant_id": au_tid,
            "invoice": {
                "Type": "ACCREC",
                "Contact": {"ContactID": contact_id},
                "Status": "AUTHORISED",
                "InvoiceNumber": "XERO-ONLY-1",
                "LineItems": [
                    {
                        "Description": "made in Xero",
                        "Quantity": 1,
                        "UnitAmount": 50,
                        "AccountCode": "200",
                        "TaxType": "OUTPUT",
                    }
                ],
            },
        },
    )
    requests, _ = tick(world, "au", None)
    assert len(requests) == 1
    (row,) = sf_client(world).query(
        f"SELECT Account__c, Invoice_Number__c, Total__c FROM Xero_Invoice__c WHERE Xero_Invoice_Id__c = '{made['InvoiceID']}'"
    )
    assert (row["Account__c"], row["Invoice_Number__c"], row["Total__c"]) == (account, "XERO-ONLY-1", 55.0)
