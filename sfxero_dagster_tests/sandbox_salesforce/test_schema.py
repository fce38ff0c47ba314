"""The Salesforce schema: integrity, describe output, and the admin doc listing every custom field."""

from __future__ import annotations

from pathlib import Path

import pytest

from sfxero_dagster.sandbox.salesforce.ids import case_safe_suffix, is_valid_id, make_id, to18
from sfxero_dagster.sandbox.salesforce.schema import load_schema, parse_schema

DOC = Path(__file__).resolve().parents[2] / "docs" / "salesforce_setup.md"


def test_objects_relationships_and_lookups() -> None:
    s = load_schema()
    assert {
        "Account",
        "Contact",
        "Product2",
        "Pricebook2",
        "PricebookEntry",
        "Opportunity",
        "OpportunityLineItem",
        "Order",
        "OrderItem",
        "Xero_Invoice__c",
        "Xero_Payment__c",
        "User",
    } <= set(s.objects)
    opp = s.get("opportunity")
    assert opp.field("accountid").name == "AccountId" and opp.relationship("ACCOUNT").name == "AccountId"
    assert opp.child("opportunitylineitems").child_object == "OpportunityLineItem"
    assert s.get("Xero_Payment__c").relationship("Xero_Invoice__r").reference_to == ("Xero_Invoice__c",)
    assert s.by_prefix(make_id("006", 1)).name == "Opportunity"
    for obj in ("Account", "Opportunity", "Order"):
        assert s.get(obj).field("CurrencyIsoCode") and s.get(obj).field("SystemModstamp").system
    assert "Xero_Contact_Id__c" in s.get("Account").external_ids()


def test_describe_shape() -> None:
    d = load_schema().get("Opportunity").describe("59.0")
    fields = {f["name"]: f for f in d["fields"]}
    assert (
        d["keyPrefix"] == "006"
        and d["urls"]["describe"] == "/services/data/v59.0/sobjects/Opportunity/describe"
    )
    assert fields["Xero_Invoice_Id__c"]["externalId"] and fields["Xero_Invoice_Id__c"]["unique"]
    assert fields["IsWon"]["calculated"] and not fields["IsWon"]["createable"]
    assert [p["value"] for p in fields["StageName"]["picklistValues"]][-1] == "Closed Lost"
    assert {
        "relationshipName": "OpportunityLineItems",
        "childSObject": "OpportunityLineItem",
        "field": "OpportunityId",
        "cascadeDelete": False,
    } in d["childRelationships"]


def test_schema_errors_are_caught_at_load() -> None:
    with pytest.raises(ValueError, match="unknown field type"):
        parse_schema({"objects": {"A": {"key_prefix": "a00", "fields": {"X": {"type": "blob"}}}}})
    with pytest.raises(ValueError, match="references unknown object"):
        parse_schema(
            {
                "objects": {
                    "A": {
                        "key_prefix": "a00",
                        "fields": {"B__c": {"type": "reference", "reference_to": ["B"]}},
                    }
                }
            }
        )


def test_ids_case_safe_suffix() -> None:
    assert to18("001A0000006Vm9r") == "001A0000006Vm9rIAC"  # Salesforce's documented example
    rid = make_id("001", 123456)
    assert len(rid) == 18 and is_valid_id(rid) and rid[15:] == case_safe_suffix(rid[:15])
    wrong = rid[:15] + ("AAB" if rid[15:] != "AAB" else "AAC")
    assert not is_valid_id(wrong)
    assert not is_valid_id("001-not-an-id!")


def test_admin_doc_lists_every_custom_field_and_object() -> None:
    text = DOC.read_text(encoding="utf-8")
    s = load_schema()
    for obj in s.objects.values():
        if obj.custom:
            assert f"`{obj.name}`" in text
        for f in obj.fields.values():
            if f.name.endswith("__c"):
                assert f"`{f.name}`" in text, f"{obj.name}.{f.name} missing from {DOC.name}"
