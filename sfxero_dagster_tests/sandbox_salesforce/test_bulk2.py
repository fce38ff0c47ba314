"""Bulk API 2.0 through simple-salesforce's bulk2 client: ingest (insert, upsert, failures) and query paging."""

from __future__ import annotations

import csv
import io

import pytest
from simple_salesforce import Salesforce


def rows(text: str) -> list[dict]:
    return list(csv.DictReader(io.StringIO(text)))


def test_insert_with_failures_and_results(sf: Salesforce) -> None:
    (summary,) = sf.bulk2.Account.insert(
        records=[{"Name": f"Bulk {i}", "BillingCountry": "Ireland"} for i in range(5)]
        + [{"Name": "N" * 300}],
        wait=0,
    )
    assert (
        summary["numberRecordsProcessed"],
        summary["numberRecordsFailed"],
        summary["numberRecordsTotal"],
    ) == (6, 1, 6)
    ok = rows(sf.bulk2.Account.get_successful_records(summary["job_id"]))
    assert len(ok) == 5 and all(r["sf__Created"] == "true" and len(r["sf__Id"]) == 18 for r in ok)
    failed = rows(sf.bulk2.Account.get_failed_records(summary["job_id"]))
    assert len(failed) == 1 and failed[0]["sf__Error"].startswith("STRING_TOO_LONG")
    assert sf.query("SELECT COUNT() FROM Account WHERE BillingCountry = 'Ireland'")["totalSize"] == 5


def test_upsert_by_external_id_is_idempotent(sf: Salesforce) -> None:
    records = [{"Xero_Contact_Id__c": f"ext-{i}", "Name": f"Linked {i}"} for i in range(4)]
    first = sf.bulk2.Account.upsert(records=records, external_id_field="Xero_Contact_Id__c", wait=0)[0]
    again = sf.bulk2.Account.upsert(records=records, external_id_field="Xero_Contact_Id__c", wait=0)[0]
    assert [r["sf__Created"] for r in rows(sf.bulk2.Account.get_successful_records(first["job_id"]))] == [
        "true"
    ] * 4
    assert [r["sf__Created"] for r in rows(sf.bulk2.Account.get_successful_records(again["job_id"]))] == [
        "false"
    ] * 4
    assert sf.query("SELECT COUNT() FROM Account")["totalSize"] == 4


def test_columns_are_read_by_header_name(sf: Salesforce) -> None:
    # simple-salesforce builds the header from a set(): the column order is arbitrary
    sf.bulk2.Account.insert(records=[{"Phone": "1", "Name": "Order A", "BillingCity": "Cork"}], wait=0)
    got = sf.query("SELECT Name, Phone, BillingCity FROM Account")["records"][0]
    assert (got["Name"], got["Phone"], got["BillingCity"]) == ("Order A", "1", "Cork")


def test_query_pages_with_locator(sf: Salesforce) -> None:
    sf.bulk2.Account.insert(records=[{"Name": f"Q {i:02d}"} for i in range(7)], wait=0)
    pages = list(sf.bulk2.Account.query("SELECT Id, Name FROM Account ORDER BY Name", max_records=3, wait=0))
    assert len(pages) == 3
    names = [r["Name"] for page in pages for r in rows(page)]
    assert names == [f"Q {i:02d}" for i in range(7)]


def test_bad_jobs_are_refused(sf: Salesforce) -> None:
    from simple_salesforce.exceptions import SalesforceMalformedRequest

    with pytest.raises(SalesforceMalformedRequest):
        list(sf.bulk2.Account.query("SELECT Nope FROM Account", wait=0))
    with pytest.raises(SalesforceMalformedRequest):
        sf.bulk2.Account.upsert(records=[{"Name": "x"}], external_id_field="Name", wait=0)
