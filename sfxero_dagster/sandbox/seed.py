"""A deterministic seed org for both emulators: realistic Salesforce data, the matching Xero side, and
planted dirty data listed in a manifest that tests read.

Deterministic for (scale, seed): only ``random.Random(seed)`` and a fixed anchor date are used, never the
wall clock, so ``to_json_bytes()`` is byte-for-byte reproducible. Scales: ``small`` (~50 accounts, for
tests), ``medium`` (~5,000 accounts, 20,000 opportunities), ``large`` (100,000 accounts, 500,000 lines);
``bench`` and ``p3`` serve the benchmarks (``p3``: one organisation, ~6,000 invoices).
"""

from __future__ import annotations

import json
import random
import uuid
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

from .salesforce.ids import make_id
from .seed_data import (
    CENT,
    COUNTRIES,
    FIRST,
    LAST,
    PRODUCTS,
    REGIONS,
    SCALE_COUNTRIES,
    SCALES,
    STREETS,
    SUFFIXES,
    TENANTS,
    UK_TENANT_COUNTRIES,
    WORDS_A,
    WORDS_B,
)
from .seed_dirty import DirtyData

__all__ = ["SCALES", "UK_TENANT_COUNTRIES", "Seed", "generate"]


def _iso(dt: datetime) -> str:
    return dt.strftime("%Y-%m-%dT%H:%M:%S.000+0000")


@dataclass
class Seed:
    scale: str
    seed: int
    salesforce: dict[str, list[dict[str, Any]]]
    xero: dict[str, Any]
    manifest: dict[str, list[dict[str, Any]]] = field(default_factory=dict)

    def to_json_bytes(self) -> bytes:
        return json.dumps(
            {
                "scale": self.scale,
                "seed": self.seed,
                "salesforce": self.salesforce,
                "xero": self.xero,
                "manifest": self.manifest,
            },
            sort_keys=True,
            separators=(",", ":"),
            default=str,
            ensure_ascii=False,
        ).encode("utf-8")

    def summary(self) -> dict[str, Any]:
        return {
            "salesforce": {k: len(v) for k, v in self.salesforce.items()},
            "xero": {
                k: {"contacts": len(v["contacts"]), "items": len(v["items"])}
                for k, v in self.xero["per_tenant"].items()
            },
            "manifest": {k: len(v) for k, v in self.manifest.items()},
        }


class _Gen(DirtyData):
    def __init__(self, scale: str, seed: int, base_date: date) -> None:
        if scale not in SCALES:
            raise ValueError(f"unknown scale {scale!r}; choose from {', '.join(SCALES)}")
        self.n = SCALES[scale]
        self.scale = scale
        self.seed = seed
        self.rng = random.Random(seed)
        self.base = datetime(base_date.year, base_date.month, base_date.day)
        self.seq: dict[str, int] = {}
        self.sf: dict[str, list[dict]] = {
            k: []
            for k in (
                "User",
                "Account",
                "Contact",
                "Product2",
                "Pricebook2",
                "PricebookEntry",
                "Opportunity",
                "OpportunityLineItem",
                "Order",
                "OrderItem",
            )
        }
        self.manifest: dict[str, list[dict]] = {}
        self.ns = uuid.uuid5(uuid.NAMESPACE_URL, f"sfxero-seed/{seed}")
        self.tenant_ids = {t["key"]: t["tenant_id"] for t in TENANTS}
        self.xero_contacts: dict[str, list[dict]] = {"au": [], "uk": []}
        self.xero_items: dict[str, list[dict]] = {"au": [], "uk": []}

    # ----- helpers ---------------------------------------------------------------------------------
    def id(self, prefix: str) -> str:
        self.seq[prefix] = self.seq.get(prefix, 0) + 1
        return make_id(prefix, self.seq[prefix])

    def when(self, days_back_max: int = 540) -> datetime:
        return self.base - timedelta(
            days=self.rng.randint(0, days_back_max), seconds=self.rng.randint(0, 86_399)
        )

    def system(self, created: datetime) -> dict[str, Any]:
        modified = created + timedelta(seconds=self.rng.randint(0, 3 * 86_400))
        return {
            "IsDeleted": False,
            "CreatedDate": _iso(created),
            "LastModifiedDate": _iso(modified),
            "SystemModstamp": _iso(modified),
        }

    def plant(self, kind: str, obj: str, rid: str, expect: str, description: str, **extra: Any) -> None:
        self.manifest.setdefault(kind, []).append(
            {"object": obj, "id": rid, "expect": expect, "description": description, **extra}
        )

    def xero_guid(self, *parts: str) -> str:
        return str(uuid.uuid5(self.ns, ":".join(parts)))

    # ----- generation ------------------------------------------------------------------------------
    def run(self) -> Seed:
        owner = self.id("005")
        self.sf["User"].append(
            {
                "Id": owner,
                "Username": "owner@acme.example",
                "FirstName": "Casey",
                "LastName": "Owner",
                "Name": "Casey Owner",
                "Email": "owner@acme.example",
                "IsActive": True,
                **self.system(self.base - timedelta(days=600)),
            }
        )
        self.owner = owner
        products = self.products()
        accounts = self.accounts()
        self.opportunities(accounts, products)
        self.orders(accounts, products)
        self.plant_dirty(accounts, products)
        return Seed(self.scale, self.seed, self.sf, self.xero_side(), self.manifest)

    def products(self) -> list[dict]:
        rng = self.rng
        book = {
            "Id": self.id("01s"),
            "Name": "Standard Price Book",
            "IsActive": True,
            "IsStandard": True,
            **self.system(self.base - timedelta(days=600)),
        }
        self.sf["Pricebook2"].append(book)
        self.pricebook = book["Id"]
        out = []
        for i in range(self.n["products"]):
            name = f"{PRODUCTS[i % len(PRODUCTS)]} {chr(65 + (i // len(PRODUCTS)) % 26)}{i // (len(PRODUCTS) * 26) or ''}"
            price = Decimal(rng.choice([19, 49, 99, 149, 499, 1200])) + Decimal(
                rng.choice(["0", "0.5", "0.99", "0.1234"])
            )
            p = {
                "Id": self.id("01t"),
                "Name": name,
                "ProductCode": f"SKU-{i + 1:05d}",
                "IsActive": True,
                "Family": rng.choice(["Hardware", "Software", "Services"]),
                "Description": f"{name} for business",
                "Tax_Code__c": "GST",
                "Xero_Account_Code__c": None,
                "CurrencyIsoCode": "USD",
                "_price": price,
                **self.system(self.base - timedelta(days=rng.randint(400, 600))),
            }
            out.append(p)
            for cur in ("AUD", "NZD", "GBP", "USD", "EUR", "JPY"):
                factor = {
                    "AUD": 1,
                    "NZD": Decimal("1.1"),
                    "GBP": Decimal("0.52"),
                    "USD": Decimal("0.66"),
                    "EUR": Decimal("0.6"),
                    "JPY": 98,
                }[cur]
                self.sf["PricebookEntry"].append(
                    {
                        "Id": self.id("01u"),
                        "Pricebook2Id": self.pricebook,
                        "Product2Id": p["Id"],
                        "IsActive": True,
                        "UnitPrice": (price * Decimal(factor)).quantize(CENT, ROUND_HALF_UP),
                        "CurrencyIsoCode": cur,
                        "Name": name,
                        "ProductCode": p["ProductCode"],
                        **self.system(self.base - timedelta(days=400)),
                    }
                )
        self.entries = {(e["Product2Id"], e["CurrencyIsoCode"]): e for e in self.sf["PricebookEntry"]}
        for p in out:
            clean = {k: v for k, v in p.items() if not k.startswith("_")}
            self.sf["Product2"].append(clean)
        return out

    def company(self, country: str) -> str:
        key = (
            "au" if country in ("Australia", "New Zealand") else "us" if country == "United States" else "uk"
        )
        return f"{self.rng.choice(WORDS_A)} {self.rng.choice(WORDS_B)} {self.rng.choice(SUFFIXES[key])}"

    def accounts(self) -> list[dict]:
        rng = self.rng
        out = []
        seen: set[str] = set()
        only = SCALE_COUNTRIES.get(self.scale)
        countries = [c for c in COUNTRIES if c[0] in only] if only else COUNTRIES
        for i in range(self.n["accounts"]):
            country, currency, tenant, phone_prefix, cities = countries[i % len(countries)]
            name = self.company(country)
            while name in seen:
                name = f"{self.company(country)} {rng.randint(2, 999)}"
            seen.add(name)
            domain = (
                "".join(ch for ch in name.lower().split(" pty")[0].split(" ltd")[0] if ch.isalnum())[:24]
                + ".example"
            )
            tax = None
            if rng.random() < 0.4:
                tax = (
                    "".join(str(rng.randint(0, 9)) for _ in range(11))
                    if tenant == "au"
                    else f"GB{rng.randint(100000000, 999999999)}"
                )
            acct = {
                "Id": self.id("001"),
                "Name": name,
                "Type": "Customer",
                "Phone": f"{phone_prefix} {rng.randint(1000, 9999)} {rng.randint(1000, 9999)}",
                "Website": f"https://www.{domain}",
                "BillingStreet": f"{rng.randint(1, 400)} {rng.choice(STREETS)}",
                "BillingCity": rng.choice(cities),
                "BillingState": None,
                "BillingPostalCode": str(rng.randint(1000, 99999)),
                "BillingCountry": country,
                "CurrencyIsoCode": currency,
                "Tax_Number__c": tax,
                "OwnerId": self.owner,
                "Sales_Region__c": REGIONS[i % 4],
                "Xero_Contact_Id__c": None,
                **self.system(self.when()),
            }
            out.append(acct)
            self.sf["Account"].append(acct)
            for j in range(1 + (i % 3 == 0)):
                first, last = rng.choice(FIRST), rng.choice(LAST)
                self.sf["Contact"].append(
                    {
                        "Id": self.id("003"),
                        "AccountId": acct["Id"],
                        "FirstName": first,
                        "LastName": last,
                        "Name": f"{first} {last}",
                        "Email": f"{'accounts' if j == 0 else first.lower()}@{domain}",
                        "Phone": acct["Phone"],
                        "Is_Billing_Contact__c": j == 0,
                        "CurrencyIsoCode": currency,
                        "OwnerId": self.owner,
                        **self.system(self.when()),
                    }
                )
            acct["_tenant"], acct["_domain"] = tenant, domain
        return out

    def line(
        self,
        obj: str,
        parent_field: str,
        parent_id: str,
        product: dict,
        currency: str,
        tenant: str,
        prefix: str,
    ) -> dict:
        rng = self.rng
        entry = self.entries[(product["Id"], currency)]
        qty = Decimal(rng.choice([1, 1, 2, 3, 5, 10, "2.5", "0.5"]))
        price = entry["UnitPrice"]
        rec = {
            "Id": self.id(prefix),
            parent_field: parent_id,
            "Product2Id": product["Id"],
            "PricebookEntryId": entry["Id"],
            "Quantity": qty,
            "UnitPrice": price,
            "ListPrice": price,
            "Description": None,
            "CurrencyIsoCode": currency,
            "Tax_Code__c": None if tenant == "au" else rng.choice(["VAT20", "VAT20", "VAT_ZERO"]),
            **self.system(self.when(30)),
        }
        if obj == "OpportunityLineItem":
            discount = Decimal(rng.choice([0, 0, 0, 5, 10, "12.5"]))
            rec["Discount"] = discount if discount else None
            rec["TotalPrice"] = (qty * price * (100 - discount) / 100).quantize(CENT, ROUND_HALF_UP)
        else:
            discount = Decimal(rng.choice([0, 0, 0, 0, 5, 10]))
            rec["Discount__c"] = discount if discount else None
            rec["TotalPrice"] = (qty * price).quantize(CENT, ROUND_HALF_UP)
        return rec

    def opportunities(self, accounts: list[dict], products: list[dict]) -> None:
        rng = self.rng
        for i in range(self.n["opportunities"]):
            acct = accounts[(i * 7919) % len(accounts)]
            won = rng.random() < 0.85
            created = self.when()
            close = (created + timedelta(days=rng.randint(1, 60))).date()
            opp = {
                "Id": self.id("006"),
                "AccountId": acct["Id"],
                "Name": f"{acct['Name'][:60]} - deal {i + 1}",
                "StageName": "Closed Won"
                if won
                else rng.choice(["Prospecting", "Negotiation", "Closed Lost"]),
                "CloseDate": close.isoformat(),
                "Pricebook2Id": self.pricebook,
                "CurrencyIsoCode": acct["CurrencyIsoCode"],
                "Sales_Region__c": acct["Sales_Region__c"],
                "OwnerId": self.owner,
                "Xero_Invoice_Id__c": None,
                **self.system(created),
            }
            opp["IsWon"] = opp["StageName"] == "Closed Won"
            opp["IsClosed"] = opp["StageName"].startswith("Closed")
            lines = [
                self.line(
                    "OpportunityLineItem",
                    "OpportunityId",
                    opp["Id"],
                    products[(i + k * 3) % len(products)],
                    acct["CurrencyIsoCode"],
                    acct["_tenant"],
                    "00k",
                )
                for k in range(1 + rng.randint(0, 6) if self.scale != "large" else 4)
            ]
            opp["Amount"] = sum((ln["TotalPrice"] for ln in lines), Decimal("0.00"))
            self.sf["Opportunity"].append(opp)
            self.sf["OpportunityLineItem"].extend(lines)

    def orders(self, accounts: list[dict], products: list[dict]) -> None:
        rng = self.rng
        for i in range(self.n["orders"]):
            acct = accounts[(i * 104729) % len(accounts)]
            status = "Activated" if rng.random() < 0.85 else rng.choice(["Draft", "Cancelled"])
            created = self.when()
            order = {
                "Id": self.id("801"),
                "AccountId": acct["Id"],
                "Status": status,
                "EffectiveDate": created.date().isoformat(),
                "OrderNumber": f"{i + 101:08d}",
                "Pricebook2Id": self.pricebook,
                "CurrencyIsoCode": acct["CurrencyIsoCode"],
                "Sales_Region__c": acct["Sales_Region__c"],
                "OwnerId": self.owner,
                **self.system(created),
            }
            items = [
                self.line(
                    "OrderItem",
                    "OrderId",
                    order["Id"],
                    products[(i * 5 + k) % len(products)],
                    acct["CurrencyIsoCode"],
                    acct["_tenant"],
                    "802",
                )
                for k in range(1 + rng.randint(0, 3))
            ]
            order["TotalAmount"] = sum((x["TotalPrice"] for x in items), Decimal("0.00"))
            self.sf["Order"].append(order)
            self.sf["OrderItem"].extend(items)

    # ----- dirty data and the Xero side -----------------------------------------------------------
    def xero_contact(
        self,
        tenant: str,
        name: str,
        *,
        number: str | None = None,
        email: str | None = None,
        tax: str | None = None,
        phone: str | None = None,
        key: str = "",
    ) -> dict:
        c = {
            "ContactID": self.xero_guid("contact", tenant, key or name),
            "Name": name,
            "ContactStatus": "ACTIVE",
        }
        if number:
            c["ContactNumber"] = number
        if email:
            c["EmailAddress"] = email
        if tax:
            c["TaxNumber"] = tax
        if phone:
            c["Phones"] = [{"PhoneType": "DEFAULT", "PhoneNumber": phone}]
        self.xero_contacts[tenant].append(c)
        return c

    def pick(self, rows: list[dict], k: int, used: set[str]) -> list[dict]:
        out = []
        for r in self.rng.sample(rows, min(len(rows), k * 4)):
            if r["Id"] not in used and not any(ch in r["Name"] for ch in "'\"\\%_"):
                used.add(r["Id"])
                out.append(r)
            if len(out) == k:
                break
        return out

    def xero_side(self) -> dict[str, Any]:
        rng = self.rng
        for t in ("au", "uk"):
            for i in range(self.n["extra_xero_contacts"] // 2):
                name = (
                    f"{rng.choice(WORDS_A)} {rng.choice(LAST)} {rng.choice(['Trust', 'Partners', 'Co'])} {i}"
                )
                self.xero_contact(
                    t, name, email=f"hello@{name.split()[1].lower()}{i}.example", key=f"extra:{i}"
                )
            for p in self.sf["Product2"]:
                code = p.get("ProductCode")
                if not code or code in self.unlisted_codes or len(code) > 30:
                    continue
                entry = self.entries[(p["Id"], "AUD" if t == "au" else "GBP")]
                self.xero_items[t].append(
                    {
                        "ItemID": self.xero_guid("item", t, code),
                        "Code": code,
                        "Name": p["Name"][:50],
                        "Description": p["Description"],
                        "IsSold": True,
                        "IsPurchased": False,
                        "SalesDetails": {
                            "UnitPrice": entry["UnitPrice"],
                            "AccountCode": "200",
                            "TaxType": "OUTPUT" if t == "au" else "OUTPUT2",
                        },
                    }
                )
        for acct in self.sf["Account"]:
            acct.pop("_tenant", None)
            acct.pop("_domain", None)
        tenants = [dict(t) for t in TENANTS]
        return {
            "tenants": tenants,
            "per_tenant": {
                t: {"contacts": self.xero_contacts[t], "items": self.xero_items[t]} for t in ("au", "uk")
            },
        }


def generate(scale: str = "small", seed: int = 7, base_date: date = date(2026, 1, 1)) -> Seed:
    """The seed org for ``scale``; identical output for identical arguments."""
    return _Gen(scale, seed, base_date).run()
