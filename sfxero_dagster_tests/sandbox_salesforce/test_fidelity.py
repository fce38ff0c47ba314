"""Auto-number fields and numeric fields as Salesforce documents them, through every write path.

Auto-numbers (Order.OrderNumber) only ever grow: after records loaded with their numbers, after
deletes, after an all-or-none rollback and after a restart from the persisted state. Numbers written
through the API keep all their decimals (Salesforce rounds to a field's scale in its UI only), and
describe reports the Field Reference's precision and scale.
"""

from __future__ import annotations

import csv
import io
import json
from decimal import Decimal

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


@pytest.mark.parametrize(
    ("obj", "name", "kind", "precision", "scale"),
    [
        ("OpportunityLineItem", "Quantity", "double", 12, 2),
        ("OpportunityLineItem", "UnitPrice", "currency", 18, 2),
        ("OpportunityLineItem", "ListPrice", "currency", 18, 2),
        ("OpportunityLineItem", "Discount", "percent", 5, 2),
        ("OpportunityLineItem", "TotalPrice", "currency", 18, 2),
        ("Opportunity", "Amount", "currency", 18, 2),
        ("OrderItem", "Quantity", "double", 18, 2),
        ("OrderItem", "UnitPrice", "currency", 18, 2),
        ("OrderItem", "TotalPrice", "currency", 18, 2),
        ("PricebookEntry", "UnitPrice", "currency", 18, 2),
    ],
)
def test_describe_reports_the_field_reference_precision_and_scale(
    sf: Salesforce, obj: str, name: str, kind: str, precision: int, scale: int
) -> None:
    f = next(x for x in getattr(sf, obj).describe()["fields"] if x["name"] == name)
    assert (f["type"], f["precision"], f["scale"]) == (kind, precision, scale)


def raw(sb: SalesforceSandbox, sf: Salesforce, method: str, path: str, body: str | None = None):
    """A REST call with the JSON text as given and the answer read with Decimals: digits compared exactly."""
    resp = sb.session().request(
        method,
        f"{sb.info['instance_url']}/services/data/v59.0/{path}",
        data=body,
        headers={"Authorization": f"Bearer {sf.session_id}", "Content-Type": "application/json"},
        timeout=10,
    )
    return resp.status_code, (json.loads(resp.text, parse_float=Decimal) if resp.text else None)


def line_parent(sf: Salesforce) -> str:
    acct = sf.Account.create({"Name": "Numbers"})["id"]
    return sf.Opportunity.create(
        {"Name": "N", "AccountId": acct, "StageName": "Prospecting", "CloseDate": "2026-01-05"}
    )["id"]


def stored(sb: SalesforceSandbox, sf: Salesforce, rid: str, *names: str) -> tuple[str, ...]:
    _, rec = raw(sb, sf, "GET", f"sobjects/OpportunityLineItem/{rid}")
    return tuple(str(rec[n]) for n in names)


def test_api_writes_keep_every_decimal_on_rest_collections_and_bulk(
    sf_sandbox: SalesforceSandbox, sf: Salesforce
) -> None:
    opp = line_parent(sf)
    fields = ("Quantity", "UnitPrice", "Discount")
    status, created = raw(
        sf_sandbox,
        sf,
        "POST",
        "sobjects/OpportunityLineItem",
        f'{{"OpportunityId": "{opp}", "Quantity": 0.00001, "UnitPrice": 1.005, "Discount": 2.675}}',
    )
    assert status == 201
    line = created["id"]
    assert stored(sf_sandbox, sf, line, *fields) == ("0.00001", "1.005", "2.675")

    status, _ = raw(
        sf_sandbox, sf, "PATCH", f"sobjects/OpportunityLineItem/{line}", '{"Quantity": 1.23456789}'
    )
    assert status == 204 and stored(sf_sandbox, sf, line, "Quantity") == ("1.23456789",)

    (res,) = sf.restful(
        "composite/sobjects",
        method="PATCH",
        json={
            "records": [
                {
                    "attributes": {"type": "OpportunityLineItem"},
                    "id": line,
                    "Quantity": 2.675,
                    "UnitPrice": 0.00001,
                    "Discount": 1.005,
                }
            ]
        },
    )
    assert res["success"] and stored(sf_sandbox, sf, line, *fields) == ("2.675", "0.00001", "1.005")

    (summary,) = sf.bulk2.OpportunityLineItem.insert(
        records=[{"OpportunityId": opp, "Quantity": "1.005", "UnitPrice": "2.675", "Discount": "0.00001"}],
        wait=0,
    )
    (ok,) = csv.DictReader(
        io.StringIO(sf.bulk2.OpportunityLineItem.get_successful_records(summary["job_id"]))
    )
    assert stored(sf_sandbox, sf, ok["sf__Id"], *fields) == ("1.005", "2.675", "0.00001")
    # the roll-up adds the lines' TotalPrice, which the emulator derives from the stored values
    _, opp_rec = raw(sf_sandbox, sf, "GET", f"sobjects/Opportunity/{opp}")
    _, lines = raw(
        sf_sandbox,
        sf,
        "GET",
        f"query?q=SELECT+TotalPrice+FROM+OpportunityLineItem+WHERE+OpportunityId='{opp}'",
    )
    assert opp_rec["Amount"] == sum(x["TotalPrice"] for x in lines["records"])


def test_integer_digits_beyond_precision_minus_scale_are_refused(
    sf_sandbox: SalesforceSandbox, sf: Salesforce
) -> None:
    opp = line_parent(sf)

    def create(quantity: str, price: str) -> tuple[int, object]:
        body = f'{{"OpportunityId": "{opp}", "Quantity": {quantity}, "UnitPrice": {price}}}'
        return raw(sf_sandbox, sf, "POST", "sobjects/OpportunityLineItem", body)

    # UnitPrice is currency(18,2): 16 integer digits fit, 17 do not; Quantity is double(12,2): 10 and 11
    status, ok = create("9999999999.5", "1234567890123456.5")
    assert status == 201
    assert stored(sf_sandbox, sf, ok["id"], "Quantity", "UnitPrice") == ("9999999999.5", "1234567890123456.5")
    for quantity, price in (("1", "12345678901234567"), ("12345678901", "1"), ("1", "1E+999999999")):
        status, errors = create(quantity, price)
        assert (status, errors[0]["errorCode"]) == (400, "NUMBER_OUTSIDE_VALID_RANGE"), (quantity, price)
    (summary,) = sf.bulk2.OpportunityLineItem.insert(
        records=[{"OpportunityId": opp, "Quantity": q, "UnitPrice": "1"} for q in ("NaN", "Infinity", "abc")],
        wait=0,
    )
    failed = csv.DictReader(io.StringIO(sf.bulk2.OpportunityLineItem.get_failed_records(summary["job_id"])))
    assert [r["sf__Error"].split(":")[0] for r in failed] == ["INVALID_TYPE_ON_FIELD_IN_RECORD"] * 3


def test_seeded_numbers_fit_their_fields() -> None:
    """The seed holds what a UI-entered org would: no more decimals than the scale, digits within range."""
    schema = load_schema()
    checked = 0
    for obj_name, rows in generate("small", 7).salesforce.items():
        obj = schema.get(obj_name)
        numeric = [
            f
            for f in obj.fields.values()
            if f.type in ("double", "currency", "percent") and f.scale is not None
        ]
        for row in rows:
            for f in numeric:
                value = row.get(f.name)
                if value is None:
                    continue
                d = Decimal(str(value))
                assert -d.as_tuple().exponent <= f.scale, (obj_name, f.name, value)
                assert max(d.adjusted() + 1, 1) <= f.precision - f.scale, (obj_name, f.name, value)
                checked += 1
    assert checked > 500
