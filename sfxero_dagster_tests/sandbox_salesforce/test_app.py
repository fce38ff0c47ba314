"""The Salesforce emulator through the real simple-salesforce: auth, queries, CRUD, upsert, collections, limits."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from urllib.parse import urlsplit, urlunsplit

import pytest
import requests
from simple_salesforce import Salesforce
from simple_salesforce.exceptions import (
    SalesforceAuthenticationFailed,
    SalesforceExpiredSession,
    SalesforceMalformedRequest,
    SalesforceMoreThanOneRecord,
    SalesforceRefusedRequest,
    SalesforceResourceNotFound,
)

from .conftest import SalesforceSandbox, start


class ToSandbox(requests.adapters.HTTPAdapter):
    """Send simple-salesforce's login.salesforce.com calls to the emulator (its login URLs are hard-coded)."""

    def __init__(self, netloc: str) -> None:
        super().__init__()
        self.netloc = netloc

    def send(self, request, **kw):
        u = urlsplit(request.url)
        request.url = urlunsplit(("https", self.netloc, u.path, u.query, u.fragment))
        return super().send(request, **kw)


def login_session(sb: SalesforceSandbox) -> requests.Session:
    s = sb.session()
    s.mount("https://", ToSandbox(urlsplit(sb.info["instance_url"]).netloc))
    return s


def test_soap_login_with_security_token(sf_sandbox: SalesforceSandbox) -> None:
    i = sf_sandbox.info
    sf = Salesforce(
        username=i["username"],
        password=i["password"],
        security_token=i["security_token"],
        session=login_session(sf_sandbox),
    )
    assert sf.query("SELECT COUNT() FROM User")["totalSize"] == 1
    with pytest.raises(SalesforceAuthenticationFailed, match="INVALID_LOGIN"):
        Salesforce(
            username=i["username"],
            password="wrong",
            security_token=i["security_token"],
            session=login_session(sf_sandbox),
        )


def test_oauth_password_and_jwt_bearer(sf_sandbox: SalesforceSandbox) -> None:
    i = sf_sandbox.info
    sf = Salesforce(
        username=i["username"],
        password=i["password"] + i["security_token"],
        consumer_key=i["consumer_key"],
        consumer_secret=i["consumer_secret"],
        session=login_session(sf_sandbox),
    )
    assert sf.query("SELECT Id FROM User")["totalSize"] == 1
    jwt_sf = Salesforce(
        username=i["username"],
        consumer_key=i["consumer_key"],
        privatekey_file=i["jwt_private_key"],
        session=login_session(sf_sandbox),
    )
    assert jwt_sf.query("SELECT Id FROM User")["totalSize"] == 1
    with pytest.raises(SalesforceAuthenticationFailed):
        Salesforce(
            username="someone@else",
            consumer_key=i["consumer_key"],
            privatekey_file=i["jwt_private_key"],
            session=login_session(sf_sandbox),
        )
    bad = sf_sandbox.session().post(
        i["token_url"], data={"grant_type": "client_credentials"}, auth=("x", "y"), timeout=10
    )
    assert bad.status_code == 400 and bad.json()["error"] == "invalid_client"


def test_expired_session_relogin_and_401_shape(sf_sandbox: SalesforceSandbox) -> None:
    i = sf_sandbox.info
    sf = Salesforce(
        username=i["username"],
        password=i["password"],
        security_token=i["security_token"],
        session=login_session(sf_sandbox),
    )
    sf_sandbox.control.call("POST", "expire_sessions")
    assert sf.query("SELECT Id FROM User")["totalSize"] == 1  # simple-salesforce logged in again by itself
    direct = sf_sandbox.client(token="not-a-session")
    with pytest.raises(SalesforceExpiredSession) as info:
        direct.query("SELECT Id FROM User")
    assert info.value.content == [
        {"message": "Session expired or invalid", "errorCode": "INVALID_SESSION_ID"}
    ]


def test_daily_limit_and_usage_header(sf_sandbox: SalesforceSandbox, sf: Salesforce) -> None:
    sf.query("SELECT Id FROM User")
    used, limit = sf.api_usage["api-usage"]
    assert used >= 1 and limit == 100_000
    sf_sandbox.control.call("POST", "limits", json={"daily_api_limit": used + 1})
    sf.query("SELECT Id FROM User")
    with pytest.raises(SalesforceRefusedRequest) as info:
        sf.query("SELECT Id FROM User")
    assert info.value.content[0]["errorCode"] == "REQUEST_LIMIT_EXCEEDED"
    sf_sandbox.app.clock.advance(86400)  # a new day (the idle session has expired too: log in again)
    assert sf_sandbox.client().query("SELECT Id FROM User")["totalSize"] == 1


def test_crud_system_fields_and_validation(sf_sandbox: SalesforceSandbox, sf: Salesforce) -> None:
    created = sf.Account.create({"Name": "Acme", "BillingCountry": "Australia", "CurrencyIsoCode": "AUD"})
    rid = created["id"]
    assert len(rid) == 18 and created["success"]
    first = sf.Account.get(rid)
    assert (
        first["CreatedDate"] == first["SystemModstamp"] and first["IsDeleted"] is False and first["OwnerId"]
    )
    sf_sandbox.app.clock.advance(60)
    assert sf.Account.update(rid, {"Phone": "02 9999 0000"}) == 204
    second = sf.Account.get(rid)
    assert (
        second["SystemModstamp"] > first["SystemModstamp"] and second["CreatedDate"] == first["CreatedDate"]
    )
    assert sf.Account.get(rid, params={"fields": "Name,Phone"}) == {
        "attributes": {"type": "Account", "url": f"/services/data/v59.0/sobjects/Account/{rid}"},
        "Name": "Acme",
        "Phone": "02 9999 0000",
    }
    cases = [
        ({"Name": "N" * 256}, "STRING_TOO_LONG"),
        ({}, "REQUIRED_FIELD_MISSING"),
        ({"Name": "x", "Nope__c": 1}, "INVALID_FIELD"),
        ({"Name": "x", "SystemModstamp": "2020-01-01T00:00:00Z"}, "INVALID_FIELD_FOR_INSERT_UPDATE"),
        ({"Name": "x", "CurrencyIsoCode": "XXX"}, "INVALID_OR_NULL_FOR_RESTRICTED_PICKLIST"),
    ]
    for body, code in cases:
        with pytest.raises(SalesforceMalformedRequest) as info:
            sf.Account.create(body)
        assert info.value.content[0]["errorCode"] == code
    with pytest.raises(SalesforceMalformedRequest) as info:
        sf.Contact.create({"LastName": "x", "AccountId": "001000000000000AAA"})
    assert info.value.content[0]["errorCode"] in ("INVALID_CROSS_REFERENCE_KEY", "MALFORMED_ID")
    assert sf.Account.delete(rid) == 204
    with pytest.raises(SalesforceResourceNotFound):
        sf.Account.get(rid)


def test_derived_fields(sf: Salesforce) -> None:
    acct = sf.Account.create({"Name": "Buyer"})["id"]
    opp = sf.Opportunity.create(
        {"Name": "D", "AccountId": acct, "StageName": "Closed Won", "CloseDate": "2026-01-05"}
    )["id"]
    sf.OpportunityLineItem.create({"OpportunityId": opp, "Quantity": 3, "UnitPrice": 59.99, "Discount": 10})
    row = sf.query(
        f"SELECT IsWon, IsClosed, Amount, (SELECT TotalPrice FROM OpportunityLineItems) FROM Opportunity WHERE Id = '{opp}'"
    )["records"][0]
    assert row["IsWon"] and row["IsClosed"] and row["Amount"] == 161.97
    assert row["OpportunityLineItems"]["records"][0]["TotalPrice"] == 161.97
    order = sf.Order.create({"AccountId": acct, "Status": "Draft", "EffectiveDate": "2026-01-06"})["id"]
    assert sf.Order.get(order)["OrderNumber"].isdigit()


def test_upsert_status_codes(sf_sandbox: SalesforceSandbox, sf: Salesforce) -> None:
    assert sf.Account.upsert("Xero_Contact_Id__c/c-1", {"Name": "Up"}) == 201
    assert sf.Account.upsert("Xero_Contact_Id__c/c-1", {"Name": "Up again"}) == 200
    assert (
        sf.query("SELECT Name FROM Account WHERE Xero_Contact_Id__c = 'c-1'")["records"][0]["Name"]
        == "Up again"
    )
    with pytest.raises(SalesforceResourceNotFound):
        sf.Account.upsert("Not_A_Field__c/1", {"Name": "x"})
    # a non-unique external id with two matches answers 300
    sf_sandbox.app.schema.get("Account").fields["Tax_Number__c"] = type(
        sf_sandbox.app.schema.get("Account").fields["Tax_Number__c"]
    )("Tax_Number__c", "string", 50, external_id=True)
    sf.Account.create({"Name": "T1", "Tax_Number__c": "TN"})
    sf.Account.create({"Name": "T2", "Tax_Number__c": "TN"})
    with pytest.raises(SalesforceMoreThanOneRecord):
        sf.Account.upsert("Tax_Number__c/TN", {"Name": "x"})
    raw = sf_sandbox.session().patch(
        f"{sf_sandbox.info['instance_url']}/services/data/v59.0/sobjects/Account/Xero_Contact_Id__c/c-1",
        json={"Phone": "1"},
        headers={"Authorization": f"Bearer {sf.session_id}"},
        timeout=10,
    )
    assert raw.status_code == 200 and raw.json()["created"] is False


def test_query_paging_batch_size_and_query_all(sf: Salesforce) -> None:
    for chunk in range(3):
        results = sf.restful(
            "composite/sobjects",
            method="POST",
            json={
                "allOrNone": True,
                "records": [
                    {"attributes": {"type": "Account"}, "Name": f"Bulk {chunk}-{i}"} for i in range(150)
                ],
            },
        )
        assert all(r["success"] for r in results)
    first = sf.query(
        "SELECT Id FROM Account ORDER BY Name", headers={"Sforce-Query-Options": "batchSize=200"}
    )
    assert first["totalSize"] == 450 and len(first["records"]) == 200 and first["done"] is False
    assert first["nextRecordsUrl"].startswith("/services/data/v59.0/query/")
    everything = sf.query_all("SELECT Id FROM Account", headers={"Sforce-Query-Options": "batchSize=200"})
    assert len(everything["records"]) == 450 and len({r["Id"] for r in everything["records"]}) == 450
    assert sf.query("SELECT COUNT() FROM Account")["totalSize"] == 450


def test_collections_update_delete_upsert_and_all_or_none(sf: Salesforce) -> None:
    ids = [
        r["id"]
        for r in sf.restful(
            "composite/sobjects",
            method="POST",
            json={"records": [{"attributes": {"type": "Account"}, "Name": f"C{i}"} for i in range(3)]},
        )
    ]
    upd = sf.restful(
        "composite/sobjects",
        method="PATCH",
        json={
            "allOrNone": False,
            "records": [
                {"attributes": {"type": "Account"}, "id": ids[0], "Phone": "1"},
                {"attributes": {"type": "Account"}, "id": ids[1], "Name": "N" * 300},
            ],
        },
    )
    assert [u["success"] for u in upd] == [True, False] and upd[1]["errors"][0][
        "statusCode"
    ] == "STRING_TOO_LONG"
    rolled = sf.restful(
        "composite/sobjects",
        method="POST",
        json={
            "allOrNone": True,
            "records": [
                {"attributes": {"type": "Account"}, "Name": "Kept?"},
                {"attributes": {"type": "Account"}},
            ],
        },
    )
    assert rolled[0]["errors"][0]["statusCode"] == "ALL_OR_NONE_OPERATION_ROLLED_BACK"
    assert sf.query("SELECT COUNT() FROM Account WHERE Name = 'Kept?'")["totalSize"] == 0
    ups = sf.restful(
        "composite/sobjects/Account/Xero_Contact_Id__c",
        method="PATCH",
        json={
            "allOrNone": False,
            "records": [
                {"attributes": {"type": "Account"}, "Xero_Contact_Id__c": "x-1", "Name": "New"},
                {"attributes": {"type": "Account"}, "Xero_Contact_Id__c": "x-1", "Name": "Same again"},
            ],
        },
    )
    assert [(u["success"], u["created"]) for u in ups] == [(True, True), (True, False)]
    deleted = sf.restful("composite/sobjects", method="DELETE", params={"ids": ",".join(ids[:2])})
    assert all(d["success"] for d in deleted)
    too_many = {"records": [{"attributes": {"type": "Account"}, "Name": "x"}] * 201}
    with pytest.raises(SalesforceMalformedRequest):
        sf.restful("composite/sobjects", method="POST", json=too_many)


def test_updated_deleted_and_describe(sf_sandbox: SalesforceSandbox, sf: Salesforce) -> None:
    start_at = sf_sandbox.app.clock.now()
    a = sf.Account.create({"Name": "Changes"})["id"]
    sf_sandbox.app.clock.advance(120)
    sf.Account.delete(a)
    sf_sandbox.app.clock.advance(120)
    end_at = sf_sandbox.app.clock.now()
    assert sf.Account.deleted(start_at - timedelta(minutes=1), end_at)["deletedRecords"][0]["id"] == a
    assert sf.Account.updated(start_at - timedelta(minutes=1), end_at)["ids"] == []
    d = sf.Opportunity.describe()
    assert d["name"] == "Opportunity" and any(
        f["name"] == "Xero_Invoice_Id__c" and f["externalId"] for f in d["fields"]
    )
    assert any(o["name"] == "Xero_Invoice__c" for o in sf.describe()["sobjects"])


def test_user_actions_and_persistence(sf_sandbox: SalesforceSandbox, sf: Salesforce) -> None:
    acct = sf.Account.create({"Name": "Persist"})["id"]
    opp = sf.Opportunity.create(
        {"Name": "D", "AccountId": acct, "StageName": "Prospecting", "CloseDate": "2026-01-05"}
    )["id"]
    before = sf.Opportunity.get(opp)["SystemModstamp"]
    sf_sandbox.app.clock.advance(5)
    sf_sandbox.control.call("POST", "act/close_won", json={"id": opp})
    after = sf.Opportunity.get(opp)
    assert after["IsWon"] and after["SystemModstamp"] > before
    sf_sandbox.control.call("POST", "act/edit", json={"id": acct, "fields": {"BillingCountry": "Ireland"}})
    with pytest.raises(RuntimeError, match="restricted picklist"):
        sf_sandbox.control.call("POST", "act/edit", json={"id": opp, "fields": {"StageName": "Nope"}})
    sf_sandbox.server.stop()
    app, server = start(sf_sandbox.state_dir)
    try:
        assert app.get("Account", acct)["BillingCountry"] == "Ireland"
        assert app.get("Opportunity", opp)["IsWon"] is True
    finally:
        server.stop()
    sf_sandbox.server = type(server)(sf_sandbox.app).start()
    assert datetime.now(UTC)  # (fixture stops the replacement server)
