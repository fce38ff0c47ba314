"""Configuration: the shipped sample loads, and every kind of mistake gets a precise, located message."""

from __future__ import annotations

import copy
from pathlib import Path

import pytest
import yaml

from sfxero_dagster.config import ConfigError, load_config, parse_config

from .conftest import REPO_ROOT


@pytest.fixture
def sample() -> dict:
    return yaml.safe_load((REPO_ROOT / "sfxero.yaml").read_text())


def errors_of(data: dict) -> list[str]:
    with pytest.raises(ConfigError) as info:
        parse_config(data, source="t.yaml")
    return info.value.errors


def test_sample_config_loads_and_routes() -> None:
    cfg = load_config(REPO_ROOT / "sfxero.yaml")
    assert [t.key for t in cfg.xero.tenants] == ["au", "uk"]
    assert cfg.route("Ireland") == "uk"
    assert cfg.route("ireland") == "uk"  # case-insensitive by default
    assert cfg.route("Australia") == "au"
    assert cfg.route(None) == "au"
    assert cfg.tax.mapping["uk"]["VAT20"] == "OUTPUT2"
    assert cfg.invoices.status_on_create == "AUTHORISED"


def test_wrong_key_names_path_and_allowed_keys(sample: dict) -> None:
    sample["xero"]["tenantz"] = []
    (msg,) = errors_of(sample)
    assert msg.startswith("xero.tenantz: unknown key; allowed keys here: ")
    assert "tenants" in msg and "token_url" in msg


def test_wrong_key_in_list_item(sample: dict) -> None:
    sample["tracking"][0]["xero_categry"] = "Region"
    (msg,) = errors_of(sample)
    assert (
        msg == "tracking[0].xero_categry: unknown key; allowed keys here: option_map, sf_field, xero_category"
    )


def test_unknown_status_lists_allowed_values(sample: dict) -> None:
    sample["invoices"]["status_on_create"] = "PAID"
    (msg,) = errors_of(sample)
    assert msg == "invoices.status_on_create: 'PAID' is not allowed; expected 'DRAFT' or 'AUTHORISED'"


def test_missing_tenant_referenced_by_routing(sample: dict) -> None:
    sample["routing"]["rules"][0]["tenant"] = "nz"
    (msg,) = errors_of(sample)
    assert msg == "routing.rules[0].tenant: unknown tenant 'nz'; defined tenants: au, uk"


def test_missing_tenant_referenced_by_tax_mapping_and_default(sample: dict) -> None:
    sample["tax"]["mapping"]["fr"] = {"TVA": "OUTPUT"}
    sample["routing"]["default_tenant"] = "us"
    errs = errors_of(sample)
    assert "routing.default_tenant: unknown tenant 'us'; defined tenants: au, uk" in errs
    assert "tax.mapping.fr: unknown tenant 'fr'; defined tenants: au, uk" in errs


def test_no_tenants_at_all(sample: dict) -> None:
    del sample["xero"]["tenants"]
    assert errors_of(sample) == ["xero.tenants: required key is missing"]
    sample["xero"]["tenants"] = []
    (msg,) = errors_of(sample)
    assert msg.startswith("xero.tenants: List should have at least 1 item")


def test_duplicate_tenant_keys(sample: dict) -> None:
    sample["xero"]["tenants"].append(copy.deepcopy(sample["xero"]["tenants"][0]))
    (msg,) = errors_of(sample)
    assert "tenant keys must be unique; repeated: au" in msg


def test_several_tenants_need_a_routing_rule(sample: dict) -> None:
    sample["routing"] = {"field": "BillingCountry"}
    assert errors_of(sample) == ["routing: several tenants are defined, so give rules or a default_tenant"]


@pytest.mark.parametrize(
    ("section", "key", "env"),
    [
        ("xero", "client_secret", "XERO_CLIENT_SECRET"),
        ("xero", "refresh_token", "XERO_REFRESH_TOKEN"),
        ("salesforce", "password", "SF_PASSWORD"),
        ("salesforce", "client_secret", "SF_CONSUMER_SECRET"),
        ("salesforce", "security_token", "SF_SECURITY_TOKEN"),
    ],
)
def test_secrets_in_file_are_rejected_with_env_var_hint(
    sample: dict, section: str, key: str, env: str
) -> None:
    sample[section][key] = "s3cr3t-value"
    (msg,) = errors_of(sample)
    assert msg.startswith(f"{section}.{key}: secrets must not be stored in the config file")
    assert env in msg
    assert "s3cr3t-value" not in msg  # never echo the secret back


def test_bad_values_are_located(sample: dict) -> None:
    sample["salesforce"]["api_version"] = "v59.0"
    sample["invoices"]["due_days"] = -1
    sample["xero"]["tenants"][1]["key"] = "UK Org"
    errs = errors_of(sample)
    assert any(
        e.startswith("salesforce.api_version: write the API version without a leading 'v'") for e in errs
    )
    assert any(e.startswith("invoices.due_days: Input should be greater than or equal to 0") for e in errs)
    assert any(e.startswith("xero.tenants[1].key: String should match pattern") for e in errs)


def test_load_errors(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="config file not found"):
        load_config(tmp_path / "missing.yaml")
    bad = tmp_path / "bad.yaml"
    bad.write_text("xero: [unclosed\n")
    with pytest.raises(ConfigError, match="not valid YAML"):
        load_config(bad)
    bad.write_text("- a list\n")
    with pytest.raises(ConfigError, match="expected a mapping of sections"):
        load_config(bad)


def test_starter_tier_day_limit(sample: dict) -> None:
    sample["xero"]["tenants"][0]["tier"] = "starter"
    cfg = parse_config(sample)
    assert cfg.tenant("au").day_limit == 1000
    assert cfg.tenant("uk").day_limit == 5000


# ----- routing by country (invariant 6) -----------------------------------------------------------------
def with_us(sample: dict) -> dict:
    """The sample plus a third organisation for the United States."""
    sample["xero"]["tenants"].append(
        {"key": "us", "tenant_id": "5a1b2c3d-0000-4000-8000-0000000000c3", "name": "Acme Inc"}
    )
    sample["routing"]["rules"].append({"tenant": "us", "values": ["United States"]})
    return sample


def test_any_spelling_of_a_rule_country_routes_to_its_tenant(sample: dict) -> None:
    cfg = parse_config(with_us(sample))
    uk = ["UK", "U.K.", "GB", "gbr", "Great Britain", "England", "Scotland", "Wales", "Northern Ireland"]
    assert {v: cfg.route(v) for v in uk} == dict.fromkeys(uk, "uk")
    us = ["USA", "U.S.A.", "us", "United States of America", " united  states "]
    assert {v: cfg.route(v) for v in us} == dict.fromkeys(us, "us")
    assert [cfg.route(v) for v in ("IE", "irl", "Éire", "FR", "fra", "DE", "deu")] == ["uk"] * 7
    assert cfg.routing.kind == "country"  # the default, since BillingCountry is a country field


def test_blank_and_unlisted_countries_go_to_the_default_but_non_countries_go_nowhere(sample: dict) -> None:
    cfg = parse_config(sample)
    assert [cfg.route(v) for v in (None, "", "   ")] == ["au"] * 3  # blank: the default, as before
    assert [cfg.route(v) for v in ("Australia", "AU", "Japan", "JP")] == ["au"] * 4  # no rule: the default
    garbage = ["Narnia", "N/A", "123", "-", "Untied Kingdom", "Deutschland"]
    assert [cfg.route(v) for v in garbage] == [None] * len(garbage)  # never the default
    assert all(cfg.routing.is_not_a_country(v) for v in garbage)
    assert not any(cfg.routing.is_not_a_country(v) for v in (None, " ", "Japan", "UK"))


def test_routing_kind_defaults_from_the_field_and_value_keeps_plain_matching(sample: dict) -> None:
    sample["routing"]["field"] = "ShippingCountry"
    assert parse_config(sample).routing.kind == "country"
    sample["routing"] = {
        "field": "Region__c",
        "rules": [{"tenant": "uk", "values": ["EMEA"]}],
        "default_tenant": "au",
    }
    cfg = parse_config(sample)
    assert cfg.routing.kind == "value"
    assert (cfg.route("emea"), cfg.route("Narnia"), cfg.route("GB")) == ("uk", "au", "au")
    sample["routing"] = {
        "field": "BillingCountry",
        "kind": "value",
        "rules": [{"tenant": "uk", "values": ["Narnia"]}],
        "default_tenant": "au",
    }
    cfg = parse_config(sample)  # plain values are not checked against countries
    assert (cfg.route("narnia"), cfg.route("UK")) == ("uk", "au")


def test_a_rule_value_that_is_not_a_country_fails_with_its_key_path(sample: dict) -> None:
    sample["routing"]["rules"][0]["values"][1] = "Narnia"
    (msg,) = errors_of(sample)
    assert msg.startswith(
        "routing.rules[0].values[1]: 'Narnia' is not a country; write a country name or an ISO"
    )
    assert "routing.kind: value" in msg


def test_two_rules_claiming_one_country_fail(sample: dict) -> None:
    sample["routing"]["rules"][0]["values"].append("UK")  # the same country twice in one rule is harmless
    sample["routing"]["rules"].append({"tenant": "au", "values": ["Australia", "GB"]})
    (msg,) = errors_of(sample)
    assert msg == (
        "routing.rules[1].values[1]: 'GB' is United Kingdom (GB), which routing.rules[0].values[0] "
        "('United Kingdom') already routes to tenant 'uk'; a country goes to one tenant only"
    )


def test_country_routing_rejects_case_sensitive_and_yaml_booleans(sample: dict) -> None:
    sample["routing"]["case_sensitive"] = True
    assert errors_of(sample) == [
        "routing.case_sensitive: applies to kind: value only; countries match in any case"
    ]
    del sample["routing"]["case_sensitive"]
    sample["routing"]["rules"][0]["values"] = yaml.safe_load("[GB, NO]")  # NO -> False in YAML 1.1
    (msg,) = errors_of(sample)
    assert msg.startswith("routing.rules[0].values: quote country codes such as 'NO'")
