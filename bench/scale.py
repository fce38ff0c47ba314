"""Scale benchmarks (issue #9): P5 contact matching at 100,000 × 100,000, P6 staging and validation of
1,000,000 invoice lines, both through the project's real code paths.

Each benchmark runs in a fresh Python process that first builds its synthetic data (seeded, so every
run sees the same records), then resets the kernel's peak-RSS mark (Linux ``/proc/self/clear_refs``)
and only then starts the clock. ``baseline_rss_mb`` is what the process holds at that point
(interpreter, imports, input data); ``peak_rss_mb`` is the process's peak (VmHWM) during the measured
work, so it is the matcher's or the validator's peak, not the generator's; ``work_rss_mb`` is the
difference. ``cpu_seconds`` counts every thread, so on a busy machine it tells wall time from work.
Where the reset is not available the figures say so (``peak_excludes_setup: false``).

The data carry planted ground truth, and every run reports quality against it: a matcher that is
fast because it matches nothing, or a validator that rejects nothing, fails its own check (``met``).

    python -m bench.scale [--p5-n 100000] [--p6-lines 1000000]     # prints JSON; 0 skips one
"""

from __future__ import annotations

import argparse
import gc
import json
import resource
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pandas as pd

from bench.scale_p5_data import (
    EVIDENCE_CLASSES,
    P5_CLASSES,
    P5_QUALITY_FLOOR,
    _missed_outside_block,
    p5_data,
    p5_quality,
)
from bench.scale_p6_data import P6_PLANTS, p6_data, p6_quality

__all__ = ["EVIDENCE_CLASSES", "P5_CLASSES", "P6_PLANTS", "p5", "p6"]

REPO = Path(__file__).resolve().parents[1]
CONFIG = REPO / "sfxero.yaml"
P5_TARGET = {"seconds": 20.0, "peak_rss_mb": 2048.0}
P6_TARGET = {"seconds": 60.0}


# ----- measurement --------------------------------------------------------------------------------------
def _status_mb(field: str) -> float | None:
    """A memory line of /proc/self/status (Linux), in MB."""
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith(field + ":"):
                return int(line.split()[1]) / 1024
    except OSError:
        pass
    return None


def _peak_mb() -> float:
    """This process's peak RSS: VmHWM where there is one.

    Not ``ru_maxrss`` on Linux: after exec it keeps the parent's RSS at fork as a floor, so a child of
    a large process (pytest, Dagster) would report its parent's size; VmHWM belongs to this process
    alone and is what ``clear_refs`` resets.
    """
    hwm = _status_mb("VmHWM")
    if hwm is not None:
        return hwm
    kb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return kb / 2**20 if sys.platform == "darwin" else kb / 1024  # macOS reports bytes


def _rss_mb() -> float:
    """Resident set size now (elsewhere than Linux, the peak so far: an upper bound)."""
    rss = _status_mb("VmRSS")
    return rss if rss is not None else _peak_mb()


def _reset_peak() -> bool:
    """Reset this process's peak RSS to its current RSS, so setup does not count (Linux >= 4.0)."""
    try:
        Path("/proc/self/clear_refs").write_text("5")
    except OSError:
        return False
    return _peak_mb() <= _rss_mb() + 1


def _measured(work: Callable[[], Any]) -> tuple[Any, dict[str, Any]]:
    """Run ``work`` once; its seconds and the process's peak RSS during it (MB), with the baseline."""
    gc.collect()
    reset = _reset_peak()
    baseline = _rss_mb()
    start, cpu = time.perf_counter(), time.process_time()
    out = work()
    seconds, cpu = time.perf_counter() - start, time.process_time() - cpu
    peak = _peak_mb()
    return out, {
        "seconds": round(seconds, 2),
        "cpu_seconds": round(cpu, 2),  # all threads; on a busy machine wall time can exceed it
        "baseline_rss_mb": round(baseline, 1),
        "peak_rss_mb": round(peak, 1),
        "work_rss_mb": round(peak - baseline, 1),
        "peak_excludes_setup": reset,
    }


def _in_child(kind: str, size: int) -> dict[str, Any]:
    """One benchmark in a fresh interpreter: nothing earlier in this process inflates its figures."""
    start = time.perf_counter()
    proc = subprocess.run(
        [sys.executable, "-m", "bench.scale", "--child", kind, "--size", str(size)],
        cwd=REPO,
        capture_output=True,
        text=True,
        check=False,
    )
    if proc.returncode:
        raise RuntimeError(f"bench.scale {kind} failed:\n{proc.stderr[-4000:]}")
    out = json.loads(proc.stdout.strip().splitlines()[-1])
    out["process_seconds"] = round(time.perf_counter() - start, 1)  # incl. start-up and data generation
    return out


def _p5_child(n: int) -> dict[str, Any]:
    from sfxero_dagster.config import load_config
    from sfxero_dagster.core.matching import MatchSettings, match_contacts

    m = load_config(CONFIG).matching
    settings = MatchSettings(
        fuzzy_threshold=m.fuzzy_threshold,
        ambiguity_margin=m.ambiguity_margin,
        use_tax_number=m.use_tax_number,
        use_email_domain=m.use_email_domain,
        ignore_generic_email_domains=m.ignore_generic_email_domains,
    )
    customers, contacts, truth = p5_data(n)
    matches, figures = _measured(lambda: match_contacts(customers, contacts, settings))
    quality = p5_quality(matches, truth)
    quality["missed_outside_block"] = _missed_outside_block(matches, truth, customers, contacts)
    return {
        "benchmark": "P5 contact matching",
        "accounts": n,
        "xero_contacts": len(contacts),
        **figures,
        "quality": quality,
        "target": {**P5_TARGET, "quality": P5_QUALITY_FLOOR},
        "met": figures["seconds"] < P5_TARGET["seconds"]
        and figures["peak_rss_mb"] < P5_TARGET["peak_rss_mb"]
        and quality["ok"],
    }


def p5(n: int = 100_000) -> dict[str, Any]:
    """P5: match ``n`` Salesforce accounts against ``n`` Xero contacts (fresh process; JSON-able)."""
    return _in_child("p5", n)


def _p6_child(lines: int) -> dict[str, Any]:
    from sfxero_dagster.config import load_config
    from sfxero_dagster.core.validation import validate_invoices
    from sfxero_dagster.defs.salesforce.assets import ASSET_NAMES
    from sfxero_dagster.defs.staging.assets import stage_all, validation_inputs
    from sfxero_dagster.defs.xero.assets import reference_frames
    from sfxero_dagster.store.warehouse import Warehouse

    cfg = load_config(CONFIG)
    frames, xero, meta = p6_data(lines)
    with tempfile.TemporaryDirectory(prefix="sfxero-p6-") as tmp:
        wh = Warehouse(Path(tmp) / "warehouse.duckdb")
        for obj, df in frames.items():
            wh.replace(f"sf_{ASSET_NAMES[obj]}", df)
        ref_tables = [reference_frames(t, ref) for t, ref in xero.items()]
        for name in ref_tables[0]:
            wh.replace(name, pd.concat([r[name] for r in ref_tables], ignore_index=True))
        del frames, ref_tables

        def work() -> tuple[Any, dict[str, float]]:
            """What the staging multi-asset and then valid_invoices do, reads and writes included."""
            start = time.perf_counter()
            for name, df in stage_all(wh, cfg).items():
                wh.replace(name, df)
            staged, stage_peak = time.perf_counter(), _peak_mb()
            headers, lns, references = validation_inputs(wh)
            to_send = headers.loc[
                ~headers["is_deleted"].astype(bool)
                & ~headers["is_cancelled"].astype(bool)
                & ~headers["is_withdrawn"].astype(bool)
            ]
            result = validate_invoices(to_send, lns, references, cfg)
            wh.replace("valid_invoice_headers", result.valid)
            wh.replace("valid_invoice_lines", result.valid_lines)
            wh.replace("invoice_rejects", result.rejects)
            phases = {
                "stage_seconds": round(staged - start, 2),
                "validate_seconds": round(time.perf_counter() - staged, 2),
                "peak_rss_by_end_of_staging_mb": round(stage_peak, 1),  # the rest is validation's
                "lines_staged": len(lns),
                "headers_validated": len(to_send),
            }
            return result, phases

        (result, phases), figures = _measured(work)
    quality = p6_quality(result, meta["planted"])
    return {
        "benchmark": "P6 staging and validation",
        **meta["sizes"],
        **figures,
        **phases,
        "quality": quality,
        "target": P6_TARGET,
        "met": figures["seconds"] < P6_TARGET["seconds"]
        and quality["rejected_exactly_as_planted"] == quality["planted_headers"]
        and quality["false_rejects"] == 0,
    }


def p6(lines: int = 1_000_000) -> dict[str, Any]:
    """P6: stage and validate ``lines`` invoice lines from Salesforce extracts (fresh process; JSON-able)."""
    return _in_child("p6", lines)


# ----- CLI ------------------------------------------------------------------------------------------------
def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.scale", description=__doc__.splitlines()[0])
    parser.add_argument("--p5-n", type=int, default=100_000, help="accounts and contacts (0 skips P5)")
    parser.add_argument("--p6-lines", type=int, default=1_000_000, help="invoice lines (0 skips P6)")
    parser.add_argument("--child", choices=["p5", "p6"], help=argparse.SUPPRESS)
    parser.add_argument("--size", type=int, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.child:
        run = {"p5": _p5_child, "p6": _p6_child}[args.child]
        print(json.dumps(run(args.size)))
        return
    out: dict[str, Any] = {}
    if args.p5_n:
        out["p5"] = p5(args.p5_n)
    if args.p6_lines:
        out["p6"] = p6(args.p6_lines)
    print(json.dumps(out, indent=2))


if __name__ == "__main__":
    main()
