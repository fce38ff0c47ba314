"""One soak schedule: restore, inject the faults, run the sync (or kill it), edit, complete, check the
invariants (``bench/soak_check.py``); and the fault-free baseline run."""

from __future__ import annotations

import os
import random
import re
import signal
import subprocess
import sys
import threading
import time
from dataclasses import asdict
from pathlib import Path
from typing import Any

from bench.soak_check import Expected, check, snapshot_expected, summary
from bench.soak_schedules import TARGETS, Schedule, _rule, _side
from bench.soak_world import (
    EXTRACT_DELTA,
    REPO,
    Apps,
    _clone_opportunity,
    _failure,
    _must,
    _today,
    full_selection,
    materialize,
    restore,
)
from sfxero_dagster.clients.xero_tokens import FileTokenStore
from sfxero_dagster.config import load_config
from sfxero_dagster.runner import (
    STAGE,
)
from sfxero_dagster.sandbox.run import SandboxHandle
from sfxero_dagster.store.ledger import Ledger


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
