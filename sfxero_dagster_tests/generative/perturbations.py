"""Perturbations of the seeded org, as hypothesis strategies, applied the way a user would make them:
Salesforce edits through the sandbox's UI actions, payments through Xero's user actions.

A perturbation names its target by an index into the sorted candidates of the world it lands in, so a
failing example shrinks towards the first account, record or line and replays exactly.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

from hypothesis import strategies as st

from ..defs.conftest import World
from .invariants import LINES, live
from .stats import STATS

# Perturbations whose class another branch of issue #15 is fixing; not generated until the lead has merged
# that branch and emptied this set (each fails on main today, see the report of branch i15-generative):
# - 'precision' (invariant 5): a Discount of 1.23456 reaches Xero as DiscountRate 1.23456, not at the
#   field's scale (1.23), so Xero's totals differ from the source's by a cent;
# - 'code_case', 'tracking_case' (invariant 7): Tax_Code__c 'vat20' is queued as unmapped_tax_code and
#   Sales_Region__c 'north' as unknown_tracking_option although VAT20 and North exist.
PENDING: set[str] = set()

# any time: edits to the data
DATA = (
    "name_case",
    "name_space",
    "name_punct",
    "name_suffix",
    "country",
    "currency",
    "precision",
    "code_case",
    "tracking_case",
)
# after a push: the record's state changes under its invoice
AFTER_PUSH = ("reopen", "lose", "delete", "reroute", "reparent", "pay_edit")

COUNTRIES = (
    "UK",
    "GB",
    "Great Britain",
    "united kingdom",
    " United Kingdom ",
    "AU",
    "AUS",
    "australia",
    "USA",
    "Ireland",
    "FRA",
    "Narnia",
    "N/A",
)
CURRENCIES = ("AUD", "USD", "NZD", "GBP", "EUR", "JPY")
PRECISION = ("0.00001", "1.23456", "2.005", "0.125", "99.999", "1234.5678")
SUFFIXES = (" Ltd", " Pty Ltd", " Limited", " Inc.", ", LLC", " Pty. Ltd.")


@dataclass(frozen=True)
class Perturbation:
    kind: str
    target: int  # index into the world's sorted candidates
    variant: int  # which spelling, value or field

    def __str__(self) -> str:
        return f"{self.kind}#{self.target}.{self.variant}"


def perturbations(kinds: tuple[str, ...]) -> st.SearchStrategy[Perturbation]:
    allowed = [k for k in kinds if k not in PENDING]
    return st.builds(Perturbation, st.sampled_from(allowed), st.integers(0, 10_000), st.integers(0, 1_000))


def _pick(seq: list, n: int):
    return seq[n % len(seq)] if seq else None


def _edit(world: World, rid: str, fields: dict) -> None:
    world.sf_control.call("POST", "act/edit", json={"id": rid, "fields": fields})


def _records(world: World, pushed: bool) -> list[str]:
    """Sources to aim at: those with a live invoice once pushed, else the valid ones."""
    if pushed:
        links = world.ledger.links_frame(xero_object="Invoices")
        ids = set(links.loc[links["xero_id"].notna(), "sf_id"])
    else:
        ids = set(world.warehouse.read("valid_invoice_headers")["sf_id"])
    return sorted(ids)


def _accounts(world: World, pushed: bool) -> list[str]:
    return sorted({r[1]["AccountId"] for i in _records(world, pushed) if (r := _source(world, i))})


def _source(world: World, sf_id: str) -> tuple[str, dict] | None:
    for obj in LINES:
        rec = world.handle.salesforce.store.get(obj, sf_id)
        if rec is not None:
            return obj, rec
    return None


def _lines(world: World, sf_id: str) -> tuple[str, list[dict]]:
    obj, _ = _source(world, sf_id)
    line_obj, parent, _ = LINES[obj]
    found = world.handle.salesforce.store.find(line_obj, parent, sf_id)
    return line_obj, sorted((ln for ln in found if not ln.get("IsDeleted")), key=lambda ln: ln["Id"])


def _tenant_of(world: World, account_id: str) -> str:
    customers = world.warehouse.read("stg_customers").set_index("sf_account_id")
    t = customers["tenant_key"].get(account_id)
    return t if isinstance(t, str) else "au"


def _live_invoice(world: World, sf_id: str) -> tuple[str, dict] | None:
    for t in world.handle.xero.info()["tenants"]:
        for inv in world.handle.xero.store.all(f"{t['tenantId']}/Invoice"):
            if inv.get("Reference") == sf_id and inv.get("Type") == "ACCREC" and live(inv):
                return t["tenantId"], inv
    return None


def apply(world: World, p: Perturbation, pushed: bool) -> str | None:
    """Make the change; returns what was done (None when the world has no target for it)."""
    try:
        done = _apply(world, p, pushed)
    except (RuntimeError, ValueError) as exc:  # Salesforce or Xero refused the edit, as it would a user's
        STATS.refused[p.kind] += 1
        return f"{p} refused: {str(exc)[:160]}"
    if done is not None:
        STATS.perturbations[p.kind] += 1
    return done


def _apply(world: World, p: Perturbation, pushed: bool) -> str | None:
    sf = world.handle.salesforce.store
    v = p.variant
    if p.kind.startswith("name_") or p.kind == "country":
        account = _pick(_accounts(world, pushed), p.target)
        if account is None:
            return None
        name = sf.get("Account", account)["Name"]
        if p.kind == "name_case":
            new = [str.upper, str.lower, str.swapcase, str.title][v % 4](name)
        elif p.kind == "name_space":
            new = [f"  {name}", f"{name}  ", name.replace(" ", "  ", 1), f"\t{name}"][v % 4]
        elif p.kind == "name_punct":
            new = [
                f"{name}.",
                name.replace(" ", ", ", 1),
                name.replace(" ", " & ", 1),
                name.replace(" ", "-"),
            ][v % 4]
        elif p.kind == "name_suffix":
            new = name + SUFFIXES[v % len(SUFFIXES)]
        else:
            country = COUNTRIES[v % len(COUNTRIES)]
            _edit(world, account, {"BillingCountry": country})
            return f"{p}: Account {account} BillingCountry {country!r}"
        _edit(world, account, {"Name": new})
        return f"{p}: Account {account} Name {name!r} -> {new!r}"

    record = _pick(_records(world, pushed), p.target)
    if record is None:
        return None
    obj, rec = _source(world, record)
    if p.kind == "currency":
        code = CURRENCIES[v % len(CURRENCIES)]
        _edit(world, record, {"CurrencyIsoCode": code})
        return f"{p}: {obj} {record} CurrencyIsoCode {code}"
    if p.kind == "tracking_case":
        region = rec.get("Sales_Region__c") or "North"
        new = [region.lower(), region.upper(), f" {region}", f"{region} "][v % 4]
        _edit(world, record, {"Sales_Region__c": new})
        return f"{p}: {obj} {record} Sales_Region__c {new!r}"
    if p.kind in ("precision", "code_case"):
        line_obj, lines = _lines(world, record)
        line = _pick(lines, v)
        if line is None:
            return None
        if p.kind == "precision":
            field = ("Quantity", "UnitPrice", LINES[obj][2])[v % 3]
            value = PRECISION[(v // 3) % len(PRECISION)]
            if field != "Quantity" and Decimal(value) > 100 and field.startswith("Discount"):
                value = "12.345"
            _edit(world, line["Id"], {field: value})
            return f"{p}: {line_obj} {line['Id']} {field} {value}"
        codes = sorted(world_tax_codes(world, _tenant_of(world, rec["AccountId"])))
        code = _pick(codes, v)
        new = [code.lower(), f"{code} ", f" {code}", code.title()][(v // 7) % 4]
        _edit(world, line["Id"], {"Tax_Code__c": new})
        return f"{p}: {line_obj} {line['Id']} Tax_Code__c {new!r}"
    if p.kind == "reopen":
        fields = {"StageName": "Negotiation"} if obj == "Opportunity" else {"Status": "Draft"}
        _edit(world, record, fields)
        return f"{p}: {obj} {record} {fields}"
    if p.kind == "lose":
        fields = {"StageName": "Closed Lost"} if obj == "Opportunity" else {"Status": "Cancelled"}
        _edit(world, record, fields)
        return f"{p}: {obj} {record} {fields}"
    if p.kind == "delete":
        world.sf_control.call("POST", "act/delete", json={"id": record})
        return f"{p}: {obj} {record} deleted"
    if p.kind == "reroute":
        account = rec["AccountId"]
        now = _tenant_of(world, account)
        country = "Australia" if now == "uk" else "United Kingdom"
        _edit(world, account, {"BillingCountry": country})
        done = f"{p}: Account {account} of {obj} {record} BillingCountry {country!r}"
        if v % 2:  # and the lines take the new organisation's tax code, as a user fixing it would
            code = sorted(world_tax_codes(world, "au" if now == "uk" else "uk"))[0]
            for ln in _lines(world, record)[1]:
                _edit(world, ln["Id"], {"Tax_Code__c": code})
            done += f", lines Tax_Code__c {code}"
        return done
    if p.kind == "reparent":
        others = [a for a in _accounts(world, pushed) if a != rec["AccountId"]]
        account = _pick(others, v)
        if account is None:
            return None
        _edit(world, record, {"AccountId": account})
        return f"{p}: {obj} {record} AccountId {rec['AccountId']} -> {account}"
    if p.kind == "pay_edit":
        found = _live_invoice(world, record)
        if found is None:
            return None
        tid, inv = found
        part = (Decimal(str(inv["Total"])) / 3).quantize(Decimal("0.01"))
        if part > 0:
            world.handle.xero.act("pay", tenant_id=tid, invoice=inv["InvoiceID"], amount=str(part))
        line_obj, lines = _lines(world, record)
        line = _pick(lines, v)
        _edit(world, line["Id"], {"Quantity": str(Decimal(str(line["Quantity"])) + 1)})
        return f"{p}: paid {part} of {inv['InvoiceNumber']}, {line_obj} {line['Id']} Quantity +1"
    raise AssertionError(f"unknown perturbation {p.kind}")


def world_tax_codes(world: World, tenant: str) -> list[str]:
    from sfxero_dagster.config import load_config

    return list(load_config(world.config_path).tax.mapping.get(tenant, {}))
