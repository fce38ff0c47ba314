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


def _uploaded(sf_sandbox, body: str) -> tuple:
    """A raw Bulk 2.0 insert job on Account with ``body`` uploaded and marked UploadComplete."""
    s = sf_sandbox.session()
    base = f"{sf_sandbox.info['instance_url']}/services/data/v59.0/jobs/ingest"
    s.headers["Authorization"] = f"Bearer {sf_sandbox.login()}"
    job = s.post(base, json={"object": "Account", "operation": "insert"}, timeout=10).json()
    put = s.put(f"{base}/{job['id']}/batches", data=body, headers={"Content-Type": "text/csv"}, timeout=10)
    assert put.status_code == 201
    s.patch(f"{base}/{job['id']}", json={"state": "UploadComplete"}, timeout=10).raise_for_status()
    return s, base, job


def test_a_large_job_runs_in_internal_batches(sf_sandbox, monkeypatch: pytest.MonkeyPatch) -> None:
    """Each status read advances the job by one internal batch (InProgress until the last), and a batch
    commits with the job's progress: an emulator restarted mid-job neither repeats nor skips a row."""
    from sfxero_dagster.sandbox.salesforce import bulk2

    from .conftest import start

    monkeypatch.setattr(bulk2, "INTERNAL_BATCH", 4)
    s, base, job = _uploaded(
        sf_sandbox, "Name,BillingCity\n" + "".join(f"Batch {i},Cork\n" for i in range(10))
    )
    first = s.get(f"{base}/{job['id']}", timeout=10).json()
    assert (first["state"], first["numberRecordsProcessed"]) == ("InProgress", 4)

    sf_sandbox.server.stop()  # a restart between two internal batches
    app, server = start(sf_sandbox.state_dir, sf_sandbox.app.clock)
    try:
        base = f"{server.url}/services/data/v59.0/jobs/ingest"
        states = [s.get(f"{base}/{job['id']}", timeout=10).json() for _ in range(2)]
        assert [(j["state"], j["numberRecordsProcessed"]) for j in states] == [
            ("InProgress", 8),
            ("JobComplete", 10),
        ]
        names = sorted(r["Name"] for r in app.store.all("Account"))
        assert names == sorted(f"Batch {i}" for i in range(10))  # each row once
        ok = rows(s.get(f"{base}/{job['id']}/successfulResults", timeout=10).text)
        assert len(ok) == 10 and len({r["sf__Id"] for r in ok}) == 10
    finally:
        server.stop()


def test_an_aborted_job_lists_what_it_did_not_process(sf_sandbox, monkeypatch: pytest.MonkeyPatch) -> None:
    from sfxero_dagster.sandbox.salesforce import bulk2

    monkeypatch.setattr(bulk2, "INTERNAL_BATCH", 3)
    s, base, job = _uploaded(sf_sandbox, "Name\n" + "".join(f"Abort {i}\n" for i in range(5)))
    assert s.get(f"{base}/{job['id']}", timeout=10).json()["state"] == "InProgress"
    s.patch(f"{base}/{job['id']}", json={"state": "Aborted"}, timeout=10).raise_for_status()
    after = s.get(f"{base}/{job['id']}", timeout=10).json()
    assert (after["state"], after["numberRecordsProcessed"]) == ("Aborted", 3)
    left = rows(s.get(f"{base}/{job['id']}/unprocessedrecords", timeout=10).text)
    assert [r["Name"] for r in left] == ["Abort 3", "Abort 4"]
    assert sf_sandbox.app.store.count("Account") == 3
    assert s.delete(f"{base}/{job['id']}", timeout=10).status_code == 204
    assert s.get(f"{base}/{job['id']}", timeout=10).status_code == 404
