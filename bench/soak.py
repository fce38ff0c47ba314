"""``make soak``: the chaos soak (issue #9). Seeded random fault schedules over the seeded org; after each,
a fault-free completion and the invariants of ``bench/soak_check.py``. Writes ``bench/results/soak.json``
and ``soak.md``.

How it stays affordable on two cores:

1. **Prepare once.** The org (``--scale``, ``--seed``) is extracted, snapshotted, staged, matched, pushed
   and written back: the steady state of a synced org. Then a day's work is planted on top (new accounts
   and opportunities, edited lines, cancelled orders with and without payments, payments in Xero, edited
   accounts), extracted and staged but not pushed. That state is the snapshot every schedule starts from.
2. **Restore by fork.** The emulators of the snapshot are loaded once, in memory; each schedule runs in a
   forked child, so the restore is copy-on-write (the ledger and warehouse files are copied), and two
   schedules run side by side (``--jobs``). ``--no-fork`` reloads them from the snapshot files instead
   (the tests use it). ``--workdir`` keeps the snapshot, and a later soak with the same scale and seed
   reuses it.
3. **A baseline.** One fault-free run on the snapshot gives what the schedules must reproduce (links and
   review queue) and how many requests each endpoint gets, so every fault is aimed where it can fire.

A schedule installs 1-4 faults on either API (429 minute/day, 5xx, connection reset before/after commit,
timeouts, expired Xero token or Salesforce session) and sometimes kills the run process with SIGKILL;
it runs push -> Xero ids -> invoice status, then (sometimes) edits Salesforce records and re-extracts, so
updates and voids run on a delta, then reruns until the run completes (advancing the sandbox clock past a
day limit, never sleeping through it; after a day limit, the next day's run always follows, since a run
may succeed with work deferred to it), and checks the invariants. Faults count as *fired* only when the
sandbox actually applied them.
"""

from __future__ import annotations

import argparse
import importlib
import json
import logging
import os
import platform
import random
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
from collections import Counter, defaultdict
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

import dagster as dg
import yaml

from bench.soak_check import CATEGORIES, Expected, check, snapshot_expected, summary
from sfxero_dagster.clients.xero_tokens import FileTokenStore
from sfxero_dagster.config import load_config, load_settings
from sfxero_dagster.core.ledger import Ledger
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

REPO = Path(__file__).resolve().parents[1]
RESULTS = REPO / "bench" / "results"
# Client timeouts while schedules run (a timeout fault waits longer): above the slowest request of a
# schedule's small delta on a loaded machine, short enough that a timeout fault costs seconds. Preparing
# (bulk jobs the sandbox runs inside one request) keeps the shipped defaults.
XERO_TIMEOUT, SF_TIMEOUT = 3.0, 10.0
SCHEDULE_LIMIT = 900.0  # seconds; a schedule still running then is killed and reported as hung
EXTRACT_DELTA = ("accounts", "opportunities", "opportunity_line_items", "orders", "order_items")

# Where a fault can be aimed: (methods, path regex) per endpoint, searched in the request path.
TARGETS: dict[str, tuple[list[str], str]] = {
    "xero:PUT Contacts": (["PUT"], r"/Contacts$"),
    "xero:POST Contacts": (["POST"], r"/Contacts$"),
    "xero:PUT Invoices": (["PUT"], r"/Invoices$"),
    "xero:POST Invoices": (["POST"], r"/Invoices$"),
    "xero:PUT CreditNotes": (["PUT"], r"/CreditNotes$"),
    "xero:PUT Allocations": (["PUT"], r"/Allocations$"),
    "xero:GET Invoices": (["GET"], r"/Invoices$"),
    "xero:GET OnlineInvoice": (["GET"], r"/OnlineInvoice$"),
    "xero:POST token": (["POST"], r"^/connect/token$"),
    "sf:PATCH collections": (["PATCH"], r"/composite/sobjects"),
    "sf:GET query": (["GET"], r"/query"),
    "sf:POST login": (["POST"], r"/oauth2/token$"),
}
KINDS = (
    "xero_429_minute",
    "xero_429_day",
    "xero_5xx",
    "xero_drop_before_commit",
    "xero_drop_after_commit",
    "xero_timeout",
    "xero_token_expiry",
    "sf_5xx",
    "sf_drop_before_commit",
    "sf_drop_after_commit",
    "sf_timeout",
    "sf_session_expiry",
)
ALL_KINDS = (*KINDS, "sigkill")
log = logging.getLogger("soak")


# ----- schedules --------------------------------------------------------------------------------------
@dataclass
class Fault:
    kind: str
    target: str = ""
    skip: int = 0
    times: int = 1
    status: int = 0
    variant: str = ""  # xero_token_expiry: "start" (the stored token is stale) or "rule" (401 mid-run)
    at_request: int = 0  # sf_session_expiry: sessions expire once Salesforce has served this many
    fired: int = 0


@dataclass
class Schedule:
    index: int
    faults: list[Fault]
    sigkill: dict[str, Any] | None = None  # {"at_request": n} or {"hold": target, "skip": n}
    mutate: bool = False


def _side(kind_or_target: str) -> str:
    return "sf" if kind_or_target.startswith("sf") else "xero"


def make_schedules(n: int, seed: int, profile: dict[str, int]) -> list[Schedule]:
    """``n`` schedules from ``seed``; each fault aimed at an endpoint the baseline run called."""
    out = []
    for i in range(n):
        rng = random.Random(f"{seed}:{i}")
        faults = []
        for kind in rng.sample(KINDS, rng.choice((1, 1, 2, 2, 3, 4))):
            if kind == "sf_session_expiry":
                faults.append(Fault(kind, at_request=rng.randint(1, max(1, profile["sf:all"]))))
                continue
            if kind == "xero_token_expiry" and rng.random() < 0.5:
                faults.append(Fault(kind, variant="start"))
                continue
            side = _side(kind)
            choices = [t for t in TARGETS if t.startswith(f"{side}:") and profile.get(t)]
            if kind.startswith(("xero_429", "xero_token")):  # the API's answers, not the token endpoint's
                choices = [t for t in choices if t != "xero:POST token"]
            target = rng.choice(sorted(choices))
            times = rng.choice((1, 1, 2, 3)) if kind.endswith(("5xx", "minute")) else rng.choice((1, 1, 2))
            if kind.endswith(("timeout", "day", "expiry")):
                times = 1
            faults.append(
                Fault(
                    kind,
                    target,
                    skip=rng.randrange(max(1, profile[target])),
                    times=times,
                    status=rng.choice((500, 502, 503, 504)) if kind.endswith("5xx") else 0,
                    variant="rule" if kind == "xero_token_expiry" else "",
                )
            )
        sigkill = None
        if rng.random() < 0.12:
            writes = [
                t for t in ("xero:PUT Invoices", "xero:PUT Contacts", "xero:POST Invoices") if profile.get(t)
            ]
            if writes and rng.random() < 0.5:
                hold = rng.choice(writes)
                sigkill = {"hold": hold, "skip": rng.randrange(profile[hold])}
            else:
                sigkill = {"at_request": rng.randint(1, max(1, profile["xero:all"]))}
        out.append(Schedule(i, faults, sigkill, mutate=rng.random() < 0.25))
    return out


def _rule(f: Fault) -> dict[str, Any]:
    methods, rx = TARGETS[f.target]
    rule: dict[str, Any] = {"methods": methods, "path_regex": rx, "skip": f.skip, "times": f.times}
    name = f.kind.split("_", 1)[1]
    if name == "429_minute":
        return rule | {
            "action": "status",
            "status": 429,
            "headers": {"Retry-After": "1", "X-Rate-Limit-Problem": "minute"},
            "body": {"Title": "Too Many Requests", "Status": 429, "Detail": "Rate limit exceeded: minute"},
        }
    if name == "429_day":
        return rule | {
            "action": "status",
            "status": 429,
            "headers": {"Retry-After": "3600", "X-Rate-Limit-Problem": "day"},
            "body": {"Title": "Too Many Requests", "Status": 429, "Detail": "Rate limit exceeded: day"},
        }
    if name == "5xx":
        body: Any = (
            [{"errorCode": "SERVER_UNAVAILABLE", "message": "soak"}]
            if f.kind.startswith("sf")
            else "Service Unavailable"
        )
        return rule | {"action": "status", "status": f.status, "body": body}
    if name in ("drop_before_commit", "drop_after_commit"):
        return rule | {"action": name}
    if name == "timeout":
        return rule | {
            "action": "delay",
            "delay_seconds": (SF_TIMEOUT if f.kind.startswith("sf") else XERO_TIMEOUT) + 0.5,
        }
    if name == "token_expiry":
        return rule | {
            "action": "status",
            "status": 401,
            "headers": {"WWW-Authenticate": 'Bearer error="invalid_token"'},
            "body": {"Title": "Unauthorized", "Status": 401, "Detail": "TokenExpired: token expired at soak"},
        }
    raise ValueError(f"no rule for {f.kind}")


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


# ----- one schedule ----------------------------------------------------------------------------------------
class Monitor(threading.Thread):
    """Acts on request counts while a run is under way: expires Salesforce sessions, kills the run."""

    def __init__(self, handle: SandboxHandle) -> None:
        super().__init__(daemon=True)
        self.handle = handle
        self.expire_at: int | None = None
        self.expired_at_index: int | None = None
        self.kill: tuple[subprocess.Popen, Any] | None = None  # (process, condition)
        self.killed = False
        self.done = threading.Event()

    def run(self) -> None:
        sf_log, x_log = self.handle.salesforce.request_log, self.handle.xero.request_log
        while not self.done.is_set():
            if self.expire_at is not None and self.expired_at_index is None and len(sf_log) >= self.expire_at:
                self.handle.salesforce.expire_sessions()
                self.expired_at_index = len(sf_log)
            if self.kill is not None and not self.killed and self.kill[1](x_log):
                proc = self.kill[0]
                if proc.poll() is None:
                    os.killpg(proc.pid, signal.SIGKILL)
                    self.killed = True
            time.sleep(0.005)

    def stop(self) -> None:
        self.done.set()
        self.join(timeout=5)


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


def _mutate(
    handle: SandboxHandle, config: Path, meta: dict, rng: random.Random
) -> tuple[set[str], set[tuple[str, str]]]:
    """Between the faulty run and the rerun, users edit Salesforce: lines, a cancellation, a new deal."""
    sf = handle.salesforce
    cand = meta["candidates"]
    touched: set[str] = set()
    created: set[tuple[str, str]] = set()
    for opp_id, line_id, qty in rng.sample(cand["edit"], min(2, len(cand["edit"]))):
        sf.act("edit", id=line_id, fields={"Quantity": qty + 2})
        touched.add(opp_id)
    for order_id in rng.sample(cand["cancel"], min(1, len(cand["cancel"]))):
        sf.act("cancel_order", id=order_id)
        touched.add(order_id)
    for src_id in rng.sample(cand["clone"], min(1, len(cand["clone"]))):
        src = sf.get("Opportunity", src_id)
        lines = [ln for ln in sf.records("OpportunityLineItem") if ln["OpportunityId"] == src_id]
        new_id = _clone_opportunity(sf, src, lines, src["AccountId"], "(mid-soak)")
        touched |= {new_id, src["AccountId"]}
        created.add(("Opportunity", new_id))
    for account_id in rng.sample(cand["accounts"], min(1, len(cand["accounts"]))):
        sf.act("edit", id=account_id, fields={"Phone": f"+61 2 9{rng.randint(1000000, 9999999)}"})
        touched.add(account_id)
    handle.clock.advance(120)
    extracts = [f"salesforce/{name}" for name in EXTRACT_DELTA]
    _must(materialize(config, extracts, partition_key=_today(handle)), "delta extract")
    _must(materialize(config, STAGE), "staging")
    return touched, created


def _worker_command(config: Path) -> list[str]:
    return [sys.executable, "-m", "bench.soak", "--worker-run", str(config)]


def run_schedule(
    apps: Apps, base: Path, meta: dict, baseline: dict, sched: Schedule, work: Path
) -> dict[str, Any]:
    """Restore, inject, run, (edit), complete without faults, check. Returns the schedule's record."""
    started = time.perf_counter()
    handle, config = restore(apps, base, meta, work)
    cfg = load_config(config)
    full = full_selection(cfg)
    monitor = Monitor(handle)
    record: dict[str, Any] = {"index": sched.index, "mutated": sched.mutate}
    phases: dict[str, float] = {"restore": time.perf_counter() - started}
    lap = time.perf_counter()

    def phase(name: str) -> None:
        nonlocal lap
        phases[name] = round(time.perf_counter() - lap, 1)
        lap = time.perf_counter()

    try:
        rules = []
        for f in sched.faults:
            if f.kind == "sf_session_expiry":
                monitor.expire_at = f.at_request
            elif f.kind == "xero_token_expiry" and f.variant == "start":
                handle.clock.advance(1801)  # Xero expired the stored token; the client still trusts it
                token = FileTokenStore(work / "state" / "xero_token.json")
                token.save({**(token.load() or {}), "expires_at": time.time() + 1800})
            else:
                app = handle.salesforce if f.kind.startswith("sf") else handle.xero
                rules.append((f, app.faults.add(_rule(f))))
        hold = None
        if sched.sigkill and "hold" in sched.sigkill:  # a write in flight when the process dies
            hold = handle.xero.faults.add(
                {
                    "action": "delay",
                    "delay_seconds": 2.5,
                    "methods": TARGETS[sched.sigkill["hold"]][0],
                    "path_regex": TARGETS[sched.sigkill["hold"]][1],
                    "skip": sched.sigkill["skip"],
                }
            )
        x0, s0 = len(handle.xero.request_log), len(handle.salesforce.request_log)
        monitor.start()
        if sched.sigkill:
            logfile = (work / "worker.log").open("w")
            proc = subprocess.Popen(
                _worker_command(config),
                cwd=REPO,
                env=os.environ.copy(),
                start_new_session=True,  # its own process group: killed whole, as a run process would be
                stdout=logfile,
                stderr=logfile,
            )
            if hold is not None:
                fired_at: list[float] = []

                def condition(_log: list, rule: Any = hold) -> bool:
                    if rule.fired and not fired_at:
                        fired_at.append(time.monotonic())
                    return bool(fired_at) and time.monotonic() - fired_at[0] > 0.5
            else:
                target = x0 + sched.sigkill["at_request"]

                def condition(log_: list, n: int = target) -> bool:
                    return len(log_) >= n

            monitor.kill = (proc, condition)
            proc.wait(timeout=900)
            logfile.close()
            time.sleep(3.0 if hold is not None else 0.5)  # the server finishes (commits) what was in flight
            record["faulty_run"] = {"ok": proc.returncode == 0, "killed": monitor.killed}
        else:
            try:
                res = materialize(config, full)
                record["faulty_run"] = {
                    "ok": res.success,
                    **({} if res.success else {"error": _failure(res)}),
                }
            except Exception as exc:  # the soak records a crash; it does not stop on it
                record["faulty_run"] = {"ok": False, "error": f"crash: {exc!r}"[:300]}
        monitor.stop()
        x_log, s_log = handle.xero.request_log[x0:], handle.salesforce.request_log[s0:]
        for f, rule in rules:
            f.fired = rule.fired
        for f in sched.faults:
            if f.kind == "xero_token_expiry" and f.variant == "start":
                f.fired = sum(1 for r in x_log if r["status"] == 401)
            if f.kind == "sf_session_expiry" and monitor.expired_at_index is not None:
                f.fired = int(
                    any(r["status"] == 401 for r in handle.salesforce.request_log[monitor.expired_at_index :])
                )
        record["faults"] = [asdict(f) for f in sched.faults]
        if sched.sigkill:
            record["sigkill"] = {**sched.sigkill, "fired": int(monitor.killed)}
        record["requests"] = {"xero": len(x_log), "salesforce": len(s_log)}
        handle.xero.faults.clear()
        handle.salesforce.faults.clear()

        phase("faulty_run")
        touched: set[str] = set()
        created: set[tuple[str, str]] = set()
        if sched.mutate:
            touched, created = _mutate(
                handle, config, meta, random.Random(f"{meta['seed']}:mutate:{sched.index}")
            )
        phase("edits")
        # A day limit defers work to the organisation's next day (the push parks and fails the run; the
        # identity write-back writes the ids and leaves the online URLs it could not fetch): a successful
        # run is not the end of such a schedule, the next day's run is.
        day_limit = any(f.kind == "xero_429_day" and f.fired for f in sched.faults)
        reruns, complete = 0, record["faulty_run"]["ok"] and not sched.mutate and not day_limit
        while not complete and reruns < 3:
            handle.clock.advance(86_400 + 60 if day_limit and reruns == 0 else 600)
            reruns += 1
            res = materialize(config, full)
            complete = res.success
            if not complete:
                record.setdefault("rerun_errors", []).append(_failure(res))
        record["reruns"], record["complete"] = reruns, complete
        phase("reruns")
        expected = Expected(
            links=baseline["links"], queue=baseline["queue"], created=created, touched=touched
        )
        problems = check(
            handle.xero,
            handle.salesforce,
            Ledger(work / "state" / "ledger.duckdb"),
            cfg,
            meta["manifest"],
            expected,
        )
        if not complete:
            problems["ledger"].append("the run did not complete after 3 fault-free reruns")
        record["counts"] = summary(problems)
        record["problems"] = {k: v[:20] for k, v in problems.items() if v}
        phase("check")
        record["phases"] = {k: round(v, 1) for k, v in phases.items()}
    finally:
        monitor.done.set()
        handle.stop()
    record["seconds"] = round(time.perf_counter() - started, 1)
    return record


def run_baseline(apps: Apps, base: Path, meta: dict, work: Path) -> dict[str, Any]:
    """The schedule without faults: what every schedule must reproduce, and the request profile."""
    started = time.perf_counter()
    handle, config = restore(apps, base, meta, work)
    try:
        cfg = load_config(config)
        x0, s0 = len(handle.xero.request_log), len(handle.salesforce.request_log)
        _must(materialize(config, full_selection(cfg)), "baseline run")
        logs = {"xero": handle.xero.request_log[x0:], "sf": handle.salesforce.request_log[s0:]}
        profile = {"xero:all": len(logs["xero"]), "sf:all": len(logs["sf"])}
        for name, (methods, rx) in TARGETS.items():
            pattern = re.compile(rx, re.IGNORECASE)
            profile[name] = sum(
                1 for r in logs[_side(name)] if r["method"] in methods and pattern.search(r["path"])
            )
        led = Ledger(work / "state" / "ledger.duckdb")
        expected = snapshot_expected(led)
        problems = check(handle.xero, handle.salesforce, led, cfg, meta["manifest"], expected)
    finally:
        handle.stop()
    return {
        "profile": profile,
        "links": sorted(expected.links),
        "queue": sorted(expected.queue),
        "counts": summary(problems),
        "problems": {k: v[:20] for k, v in problems.items() if v},
        "seconds": round(time.perf_counter() - started, 1),
    }


# ----- driving -----------------------------------------------------------------------------------------
def _in_child(fn: Any, out: Path, logfile: Path) -> int:
    """Run ``fn()`` in a forked child; its JSON result goes to ``out``. Returns the child's pid."""
    sys.stdout.flush()
    sys.stderr.flush()
    pid = os.fork()
    if pid:
        return pid
    code = 1
    try:
        fd = os.open(logfile, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o644)
        os.dup2(fd, 1)
        os.dup2(fd, 2)
        result = fn()
        out.write_text(json.dumps(result, default=str))
        code = 0
    except BaseException as exc:  # reported to the parent, whatever it was
        import traceback

        traceback.print_exc()
        out.write_text(json.dumps({"error": f"{exc!r}"[:500]}))
    finally:
        os._exit(code)


def _result(out: Path) -> dict[str, Any]:
    return json.loads(out.read_text()) if out.exists() else {"error": "no result (the child died)"}


@dataclass
class Soak:
    schedules: int = 200
    scale: str = "medium"
    seed: int = 7
    jobs: int = 2
    fork: bool = True
    workdir: Path | None = None
    records: list[dict[str, Any]] = field(default_factory=list)

    def run(self, progress: Any = print) -> dict[str, Any]:
        started = time.perf_counter()
        root = self.workdir or Path(tempfile.mkdtemp(prefix="sfxero-soak-"))
        base = root / "base"
        old = json.loads((base / "meta.json").read_text()) if (base / "meta.json").exists() else {}
        if (old.get("scale"), old.get("seed")) == (self.scale, self.seed):
            progress(f"soak: reusing the prepared {self.scale} org in {base}")
        else:
            shutil.rmtree(base, ignore_errors=True)  # a half-prepared world must not leak into a new one
            base.mkdir(parents=True)
            progress(f"soak: preparing the {self.scale} org (seed {self.seed}) in {root}")
            if self.fork:  # the parent stays free of threads and Dagster runs, so it can fork cleanly
                pid = _in_child(
                    lambda: prepare(base, self.scale, self.seed), root / "prepare.json", root / "prepare.log"
                )
                os.waitpid(pid, 0)
                if "error" in (done := _result(root / "prepare.json")):
                    raise RuntimeError(f"prepare failed: {done['error']} (see {root}/prepare.log)")
            else:
                prepare(base, self.scale, self.seed)
        meta = json.loads((base / "meta.json").read_text())
        progress(f"soak: prepared in {meta['timings']['total']:.0f}s; Xero holds {meta['xero']}")
        t0 = time.perf_counter()
        importlib.import_module("sfxero_dagster.definitions")  # imported once, not in every child
        shared = load_apps(base) if self.fork else None  # forked children share it copy-on-write
        progress(f"soak: snapshot loaded in {time.perf_counter() - t0:.1f}s")

        def apps() -> Apps:
            return shared or load_apps(base)  # without fork: a fresh load per schedule is the restore

        def baseline_fn() -> dict[str, Any]:
            return run_baseline(apps(), base, meta, root / "baseline")

        if self.fork:
            os.waitpid(_in_child(baseline_fn, root / "baseline.json", root / "baseline.log"), 0)
            baseline = _result(root / "baseline.json")
            if "error" in baseline:
                raise RuntimeError(f"baseline failed: {baseline['error']} (see {root}/baseline.log)")
        else:
            baseline = baseline_fn()
        progress(
            f"soak: baseline {baseline['seconds']}s, {baseline['counts']}, requests {baseline['profile']}"
        )
        expected = {
            "links": {tuple(x) for x in baseline["links"]},
            "queue": {tuple(x) for x in baseline["queue"]},
        }
        plan = make_schedules(self.schedules, self.seed, baseline["profile"])
        prep_seconds = time.perf_counter() - started
        self.records = self._run_all(apps, base, meta, expected, plan, root, progress)
        report = self.report(meta, baseline, prep_seconds, time.perf_counter() - started)
        if self.workdir is None:
            shutil.rmtree(root, ignore_errors=True)
        return report

    def _run_all(
        self,
        apps: Any,
        base: Path,
        meta: dict,
        expected: dict,
        plan: list[Schedule],
        root: Path,
        progress: Any,
    ) -> list[dict[str, Any]]:
        records: dict[int, dict[str, Any]] = {}
        running: dict[int, tuple[Schedule, float]] = {}

        def finish(pid: int, hung: bool = False) -> None:
            sched, _ = running.pop(pid)
            rec = _result(root / f"s{sched.index:04d}.json")
            if hung:  # a run that never ends is a finding too (see the schedule's log)
                rec = {"error": f"no result after {SCHEDULE_LIMIT:.0f}s: killed"}
            records[sched.index] = (
                rec if "counts" in rec else {"index": sched.index, "crash": rec.get("error")}
            )
            self._progress(records[sched.index], len(records), len(plan), progress)
            shutil.rmtree(root / f"s{sched.index:04d}", ignore_errors=True)

        def wait_for_one() -> None:
            while True:
                pid, _status = os.waitpid(-1, os.WNOHANG)
                if pid:
                    return finish(pid)
                for pid, (_, started) in list(running.items()):
                    if time.monotonic() - started > SCHEDULE_LIMIT:
                        os.kill(pid, signal.SIGKILL)
                        os.waitpid(pid, 0)
                        return finish(pid, hung=True)
                time.sleep(0.2)

        for sched in plan:
            work = root / f"s{sched.index:04d}"

            def fn(s: Schedule = sched, w: Path = work) -> dict[str, Any]:
                return run_schedule(apps(), base, meta, expected, s, w)

            if not self.fork:
                try:
                    records[sched.index] = fn()
                except Exception as exc:  # a crash of the machinery is a finding, not the end of the soak
                    log.exception("schedule %s crashed", sched.index)
                    records[sched.index] = {"index": sched.index, "crash": repr(exc)[:500]}
                self._progress(records[sched.index], len(records), len(plan), progress)
                shutil.rmtree(work, ignore_errors=True)
                continue
            while len(running) >= self.jobs:
                wait_for_one()
            out, logfile = root / f"s{sched.index:04d}.json", root / f"s{sched.index:04d}.log"
            running[_in_child(fn, out, logfile)] = (sched, time.monotonic())
        while running:
            wait_for_one()
        return [records[i] for i in sorted(records)]

    @staticmethod
    def _progress(rec: dict[str, Any], done: int, total: int, progress: Any) -> None:
        if "crash" in rec:
            progress(f"[{done:>4}/{total}] schedule {rec['index']}: CRASH {rec['crash']}")
            return
        faults = " ".join(f"{f['kind']}({f['fired']})" for f in rec["faults"])
        if rec.get("sigkill"):
            faults += f" sigkill({rec['sigkill']['fired']})"
        c = rec["counts"]
        flags = " mutated" if rec["mutated"] else ""
        progress(
            f"[{done:>4}/{total}] #{rec['index']:<4} {faults}{flags} | run ok={rec['faulty_run']['ok']} "
            f"reruns={rec['reruns']} | dup {c['duplicates']} loss {c['losses']} inc {c['inconsistencies']} "
            f"| {rec['seconds']}s"
        )

    def report(self, meta: dict, baseline: dict, prep_seconds: float, total_seconds: float) -> dict[str, Any]:
        recs = [r for r in self.records if "counts" in r]
        injected: Counter[str] = Counter()
        fired_faults: Counter[str] = Counter()
        firings: Counter[str] = Counter()
        for r in recs:
            for f in r["faults"]:
                injected[f["kind"]] += 1
                fired_faults[f["kind"]] += int(f["fired"] > 0)
                firings[f["kind"]] += f["fired"]
            if r.get("sigkill"):
                injected["sigkill"] += 1
                fired_faults["sigkill"] += r["sigkill"]["fired"]
                firings["sigkill"] += r["sigkill"]["fired"]
        totals = {c: sum(r["counts"][c] for r in recs) for c in (*CATEGORIES, "inconsistencies")}
        failing = [r["index"] for r in recs if any(r["counts"][c] for c in CATEGORIES)]
        return {
            "schedules": len(self.records),
            "scale": self.scale,
            "seed": self.seed,
            "jobs": self.jobs,
            "world": {"xero_after_prepare": meta["xero"], "day": {k: len(v) for k, v in meta["day"].items()}},
            "faults": {
                k: {"injected": injected[k], "fired": fired_faults[k], "firings": firings[k]}
                for k in ALL_KINDS
            },
            "faults_fired_total": sum(fired_faults.values()),
            "schedules_without_a_fired_fault": sum(
                1
                for r in recs
                if not any(f["fired"] for f in r["faults"]) and not (r.get("sigkill") or {}).get("fired")
            ),
            "runs": {
                "faulty_runs_failed": sum(1 for r in recs if not r["faulty_run"]["ok"]),
                "killed": sum(1 for r in recs if (r.get("sigkill") or {}).get("fired")),
                "mutated": sum(1 for r in recs if r["mutated"]),
                "reruns": sum(r["reruns"] for r in recs),
                "incomplete": sum(1 for r in recs if not r["complete"]),
                "crashes": len(self.records) - len(recs),
            },
            "duplicates": totals["duplicates"],
            "losses": totals["losses"],
            "inconsistencies": totals["inconsistencies"],
            "by_category": totals,
            "failing_schedules": failing,
            "baseline": {k: baseline[k] for k in ("counts", "problems", "seconds", "profile")},
            "seconds": {
                "prepare": meta["timings"]["total"],
                "prepare_and_baseline": round(prep_seconds, 1),
                "schedules": round(total_seconds - prep_seconds, 1),
                "per_schedule": round((total_seconds - prep_seconds) / max(1, len(self.records)), 1),
                "total": round(total_seconds, 1),
            },
            "machine": {
                "python": sys.version.split()[0],
                "platform": platform.platform(),
                "cpus": os.cpu_count(),
                "when": datetime.now(UTC).isoformat(timespec="seconds"),
            },
            "records": self.records,
        }


def markdown(report: dict[str, Any]) -> str:
    rows = "\n".join(
        f"| {k} | {v['injected']} | {v['fired']} | {v['firings']} |" for k, v in report["faults"].items()
    )
    runs, s = report["runs"], report["seconds"]
    return f"""Chaos soak: {report["schedules"]} seeded fault schedules on the `{report["scale"]}` org (seed {report["seed"]}).

| result | count |
|---|---|
| duplicates (same invoice/contact/credit note twice in an organisation) | {report["duplicates"]} |
| losses (a record a fault-free run syncs is missing, or not live, in Xero) | {report["losses"]} |
| inconsistencies (stale, orphans, write-back, ledger, review queue) | {report["inconsistencies"]} |
| faulty runs that failed / were killed, then completed by reruns | {runs["faulty_runs_failed"]} / {runs["killed"]} |
| runs that never completed; crashes of the soak | {runs["incomplete"]}; {runs["crashes"]} |
| schedules with Salesforce edits between the runs (updates, voids, new deals) | {runs["mutated"]} |

| fault | schedules injected | schedules fired | firings |
|---|---|---|---|
{rows}

Wall time {s["total"] / 60:.1f} min ({s["prepare_and_baseline"] / 60:.1f} min preparing the org and the baseline,
{s["per_schedule"]} s per schedule, {report["jobs"]} at a time). Machine: {report["machine"]["platform"]},
{report["machine"]["cpus"]} CPUs, Python {report["machine"]["python"]}, {report["machine"]["when"]}.
"""


def _worker_run(config: Path) -> int:
    """The run process a SIGKILL schedule kills: one sync cycle, in process."""
    logging.getLogger("dagster").setLevel(logging.WARNING)
    return 0 if materialize(config, full_selection(load_config(config))).success else 1


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m bench.soak", description=__doc__.split("\n")[0])
    p.add_argument("--schedules", type=int, default=200)
    p.add_argument("--scale", default="medium")
    p.add_argument("--seed", type=int, default=7)
    p.add_argument("--jobs", type=int, default=2, help="schedules run side by side (forked; one per core)")
    p.add_argument("--no-fork", action="store_true", help="restore each schedule from files, in process")
    p.add_argument(
        "--workdir", type=Path, help="keep the snapshot and logs here (a snapshot there is reused)"
    )
    p.add_argument("--out", type=Path, default=RESULTS, help="where soak.json and soak.md go")
    p.add_argument("--worker-run", type=Path, help=argparse.SUPPRESS)
    args = p.parse_args(argv)
    logging.getLogger("dagster").setLevel(logging.WARNING)
    if args.worker_run:
        return _worker_run(args.worker_run)
    logging.basicConfig(level=logging.INFO, format="%(message)s")
    soak = Soak(args.schedules, args.scale, args.seed, args.jobs, not args.no_fork, args.workdir)
    report = soak.run(progress=lambda line: print(line, flush=True))
    args.out.mkdir(parents=True, exist_ok=True)
    (args.out / "soak.json").write_text(json.dumps(report, indent=1, default=str))
    (args.out / "soak.md").write_text(markdown(report))
    print(markdown(report))
    return 0 if not (report["duplicates"] or report["losses"] or report["inconsistencies"]) else 1


if __name__ == "__main__":
    raise SystemExit(main())
