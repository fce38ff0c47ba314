"""A generated world: a fresh copy of the prepared small org, the perturbations applied to it through the
Salesforce sandbox and Xero user actions, and one sync = what the schedule would run after an edit."""

from __future__ import annotations

import contextlib
import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path

import dagster as dg
import pytest

from sfxero_dagster.runner import PUSH, REFERENCE, STAGE, WRITEBACK
from sfxero_dagster.sandbox.run import start_sandbox

from ..defs.conftest import World, make_world
from .stats import STATS

# invariant asset checks the push itself evaluates: a failure of one of them fails the world
INVARIANT_CHECKS = ("foreign_contacts_untouched", "one_live_document")


@contextlib.contextmanager
def fresh_world(template: Path) -> Iterator[World]:
    """A copy of the prepared template on fresh ports, with its own environment; stopped afterwards.

    Built inside the test, not by a function-scoped fixture: hypothesis runs many examples per call."""
    tmp = Path(tempfile.mkdtemp(prefix="gen-world-"))
    mp = pytest.MonkeyPatch()
    handle = None
    try:
        for name in ("sandbox", "state"):
            shutil.copytree(template / name, tmp / name)
        handle = start_sandbox(tmp / "sandbox")
        w = make_world(tmp, mp, handle=handle)
        with dg.instance_for_test() as instance:
            w.instance = instance
            STATS.worlds += 1
            yield w
    finally:
        if handle is not None:
            handle.stop()
        mp.undo()
        shutil.rmtree(tmp, ignore_errors=True)


def _writes(log: list[dict], token_paths: tuple[str, ...]) -> list[str]:
    return [
        f"{r['method']} {r['path']}"
        for r in log
        if r["method"] in ("PUT", "POST", "PATCH", "DELETE")
        and not any(t in r["path"].lower() for t in token_paths)
        and not r["path"].lower().endswith("/query")
        and r["status"] != 401  # an expired token: refused before anything is written, then retried
    ]


def api_writes(world: World) -> tuple[list[str], list[str]]:
    """Writes the sandboxes logged since their logs were last cleared: (Xero, Salesforce)."""
    xero = _writes(list(world.handle.xero.request_log), ("/connect/token",))
    sf = _writes(list(world.handle.salesforce.request_log), ("/oauth2/", "/services/soap"))
    return xero, sf


def clear_logs(world: World) -> None:
    for app in (world.handle.xero, world.handle.salesforce):
        with app._log_lock:
            app.request_log.clear()


def sync(world: World) -> list[dg.ExecuteInProcessResult]:
    """Extract today's changes, stage, validate, match, push every organisation, write back.

    A re-routed record is voided in its old organisation and created in the new one; when the new one's
    push ran first in the run, the create follows in the next push (documented in test_one_live_document),
    so while a re-routed record waits for its old invoice's void, one more push follows."""
    STATS.syncs += 1
    world.handle.clock.advance(600)
    runner = world.runner()
    results = [runner.extract_day(world.today())]
    results.append(runner.run(REFERENCE | STAGE | PUSH | WRITEBACK))
    if world.ledger.queue_list(reason_code="invoice_rerouted"):
        results.append(runner.run(PUSH | WRITEBACK))
    return results


def failed_invariant_checks(results: list[dg.ExecuteInProcessResult]) -> list[str]:
    return [
        f"{c.asset_key.to_user_string()} {c.check_name}: {c.metadata.get('examples')}"
        for r in results
        for c in r.get_asset_check_evaluations()
        if c.check_name in INVARIANT_CHECKS and not c.passed
    ]
