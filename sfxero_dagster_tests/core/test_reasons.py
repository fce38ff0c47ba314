from __future__ import annotations

import logging
import string

import pytest

from sfxero_dagster.core.reasons import REASONS, STRICT_ENV, HintError, hint, reason

from ..fields import field_problem


def test_codes_are_unique_snake_case_and_explained() -> None:
    assert len(REASONS) >= 25
    for code, r in REASONS.items():
        assert code == r.code and code.islower() and " " not in code
        assert r.description.endswith(".") and r.hint


def test_hint_fills_values_and_a_missing_one_fails_loudly_in_tests() -> None:
    assert hint("currency_not_enabled", value="JPY", tenant="au", field="CurrencyIsoCode").startswith(
        "Enable JPY in Xero organisation 'au'"
    )
    text = hint("field_too_long", field="Name", limit=255, length=300)
    assert text == "Shorten Name to at most 255 characters (it has 300)."
    with pytest.raises(HintError, match="length"):
        hint("field_too_long", field="Name", limit=255)
    with pytest.raises(HintError, match="value"):  # None would print as 'None': it counts as missing
        hint("currency_not_enabled", value=None, tenant="au", field="CurrencyIsoCode")
    with pytest.raises(KeyError, match="unknown reason code 'nope'"):
        reason("nope")


def test_in_production_a_missing_value_renders_a_question_mark_and_logs(
    monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    monkeypatch.delenv(STRICT_ENV, raising=False)
    with caplog.at_level(logging.WARNING):
        text = hint("field_too_long", field="Name", limit=255)
    assert text == "Shorten Name to at most 255 characters (it has ?)." and "length" in caplog.text


def _placeholders(template: str) -> set[str]:
    return {name for _, name, _, _ in string.Formatter().parse(template) if name}


@pytest.mark.parametrize("code", sorted(REASONS))
def test_every_reason_renders_its_hint_with_a_real_field(code: str) -> None:
    """Each reason declares what its producers pass; its hint renders fully and names a real place."""
    r = REASONS[code]
    example = dict(r.example)
    assert example, f"{code}: declare an example (sf_object, field and the hint's values)"
    sf_object, line = example.pop("sf_object"), example.pop("line", False)
    assert _placeholders(r.hint) <= set(example), (
        f"{code}: example lacks {_placeholders(r.hint) - set(example)}"
    )
    text = hint(code, **example)
    assert "{" not in text and "}" not in text and "None" not in text, text
    assert field_problem(example["field"], sf_object, line) is None, (
        code,
        field_problem(example["field"], sf_object, line),
    )
    assert text.rstrip().endswith((".", ")")) and len(text) > 20, text


def test_the_field_checker_knows_wrong_fields() -> None:
    """The old fields were not real: two fields in one, Xero names for Salesforce ones, the wrong object."""
    assert field_problem("CloseDate/EffectiveDate", "Opportunity")
    assert field_problem("Quantity/UnitPrice", "Opportunity", line=True)
    assert field_problem("ItemCode", "Opportunity", line=True)
    assert field_problem("Email", "Account")  # the billing contact's
    assert field_problem("BillingCountry", "Opportunity")  # the account's
    assert field_problem("sfxero.yaml:tax.mapping.nz", "Opportunity")
    assert field_problem("Quantity", "Opportunity", line=True) is None
    assert field_problem("Discount__c", "Order", line=True) is None
    assert field_problem("Account.BillingCountry", "Opportunity") is None
    assert field_problem("sfxero.yaml:tracking[0].option_map", "Opportunity") is None
