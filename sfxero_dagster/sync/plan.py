"""What a push will write, from the warehouse and the ledger (no API calls): the plan's inputs.

The planning itself is pure (``core.push``); this module reads what it needs (matches, valid records,
links, open review items, tax rates, reference snapshots) and adds the items the invoices use that an
organisation lacks.
"""

from __future__ import annotations

from dataclasses import replace
from decimal import Decimal

import pandas as pd

from sfxero_dagster.config import SfxeroConfig, XeroTenantConfig
from sfxero_dagster.core.hashing import payload_hash
from sfxero_dagster.core.push import LiveElsewhere, Planned, plan_contacts, plan_invoices
from sfxero_dagster.core.validation import TenantReference, references_from_frames
from sfxero_dagster.store import tables
from sfxero_dagster.store.ledger import Ledger, Link
from sfxero_dagster.store.warehouse import Warehouse
from sfxero_dagster.sync.invariants import live_documents


def tenant_references(wh: Warehouse) -> dict[str, TenantReference]:
    """Each tenant's Xero settings from its reference snapshot: what validation checks codes against and
    what the payload spells them as."""
    return references_from_frames(
        wh.read(tables.XERO_ORGANISATION, ["tenant_key", "base_currency"]),
        wh.read(tables.XERO_TAX_RATES, ["tenant_key", "tax_type", "status", "effective_rate"]),
        wh.read(tables.XERO_CURRENCIES, ["tenant_key", "code"]),
        wh.read(
            tables.XERO_TRACKING_OPTIONS,
            ["tenant_key", "category", "category_status", "option", "option_status"],
        ),
        wh.read(tables.XERO_ACCOUNTS, ["tenant_key", "code", "status"]),
        wh.read(tables.XERO_ITEMS, ["tenant_key", "code"]),
    )


NEW_CONTACT = "new:"  # + the Salesforce Account Id: a contact this push will create


def load_plan(
    collection: str, tenant: XeroTenantConfig, cfg: SfxeroConfig, wh, led: Ledger, *, preview: bool = False
) -> list[Planned]:
    """The plan for one tenant and collection, from the warehouse and the ledger (no API calls).

    ``preview`` (for ``sfxero plan``) assumes the planned contacts exist, so their invoices show as
    the creates they will be rather than as waiting.
    """
    if collection == "Contacts":
        links = {
            (tenant.key, sf_id): link
            for (_, sf_id), link in links_by_source(led, tenant.tenant_id, "Contacts").items()
        }
        return plan_contacts(
            wh.read(tables.CONTACT_MATCHES),
            wh.read(tables.VALID_CUSTOMERS),
            links,
            tenant.key,
            cfg.contacts.salesforce_masters(),
        )
    contact_links = links_by_source(led, tenant.tenant_id, "Contacts")
    contact_ids = {sf_id: link.xero_id for (_, sf_id), link in contact_links.items() if link.xero_id}
    if preview:
        for p in load_plan("Contacts", tenant, cfg, wh, led):
            contact_ids.setdefault(p.sf_id, (p.payload or {}).get("ContactID", NEW_CONTACT + p.sf_id))
    # An invoice without a contact names its account's open review items (this run's match reviews and
    # any open Account item: a rejected account, a failed contact push), or says there are none.
    matches = wh.read(tables.CONTACT_MATCHES)
    pending: dict[str, set[str]] = {}
    if len(matches):
        reviews = matches.loc[matches["action"] == "review"]
        for sf_id, code in zip(reviews["sf_account_id"], reviews["reason_code"], strict=True):
            pending.setdefault(sf_id, set()).add(code)
    for item in led.queue_list(state="open"):
        if item.sf_object == "Account" and item.tenant_id in (tenant.tenant_id, None):
            pending.setdefault(item.sf_id, set()).add(item.reason_code)
    rates = wh.query(
        f"SELECT tax_type, effective_rate FROM {tables.XERO_TAX_RATES} WHERE tenant_key = ? AND status = 'ACTIVE'",
        [tenant.key],
    )
    keys = {t.tenant_id: t.key for t in cfg.xero.tenants}
    live = live_documents(led)
    elsewhere = {
        (r["sf_object"], r["sf_id"]): LiveElsewhere(
            keys.get(r["tenant_id"], r["tenant_id"]), r["xero_id"], r["xero_number"]
        )
        for r in live.to_dict("records")
        if r["tenant_id"] != tenant.tenant_id
    }
    plan = plan_invoices(
        wh.read(tables.VALID_INVOICE_HEADERS),
        wh.read(tables.VALID_INVOICE_LINES),
        wh.read(tables.STG_INVOICE_HEADERS),
        contact_ids,
        pending,
        links_by_source(led, tenant.tenant_id, "Invoices"),
        {t: Decimal(str(r)) for t, r in zip(rates["tax_type"], rates["effective_rate"], strict=True)},
        cfg,
        tenant.key,
        elsewhere,
        reference=tenant_references(wh).get(tenant.key),
    )
    return hold_refused(plan, led, tenant.tenant_id)


def hold_refused(plan: list[Planned], led: Ledger, tenant_id: str) -> list[Planned]:
    """Skip an update Xero already refused as not editable (paid or credited) while it is the same change.

    The review item asks a person to make the change in Xero or credit the invoice; sending it again on
    every run only earned the same refusal (a rerun that wrote). A different change is tried again, and
    so is this one once the item is resolved or ignored."""
    refused = {
        i.sf_id: (i.payload or {}).get("payload_hash")
        for i in led.queue_list(reason_code="invoice_not_editable", tenant_id=tenant_id)
    }
    if not refused:
        return plan
    return [
        replace(p, action="skip")
        if p.action == "update" and p.payload_hash and refused.get(p.sf_id) == p.payload_hash
        else p
        for p in plan
    ]


def plan_items(
    plan: list[Planned], tenant: XeroTenantConfig, cfg: SfxeroConfig, wh, led: Ledger
) -> list[Planned]:
    """Items the planned invoices use that the organisation lacks (only when ``items.create_missing``)."""
    if not cfg.items.create_missing:
        return []
    have = set(wh.query(f"SELECT code FROM {tables.XERO_ITEMS} WHERE tenant_key = ?", [tenant.key])["code"])
    made = {link.xero_number for link in links_by_source(led, tenant.tenant_id, "Items").values()}
    used = {
        li["ItemCode"]
        for p in plan
        if p.writes and p.payload
        for li in p.payload.get("LineItems", [])
        if li.get("ItemCode")
    }
    missing = sorted(used - have - made)
    if not missing:
        return []
    products = wh.read(tables.STG_PRODUCTS).drop_duplicates("sku").set_index("sku")
    tax_map = cfg.tax.mapping.get(tenant.key, {})
    out = []
    for code in missing:
        prod = products.loc[code].to_dict() if code in products.index else {}
        sales = {
            "AccountCode": prod.get("account_code") or cfg.accounts.default_sales_account,
            "TaxType": tax_map.get(prod.get("tax_code") or ""),
        }
        payload = {
            "Code": code,
            "Name": (prod.get("name") or code)[:50],
            "IsSold": True,
            "SalesDetails": {k: v for k, v in sales.items() if v},
        }
        out.append(
            Planned(
                tenant.key,
                "Items",
                "create",
                "Product2",
                prod.get("sf_product_id") or code,
                code,
                payload,
                payload_hash(payload),
            )
        )
    return out


def links_by_source(led: Ledger, tenant_id: str, xero_object: str) -> dict[tuple[str, str], Link]:
    """A tenant's links of one Xero collection, by (sf_object, sf_id)."""
    frame = led.links_frame(tenant_id=tenant_id, xero_object=xero_object)
    return {
        (r["sf_object"], r["sf_id"]): Link(
            r["tenant_id"],
            r["sf_object"],
            r["sf_id"],
            r["xero_object"],
            r["xero_id"],
            r["xero_number"],
            r["payload_hash"],
            origin=r.get("origin"),
        )
        for r in frame.to_dict("records")
    }


def plan_frame(cfg: SfxeroConfig, wh, led: Ledger) -> pd.DataFrame:
    """Every tenant's plan as one table: what a push would create, update, void, skip or queue."""
    rows = [
        {
            "tenant": p.tenant_key,
            "collection": p.collection,
            "action": p.action,
            "sf_object": p.sf_object,
            "sf_id": p.sf_id,
            "natural_key": p.natural_key,
            "reason": p.reason_code or "",
            "expected_total": p.expected.get("total", ""),
        }
        for t in cfg.xero.tenants
        for collection in ("Contacts", "Invoices")
        for p in load_plan(collection, t, cfg, wh, led, preview=True)
    ]
    return pd.DataFrame(
        rows,
        columns=[
            "tenant",
            "collection",
            "action",
            "sf_object",
            "sf_id",
            "natural_key",
            "reason",
            "expected_total",
        ],
    )
