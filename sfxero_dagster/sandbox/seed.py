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

SCALES: dict[str, dict[str, int]] = {
    "small": {"accounts": 50, "products": 20, "opportunities": 60, "orders": 25, "extra_xero_contacts": 15},
    "medium": {
        "accounts": 5_000,
        "products": 200,
        "opportunities": 20_000,
        "orders": 4_000,
        "extra_xero_contacts": 1_000,
    },
    # for bench/ P1-P2: about a thousand invoiceable opportunities, quick to generate and extract
    "bench": {
        "accounts": 400,
        "products": 40,
        "opportunities": 1400,
        "orders": 60,
        "extra_xero_contacts": 100,
    },
    # for bench/ P3: ~6,000 sendable invoices, all for one organisation (see SCALE_COUNTRIES)
    "p3": {
        "accounts": 1_500,
        "products": 40,
        "opportunities": 7_500,
        "orders": 400,
        "extra_xero_contacts": 100,
    },
    "large": {
        "accounts": 100_000,
        "products": 500,
        "opportunities": 125_000,
        "orders": 10_000,
        "extra_xero_contacts": 20_000,
    },
}

COUNTRIES = [
    # country, currency, tenant, phone prefix, cities
    ("Australia", "AUD", "au", "+61 2", ["Sydney", "Melbourne", "Brisbane", "Perth", "Adelaide"]),
    ("New Zealand", "NZD", "au", "+64 9", ["Auckland", "Wellington", "Christchurch"]),
    ("United States", "USD", "au", "+1 415", ["San Francisco", "Austin", "Boston", "Denver"]),
    ("United Kingdom", "GBP", "uk", "+44 20", ["London", "Manchester", "Leeds", "Bristol"]),
    ("Ireland", "EUR", "uk", "+353 1", ["Dublin", "Cork", "Galway"]),
    ("Germany", "EUR", "uk", "+49 30", ["Berlin", "Hamburg", "Munich"]),
    ("France", "EUR", "uk", "+33 1", ["Paris", "Lyon", "Toulouse"]),
]
UK_TENANT_COUNTRIES = ("United Kingdom", "Ireland", "France", "Germany")
# Scales whose accounts all come from these countries, so one organisation gets every invoice (P3 paces
# one tenant's push); the other scales cycle through all of COUNTRIES.
SCALE_COUNTRIES: dict[str, tuple[str, ...]] = {"p3": UK_TENANT_COUNTRIES}
TENANTS = [
    {
        "key": "au",
        "name": "Acme Pty Ltd",
        "region": "AU",
        "base_currency": "AUD",
        "currencies": ["AUD", "USD", "NZD"],
        "tenant_id": "5a1b2c3d-0000-4000-8000-0000000000a1",  # fixed: the shipped sfxero.yaml points here
    },
    {
        "key": "uk",
        "name": "Acme UK Ltd",
        "region": "UK",
        "base_currency": "GBP",
        "currencies": ["GBP", "USD", "EUR"],
        "tenant_id": "5a1b2c3d-0000-4000-8000-0000000000b2",
    },
]
TAX_CODES = {"au": ("GST", "GST_FREE", "EXPORT"), "uk": ("VAT20", "VAT_ZERO", "VAT_EXEMPT")}
WORDS_A = [
    "Blue",
    "Northern",
    "Summit",
    "Harbour",
    "Golden",
    "Silver",
    "Pacific",
    "Atlas",
    "Cedar",
    "Redwood",
    "Iron",
    "Coastal",
    "Granite",
    "Maple",
    "Orbit",
    "Pioneer",
    "Quantum",
    "Riverside",
    "Sterling",
    "Vertex",
    "Willow",
    "Zenith",
]
WORDS_B = [
    "Logistics",
    "Foods",
    "Robotics",
    "Analytics",
    "Builders",
    "Textiles",
    "Pharma",
    "Energy",
    "Media",
    "Labs",
    "Systems",
    "Outfitters",
    "Consulting",
    "Dynamics",
    "Farms",
    "Motors",
    "Software",
    "Trading",
    "Studios",
    "Works",
]
SUFFIXES = {
    "au": ["Pty Ltd", "Pty Ltd", "Limited"],
    "uk": ["Ltd", "Limited", "PLC", "GmbH", "SARL"],
    "us": ["Inc", "LLC", "Corp"],
}
FIRST = [
    "Olivia",
    "Jack",
    "Amelia",
    "Noah",
    "Isla",
    "Leo",
    "Mia",
    "Oliver",
    "Ava",
    "Liam",
    "Chloe",
    "Ethan",
    "Sophie",
    "Lucas",
    "Grace",
    "Mason",
    "Ruby",
    "Henry",
    "Zoe",
    "James",
]
LAST = [
    "Smith",
    "Jones",
    "Williams",
    "Brown",
    "Taylor",
    "Wilson",
    "Nguyen",
    "Martin",
    "Kelly",
    "Murphy",
    "Schmidt",
    "Dubois",
    "Garcia",
    "Chen",
    "Patel",
    "Walker",
    "Young",
    "King",
    "Wright",
    "Scott",
]
STREETS = [
    "George St",
    "High St",
    "Main Rd",
    "Queen St",
    "King St",
    "Church Rd",
    "Station Rd",
    "Victoria St",
    "Park Ave",
]
PRODUCTS = [
    "Widget",
    "Gadget",
    "Sensor",
    "Controller",
    "Licence",
    "Support Plan",
    "Install Service",
    "Cable Kit",
    "Gateway",
    "Dashboard Seat",
    "Training Day",
    "Battery Pack",
]
REGIONS = ["North", "South", "East", "West"]
CENT = Decimal("0.01")


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


class _Gen:
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

    def plant_dirty(self, accounts: list[dict], products: list[dict]) -> None:
        rng = self.rng
        k = 1 if self.scale == "small" else max(2, len(accounts) // 100)
        used: set[str] = set()
        opps_by_account: dict[str, list[dict]] = {}
        for o in self.sf["Opportunity"]:
            opps_by_account.setdefault(o["AccountId"], []).append(o)
        lines_by_opp: dict[str, list[dict]] = {}
        for ln in self.sf["OpportunityLineItem"]:
            lines_by_opp.setdefault(ln["OpportunityId"], []).append(ln)
        won = [o for o in self.sf["Opportunity"] if o["IsWon"]]

        for a in self.pick(accounts, 2 * k, used):
            self.xero_contact(a["_tenant"], a["Name"], number=a["Id"], key=a["Id"])
            self.plant(
                "already_linked",
                "Account",
                a["Id"],
                "match:linked_contact_number",
                "Xero ContactNumber already holds the Salesforce Id",
            )
        for a in self.pick(accounts, 2 * k, used):
            variant = a["Name"].replace("Pty Ltd", "Pty. Limited").replace(" Ltd", " Limited").upper()
            if variant == a["Name"].upper():
                variant = a["Name"].upper() + " LTD"
            self.xero_contact(
                a["_tenant"], variant, email=f"ap@{a['_domain']}", phone=a["Phone"], key=a["Id"]
            )
            self.plant(
                "xero_near_duplicate",
                "Account",
                a["Id"],
                "match:email_domain_phone",
                "exists in Xero under a slightly different name",
                xero_name=variant,
            )
        for a in [x for x in self.pick(accounts, 4 * k, used) if x["Tax_Number__c"]][:k] or []:
            self.xero_contact(
                a["_tenant"],
                f"{a['Name'].split()[0]} Holdings {rng.randint(1, 99)}",
                tax=a["Tax_Number__c"],
                key=a["Id"],
            )
            self.plant(
                "xero_tax_number_match",
                "Account",
                a["Id"],
                "match:tax_number",
                "Xero contact with another name but the same tax number",
            )
        plain = [x for x in accounts if not x["Name"][-1].isdigit()]  # numbered names are distinct
        for a in self.pick(plain, k, used):
            base = a["Name"].rsplit(" ", 1)[0]
            for extra in ("Group", "Holdings"):
                self.xero_contact(a["_tenant"], f"{base} {extra}", key=f"{a['Id']}:{extra}")
            self.plant(
                "ambiguous_match",
                "Account",
                a["Id"],
                "reason:ambiguous_contact_match",
                "two Xero contacts almost equally similar",
            )
        for a in self.pick(accounts, k, used):
            twin = {
                **a,
                "Id": self.id("001"),
                "Name": a["Name"].replace(" ", "  ", 1).lower(),
                "Xero_Contact_Id__c": None,
            }
            self.sf["Account"].append(twin)
            self.plant(
                "duplicate_accounts",
                "Account",
                twin["Id"],
                "match:same_as:" + a["Id"],
                "the same company twice in Salesforce",
                original=a["Id"],
            )
        contacts_by_account: dict[str, list[dict]] = {}
        for c in self.sf["Contact"]:
            contacts_by_account.setdefault(c["AccountId"], []).append(c)
        for a in self.pick(accounts, k, used):
            for c in contacts_by_account.get(a["Id"], []):
                c["Email"] = None
            self.plant(
                "missing_billing_email",
                "Account",
                a["Id"],
                "reason:missing_email",
                "no contact has an e-mail address",
            )
        special = [
            "O'Brien & Sons Pty Ltd",
            'The "Quoted" Company Ltd',
            "Back\\Slash Pty Ltd",
            "100% Natural_Foods Ltd",
        ]
        emoji = ["Zoë Café Pty Ltd", "Ünïcödé GmbH", "Rocket 🚀 Labs Ltd", "株式会社サンプル"]
        for names, kind in ((special, "soql_special_chars"), (emoji, "unicode_and_emoji")):
            for a, new_name in zip(self.pick(accounts, len(names), used), names, strict=False):
                a["Name"] = new_name
                self.plant(
                    kind,
                    "Account",
                    a["Id"],
                    "sync:clean",
                    f"name {new_name!r} must survive SOQL and Xero untouched",
                )

        def take_won(n: int) -> list[dict]:
            out = []
            for o in rng.sample(won, min(len(won), n * 6)):
                if o["Id"] not in used and o["AccountId"] not in used:
                    used.add(o["Id"])
                    out.append(o)
                if len(out) == n:
                    break
            return out

        no_sku = {
            **{k2: v for k2, v in products[0].items()},
            "Id": self.id("01t"),
            "ProductCode": None,
            "Name": "Custom work (no SKU)",
        }
        long_sku = {
            **products[1],
            "Id": self.id("01t"),
            "ProductCode": "SKU-" + "X" * 36,
            "Name": "Long code item",
        }
        not_in_xero = {
            **products[2],
            "Id": self.id("01t"),
            "ProductCode": "SKU-NOT-IN-XERO",
            "Name": "Unlisted item",
        }
        for p in (no_sku, long_sku, not_in_xero):
            self.sf["Product2"].append(p)
            for cur in ("AUD", "NZD", "GBP", "USD", "EUR", "JPY"):
                e = {
                    **self.entries[(products[0]["Id"], cur)],
                    "Id": self.id("01u"),
                    "Product2Id": p["Id"],
                    "ProductCode": p["ProductCode"],
                }
                self.sf["PricebookEntry"].append(e)
                self.entries[(p["Id"], cur)] = e
        self.unlisted_codes = {not_in_xero["ProductCode"]}
        for product, kind, expect in (
            (no_sku, "product_missing_sku", "missing_sku"),
            (long_sku, "overlong_item_code", "field_too_long"),
            (not_in_xero, "sku_not_in_xero", "sku_not_in_xero"),
        ):
            for o in take_won(k):
                ln = lines_by_opp[o["Id"]][0]
                entry = self.entries[(product["Id"], o["CurrencyIsoCode"])]
                ln.update(Product2Id=product["Id"], PricebookEntryId=entry["Id"])
                self.plant(
                    kind,
                    "Opportunity",
                    o["Id"],
                    f"reason:{expect}",
                    f"a line uses product {product['Name']!r}",
                    line=ln["Id"],
                )
        line_mutations = [
            ("unmapped_tax_code", {"Tax_Code__c": "LUX_TAX"}, "unmapped_tax_code"),
            ("zero_quantity", {"Quantity": Decimal(0), "TotalPrice": Decimal("0.00")}, "invalid_quantity"),
            ("negative_price", {"UnitPrice": Decimal("-10.00")}, "negative_amount"),
        ]
        for kind, change, expect in line_mutations:
            for o in take_won(k):
                ln = lines_by_opp[o["Id"]][0]
                ln.update(change)
                if "UnitPrice" in change:
                    ln["TotalPrice"] = (ln["Quantity"] * ln["UnitPrice"]).quantize(CENT, ROUND_HALF_UP)
                o["Amount"] = sum((x["TotalPrice"] for x in lines_by_opp[o["Id"]]), Decimal("0.00"))
                self.plant(
                    kind,
                    "Opportunity",
                    o["Id"],
                    f"reason:{expect}",
                    f"line {ln['Id']} changed: {change}",
                    line=ln["Id"],
                )
        for o in take_won(k):
            o["CurrencyIsoCode"] = "JPY"
            for ln in lines_by_opp[o["Id"]]:
                e = self.entries[(ln["Product2Id"], "JPY")]
                ln.update(
                    CurrencyIsoCode="JPY",
                    PricebookEntryId=e["Id"],
                    UnitPrice=e["UnitPrice"],
                    ListPrice=e["UnitPrice"],
                )
                ln["TotalPrice"] = (
                    ln["Quantity"] * e["UnitPrice"] * (100 - (ln.get("Discount") or 0)) / 100
                ).quantize(CENT, ROUND_HALF_UP)
            o["Amount"] = sum((x["TotalPrice"] for x in lines_by_opp[o["Id"]]), Decimal("0.00"))
            self.plant(
                "currency_not_enabled",
                "Opportunity",
                o["Id"],
                "reason:currency_not_enabled",
                "JPY is enabled in no Xero organisation",
            )
        for o in take_won(k):
            o["Sales_Region__c"] = "Atlantis"
            self.plant(
                "unknown_tracking_option",
                "Opportunity",
                o["Id"],
                "reason:unknown_tracking_option",
                "Region 'Atlantis' is not a Xero option",
            )
        activated = [o for o in self.sf["Order"] if o["Status"] == "Activated"]
        items_by_order: dict[str, list[dict]] = {}
        for it in self.sf["OrderItem"]:
            items_by_order.setdefault(it["OrderId"], []).append(it)
        picks = rng.sample(activated, min(len(activated), 2 * k))
        for o in picks[:k]:
            items_by_order[o["Id"]][0]["Discount__c"] = Decimal(150)
            self.plant(
                "discount_over_100",
                "Order",
                o["Id"],
                "reason:invalid_discount",
                "an order item has a 150 % discount",
            )
        for o in picks[k : 2 * k]:
            o["Status"] = "Cancelled"
            self.plant(
                "cancelled_order",
                "Order",
                o["Id"],
                "credit_note",
                "activated, then cancelled: voided or credited in Xero",
            )

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
