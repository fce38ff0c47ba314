"""The planted dirty data of the seed org: one kind of defect per record, each listed in the manifest with
the outcome the pipeline must reach (``Seed.manifest``); a mixin of the generator in ``seed.py``."""

from __future__ import annotations

from decimal import ROUND_HALF_UP, Decimal

from .seed_data import CENT


class DirtyData:
    """Plants the defects (a mixin: uses the generator's rng, ids, clock and record lists)."""

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
