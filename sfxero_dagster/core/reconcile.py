"""Salesforce against Xero, per invoice and in totals per tenant and currency (pure, no I/O)."""

from __future__ import annotations

from decimal import Decimal

import pandas as pd

RECONCILE_FIELDS = {
    "Status__c": "status",
    "Total__c": "total",
    "Amount_Paid__c": "paid",
    "Amount_Credited__c": "credited",
    "Amount_Due__c": "due",
}


def reconcile_frames(xero: pd.DataFrame, sf: pd.DataFrame) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Per-record mismatches and per tenant/currency totals, Xero vs Salesforce (pure)."""
    merged = xero.merge(sf, on="invoice_id", how="outer", suffixes=("_xero", "_sf"), indicator=True)
    problems = []
    for r in merged.to_dict("records"):
        if r["_merge"] == "left_only":
            problems.append(
                {
                    "invoice_id": r["invoice_id"],
                    "field": "(record)",
                    "xero": "present",
                    "salesforce": "missing",
                }
            )
            continue
        if r["_merge"] == "right_only":
            problems.append(
                {
                    "invoice_id": r["invoice_id"],
                    "field": "(record)",
                    "xero": "missing",
                    "salesforce": "present",
                }
            )
            continue
        for col in RECONCILE_FIELDS.values():
            a, b = r[f"{col}_xero"], r[f"{col}_sf"]
            same = (
                a == b
                if col == "status"
                else abs(Decimal(str(a or 0)) - Decimal(str(b or 0))) < Decimal("0.005")
            )
            if not same:
                problems.append(
                    {"invoice_id": r["invoice_id"], "field": col, "xero": str(a), "salesforce": str(b)}
                )
    totals = []
    for side, frame in (("xero", xero), ("salesforce", sf)):
        live = frame.loc[~frame["status"].isin(["Voided", "Deleted"])]
        for (tenant, currency), g in live.groupby(["tenant_id", "currency"], dropna=False):
            totals.append(
                {
                    "side": side,
                    "tenant_id": tenant,
                    "currency": currency,
                    "invoiced": float(sum(Decimal(str(v)) for v in g["total"])),
                    "paid": float(
                        sum(Decimal(str(v)) for v in g["paid"]) + sum(Decimal(str(v)) for v in g["credited"])
                    ),
                    "outstanding": float(sum(Decimal(str(v)) for v in g["due"])),
                }
            )
    return pd.DataFrame(problems, columns=["invoice_id", "field", "xero", "salesforce"]), pd.DataFrame(totals)
