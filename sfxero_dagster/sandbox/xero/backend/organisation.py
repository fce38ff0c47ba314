"""Organisations and their settings: tenants, tax rates, accounts, tracking, currencies, themes.

A tenant is created with its region's presets (tax rates, chart of accounts); ids derive from the
tenant id so a reseeded emulator gives the same ids. Reads: ``/Organisation``, ``/Currencies``,
``/TaxRates``, ``/TrackingCategories``, ``/Accounts``, ``/BrandingThemes``.
"""

from __future__ import annotations

import copy
import uuid
from decimal import Decimal

from ...httpbase import Request, Response
from .. import presets
from .base import Backend


class OrganisationBackend(Backend):
    def tenants(self) -> dict[str, dict]:
        return self.store.get_meta("tenants", {})

    def add_tenant(
        self,
        name: str,
        region: str = "AU",
        base_currency: str = "AUD",
        currencies: list[str] | None = None,
        tenant_id: str | None = None,
        key: str | None = None,
    ) -> str:
        region = region.upper()
        if region not in presets.TAX_RATES:
            raise ValueError(f"unknown region {region!r}; presets exist for {', '.join(presets.TAX_RATES)}")
        tid = tenant_id or str(uuid.uuid4())
        with self.lock:
            tenants = self.tenants()
            tenants[tid] = {
                "key": key or tid[:8],
                "name": name,
                "region": region,
                "base": base_currency,
                "currencies": sorted(set(currencies or []) | {base_currency}),
                "created_ms": self.now_ms(),
            }
            accounts = presets.accounts(region, base_currency)
            for a in accounts:
                a["AccountID"] = str(uuid.uuid5(uuid.UUID(tid), "account:" + a["Code"]))
                a["UpdatedDateUTC"] = self.now_ms()
            tracking = presets.tracking_categories()
            for cat in tracking:
                cat["TrackingCategoryID"] = str(uuid.uuid5(uuid.UUID(tid), "tc:" + cat["Name"]))
                for opt in cat["Options"]:
                    opt["TrackingOptionID"] = str(
                        uuid.uuid5(uuid.UUID(tid), f"to:{cat['Name']}:{opt['Name']}")
                    )
            self.store.set_meta(
                f"org:{tid}",
                {
                    "tax_rates": copy.deepcopy(presets.TAX_RATES[region]),
                    "accounts": accounts,
                    "tracking": tracking,
                    "branding": [
                        {
                            "BrandingThemeID": str(uuid.uuid5(uuid.UUID(tid), "brand")),
                            "Name": "Standard",
                            "SortOrder": 0,
                        }
                    ],
                    "seq": {"ACCREC": 0, "ACCRECCREDIT": 0},
                },
            )
            self.store.set_meta("tenants", tenants)
        return tid

    def org(self, tid: str) -> dict:
        return self.store.get_meta(f"org:{tid}")

    def rates(self, tid: str) -> dict[str, Decimal]:
        return {
            r["TaxType"]: Decimal(str(r["EffectiveRate"]))
            for r in self.org(tid)["tax_rates"]
            if r["Status"] == "ACTIVE"
        }

    def account(self, tid: str, code: str) -> dict | None:
        for a in self.org(tid)["accounts"]:
            if a["Code"] == code and a["Status"] == "ACTIVE":
                return a
        return None

    def get_organisation(self, req: Request) -> Response:
        tid = req.tenant_id  # type: ignore[attr-defined]
        t = self.tenants()[tid]
        org = {
            "OrganisationID": tid,
            "APIKey": "",
            "Name": t["name"],
            "LegalName": t["name"],
            "PaysTax": True,
            "Version": t["region"] if t["region"] != "UK" else "UK",
            "OrganisationType": "COMPANY",
            "BaseCurrency": t["base"],
            "CountryCode": presets.COUNTRY[t["region"]],
            "IsDemoCompany": False,
            "OrganisationStatus": "ACTIVE",
            "Timezone": presets.TIMEZONE[t["region"]],
            "OrganisationEntityType": "COMPANY",
            "ShortCode": "!" + tid[:5],
            "Edition": "BUSINESS",
            "Class": "STANDARD",
            "LineOfBusiness": "Software",
            "CreatedDateUTC": f"/Date({t['created_ms']}+0000)/",
        }
        return self.render.reply("Organisations", [org])

    def get_currencies(self, req: Request) -> Response:
        t = self.tenants()[req.tenant_id]  # type: ignore[attr-defined]
        rows = [{"Code": c, "Description": presets.CURRENCY_NAMES.get(c, c)} for c in t["currencies"]]
        return self.render.settings_list(req, "Currencies", rows)

    def get_tax_rates(self, req: Request) -> Response:
        return self.render.settings_list(req, "TaxRates", self.org(req.tenant_id)["tax_rates"])  # type: ignore[attr-defined]

    def get_tracking(self, req: Request) -> Response:
        cats = self.org(req.tenant_id)["tracking"]  # type: ignore[attr-defined]
        include_archived = (req.arg("includeArchived") or "").lower() == "true"
        cats = [c for c in cats if include_archived or c["Status"] == "ACTIVE"]
        return self.render.settings_list(req, "TrackingCategories", cats)

    def get_accounts(self, req: Request) -> Response:
        return self.render.settings_list(req, "Accounts", self.org(req.tenant_id)["accounts"])  # type: ignore[attr-defined]

    def get_branding(self, req: Request) -> Response:
        return self.render.settings_list(req, "BrandingThemes", self.org(req.tenant_id)["branding"])  # type: ignore[attr-defined]
