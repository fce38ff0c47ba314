"""Auto-number fields as Salesforce documents them, through every write path.

Auto-numbers (Order.OrderNumber) only ever grow: after records loaded with their numbers, after
deletes, after an all-or-none rollback and after a restart from the persisted state.
"""

from __future__ import annotations

import pytest
from simple_salesforce import Salesforce
from simple_salesforce.exceptions import SalesforceMalformedRequest

from sfxero_dagster.sandbox.salesforce.schema import load_schema
from sfxero_dagster.sandbox.seed import generate

from .conftest import SalesforceSandbox, start


def order_numbers(sf: Salesforce) -> dict[str, int]:
    """Id -> OrderNumber of every order, deleted ones included (queryAll)."""
    rows = sf.query_all("SELECT Id, OrderNumber FROM Order", include_deleted=True)["records"]
    return {r["Id"]: int(r["OrderNumber"]) for r in rows}


def new_order(sf: Salesforce, account: str) -> int:
    rid = sf.Order.create({"AccountId": account, "Status": "Draft", "EffectiveDate": "2026-02-01"})["id"]
    return int(sf.Order.get(rid)["OrderNumber"])


@pytest.fixture
def seeded(sf_sandbox: SalesforceSandbox) -> dict:
    """The small seed loaded as it is (its orders carry OrderNumbers 00000101..00000125)."""
    data = generate("small", 7).salesforce
    sf_sandbox.app.load_seed(data)
    return data


def test_new_orders_number_after_every_seeded_one_on_every_write_path(sf: Salesforce, seeded: dict) -> None:
    account = seeded["Account"][0]["Id"]
    seeded_max = max(int(o["OrderNumber"]) for o in seeded["Order"])
    rest = new_order(sf, account)
    collection = sf.restful(
        "composite/sobjects",
        method="POST",
        json={
            "records": [
                {"attributes": {"type": "Order"}, "AccountId": account, "Status": "Draft", "EffectiveDate": d}
                for d in ("2026-02-02", "2026-02-03")
            ]
        },
    )
    assert all(r["success"] for r in collection)
    sf.bulk2.Order.insert(
        records=[{"AccountId": account, "Status": "Draft", "EffectiveDate": "2026-02-04"}], wait=0
    )
    sf.bulk2.Order.upsert(
        records=[
            {
                "Xero_Invoice_Id__c": "inv-1",
                "AccountId": account,
                "Status": "Draft",
                "EffectiveDate": "2026-02-05",
            }
        ],
        external_id_field="Xero_Invoice_Id__c",
        wait=0,
    )
    numbers = order_numbers(sf)
    created = [n for rid, n in numbers.items() if rid not in {o["Id"] for o in seeded["Order"]}]
    assert rest == seeded_max + 1
    assert sorted(created) == list(range(seeded_max + 1, seeded_max + 6))
    assert len(set(numbers.values())) == len(numbers)  # unique across seeded and new


def test_numbers_are_never_reused_after_delete_rollback_or_restart(
    sf_sandbox: SalesforceSandbox, sf: Salesforce, seeded: dict
) -> None:
    account = seeded["Account"][0]["Id"]
    first = new_order(sf, account)
    newest = max(order_numbers(sf).items(), key=lambda kv: kv[1])[0]
    sf.Order.delete(newest)
    after_delete = new_order(sf, account)
    assert after_delete == first + 1  # the deleted order's number stays taken
    rolled = sf.restful(
        "composite/sobjects",
        method="POST",
        json={
            "allOrNone": True,
            "records": [
                {
                    "attributes": {"type": "Order"},
                    "AccountId": account,
                    "Status": "Draft",
                    "EffectiveDate": "2026-03-01",
                },
                {"attributes": {"type": "Order"}, "AccountId": account},  # no Status: fails, rolls both back
            ],
        },
    )
    assert rolled[0]["errors"][0]["statusCode"] == "ALL_OR_NONE_OPERATION_ROLLED_BACK"
    after_rollback = new_order(sf, account)
    assert after_rollback > after_delete + 1  # the rolled-back create's number is not handed out again

    sf_sandbox.server.stop()
    app, server = start(sf_sandbox.state_dir)
    try:
        again = SalesforceSandbox(app, server, sf_sandbox.control, app.info(), sf_sandbox.state_dir).client()
        assert new_order(again, account) == after_rollback + 1
        # state persisted before counters were kept: the numbers held by records still count
        app.store.delete_meta("autonumber")
        server.stop()
        app, server = start(sf_sandbox.state_dir)
        again = SalesforceSandbox(app, server, sf_sandbox.control, app.info(), sf_sandbox.state_dir).client()
        assert new_order(again, account) == after_rollback + 2
        assert len(set(order_numbers(again).values())) == len(order_numbers(again))
    finally:
        server.stop()


def test_display_format_and_describe(sf_sandbox: SalesforceSandbox, sf: Salesforce) -> None:
    account = sf.Account.create({"Name": "Fresh org"})["id"]
    rid = sf.Order.create({"AccountId": account, "Status": "Draft", "EffectiveDate": "2026-02-01"})["id"]
    assert sf.Order.get(rid)["OrderNumber"] == "00000100"
    assert new_order(sf, account) == 101
    field = load_schema().get("Order").field("OrderNumber")
    assert field.format_auto_number(123456789) == "123456789"  # outgrows the minimum digits, no truncation
    assert field.parse_auto_number("00000042") == 42 and field.parse_auto_number("ORD-1") is None
    desc = next(f for f in sf.Order.describe()["fields"] if f["name"] == "OrderNumber")
    assert (desc["type"], desc["autoNumber"], desc["createable"], desc["updateable"], desc["calculated"]) == (
        "string",
        True,
        False,
        False,
        False,
    )
    with pytest.raises(SalesforceMalformedRequest) as info:
        sf.Order.update(rid, {"OrderNumber": "00000001"})
    assert info.value.content[0]["errorCode"] == "INVALID_FIELD_FOR_INSERT_UPDATE"
