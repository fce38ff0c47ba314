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

The soak in files: ``soak_schedules.py`` (faults, targets, random schedules), ``soak_world.py`` (the
emulators, config, runner and preparation), ``soak_run.py`` (one schedule, the baseline), this module
(driving: forks, hang limits, the report), ``soak_check.py`` (the invariants).
"""

from __future__ import annotations

import argparse
import importlib
import json
import logging
import os
import platform
import shutil
import signal
import sys
import tempfile
import time
from collections import Counter
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from bench.soak_check import CATEGORIES
from bench.soak_run import run_baseline, run_schedule
from bench.soak_schedules import ALL_KINDS, Schedule, make_schedules
from bench.soak_world import (
    RESULTS,
    Apps,
    full_selection,
    load_apps,
    log,
    materialize,
    prepare,
    restore,
)
from sfxero_dagster.config import load_config

SCHEDULE_LIMIT = 900.0  # seconds; a schedule still running then is killed and reported as hung
__all__ = [
    "Soak",
    "full_selection",
    "load_apps",
    "materialize",
    "prepare",
    "restore",
    "run_baseline",
    "run_schedule",
]


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
