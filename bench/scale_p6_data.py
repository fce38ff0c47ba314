"""P6's synthetic data: Salesforce extracts of ~1,000,000 invoice lines with planted defects, each org's Xero
settings, and the quality of a validation run against the planted defects."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from bench.scale_p5_data import P5_COUNTRIES, SEED, STREETS, _domain, _ids, _Names, _stamps

REPO = Path(__file__).resolve().parents[1]
CONFIG = REPO / "sfxero.yaml"


# ----- P6: Salesforce extracts with planted defects ----------------------------------------------------
FX = {"AUD": 1.0, "NZD": 1.1, "USD": 0.66, "GBP": 0.52, "EUR": 0.6, "JPY": 98.0}
REGIONS = ["North", "South", "East", "West"]
XERO_ORGS = {  # base currency, other enabled currencies, tax rates (TaxType, status, rate)
    "au": (
        "AUD",
        ["USD", "NZD"],
        [("OUTPUT", "ACTIVE", 10), ("EXEMPTOUTPUT", "ACTIVE", 0), ("EXEMPTEXPORT", "ARCHIVED", 0)],
    ),
    "uk": (
        "GBP",
        ["USD", "EUR"],
        [("OUTPUT2", "ACTIVE", 20), ("ZERORATEDOUTPUT", "ACTIVE", 0), ("EXEMPTOUTPUT", "ACTIVE", 0)],
    ),
}
# kind -> (source, reason codes expected, on the line (else on the header))
P6_PLANTS: dict[str, tuple[str, tuple[str, ...], bool]] = {
    "missing_sku": ("opportunity", ("missing_sku",), True),
    "sku_not_in_xero": ("opportunity", ("sku_not_in_xero",), True),
    "inactive_product": ("opportunity", ("inactive_product",), True),  # WARN: reported, not held back
    "unknown_account_code": ("opportunity", ("unknown_account_code",), True),
    "unmapped_tax_code": ("opportunity", ("unmapped_tax_code",), True),
    "unknown_tax_type": ("opportunity", ("unknown_tax_type",), True),  # EXPORT -> an archived rate (au)
    "zero_quantity": ("opportunity", ("invalid_quantity",), True),
    "negative_price": ("opportunity", ("negative_amount",), True),
    "currency_mismatch": ("opportunity", ("currency_mismatch",), True),
    "currency_not_enabled": ("opportunity", ("currency_not_enabled",), False),  # JPY
    "unknown_tracking_option": ("opportunity", ("unknown_tracking_option",), False),
    "amount_mismatch": ("opportunity", ("amount_mismatch",), False),
    "no_line_items": ("opportunity", ("no_line_items",), False),
    "missing_account": ("opportunity", ("missing_required_field", "unroutable_account"), False),
    "discount_over_100": ("order", ("invalid_discount",), True),
    "duplicate_invoice_number": ("order", ("duplicate_invoice_number",), False),  # planted in pairs
}
_NUMERIC = {
    "Amount",
    "TotalAmount",
    "Quantity",
    "UnitPrice",
    "ListPrice",
    "Discount",
    "TotalPrice",
    "Discount__c",
}
_BOOLEAN = {"IsDeleted", "IsWon", "IsClosed", "IsActive", "Is_Billing_Contact__c"}


def _half_up(values: np.ndarray) -> np.ndarray:
    """Cents, half away from zero: how Salesforce rounds TotalPrice and Xero rounds a line."""
    return np.sign(values) * np.floor(np.abs(values) * 100 + 0.5 + 1e-9) / 100


def _extract_frame(columns: dict[str, Any], fields: list[str]) -> pd.DataFrame:
    """The frame an extract asset stores: exactly its fields, typed as ``typed_frame`` types them."""
    df = pd.DataFrame(columns).reindex(columns=fields)
    for col in fields:
        if col in _BOOLEAN:
            df[col] = df[col].astype("boolean")
        elif col in _NUMERIC:
            df[col] = pd.to_numeric(df[col], errors="coerce").astype("float64")
        else:
            df[col] = df[col].astype("string")
    return df


def p6_data(lines: int, seed: int = SEED) -> tuple[dict[str, pd.DataFrame], dict[str, Any], dict[str, Any]]:
    """Salesforce extract frames holding ``lines`` invoice lines, the Xero references, and the plants.

    About 5 lines per header, 80 % Opportunities and 20 % Orders, some lost, cancelled or deleted (kept
    by staging, not validated). ``max(2, headers // 2000)`` headers per kind in ``P6_PLANTS`` carry one
    defect each. Returns (frames by Salesforce object, Xero reference JSON by tenant, planted) where
    planted maps header Id -> (kind, expected {(reason_code, line Id or None)}).
    """
    from sfxero_dagster.config import load_config
    from sfxero_dagster.defs.salesforce.assets import extracts

    config = load_config(CONFIG)
    rng = np.random.default_rng(seed)
    per = rng.integers(1, 10, lines // 4 + 64)
    cum = np.cumsum(per)
    h = int(np.searchsorted(cum, lines)) + 1
    per = per[:h].copy()
    per[-1] -= int(cum[h - 1]) - lines
    n_opp = int(h * 0.8)
    is_opp = np.arange(h) < n_opp

    # accounts and their billing contacts
    a = max(40, h // 10)
    country = np.arange(a) % len(P5_COUNTRIES)
    acct_ids = np.array(_ids("001", 1, a), dtype=object)
    a_tenant = np.array([P5_COUNTRIES[c][1] for c in country], dtype=object)
    a_cur = np.array([P5_COUNTRIES[c][2] for c in country], dtype=object)
    names = _Names(rng).draw(a)
    accounts = {
        "Id": acct_ids,
        "SystemModstamp": np.datetime_as_string(_stamps(rng, a), unit="ms"),
        "IsDeleted": False,
        "Name": names,
        "Phone": [
            f"{P5_COUNTRIES[c][4]} {x} {y}"
            for c, (x, y) in zip(country, rng.integers(1000, 9999, (a, 2)), strict=True)
        ],
        "BillingStreet": [f"{x} {STREETS[x % len(STREETS)]}" for x in rng.integers(1, 400, a)],
        "BillingCity": [P5_COUNTRIES[c][6][0] for c in country],
        "BillingPostalCode": rng.integers(1000, 99999, a).astype(str),
        "BillingCountry": [P5_COUNTRIES[c][0] for c in country],
        "CurrencyIsoCode": a_cur,
    }
    contacts = {
        "Id": _ids("003", 1, a),
        "SystemModstamp": accounts["SystemModstamp"],
        "IsDeleted": False,
        "AccountId": acct_ids,
        "FirstName": "Alex",
        "LastName": [f"{n.split()[0]}" for n in names],
        "Email": [f"accounts@{_domain(n, P5_COUNTRIES[c][5])}" for n, c in zip(names, country, strict=True)],
        "Is_Billing_Contact__c": True,
    }

    # products (plus four planted ones) with even-cent prices in every currency: no half-cent ties
    p = 500
    product_ids = _ids("01t", 1, p + 4)
    codes = [f"SKU-{i:05d}" for i in range(1, p + 1)] + [
        None,
        "SKU-NOT-IN-XERO",
        "SKU-RETIRED",
        "SKU-ODD-ACCT",
    ]
    cents = rng.integers(250, 60_000, p + 4) * 2
    currencies = list(FX)
    price = np.stack([np.round(cents * FX[c] / 2) * 2 / 100 for c in currencies], axis=1)
    products = {
        "Id": product_ids,
        "SystemModstamp": np.datetime_as_string(_stamps(rng, p + 4), unit="ms"),
        "IsDeleted": False,
        "Name": [f"Product {i}" for i in range(p + 4)],
        "ProductCode": codes,
        "IsActive": [True] * (p + 2) + [False, True],
        "Tax_Code__c": np.where(rng.random(p + 4) < 0.9, "GST", "GST_FREE"),
        "Xero_Account_Code__c": [*np.where(rng.random(p + 3) < 0.8, None, "260"), "999"],
    }
    entries = {
        "Id": _ids("01u", 1, (p + 4) * len(currencies)),
        "SystemModstamp": np.repeat(products["SystemModstamp"], len(currencies)),
        "IsDeleted": False,
        "Pricebook2Id": _ids("01s", 1, 1) * ((p + 4) * len(currencies)),
        "Product2Id": np.repeat(product_ids, len(currencies)),
        "UnitPrice": price.ravel(),
        "IsActive": True,
        "CurrencyIsoCode": currencies * (p + 4),
    }

    # headers
    h_acct = rng.integers(0, a, h)
    h_account = acct_ids[h_acct].copy()
    h_tenant, h_cur = a_tenant[h_acct], a_cur[h_acct].copy()
    region = np.array(REGIONS, dtype=object)[rng.integers(0, 4, h)]
    won = rng.random(h) < 0.95
    deleted = is_opp & (rng.random(h) < 0.002)
    h_ids = np.array(_ids("006", 1, n_opp) + _ids("801", 1, h - n_opp), dtype=object)
    order_number = np.array([f"{i:08d}" for i in range(101, 101 + h - n_opp)], dtype=object)

    # lines
    n = int(per.sum())
    line_h = np.repeat(np.arange(h), per)
    first_line = np.cumsum(per) - per
    line_ids = np.empty(n, dtype=object)
    opp_lines = is_opp[line_h]
    line_ids[opp_lines] = _ids("00k", 1, int(opp_lines.sum()))
    line_ids[~opp_lines] = _ids("802", 1, int((~opp_lines).sum()))
    product = rng.integers(0, p, n)
    qty = np.where(
        opp_lines, rng.choice([1, 1, 2, 3, 5, 10, 2.5, 0.5], n), rng.choice([1, 1, 2, 3, 5, 10], n)
    )
    disc = np.where(
        opp_lines,
        rng.choice([np.nan, np.nan, np.nan, 5, 10, 12.5], n),
        rng.choice([np.nan, np.nan, np.nan, np.nan, 10, 20], n),
    )
    uk = h_tenant[line_h] == "uk"
    tax = np.where(uk, rng.choice(["VAT20", "VAT20", "VAT_ZERO"], n), None).astype(object)
    l_cur = h_cur[line_h].copy()

    # plants: distinct headers that would otherwise be sent
    planted: dict[str, tuple[str, set[tuple[str, str | None]]]] = {}
    k = max(2, h // 2000)
    pool = {
        "opportunity": [i for i in rng.permutation(n_opp) if won[i] and not deleted[i]],
        "order": [i for i in n_opp + rng.permutation(h - n_opp) if won[i]],
    }
    drop = np.zeros(n, dtype=bool)
    bump: list[int] = []
    negative: list[int] = []
    for kind, (source, codes_, on_line) in P6_PLANTS.items():
        picks = []
        while len(picks) < k * (2 if kind == "duplicate_invoice_number" else 1):
            i = pool[source].pop()
            if kind == "unknown_tax_type" and h_tenant[i] != "au":
                continue
            picks.append(i)
        for i in picks:
            ln = first_line[i]
            planted[h_ids[i]] = (kind, {(c, line_ids[ln] if on_line else None) for c in codes_})
        lns = [first_line[i] for i in picks]
        if kind in ("missing_sku", "sku_not_in_xero", "inactive_product", "unknown_account_code"):
            product[lns] = p + [
                "missing_sku",
                "sku_not_in_xero",
                "inactive_product",
                "unknown_account_code",
            ].index(kind)
        elif kind == "unmapped_tax_code":
            tax[lns] = "LUX_TAX"
        elif kind == "unknown_tax_type":
            tax[lns] = "EXPORT"
        elif kind == "zero_quantity":
            qty[lns] = 0
        elif kind == "negative_price":
            negative += lns
        elif kind == "currency_mismatch":
            l_cur[lns] = [("EUR" if h_cur[i] == "USD" else "USD") for i in picks]
        elif kind == "currency_not_enabled":
            h_cur[picks] = "JPY"
            l_cur[np.isin(line_h, picks)] = "JPY"
        elif kind == "unknown_tracking_option":
            region[picks] = "Atlantis"
        elif kind == "amount_mismatch":
            bump += picks
        elif kind == "no_line_items":
            drop |= np.isin(line_h, picks)
        elif kind == "missing_account":
            h_account[picks] = None
        elif kind == "discount_over_100":
            disc[lns] = 150
        elif kind == "duplicate_invoice_number":
            for x, y in zip(picks[::2], picks[1::2], strict=True):
                order_number[y - n_opp] = order_number[x - n_opp]
    unit = price[product, [currencies.index(c) for c in l_cur]]
    unit[negative] = -10.0
    total = _half_up(qty * unit * (100 - np.nan_to_num(disc)) / 100)
    keep = ~drop
    amount = np.bincount(line_h[keep], weights=total[keep], minlength=h)
    amount[bump] += 5.0
    stamps = np.datetime_as_string(_stamps(rng, h), unit="ms")
    close = np.datetime_as_string(_stamps(rng, h).astype("datetime64[D]"), unit="D")
    stage = np.where(won, "Closed Won", "Closed Lost")

    def items(mask: np.ndarray, parent: str) -> dict[str, Any]:
        m = mask & keep
        return {
            "Id": line_ids[m],
            "SystemModstamp": stamps[line_h[m]],
            "IsDeleted": False,
            parent: h_ids[line_h[m]],
            "PricebookEntryId": None,
            "Product2Id": np.array(product_ids, dtype=object)[product[m]],
            "Quantity": qty[m],
            "UnitPrice": unit[m],
            "Discount": disc[m],
            "Discount__c": disc[m],
            "TotalPrice": total[m],
            "CurrencyIsoCode": l_cur[m],
            "Tax_Code__c": tax[m],
        }

    o, r = slice(0, n_opp), slice(n_opp, h)
    raw = {
        "Account": accounts,
        "Contact": contacts,
        "Product2": products,
        "PricebookEntry": entries,
        "Opportunity": {
            "Id": h_ids[o],
            "SystemModstamp": stamps[o],
            "IsDeleted": deleted[o],
            "AccountId": h_account[o],
            "Name": [f"Deal {i}" for i in range(n_opp)],
            "StageName": stage[o],
            "CloseDate": close[o],
            "Amount": amount[o],
            "IsWon": won[o],
            "IsClosed": True,
            "CurrencyIsoCode": h_cur[o],
            "Sales_Region__c": region[o],
        },
        "OpportunityLineItem": items(opp_lines, "OpportunityId"),
        "Order": {
            "Id": h_ids[r],
            "SystemModstamp": stamps[r],
            "IsDeleted": False,
            "AccountId": h_account[r],
            "Status": np.where(won[r], "Activated", "Cancelled"),
            "EffectiveDate": close[r],
            "OrderNumber": order_number,
            "TotalAmount": amount[r],
            "CurrencyIsoCode": h_cur[r],
            "Sales_Region__c": region[r],
        },
        "OrderItem": items(~opp_lines, "OrderId"),
    }
    frames = {}
    for e in extracts(config):
        fields = list(dict.fromkeys(["Id", "SystemModstamp", "IsDeleted", *e.fields]))
        frames[e.object_name] = _extract_frame(raw[e.object_name], fields)
    item_codes = [c for c in codes if c and c != "SKU-NOT-IN-XERO"]
    xero = {
        t: {
            "organisation": [{"Name": f"Acme {t.upper()}", "BaseCurrency": base, "CountryCode": t.upper()}],
            "tax_rates": [{"TaxType": x, "Name": x, "Status": s, "EffectiveRate": v} for x, s, v in rates],
            "currencies": [{"Code": c} for c in [base, *others]],
            "tracking": [
                {
                    "Name": "Region",
                    "Status": "ACTIVE",
                    "TrackingCategoryID": f"{t}-region",
                    "Options": [
                        {"Name": x, "Status": "ACTIVE", "TrackingOptionID": f"{t}-{x}"} for x in REGIONS
                    ],
                }
            ],
            "accounts": [
                {"Code": c, "Name": c, "Type": "REVENUE", "Status": "ACTIVE"} for c in ("200", "260")
            ],
            "items": [{"Code": c, "ItemID": f"{t}-{c}", "Name": c, "IsSold": True} for c in item_codes],
        }
        for t, (base, others, rates) in XERO_ORGS.items()
    }
    sizes = {
        "headers": h,
        "opportunities": n_opp,
        "orders": h - n_opp,
        "lines_requested": lines,
        "lines": int(keep.sum()),  # less the lines of the planted headers without any
        "accounts": a,
        "products": p + 4,
    }
    return frames, xero, {"planted": planted, "sizes": sizes}


def p6_quality(result: Any, planted: dict[str, tuple[str, set[tuple[str, str | None]]]]) -> dict[str, Any]:
    """Rejects against the plants: every planted header with exactly its reasons (and line), no others."""
    rej = result.rejects
    got: dict[str, set[tuple[str, str | None]]] = {}
    for sf_id, code, line in zip(rej["sf_id"], rej["reason_code"], rej["line_id"], strict=True):
        got.setdefault(sf_id, set()).add((code, line if isinstance(line, str) else None))
    valid = set(result.valid["sf_id"])
    by_kind: dict[str, dict[str, int]] = {}
    for sf_id, (kind, want) in planted.items():
        row = by_kind.setdefault(kind, {"planted": 0, "exact": 0, "held_back": 0})
        row["planted"] += 1
        row["exact"] += got.get(sf_id) == want
        row["held_back"] += sf_id not in valid
    exact = sum(r["exact"] for r in by_kind.values())
    return {
        "planted_headers": len(planted),
        "rejected_exactly_as_planted": exact,
        "missed": sum(1 for x in planted if x not in got),
        "wrong_reason": sum(1 for x in planted if x in got and got[x] != planted[x][1]),
        "false_rejects": sum(1 for x in got if x not in planted),
        "by_kind": by_kind,
        "valid_headers": len(valid),
        "valid_lines": len(result.valid_lines) if result.valid_lines is not None else 0,
    }
