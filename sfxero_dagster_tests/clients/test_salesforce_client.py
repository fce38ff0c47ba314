"""The production Salesforce client against the emulator: auth flows, delta extracts, writes, failures."""

from __future__ import annotations

from datetime import timedelta

import pytest
from simple_salesforce import format_soql
from simple_salesforce.exceptions import SalesforceExpiredSession

from sfxero_dagster.clients.salesforce import (
    SalesforceAuthError,
    SalesforceClient,
    SalesforceDailyLimitReached,
    SalesforceSettings,
)

from ..sandbox_salesforce.conftest import SalesforceSandbox


def settings(sb: SalesforceSandbox, flow: str = "client_credentials", **over) -> SalesforceSettings:
    i = sb.info
    values = {
        "auth_flow": flow,
        "login_url": i["login_url"],
        "ca_bundle": i["ca_bundle"],
        "consumer_key": i["consumer_key"],
        "consumer_secret": i["consumer_secret"],
        "username": i["username"],
        "password": i["password"],
        "security_token": i["security_token"],
        "private_key_file": i["jwt_private_key"],
    }
    if "timeout" in over:  # the connection model's name for it
        over["timeout_seconds"] = over.pop("timeout")
    return SalesforceSettings(**{**values, **over})


@pytest.fixture
def client(sf_sandbox: SalesforceSandbox) -> SalesforceClient:
    return SalesforceClient(settings(sf_sandbox), sleep=lambda s: None)


@pytest.mark.parametrize("flow", ["client_credentials", "password", "oauth_password", "jwt_bearer"])
def test_every_auth_flow(sf_sandbox: SalesforceSandbox, flow: str) -> None:
    c = SalesforceClient(settings(sf_sandbox, flow))
    assert [r["Username"] for r in c.query("SELECT Username FROM User")] == [sf_sandbox.info["username"]]


def test_bad_credentials_are_a_clear_error(sf_sandbox: SalesforceSandbox) -> None:
    with pytest.raises(SalesforceAuthError, match="invalid_client"):
        SalesforceClient(settings(sf_sandbox, consumer_secret="wrong")).login()
    with pytest.raises(SalesforceAuthError, match="INVALID_LOGIN"):
        SalesforceClient(settings(sf_sandbox, "password", password="wrong")).login()


def seed_accounts(sb: SalesforceSandbox, n: int) -> list[str]:
    out = []
    for i in range(n):
        rec, errors = sb.app.save(
            sb.app.schema.get("Account"), {"Name": f"Account {i:03d}", "BillingCountry": "Australia"}
        )
        assert not errors
        out.append(rec["Id"])
    return out


def test_delta_extract_reads_exactly_the_changed_records(
    sf_sandbox: SalesforceSandbox, client: SalesforceClient
) -> None:
    ids = seed_accounts(sf_sandbox, 20)
    clock = sf_sandbox.app.clock
    first = client.extract("Account", ["Name"], since=None, until=clock.now() + timedelta(seconds=1))
    assert len(first) == 20
    watermark = clock.now()
    clock.advance(3600)
    for rid in ids[3:6]:
        sf_sandbox.control.call("POST", "act/edit", json={"id": rid, "fields": {"Phone": "02 1234 5678"}})
    before = client.calls["query"]
    changed = client.extract(
        "Account",
        ["Name", "Phone"],
        since=watermark + timedelta(hours=1),
        overlap=timedelta(minutes=10),
        until=clock.now() + timedelta(seconds=1),
    )
    assert sorted(r["Id"] for r in changed) == sorted(ids[3:6])
    assert client.calls["query"] - before == 1


def test_overlap_dedupes_and_tombstones(sf_sandbox: SalesforceSandbox, client: SalesforceClient) -> None:
    ids = seed_accounts(sf_sandbox, 3)
    clock = sf_sandbox.app.clock
    since = clock.now()
    sf_sandbox.control.call("POST", "act/delete", json={"id": ids[0]})
    rows = client.extract("Account", ["Name"], since=since, overlap=timedelta(minutes=5))
    assert len(rows) == len({(r["Id"], r["SystemModstamp"]) for r in rows}) == 3
    gone = [r for r in rows if r["IsDeleted"]]
    assert [r["Id"] for r in gone] == [ids[0]]
    live_only = client.extract("Account", ["Name"], since=since, include_deleted=False)
    assert ids[0] not in {r["Id"] for r in live_only}


@pytest.mark.parametrize(
    "name", ["O'Brien & Sons", 'Quote "Ltd"', "Back\\slash Pty", "50%_off", "Zoë 🚀 株式会社"]
)
def test_tricky_literals_are_quoted(
    sf_sandbox: SalesforceSandbox, client: SalesforceClient, name: str
) -> None:
    rec, _ = sf_sandbox.app.save(sf_sandbox.app.schema.get("Account"), {"Name": name})
    sf_sandbox.app.save(sf_sandbox.app.schema.get("Account"), {"Name": name + " (other)"})
    rows = client.extract("Account", ["Name"], where=format_soql("Name = {}", name))
    assert [r["Id"] for r in rows] == [rec["Id"]]


def test_upsert_collection_450_records_in_3_calls_with_failures_reported(
    sf_sandbox: SalesforceSandbox, client: SalesforceClient
) -> None:
    records = [
        {"Xero_Contact_Id__c": f"00000000-0000-4000-8000-{i:012d}", "Name": f"Linked {i}"} for i in range(450)
    ]
    records[7]["Name"] = "N" * 300  # STRING_TOO_LONG
    before = client.calls["write"]
    out = client.upsert_collection("Account", "Xero_Contact_Id__c", records)
    assert client.calls["write"] - before == 3
    assert len(out) == 450 and sum(o.success for o in out) == 449
    bad = next(o for o in out if not o.success)
    assert bad.index == 7 and bad.key == records[7]["Xero_Contact_Id__c"] and "STRING_TOO_LONG" in bad.message
    again = client.upsert_collection("Account", "Xero_Contact_Id__c", records[:3])
    assert [o.created for o in again] == [False, False, False]  # idempotent: updates, never duplicates
    updates = client.update_collection("Account", [{"id": out[0].sf_id, "Phone": "1"}])
    assert updates[0].success


def test_5xx_and_dropped_connections_are_retried(
    sf_sandbox: SalesforceSandbox, client: SalesforceClient
) -> None:
    client.login()
    sf_sandbox.control.add_fault(
        action="status",
        status=503,
        path_regex="/query",
        times=2,
        body=[{"errorCode": "SERVER_UNAVAILABLE", "message": "x"}],
    )
    sf_sandbox.control.add_fault(action="drop_before_commit", path_regex="/query", times=1)
    assert len(list(client.query("SELECT Id FROM User"))) == 1
    assert client.calls["query"] == 4


def test_expired_session_relogs_in_once_and_permanent_failure_is_bounded(
    sf_sandbox: SalesforceSandbox, client: SalesforceClient
) -> None:
    client.login()
    sf_sandbox.control.call("POST", "expire_sessions")
    assert len(list(client.query("SELECT Id FROM User"))) == 1
    assert client.logins == 2
    # a session that is refused every time: a clean error after max_relogins, no RecursionError
    sf_sandbox.control.add_fault(
        action="status",
        status=401,
        path_regex="/query",
        times=-1,
        body=[{"message": "Session expired or invalid", "errorCode": "INVALID_SESSION_ID"}],
    )
    with pytest.raises(SalesforceExpiredSession):
        list(client.query("SELECT Id FROM User"))
    assert client.logins == 2 + client.settings.max_relogins


def test_daily_limit_stops_cleanly(sf_sandbox: SalesforceSandbox, client: SalesforceClient) -> None:
    list(client.query("SELECT Id FROM User"))
    used = int(client.last_usage.split("/")[0])
    sf_sandbox.control.call("POST", "limits", json={"daily_api_limit": used})
    sf_sandbox.control.clear_requests()
    with pytest.raises(SalesforceDailyLimitReached):
        list(client.query("SELECT Id FROM User"))
    assert len(sf_sandbox.control.requests_log()) == 1  # no retry loop


def test_large_reads_switch_to_bulk_and_match_rest(sf_sandbox: SalesforceSandbox) -> None:
    ids = seed_accounts(sf_sandbox, 450)
    sf_sandbox.control.call("POST", "act/delete", json={"id": ids[0]})
    sf_sandbox.control.call("POST", "act/edit", json={"id": ids[1], "fields": {"Xero_Invoiced__c": 1234.5}})
    rest = SalesforceClient(settings(sf_sandbox, query_batch_size=200), sleep=lambda s: None)
    bulk = SalesforceClient(
        settings(sf_sandbox, query_batch_size=200, bulk_threshold=300, bulk_poll_seconds=0),
        sleep=lambda s: None,
    )
    fields = ["Name", "Xero_Invoiced__c", "Owner.Email"]
    by_rest = rest.extract("Account", fields)
    by_bulk = bulk.extract("Account", fields)
    assert rest.calls["query"] == 3 and "bulk_query" not in rest.calls
    assert bulk.calls["query"] == 1 and bulk.calls["bulk_query"] == 1
    # same rows, same Python types (CSV cells typed back via describe), tombstone included
    assert by_bulk == by_rest and len(by_bulk) == 450
    assert next(r for r in by_bulk if r["Id"] == ids[0])["IsDeleted"] is True
    edited = next(r for r in by_bulk if r["Id"] == ids[1])
    assert edited["Xero_Invoiced__c"] == 1234.5 and isinstance(edited["Owner.Email"], str)
    assert next(r for r in by_bulk if r["Id"] == ids[2])["Xero_Invoiced__c"] is None


def test_large_writes_go_through_one_bulk_job_with_outcomes_in_input_order(
    sf_sandbox: SalesforceSandbox,
) -> None:
    client = SalesforceClient(
        settings(sf_sandbox, bulk_threshold=100, bulk_poll_seconds=0), sleep=lambda s: None
    )
    records = [
        {"Xero_Contact_Id__c": f"00000000-0000-4000-8000-{i:012d}", "Name": f"Bulk {i}", "Phone": "1"}
        for i in range(250)
    ]
    records[5]["Name"] = "N" * 300
    out = client.upsert("Account", "Xero_Contact_Id__c", records)
    assert client.calls["bulk_write"] == 1 and client.calls["write"] == 0
    assert [o.index for o in out] == list(range(250)) and [o.key for o in out] == [
        r["Xero_Contact_Id__c"] for r in records
    ]
    assert sum(o.success for o in out) == 249 and all(o.created for o in out if o.success)
    assert out[5].errors[0]["statusCode"] == "STRING_TOO_LONG"
    # again, with Phone nulled (#N/A): updates, never duplicates
    again = client.upsert("Account", "Xero_Contact_Id__c", [{**r, "Phone": None} for r in records[:150]])
    assert [o.created for o in again if o.success] == [False] * 149
    rows = list(client.query("SELECT Phone FROM Account WHERE Phone != null"))
    assert len(rows) == 250 - 1 - 149
    small = client.upsert("Account", "Xero_Contact_Id__c", records[:2])
    assert client.calls["write"] == 1 and [o.created for o in small] == [False, False]
