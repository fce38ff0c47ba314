"""The nightly full comparison: every pushed invoice as Xero has it against Salesforce's copy.

A full read, so it also catches changes in Xero that did not bump UpdatedDateUTC (which the status
write-back's delta would miss). The comparison itself is pure (``core.reconcile``).
"""

from __future__ import annotations

from dataclasses import dataclass

import pandas as pd

from sfxero_dagster.clients.salesforce import SalesforceClient
from sfxero_dagster.clients.xero_api import XeroApi
from sfxero_dagster.config import SfxeroConfig
from sfxero_dagster.core.reconcile import RECONCILE_FIELDS, reconcile_frames
from sfxero_dagster.core.writeback import invoice_state
from sfxero_dagster.store.ledger import Ledger

COLUMNS = ["invoice_id", "tenant_id", "currency", *RECONCILE_FIELDS.values()]


@dataclass
class Reconciliation:
    compared: int  # invoices read from Xero that we pushed
    problems: pd.DataFrame  # one row per mismatching field (or missing record)
    totals: pd.DataFrame  # invoiced, paid, outstanding per side, tenant and currency


def _xero_rows(cfg: SfxeroConfig, api: XeroApi, ours: set[str]) -> list[dict]:
    rows = []
    for t in cfg.xero.tenants:
        for inv in api.invoices(t.tenant_id):
            if str(inv["InvoiceID"]) in ours:
                rows.append(
                    {
                        "invoice_id": str(inv["InvoiceID"]),
                        "tenant_id": t.tenant_id,
                        "currency": inv.get("CurrencyCode"),
                        "status": invoice_state(inv),
                        "total": inv.get("Total") or 0,
                        "paid": inv.get("AmountPaid") or 0,
                        "credited": inv.get("AmountCredited") or 0,
                        "due": inv.get("AmountDue") or 0,
                    }
                )
    return rows


def _salesforce_rows(cfg: SfxeroConfig, sf: SalesforceClient, ours: set[str]) -> list[dict]:
    pay = cfg.payments
    soql = (
        f"SELECT {pay.invoice_external_id}, Xero_Tenant_Id__c, CurrencyIsoCode, "
        + ", ".join(RECONCILE_FIELDS)
        + f" FROM {pay.invoice_object}"
    )
    return [
        {
            "invoice_id": r[pay.invoice_external_id],
            "tenant_id": r["Xero_Tenant_Id__c"],
            "currency": r["CurrencyIsoCode"],
            **{v: r[k] for k, v in RECONCILE_FIELDS.items()},
        }
        for r in sf.query(soql)
        if r[pay.invoice_external_id] in ours
    ]


def reconcile(cfg: SfxeroConfig, api: XeroApi, sf: SalesforceClient, led: Ledger) -> Reconciliation:
    """Compare every invoice the ledger links (in any tenant) between Xero and Salesforce."""
    links = led.links_frame(xero_object="Invoices")
    ours = set(links["xero_id"].dropna())
    rows = _xero_rows(cfg, api, ours)
    sf_rows = _salesforce_rows(cfg, sf, ours)
    problems, totals = reconcile_frames(
        pd.DataFrame(rows, columns=COLUMNS), pd.DataFrame(sf_rows, columns=COLUMNS)
    )
    return Reconciliation(len(rows), problems, totals)
