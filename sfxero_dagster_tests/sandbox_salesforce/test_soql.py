"""SOQL through the grammar and evaluator: features, errors, and format_soql round trips."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from simple_salesforce import format_soql

from sfxero_dagster.sandbox.salesforce.ids import make_id
from sfxero_dagster.sandbox.salesforce.schema import load_schema
from sfxero_dagster.sandbox.salesforce.soql import SoqlError, execute, parse

NOW = datetime(2026, 1, 10, 12, 0, tzinfo=UTC)


class Source:
    schema = load_schema()

    def __init__(self) -> None:
        self.data: dict[str, dict[str, dict]] = {}

    def add(self, obj: str, seq: int, **fields) -> str:
        rid = make_id(self.schema.get(obj).key_prefix, seq)
        self.data.setdefault(obj, {})[rid] = {"Id": rid, "IsDeleted": False, **fields}
        return rid

    def records(self, obj: str):
        return list(self.data.get(obj, {}).values())

    def get(self, obj: str, rid: str):
        return self.data.get(obj, {}).get(rid)


@pytest.fixture
def src() -> Source:
    s = Source()
    owner = s.add("User", 1, Email="owner@acme.test", LastName="Owner")
    s.ids = {}
    s.ids["acme"] = s.add(
        "Account",
        1,
        Name="Acme Pty Ltd",
        OwnerId=owner,
        BillingCountry="Australia",
        SystemModstamp="2026-01-09T08:00:00.000+0000",
    )
    s.ids["obrien"] = s.add(
        "Account",
        2,
        Name="O'Brien & Sons 100%_off",
        BillingCountry=None,
        SystemModstamp="2026-01-10T09:30:00.000+0000",
    )
    s.ids["gone"] = s.add(
        "Account", 3, Name="Gone Ltd", IsDeleted=True, SystemModstamp="2026-01-10T10:00:00.000+0000"
    )
    s.ids["opp1"] = s.add(
        "Opportunity",
        1,
        AccountId=s.ids["acme"],
        Name="Big deal",
        StageName="Closed Won",
        IsWon=True,
        CloseDate="2026-01-08",
        Amount=Decimal("1500.50"),
    )
    s.ids["opp2"] = s.add(
        "Opportunity",
        2,
        AccountId=s.ids["obrien"],
        Name="small deal",
        StageName="Prospecting",
        IsWon=False,
        CloseDate="2025-12-01",
        Amount=None,
    )
    s.ids["opp3"] = s.add(
        "Opportunity",
        3,
        AccountId=None,
        Name="Orphan",
        StageName="Closed Won",
        IsWon=True,
        CloseDate="2026-01-10",
        Amount=Decimal("10"),
    )
    for i, (q, price) in enumerate([(2, "10.00"), (1, "5.50")]):
        s.add(
            "OpportunityLineItem",
            i + 1,
            OpportunityId=s.ids["opp1"],
            Quantity=Decimal(q),
            UnitPrice=Decimal(price),
        )
    return s


def ids(result) -> list[str]:
    return [r["Id"] for r in result.records]


def test_parent_paths_and_children(src: Source) -> None:
    r = execute(
        "SELECT Id, Name, Account.Name, Account.Owner.Email, (SELECT Quantity FROM OpportunityLineItems ORDER BY Quantity) "
        "FROM Opportunity WHERE IsWon = TRUE ORDER BY Name",
        src,
        now=NOW,
    )
    big, orphan = r.records
    assert big["Account"]["Name"] == "Acme Pty Ltd" and big["Account"]["Owner"]["Email"] == "owner@acme.test"
    assert big["Account"]["attributes"] == {
        "type": "Account",
        "url": f"/services/data/v59.0/sobjects/Account/{src.ids['acme']}",
    }
    kids = big["OpportunityLineItems"]
    assert (
        kids["totalSize"] == 2 and kids["done"] is True and [k["Quantity"] for k in kids["records"]] == [1, 2]
    )
    assert orphan["Account"] is None and orphan["OpportunityLineItems"] is None
    assert list(big) == ["attributes", "Id", "Name", "Account", "OpportunityLineItems"]


def test_where_operators(src: Source) -> None:
    q = lambda w: ids(execute(f"SELECT Id FROM Opportunity WHERE {w}", src, now=NOW))  # noqa: E731
    assert q("Amount > 100") == [src.ids["opp1"]]
    assert q("Amount = null") == [src.ids["opp2"]]
    assert set(q("Amount != null")) == {src.ids["opp1"], src.ids["opp3"]}
    assert q("Name = 'BIG DEAL'") == [src.ids["opp1"]]  # case-insensitive
    assert q("StageName IN ('Prospecting', 'Qualification')") == [src.ids["opp2"]]
    assert set(q("StageName NOT IN ('Prospecting')")) == {src.ids["opp1"], src.ids["opp3"]}
    assert (
        q("(IsWon = true AND Amount < 100) OR Name LIKE 'small%'")
        == [src.ids["opp2"], src.ids["opp3"]][::-1][::-1]
    )
    assert set(q("(IsWon = true AND Amount < 100) OR Name LIKE 'small%'")) == {
        src.ids["opp2"],
        src.ids["opp3"],
    }
    assert set(q("NOT IsWon = true")) == {src.ids["opp2"]}
    assert q("Amount <> 10 AND Amount >= 1500.5 AND Amount <= 1500.50") == [src.ids["opp1"]]
    assert q("Account.BillingCountry = 'australia'") == [src.ids["opp1"]]


def test_dates_datetimes_and_relative_literals(src: Source) -> None:
    q = lambda obj, w: ids(execute(f"SELECT Id FROM {obj} WHERE {w}", src, now=NOW))  # noqa: E731
    assert q("Opportunity", "CloseDate >= 2026-01-01 AND CloseDate < 2026-01-09") == [src.ids["opp1"]]
    assert q("Opportunity", "CloseDate = TODAY") == [src.ids["opp3"]]
    assert q("Opportunity", "CloseDate = YESTERDAY") == []
    assert set(q("Opportunity", "CloseDate = LAST_N_DAYS:7")) == {src.ids["opp1"], src.ids["opp3"]}
    assert q("Opportunity", "CloseDate < LAST_N_DAYS:7") == [src.ids["opp2"]]
    assert q("Opportunity", "CloseDate = LAST_MONTH") == [src.ids["opp2"]]
    assert q("Account", "SystemModstamp >= 2026-01-10T09:30:00Z") == [src.ids["obrien"]]
    assert q("Account", "SystemModstamp > 2026-01-10T10:30:00+01:00") == []  # 09:30Z, strictly after
    assert q("Account", "SystemModstamp >= 2026-01-10T10:30:00.000+01:00") == [src.ids["obrien"]]
    assert q("Account", "SystemModstamp < 2026-01-09T03:00:01-05:00") == [src.ids["acme"]]  # 08:00:01Z


def test_order_nulls_limit_offset_count(src: Source) -> None:
    q = lambda tail: ids(execute(f"SELECT Id FROM Opportunity {tail}", src, now=NOW))  # noqa: E731
    o1, o2, o3 = src.ids["opp1"], src.ids["opp2"], src.ids["opp3"]
    assert q("ORDER BY Amount") == [o2, o3, o1]  # ASC: nulls first by default
    assert q("ORDER BY Amount DESC") == [o1, o3, o2]  # DESC: nulls last by default
    assert q("ORDER BY Amount ASC NULLS LAST") == [o3, o1, o2]
    assert q("ORDER BY Amount DESC NULLS FIRST") == [o2, o1, o3]
    assert q("ORDER BY IsWon DESC, Name ASC LIMIT 2") == [o1, o3]
    assert q("ORDER BY Name LIMIT 2 OFFSET 1") == [o3, o2]
    count = execute("SELECT COUNT() FROM Opportunity WHERE IsWon = true", src, now=NOW)
    assert (count.total_size, count.records) == (2, [])


def test_deleted_records_only_with_query_all(src: Source) -> None:
    assert src.ids["gone"] not in ids(execute("SELECT Id FROM Account", src, now=NOW))
    everything = execute(
        "SELECT Id, IsDeleted FROM Account WHERE IsDeleted = true", src, now=NOW, include_deleted=True
    )
    assert ids(everything) == [src.ids["gone"]] and everything.records[0]["IsDeleted"] is True


def test_like_wildcards_and_escapes(src: Source) -> None:
    q = lambda pat: ids(execute(f"SELECT Id FROM Account WHERE Name LIKE '{pat}'", src, now=NOW))  # noqa: E731
    assert q("o\\'brien%") == [src.ids["obrien"]]
    assert q("%100\\%\\_off") == [src.ids["obrien"]]
    assert q("%100\\%x_off") == []
    assert q("_cme%") == [src.ids["acme"]]


@pytest.mark.parametrize(
    ("query", "code", "fragment"),
    [
        ("SELECT Id FROM", "MALFORMED_QUERY", "unexpected token: '<EOF>'"),
        ("SELECT Id FROM Account GROUP BY Name", "MALFORMED_QUERY", "unexpected token: 'GROUP'"),
        ("SELECT Id FROM Account WHERE Name IN (SELECT Name FROM Contact)", "MALFORMED_QUERY", "Column:39"),
        ("SELECT MAX(Amount) FROM Opportunity", "MALFORMED_QUERY", "ERROR at Row:1:Column:"),
        ("SELECT Id FROM Account FOR UPDATE", "MALFORMED_QUERY", "unexpected token: 'FOR'"),
        ("SELECT Id, COUNT() FROM Account", "MALFORMED_QUERY", "COUNT()"),
        ("SELECT Id FROM Account WHERE Name = 'unterminated", "MALFORMED_QUERY", "ERROR at Row:1"),
        ("SELECT Id FROM Account WHERE Name = 'bad \\q escape'", "MALFORMED_QUERY", "escape"),
        ("SELECT Id FROM Opportunity WHERE CloseDate = THIS_DECADE", "MALFORMED_QUERY", "unexpected token"),
        ("SELECT Foo FROM Account", "INVALID_FIELD", "No such column 'Foo' on entity 'Account'"),
        ("SELECT Account.Nope FROM Contact", "INVALID_FIELD", "No such column 'Nope' on entity 'Account'"),
        ("SELECT Bogus.Name FROM Contact", "INVALID_FIELD", "Didn't understand relationship 'Bogus'"),
        ("SELECT Id FROM Nope__c", "INVALID_TYPE", "sObject type 'Nope__c' is not supported"),
        ("SELECT Id, (SELECT Id FROM Nothings) FROM Account", "INVALID_TYPE", "Nothings"),
        (
            "SELECT Id FROM Opportunity WHERE CloseDate = '2026-01-01'",
            "INVALID_QUERY_FILTER_OPERATOR",
            "should not be enclosed in quotes",
        ),
        (
            "SELECT Id FROM Opportunity WHERE CloseDate = 2026-01-01T00:00:00Z",
            "INVALID_QUERY_FILTER_OPERATOR",
            "must be of type date",
        ),
        ("SELECT Id FROM Opportunity WHERE Amount = 'x'", "INVALID_QUERY_FILTER_OPERATOR", "Amount"),
        ("SELECT Id FROM Opportunity WHERE Name = 5", "INVALID_QUERY_FILTER_OPERATOR", "quoted string"),
        ("SELECT Id FROM Opportunity WHERE Amount LIKE '5%'", "INVALID_QUERY_FILTER_OPERATOR", "LIKE"),
    ],
)
def test_errors(src: Source, query: str, code: str, fragment: str) -> None:
    with pytest.raises(SoqlError) as info:
        execute(query, src, now=NOW)
    assert info.value.error_code == code
    assert fragment in info.value.message


def test_keywords_as_object_and_field_names(src: Source) -> None:
    q = parse(
        "select id from Order where Status = 'Activated' order by EffectiveDate desc nulls last limit 10 offset 5"
    )
    assert (q.from_object, q.limit, q.offset, q.order[0].descending, q.order[0].nulls_last) == (
        "Order",
        10,
        5,
        True,
        True,
    )


tricky = st.text(
    alphabet=st.characters(blacklist_categories=("Cs",), blacklist_characters="\x00"), max_size=40
)


@settings(max_examples=200, deadline=None)
@given(tricky)
def test_format_soql_strings_round_trip_exactly(value: str) -> None:
    src = Source()
    rid = src.add("Account", 9, Name=value)
    query = format_soql("SELECT Id, Name FROM Account WHERE Name = {}", value)
    result = execute(query, src, now=NOW)
    assert ids(result) == [rid] and result.records[0]["Name"] == value


@pytest.mark.parametrize(
    "value", ["O'Brien", 'say "hi"', "back\\slash", "50%_off", "Zoë 🚀 株式会社", "tab\there\nnewline"]
)
def test_format_soql_known_hard_cases(value: str) -> None:
    src = Source()
    rid = src.add("Account", 1, Name=value)
    src.add("Account", 2, Name=value + "x")
    assert ids(execute(format_soql("SELECT Id FROM Account WHERE Name = {}", value), src, now=NOW)) == [rid]
    assert ids(
        execute(format_soql("SELECT Id FROM Account WHERE Name IN {}", [value, "other"]), src, now=NOW)
    ) == [rid]
