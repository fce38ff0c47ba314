"""Organisation presets per region: tax rates (real TaxType codes), a chart of accounts, currencies.

Tax rates follow Xero's regional defaults: AU GST 10 % (OUTPUT), NZ GST 15 % (OUTPUT2), UK VAT 20 %
(OUTPUT2) plus the zero-rated and exempt types. Rates are EffectiveRate percentages.
"""

from __future__ import annotations

from decimal import Decimal

CURRENCY_NAMES = {
    "AUD": "Australian Dollar",
    "NZD": "New Zealand Dollar",
    "GBP": "British Pound",
    "USD": "United States Dollar",
    "EUR": "Euro",
    "JPY": "Japanese Yen",
    "CAD": "Canadian Dollar",
    "SGD": "Singapore Dollar",
}


def _rate(name: str, tax_type: str, rate: str, report: str, *, expenses: bool = False) -> dict:
    return {
        "Name": name,
        "TaxType": tax_type,
        "Status": "ACTIVE",
        "ReportTaxType": report,
        "EffectiveRate": Decimal(rate),
        "DisplayTaxRate": Decimal(rate),
        "CanApplyToAssets": True,
        "CanApplyToEquity": True,
        "CanApplyToExpenses": True,
        "CanApplyToLiabilities": True,
        "CanApplyToRevenue": not expenses,
        "TaxComponents": [
            {
                "Name": name.split(" ")[0],
                "Rate": Decimal(rate),
                "IsCompound": False,
                "IsNonRecoverable": False,
            }
        ],
    }


TAX_RATES: dict[str, list[dict]] = {
    "AU": [
        _rate("GST on Income", "OUTPUT", "10.0000", "OUTPUT"),
        _rate("GST on Expenses", "INPUT", "10.0000", "INPUT", expenses=True),
        _rate("GST Free Income", "EXEMPTOUTPUT", "0.0000", "EXEMPTOUTPUT"),
        _rate("GST Free Exports", "EXEMPTEXPORT", "0.0000", "EXEMPTEXPORT"),
        _rate("GST Free Expenses", "EXEMPTEXPENSES", "0.0000", "EXEMPTEXPENSES", expenses=True),
        _rate("BAS Excluded", "BASEXCLUDED", "0.0000", "BASEXCLUDED"),
    ],
    "NZ": [
        _rate("GST on Income", "OUTPUT2", "15.0000", "OUTPUT"),
        _rate("GST on Expenses", "INPUT2", "15.0000", "INPUT", expenses=True),
        _rate("Zero Rated", "ZERORATED", "0.0000", "OUTPUT"),
        _rate("No GST", "NONE", "0.0000", "NONE"),
    ],
    "UK": [
        _rate("20% (VAT on Income)", "OUTPUT2", "20.0000", "OUTPUT"),
        _rate("20% (VAT on Expenses)", "INPUT2", "20.0000", "INPUT", expenses=True),
        _rate("5% (VAT on Income)", "RROUTPUT", "5.0000", "OUTPUT"),
        _rate("Zero Rated Income", "ZERORATEDOUTPUT", "0.0000", "OUTPUT"),
        _rate("Exempt Income", "EXEMPTOUTPUT", "0.0000", "EXEMPTOUTPUT"),
        _rate("No VAT", "NONE", "0.0000", "NONE"),
    ],
}

_SALES_TAX = {"AU": "OUTPUT", "NZ": "OUTPUT2", "UK": "OUTPUT2"}
COUNTRY = {"AU": "AU", "NZ": "NZ", "UK": "GB"}
TIMEZONE = {"AU": "AUSEASTERNSTANDARDTIME", "NZ": "NEWZEALANDSTANDARDTIME", "UK": "GMTSTANDARDTIME"}


def accounts(region: str, base_currency: str) -> list[dict]:
    sales_tax = _SALES_TAX[region]
    rows = [
        ("090", "Business Bank Account", "BANK", "ASSET", "NONE"),
        ("091", "Business Savings Account", "BANK", "ASSET", "NONE"),
        ("200", "Sales", "REVENUE", "REVENUE", sales_tax),
        ("260", "Other Revenue", "REVENUE", "REVENUE", sales_tax),
        ("270", "Interest Income", "REVENUE", "REVENUE", "NONE" if region != "AU" else "EXEMPTOUTPUT"),
        ("310", "Cost of Goods Sold", "DIRECTCOSTS", "EXPENSE", "INPUT" if region == "AU" else "INPUT2"),
        ("610", "Accounts Receivable", "CURRENT", "ASSET", "BASEXCLUDED" if region == "AU" else "NONE"),
        ("800", "Accounts Payable", "CURRLIAB", "LIABILITY", "BASEXCLUDED" if region == "AU" else "NONE"),
    ]
    out = []
    for code, name, typ, cls, tax in rows:
        acct = {
            "Code": code,
            "Name": name,
            "Type": typ,
            "Class": cls,
            "TaxType": tax,
            "Status": "ACTIVE",
            "EnablePaymentsToAccount": False,
            "ShowInExpenseClaims": False,
            "ReportingCode": cls[:3],
        }
        if typ == "BANK":
            acct.update(
                {
                    "BankAccountType": "BANK",
                    "CurrencyCode": base_currency,
                    "BankAccountNumber": f"0620{code}0001",
                }
            )
        out.append(acct)
    return out


def tracking_categories() -> list[dict]:
    return [
        {
            "Name": "Region",
            "Status": "ACTIVE",
            "Options": [{"Name": n, "Status": "ACTIVE"} for n in ("North", "South", "East", "West")],
        },
    ]
