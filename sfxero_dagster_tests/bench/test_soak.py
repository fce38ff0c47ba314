"""The chaos soak, quick: a few schedules on the small org, and proof that its checker is not vacuous."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest

from bench.soak import Soak, full_selection, load_apps, materialize, prepare, restore
from bench.soak_check import check, snapshot_expected, summary
from sfxero_dagster.config import load_config
from sfxero_dagster.store.ledger import IntentIn, Ledger

SEED = 7


@pytest.fixture(scope="module")
def prepared(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    """The small org synced, with a day's work on top: the soak's snapshot (once per worker)."""
    saved = dict(os.environ)
    root = tmp_path_factory.mktemp("soak")
    try:
        prepare(root / "base", "small", SEED)
        yield root
    finally:
        os.environ.clear()
        os.environ.update(saved)


@pytest.fixture(autouse=True)
def _environment() -> Iterator[None]:
    saved = dict(os.environ)  # the soak points SFXERO_CONFIG and the secrets at its own sandbox
    yield
    os.environ.clear()
    os.environ.update(saved)


def test_three_schedules_duplicate_lose_and_break_nothing(prepared: Path) -> None:
    report = Soak(schedules=3, scale="small", seed=SEED, fork=False, workdir=prepared).run(
        progress=lambda _: None
    )
    assert report["runs"]["crashes"] == 0 and report["runs"]["incomplete"] == 0
    assert report["baseline"]["counts"]["inconsistencies"] == 0
    assert report["faults_fired_total"] >= 3  # faults were injected and fired, the runs were disturbed
    assert (report["duplicates"], report["losses"], report["inconsistencies"]) == (0, 0, 0), [
        r.get("problems") for r in report["records"]
    ]


def test_the_checker_reports_a_planted_duplicate_loss_and_broken_ledger(
    prepared: Path, tmp_path: Path
) -> None:
    import json

    base = prepared / "base"
    meta = json.loads((base / "meta.json").read_text())
    apps = load_apps(base)
    handle, config = restore(apps, base, meta, tmp_path / "world")
    try:
        cfg = load_config(config)
        assert materialize(config, full_selection(cfg)).success
        led = Ledger(tmp_path / "world" / "state" / "ledger.duckdb")
        expected = snapshot_expected(led)

        def counts() -> dict[str, int]:
            return summary(check(apps.xero, apps.sf, led, cfg, meta["manifest"], expected))

        assert counts() == dict.fromkeys(counts(), 0)  # the real run is clean
        links = led.links_frame(xero_object="Invoices").to_dict("records")
        dup, gone = links[0], links[1]
        tid = dup["tenant_id"]
        copy = {
            **apps.xero.store.get(f"{tid}/Invoice", dup["xero_id"]),
            "InvoiceID": "f" * 8 + dup["xero_id"][8:],
        }
        apps.xero.store.put(f"{tid}/Invoice", copy["InvoiceID"], copy)  # the same invoice twice in Xero
        found = counts()
        assert found["duplicates"] >= 1 and found["orphans"] >= 1

        apps.xero.store.delete(f"{tid}/Invoice", copy["InvoiceID"])
        assert counts() == dict.fromkeys(counts(), 0)
        other = next(t.tenant_id for t in cfg.xero.tenants if t.tenant_id != tid)
        apps.xero.store.put(f"{other}/Invoice", copy["InvoiceID"], copy)  # live in a second organisation
        found = counts()
        assert found["duplicates"] == 1 and found["orphans"] == 1
        apps.xero.store.delete(f"{other}/Invoice", copy["InvoiceID"])

        apps.xero.store.delete(f"{gone['tenant_id']}/Invoice", gone["xero_id"])  # an invoice lost
        found = counts()
        assert found["losses"] >= 1 and found["ledger"] >= 1

        opp = next(
            r
            for r in links
            if r["sf_object"] == "Opportunity" and r["sf_id"] not in (dup["sf_id"], gone["sf_id"])
        )
        apps.sf.act("edit", id=opp["sf_id"], fields={"Xero_Invoice_Number__c": "SF-WRONG"})
        assert counts()["writeback"] >= 1  # Salesforce no longer says what Xero holds

        led.record_intents(
            [IntentIn("xero:Invoices:PUT", tid, "Opportunity", opp["sf_id"], "Invoices", "SF-X", "h")]
        )
        assert counts()["ledger"] >= found["ledger"] + 1  # an intent left open

        item = next(i for i in led.queue_list() if i.reason_code == "unmapped_tax_code")
        led.queue_ignore(item.item_id, "planted by the test")
        assert counts()["queue"] >= 1  # a planted problem is no longer in the queue
    finally:
        handle.stop()
