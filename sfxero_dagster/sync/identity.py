"""Write Xero identities back to Salesforce: ContactID on the Account; InvoiceID, number and online
invoice URL on the Opportunity or Order.

Only values that differ from what the last extract saw in Salesforce are written, in collections of
200 (or one Bulk 2.0 job above the threshold). A failed record goes to the review queue. What was
written is remembered (``sf_identity_written``: a hash of the values and the record's SystemModstamp in
the extract at the time) so that a rerun before the next extract, which still shows the old values,
does not write them all again; once an extract reads the record again, the extract decides. The online
invoice URL costs one Xero call per invoice, so it is fetched once and cached in the warehouse. When an
organisation's daily call limit runs out while fetching URLs (an org with more invoices than a day's
calls), the URLs fetched so far are kept and the ids are written without the rest; a later run adds them.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import pandas as pd

from sfxero_dagster.clients.governor import DailyLimitReached
from sfxero_dagster.clients.salesforce import SalesforceClient
from sfxero_dagster.clients.xero import XeroRequestError
from sfxero_dagster.clients.xero_api import XeroApi
from sfxero_dagster.config import SfxeroConfig
from sfxero_dagster.core.hashing import payload_hash
from sfxero_dagster.core.reasons import hint as reason_hint
from sfxero_dagster.core.writeback import failed_field
from sfxero_dagster.store import tables
from sfxero_dagster.store.ledger import Event, Ledger, QueueItemIn
from sfxero_dagster.store.warehouse import Warehouse

SF_TABLE = {o: tables.sf_extract(o) for o in ("Account", "Opportunity", "Order")}
WRITTEN = tables.SF_IDENTITY_WRITTEN
WRITTEN_COLUMNS = ["key", "hash", "seen"]


def _current(wh, obj: str, fields: list[str]) -> dict[str, dict]:
    """Our copy of the records, without those deleted in Salesforce (an update of one fails with
    ENTITY_IS_DELETED, and was sent again on every run)."""
    table = SF_TABLE[obj]
    if not wh.has(table):
        return {}
    have = set(wh.query(f'SELECT * FROM "{table}" LIMIT 0').columns)
    cols = ", ".join(f'"{c}"' for c in ["Id", "SystemModstamp", *fields] if c in have)
    where = ' WHERE NOT coalesce("IsDeleted", false)' if "IsDeleted" in have else ""
    return {r["Id"]: r for r in wh.query(f'SELECT {cols} FROM "{table}"{where}').to_dict("records")}


def deleted_in_salesforce(wh) -> set[tuple[str, str]]:
    """(object, Id) of the records the last extract saw deleted: nothing is written to them any more."""
    out: set[tuple[str, str]] = set()
    for obj, table in SF_TABLE.items():
        if wh.has(table) and "IsDeleted" in set(wh.query(f'SELECT * FROM "{table}" LIMIT 0').columns):
            ids = wh.query(f'SELECT "Id" FROM "{table}" WHERE coalesce("IsDeleted", false)')["Id"]
            out.update((obj, i) for i in ids)
    return out


def _differs(want: dict, have: dict | None) -> bool:
    if have is None:
        return False  # not in our copy of Salesforce (deleted, or not extracted): nothing to update
    return any((have.get(k) or None) != (v or None) for k, v in want.items())


def _seen(have: dict) -> str | None:
    stamp = have.get("SystemModstamp")
    return None if stamp is None or pd.isna(stamp) else str(stamp)


def identity_updates(
    cfg: SfxeroConfig,
    wh,
    led,
    urls: dict[str, str],
    written: dict[str, tuple[str, str | None]] | None = None,
) -> tuple[dict[str, list[dict]], dict[str, dict[str, str | None]]]:
    """Per object, the {Id, field: value} updates Salesforce still lacks (pure apart from reads), and
    per object and Id the (hash, seen) to remember once written.

    ``written`` maps ``"{object}:{Id}"`` to the hash of the values last written and the SystemModstamp
    the extract then had: while the extract still shows that version, those values are in Salesforce.
    """
    written = written or {}
    links = led.links_frame()
    out: dict[str, list[dict]] = {"Account": [], "Opportunity": [], "Order": []}
    memo: dict[str, dict[str, str | None]] = {}
    if links.empty:
        return out, memo

    def consider(obj: str, sf_id: str, want: dict, have: dict | None) -> None:
        if not _differs(want, have):
            return
        key, digest, seen = f"{obj}:{sf_id}", payload_hash(want), _seen(have or {})
        if seen is not None and written.get(key) == (digest, seen):
            return  # written by an earlier run; the extract has not read the record since
        out[obj].append({"Id": sf_id, **want})
        memo[key] = {"hash": digest, "seen": seen}

    accounts = _current(wh, "Account", ["Xero_Contact_Id__c"])
    for r in links.loc[links["xero_object"] == "Contacts"].to_dict("records"):
        consider("Account", r["sf_id"], {"Xero_Contact_Id__c": r["xero_id"]}, accounts.get(r["sf_id"]))
    fields = ["Xero_Invoice_Id__c", "Xero_Invoice_Number__c", "Xero_Online_Invoice_Url__c"]
    for obj in ("Opportunity", "Order"):
        current = _current(wh, obj, fields)
        rows = links.loc[(links["xero_object"] == "Invoices") & (links["sf_object"] == obj)]
        for r in rows.to_dict("records"):
            want = {
                "Xero_Invoice_Id__c": r["xero_id"],
                "Xero_Invoice_Number__c": r["xero_number"],
                "Xero_Online_Invoice_Url__c": urls.get(r["xero_id"]),
            }
            consider(obj, r["sf_id"], want, current.get(r["sf_id"]))
    return out, memo


def online_urls(
    api: XeroApi,
    wh: Warehouse,
    led: Ledger,
    tenant_ids: set[str],
    info: Callable[[str], None],
    warning: Callable[[str], None],
) -> tuple[dict[str, str], int]:
    """The online invoice URL of every linked invoice (cached; one Xero call per new invoice), and how
    many still wait because an organisation's day of calls ran out."""
    cache = wh.read(tables.XERO_ONLINE_URLS, ["invoice_id", "url"])
    urls = dict(zip(cache["invoice_id"], cache["url"], strict=True))
    links = led.links_frame(xero_object="Invoices")
    fetched, pending, parked = [], 0, set[str]()
    for r in links.to_dict("records"):
        if r["xero_id"] and r["xero_id"] not in urls and r["tenant_id"] in tenant_ids:
            if r["tenant_id"] in parked:
                pending += 1
                continue
            try:
                url = api.online_invoice_url(r["tenant_id"], r["xero_id"])
            except XeroRequestError as exc:  # e.g. a DRAFT invoice has no online URL yet
                info(f"no online URL for invoice {r['xero_id']}: {exc}")
                continue
            except DailyLimitReached as exc:
                # Keep what was fetched and still write the ids: raising here lost every URL of the
                # run and wrote nothing, so an org above a day's calls never finished.
                warning(f"online URLs wait for tomorrow: {exc}")
                parked.add(r["tenant_id"])
                pending += 1
                continue
            if url:
                urls[r["xero_id"]] = url
                fetched.append({"invoice_id": r["xero_id"], "url": url})
    if fetched:
        wh.replace(tables.XERO_ONLINE_URLS, pd.concat([cache, pd.DataFrame(fetched)], ignore_index=True))
    return urls, pending


@dataclass
class IdentityResult:
    written: int
    failed: int
    updates: dict[str, int]  # per object, the updates Salesforce lacked
    salesforce_requests: int


def write_identities(
    cfg: SfxeroConfig, wh: Warehouse, led: Ledger, sf: SalesforceClient, urls: dict[str, str], run_id: str
) -> IdentityResult:
    """Write the identities Salesforce lacks; queue the records it refused; remember what was written."""
    remembered = wh.read(WRITTEN, WRITTEN_COLUMNS)
    updates, memo = identity_updates(
        cfg,
        wh,
        led,
        urls,
        {k: (h, s) for k, h, s in remembered[WRITTEN_COLUMNS].itertuples(index=False, name=None)},
    )
    before = sf.http_requests
    written, failed, queue, events, done = 0, 0, [], [], []
    for obj, records in updates.items():
        if not records:
            continue
        for outcome, rec in zip(sf.update(obj, records), records, strict=True):
            if outcome.success:
                written += 1
                done.append({"key": f"{obj}:{rec['Id']}", **memo[f"{obj}:{rec['Id']}"]})
                events.append(Event("writeback", run_id, "identity", obj, rec["Id"]))
            else:
                failed += 1
                queue.append(
                    QueueItemIn(
                        obj,
                        rec["Id"],
                        "salesforce_write_failed",
                        message=outcome.message,
                        field=failed_field(outcome),
                        hint=reason_hint("salesforce_write_failed", message=outcome.message),
                        payload=rec,
                    )
                )
    if done:
        written_at = pd.Timestamp.now(tz="UTC").isoformat()
        fresh = pd.DataFrame(done, columns=WRITTEN_COLUMNS).astype("string").assign(written_at=written_at)
        wh.merge(WRITTEN, fresh, key="key", version="written_at")
    led.log_events(events)
    led.queue_upsert(queue)
    return IdentityResult(written, failed, {k: len(v) for k, v in updates.items()}, sf.http_requests - before)
