"""The soak's world: the emulators of the snapshot, the client config pointed at them, the cycle's runner,
and the preparation (the org synced to a steady state, a day's unsynced work on top; see ``bench/soak.py``)."""

from __future__ import annotations

import json
import logging
import os
import random
import shutil
import time
from collections import defaultdict
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

import dagster as dg
import yaml

from bench.soak_schedules import SF_TIMEOUT, XERO_TIMEOUT
from sfxero_dagster.clients.xero_tokens import FileTokenStore
from sfxero_dagster.config import load_config, load_settings
from sfxero_dagster.runner import (
    EXTRACT,
    REFERENCE,
    STAGE,
    Runner,
    history_tags,
    sync_keys,
    tenant_pushes,
    tenant_statuses,
)
from sfxero_dagster.sandbox.clock import SandboxClock
from sfxero_dagster.sandbox.httpbase import SandboxServer
from sfxero_dagster.sandbox.run import SandboxHandle, start_sandbox
from sfxero_dagster.sandbox.salesforce.app import SalesforceApp
from sfxero_dagster.sandbox.tls import ensure_local_ca, server_ssl_context
from sfxero_dagster.sandbox.xero.app import XeroApp
from sfxero_dagster.store.ledger import Ledger

REPO = Path(__file__).resolve().parents[1]
RESULTS = REPO / "bench" / "results"
EXTRACT_DELTA = ("accounts", "opportunities", "opportunity_line_items", "orders", "order_items")

log = logging.getLogger("soak")


# ----- the world ----------------------------------------------------------------------------------------
@dataclass
class Apps:
    """The emulators of the snapshot, held in memory only (their files are never written again)."""

    clock: SandboxClock
    xero: XeroApp
    sf: SalesforceApp


def load_apps(base: Path) -> Apps:
    clock = SandboxClock()
    xero = XeroApp(base / "sandbox" / "xero", clock=clock)
    sf = SalesforceApp(base / "sandbox" / "salesforce", clock=clock)
    xero.store.close()  # memory only from here: a fork is a copy-on-write restore of the snapshot
    sf.store.close()
    return Apps(clock, xero, sf)


def serve(apps: Apps, base: Path) -> SandboxHandle:
    xs = SandboxServer(apps.xero).start()
    apps.xero.bind(xs.url)
    tls = server_ssl_context(ensure_local_ca(base / "sandbox" / "salesforce" / "tls"))
    ss = SandboxServer(apps.sf, ssl_context=tls).start()
    apps.sf.bind(ss.url)
    return SandboxHandle(apps.clock, apps.xero, xs, apps.sf, ss, base / "sandbox", [xs, ss])


def client_config(handle: SandboxHandle, work: Path, *, short_timeouts: bool = True) -> Path:
    """The shipped sfxero.yaml pointed at ``handle``: limits raised (faults, not pacing, are under test),
    short timeouts (so a timeout fault costs seconds), state under ``work``. Sets the secrets' variables."""
    path = handle.write_client_config(REPO / "sfxero.yaml", work / "sfxero.yaml", work / "state")
    cfg = yaml.safe_load(path.read_text())
    for t in cfg["xero"]["tenants"]:
        t["minute_limit"] = 100_000
    if short_timeouts:
        cfg["xero"]["timeout_seconds"] = XERO_TIMEOUT
        cfg["salesforce"]["timeout_seconds"] = SF_TIMEOUT
    # The first partition takes all older history: a short range makes the history extract one cheap run.
    cfg.setdefault("delta", {})["start_date"] = (handle.clock.now() - timedelta(days=3)).date().isoformat()
    path.write_text(yaml.safe_dump(cfg, sort_keys=False, allow_unicode=True))
    os.environ.update(handle.client_environment())
    os.environ["SFXERO_CONFIG"] = str(path)
    return path


full_selection = sync_keys  # one sync cycle: push everywhere, Xero ids, invoice and payment status


def runner(config: Path) -> Runner:
    """The cycle's runner on ``config``: an ephemeral instance, failures returned (the soak records them)."""
    return Runner(load_settings(config), dg.DagsterInstance.ephemeral(), quiet=True, raise_on_error=False)


def materialize(config: Path, selection: Any, **kwargs: Any) -> dg.ExecuteInProcessResult:
    return runner(config).run(selection, **kwargs)


def _must(result: dg.ExecuteInProcessResult, what: str) -> dg.ExecuteInProcessResult:
    if not result.success:
        raise RuntimeError(f"{what} failed: {_failure(result)}")
    return result


def _failure(result: dg.ExecuteInProcessResult) -> str:
    for e in result.all_events:
        if e.is_step_failure and e.step_failure_data:
            return f"{e.step_key}: {e.step_failure_data.error.message.strip()[:300] if e.step_failure_data.error else ''}"
    return "failed"


def _meta(result: dg.ExecuteInProcessResult, key: str) -> dict[str, Any]:
    mats = [m for m in result.get_asset_materialization_events() if m.asset_key.to_user_string() == key]
    return {k: v.value for k, v in mats[-1].materialization.metadata.items()} if mats else {}


def _today(handle: SandboxHandle) -> str:
    return handle.clock.now().astimezone(UTC).date().isoformat()


# ----- preparation ---------------------------------------------------------------------------------------
def _createable(sf: SalesforceApp, obj: str, rec: dict, **over: Any) -> dict[str, Any]:
    """The fields of ``rec`` a user could type into a new record (no ids or roll-ups we write back)."""
    od = sf.obj(obj)
    assert od is not None
    keep = {
        k: v
        for k, v in rec.items()
        if (f := od.field(k)) is not None and f.createable and v is not None and not k.startswith("Xero_")
    }
    return keep | over


def _clone_opportunity(sf: SalesforceApp, src: dict, lines: list[dict], account_id: str, tag: str) -> str:
    fields = _createable(sf, "Opportunity", src, AccountId=account_id, Name=f"{src['Name'][:90]} {tag}")
    opp = sf.act("create", object="Opportunity", fields=fields)
    for ln in lines:
        sf.act(
            "create",
            object="OpportunityLineItem",
            fields=_createable(sf, "OpportunityLineItem", ln, OpportunityId=opp["Id"]),
        )
    return opp["Id"]


def plant_day(
    handle: SandboxHandle, led: Ledger, manifest: dict, rng: random.Random, scale: int
) -> dict[str, Any]:
    """A day's work on the synced org, made the way users make it (Salesforce UI, Xero UI).

    Returns the ids touched and, for the mid-schedule edits, pushed clean records the day leaves alone.
    """
    sf, xero = handle.salesforce, handle.xero
    planted = {
        e.get(k) for es in manifest.values() for e in es for k in ("id", "original", "line") if e.get(k)
    }
    links = led.links_frame()
    contact_of = {r["sf_id"]: r for r in links.to_dict("records") if r["xero_object"] == "Contacts"}
    invoice_of = {r["sf_id"]: r for r in links.to_dict("records") if r["xero_object"] == "Invoices"}
    opps = {r["Id"]: r for r in sf.records("Opportunity")}
    orders = {r["Id"]: r for r in sf.records("Order")}
    accounts = {r["Id"]: r for r in sf.records("Account")}
    lines: dict[str, list[dict]] = defaultdict(list)
    for ln in sf.records("OpportunityLineItem"):
        lines[ln["OpportunityId"]].append(ln)

    def unpaid(sf_id: str) -> bool:
        r = invoice_of[sf_id]
        inv = xero.store.get(f"{r['tenant_id']}/Invoice", r["xero_id"]) or {}
        return (
            inv.get("Status") == "AUTHORISED"
            and not Decimal(str(inv.get("AmountPaid") or 0))
            and not Decimal(str(inv.get("AmountCredited") or 0))
        )

    def clean(sf_id: str, source: dict) -> bool:
        return (
            sf_id in invoice_of
            and sf_id not in planted
            and source[sf_id]["AccountId"] in contact_of
            and unpaid(sf_id)
        )

    pool_opps = sorted(i for i in invoice_of if i in opps and clean(i, opps) and lines.get(i))
    pool_orders = sorted(i for i in invoice_of if i in orders and clean(i, orders))
    pool_accounts = sorted(a for a in contact_of if a in accounts and a not in planted)
    rng.shuffle(pool_opps)
    rng.shuffle(pool_orders)
    rng.shuffle(pool_accounts)
    n = {  # medium (20,000 opportunities): 10, 100, 20, 6, 10, 6
        "new_accounts": max(2, scale // 2000),
        "new_opportunities": max(6, scale // 200),
        "edited": max(3, scale // 1000),
        "cancelled": max(2, scale // 3000),
        "paid": max(3, scale // 2000),
        "edited_accounts": max(2, scale // 3000),
    }

    def take(pool: list[str], k: int) -> list[str]:
        out, pool[:] = pool[:k], pool[k:]
        return out

    day: dict[str, Any] = {k: [] for k in n}
    for i, src_id in enumerate(take(pool_opps, n["new_accounts"])):
        src = accounts[opps[src_id]["AccountId"]]
        acct = sf.act(
            "create",
            object="Account",
            fields=_createable(
                sf,
                "Account",
                src,
                Name=f"Soak Customer {i + 1} {src['BillingCountry']}",
                Phone=f"+1 555 01{i:02d}",
                BillingStreet=f"{i + 1} Soak Street",
                Tax_Number__c=None,
                Website=f"https://soak{i + 1}.example",
            ),
        )
        sf.act(
            "create",
            object="Contact",
            fields={
                "AccountId": acct["Id"],
                "LastName": "Payable",
                "Email": f"accounts@soak{i + 1}.example",
                "Is_Billing_Contact__c": True,
            },
        )
        day["new_accounts"].append(acct["Id"])
        day["new_opportunities"].append(
            _clone_opportunity(sf, opps[src_id], lines[src_id], acct["Id"], "(soak)")
        )
    for src_id in take(pool_opps, n["new_opportunities"]):
        day["new_opportunities"].append(
            _clone_opportunity(sf, opps[src_id], lines[src_id], opps[src_id]["AccountId"], "(soak)")
        )
    for opp_id in take(pool_opps, n["edited"]):
        ln = lines[opp_id][0]
        sf.act("edit", id=ln["Id"], fields={"Quantity": float(ln["Quantity"]) + 1})
        day["edited"].append(opp_id)
    for k, order_id in enumerate(take(pool_orders, n["cancelled"])):
        if k % 2:  # paid in part first: Xero refuses the void, the sync credits it
            r = invoice_of[order_id]
            inv = xero.store.get(f"{r['tenant_id']}/Invoice", r["xero_id"])
            half = (Decimal(str(inv["AmountDue"])) / 2).quantize(Decimal("0.01"))
            xero.act("pay", tenant_id=r["tenant_id"], invoice=r["xero_id"], amount=str(half))
        sf.act("cancel_order", id=order_id)
        day["cancelled"].append(order_id)
    for k, opp_id in enumerate(take(pool_opps, n["paid"])):
        r = invoice_of[opp_id]
        inv = xero.store.get(f"{r['tenant_id']}/Invoice", r["xero_id"])
        amount = inv["AmountDue"] if k % 2 else (Decimal(str(inv["AmountDue"])) / 3).quantize(Decimal("0.01"))
        xero.act("pay", tenant_id=r["tenant_id"], invoice=r["xero_id"], amount=str(amount))
        day["paid"].append(opp_id)
    for k, account_id in enumerate(take(pool_accounts, n["edited_accounts"])):
        sf.act("edit", id=account_id, fields={"Phone": f"+44 20 7946 {k:04d}"})
        day["edited_accounts"].append(account_id)
    share = min(60, len(pool_opps) // 2)
    day["candidates"] = {
        "edit": [(o, lines[o][0]["Id"], float(lines[o][0]["Quantity"])) for o in take(pool_opps, share)],
        "clone": take(pool_opps, share),
        "cancel": take(pool_orders, 30),
        "accounts": [a for a in pool_accounts if a not in day["edited_accounts"]][:60],
    }
    return day


def prepare(base: Path, scale: str, seed: int) -> dict[str, Any]:
    """The snapshot: the org synced to a steady state, then a day's unsynced work on top (see module doc)."""
    from sfxero_dagster.sandbox.seed import SCALES, generate

    started = time.perf_counter()
    clock = SandboxClock(offset_seconds=-7200)  # behind real time: the sandbox's today is always a partition
    handle = start_sandbox(base / "sandbox", scale=scale, seed=seed, reset=True, clock=clock)
    try:
        for t in handle.xero.info()["tenants"]:  # pacing is P3's subject; here only injected 429s happen
            handle.xero.set_limits(t["tenantId"], minute=1_000_000, day=1_000_000, concurrent=100)
        handle.salesforce.set_daily_limit(10_000_000)
        (base / "state").mkdir(parents=True, exist_ok=True)
        config = client_config(handle, base, short_timeouts=False)
        FileTokenStore(base / "state" / "xero_token.json").save(
            {"refresh_token": handle.xero.info()["refresh_token"], "expires_at": 0}
        )
        cfg = load_config(config)
        led = Ledger(base / "state" / "ledger.duckdb")
        timings: dict[str, float] = {}

        def step(what: str, selection: Any, **kwargs: Any) -> dg.ExecuteInProcessResult:
            t0 = time.perf_counter()
            done = _must(materialize(config, selection, **kwargs), what)
            timings[what] = round(timings.get(what, 0) + time.perf_counter() - t0, 1)
            log.info("prepare: %s %.0fs", what, timings[what])
            return done

        step("history extract", EXTRACT, tags=history_tags(cfg))
        step("Xero snapshots", REFERENCE)
        step("staging and matching", STAGE)
        step("first push", tenant_pushes(cfg))
        # A payment per organisation well after the push: the status watermark then sits past the push,
        # so a schedule's status run re-reads only its overlap window, not every invoice.
        clock.advance(1200)
        for _, inv in led.links_frame(xero_object="Invoices").drop_duplicates("tenant_id").iterrows():
            handle.xero.act("pay", tenant_id=inv["tenant_id"], invoice=inv["xero_id"], amount="1.00")
        step("invoice status", tenant_statuses(cfg))
        for _ in range(10):  # online URLs: one Xero call per invoice, parked on the day limit, resumed
            done = step("Xero ids", ["salesforce/xero_ids"])
            if not _meta(done, "salesforce/xero_ids").get("online_urls_pending"):
                break
        manifest = generate(scale, seed).manifest
        clock.advance(300)
        t0 = time.perf_counter()
        day = plant_day(handle, led, manifest, random.Random(f"{seed}:day"), SCALES[scale]["opportunities"])
        timings["a day's work"] = round(time.perf_counter() - t0, 1)
        clock.advance(60)
        step("delta extract", EXTRACT, partition_key=_today(handle))
        step("staging and matching", STAGE)
        timings["total"] = round(time.perf_counter() - started, 1)
        meta = {
            "scale": scale,
            "seed": seed,
            "clock_at": clock.now().isoformat(),
            "timings": timings,
            "day": {k: v for k, v in day.items() if k != "candidates"},
            "candidates": day["candidates"],
            "xero": {
                t.key: {
                    k: handle.xero.store.count(f"{t.tenant_id}/{k}")
                    for k in ("Contact", "Invoice", "CreditNote")
                }
                for t in cfg.xero.tenants
            },
            "manifest": manifest,
        }
    finally:
        handle.stop()
        handle.xero.store.close()
        handle.salesforce.store.close()
    (base / "meta.json").write_text(json.dumps(meta, default=str))
    return meta


def restore(apps: Apps, base: Path, meta: dict, work: Path) -> tuple[SandboxHandle, Path]:
    """The snapshot on fresh ports: emulators from ``apps``, a copy of the ledger and warehouse."""
    shutil.rmtree(work, ignore_errors=True)
    shutil.copytree(base / "state", work / "state")
    for lock in (work / "state").glob("*.lock"):
        lock.unlink()
    apps.clock.set(datetime.fromisoformat(meta["clock_at"]))
    handle = serve(apps, base)
    config = client_config(handle, work)
    token = FileTokenStore(work / "state" / "xero_token.json")
    token.save({**(token.load() or {}), "expires_at": 0})  # the first call refreshes (a new process would)
    return handle, config
