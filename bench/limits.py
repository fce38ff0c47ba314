"""Benchmarks P3 and P4 (issue #9): pacing under Xero's real minute limit, and Salesforce calls per row.

P3  Push ~6,000 invoices with their contacts to one Xero organisation while the sandbox enforces Xero's
    real 60 calls per minute per tenant, in real time (the sandbox clock runs at wall speed during the
    push). Wall time against the floor any client faces, and the 429s received.
P4  Salesforce API calls per row read (history extract, delta) and per row written back (Xero ids,
    invoice status), against the floor (REST pages of 2,000, collections of 200, a Bulk 2.0 job's fixed
    calls) and a per-record write-back (one call per record).

``python -m bench.limits [p3|p4]`` prints the figures as JSON (the dicts ``p3()`` and ``p4()`` return).
"""

from __future__ import annotations

import json
import logging
import math
import os
import sys
import tempfile
import time
from collections import Counter
from collections.abc import Callable
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

import dagster as dg
import yaml

from bench.run import _materialize, _prepare, _runner, _world

MINUTE = 60  # Xero's documented limit: 60 calls per rolling minute per organisation


def sliding_window_floor(calls: int, limit: int = MINUTE, window: float = 60.0) -> float:
    """Least wall time in which any client can make ``calls`` calls under ``limit`` per rolling window.

    The first ``limit`` calls may all go at once; call ``k`` (0-based) cannot start before call
    ``k - limit`` has left the window, so the last one starts no earlier than
    ``window * floor((calls - 1) / limit)`` seconds after the first. Response times count as zero,
    which makes this a floor no client reaches exactly.
    """
    return window * ((calls - 1) // limit) if calls > 0 else 0.0


def _stamp(at: str) -> float:
    return datetime.fromisoformat(at).timestamp()


def measure_push(
    handle: Any,
    config: Path,
    tenant_key: str,
    *,
    minute: int = MINUTE,
    timer: Callable[[], float] = time.perf_counter,
) -> dict[str, Any]:
    """Push one organisation's contacts and invoices with ``minute`` calls per rolling minute enforced.

    The sandbox enforces the limit (with Xero's 5,000 a day and 5 concurrent) and the client config
    carries the same ``minute_limit``. The sandbox clock moves once, by a minute, before the push, so
    earlier calls (the preparation's) are out of the window; during the push it runs as it runs (wall
    speed for the benchmark; frozen, moved only by the client's waits, in the test). ``timer`` measures
    the push: wall time by default, sandbox time in the test.
    """
    from sfxero_dagster.config import load_config

    tenant = next(t for t in load_config(config).xero.tenants if t.key == tenant_key)
    handle.xero.set_limits(tenant.tenant_id, minute=minute, day=5000, concurrent=5)
    raw = yaml.safe_load(config.read_text())
    for t in raw["xero"]["tenants"]:
        if t["key"] == tenant_key:
            t["minute_limit"] = minute
    config.write_text(yaml.safe_dump(raw, sort_keys=False, allow_unicode=True))
    handle.clock.advance(61)
    handle.xero.request_log.clear()
    started = timer()
    _materialize(
        config, dg.AssetSelection.assets(["xero", tenant_key, "contacts"], ["xero", tenant_key, "invoices"])
    )
    seconds = timer() - started
    log = [r for r in handle.xero.request_log if not r["path"].startswith("/connect/")]
    answered = [r for r in log if r["status"] != 429]
    stamps = sorted(_stamp(r["at"]) for r in answered)
    calls, throttled = len(answered), len(log) - len(answered)
    floor = sliding_window_floor(calls, minute)
    ratio = seconds / floor if floor else None
    return {
        "tenant": tenant_key,
        "minute_limit": minute,
        "calls": calls,
        "write_calls": sum(1 for r in answered if r["method"] in ("PUT", "POST")),
        "read_calls": sum(1 for r in answered if r["method"] == "GET"),
        "throttled_429": throttled,
        "throttled_at_call": [i for i, r in enumerate(log) if r["status"] == 429],
        "wall_seconds": round(seconds, 1),
        "first_to_last_call_seconds": round(stamps[-1] - stamps[0], 1) if stamps else 0.0,
        "floor_seconds": floor,
        "ratio": round(ratio, 3) if ratio else None,
        "floor_definition": (
            f"60 s * floor((calls - 1) / {minute}): the first {minute} calls at once, then each call waits "
            f"for the one {minute} calls earlier to leave the rolling minute; response times count as "
            "zero. Calls are every Xero API request of the push (reads included), 429s excluded; token "
            "refreshes go to the identity server and do not count against the limit."
        ),
        "target": {"ratio_max": 1.1, "throttled_max": 1},
        "met": bool(ratio is not None and ratio <= 1.1 and throttled <= 1),
    }


def p3(tmp: Path, *, scale: str = "p3", tenant_key: str = "uk") -> dict[str, Any]:
    """P3: ~6,000 invoices and their contacts pushed to one organisation at 60 calls a minute, in real time.

    Extract, snapshots, staging and matching run with the limits lifted (as in P1); only the push runs
    under the real limit, at wall speed.
    """
    from sfxero_dagster.config import load_config
    from sfxero_dagster.sync.plan import load_plan

    handle, config = _world(tmp, scale)
    try:
        _prepare(config)
        cfg = load_config(config)
        wh, led, _ = _state(config)
        tenant = next(t for t in cfg.xero.tenants if t.key == tenant_key)
        plans = {c: load_plan(c, tenant, cfg, wh, led, preview=True) for c in ("Contacts", "Invoices")}
        push = measure_push(handle, config, tenant_key)
    finally:
        handle.stop()
    return {
        "scale": scale,
        "invoices": sum(1 for p in plans["Invoices"] if p.action == "create"),
        "contacts_written": sum(1 for p in plans["Contacts"] if p.writes),
        "invoices_held_back": dict(
            Counter(p.reason_code for p in plans["Invoices"] if p.action == "queue").most_common()
        ),
        "write_floor_calls": sum(
            math.ceil(sum(1 for p in plan if p.action == a) / 50)
            for plan in plans.values()
            for a in ("create", "update")
        ),
        **push,
    }


REST_PAGE = 2000  # rows per REST query page (Sforce-Query-Options batchSize, the maximum)
COLLECTION = 200  # records per sObject Collections call
BULK_READ_CALLS = 2  # create the query job, poll it once; plus one results call per 50,000 rows
BULK_RESULT_PAGE = 50_000
BULK_WRITE_CALLS = 5  # create, upload, close, poll once, successfulResults


def _sf_kind(r: dict[str, Any]) -> str:
    path = r["path"]
    if path.endswith("/oauth2/token") or "/Soap/" in path:
        return "login"
    if "/jobs/" in path:
        return "bulk"
    if path.endswith("/describe") or path.endswith("/describe/"):
        return "describe"
    if "/query" in path:
        return "query"
    if "/composite/sobjects" in path:
        return "collection"
    return "other"


def _calls(handle: Any) -> dict[str, int]:
    counts = Counter(_sf_kind(r) for r in handle.salesforce.request_log)
    return {"all": sum(counts.values()), **dict(sorted(counts.items()))}


def read_floor(rows: int, threshold: int) -> int:
    """Fewest calls that can read ``rows`` rows of one object: REST pages, or one Bulk 2.0 query job."""
    if rows > max(threshold, REST_PAGE):
        return BULK_READ_CALLS + math.ceil(rows / BULK_RESULT_PAGE)
    return max(1, math.ceil(rows / REST_PAGE))  # even an empty delta asks once


def write_floor(rows: int, threshold: int) -> int:
    """Fewest calls that can write ``rows`` records of one object: collections of 200, or one Bulk job."""
    if rows > threshold:
        return BULK_WRITE_CALLS
    return math.ceil(rows / COLLECTION)


def _data_calls(calls: dict[str, int], kind: str) -> int:
    return calls.get(kind, 0) + calls.get("bulk", 0)


def _state(config: Path) -> tuple[Any, Any, int]:
    """The warehouse, the ledger and the shipped bulk_threshold of the world ``config`` points at."""
    from sfxero_dagster.config import load_settings
    from sfxero_dagster.store.ledger import Ledger
    from sfxero_dagster.store.warehouse import Warehouse

    settings = load_settings(config)
    return (
        Warehouse(settings.warehouse_path),
        Ledger(settings.ledger_path),
        settings.config.salesforce.bulk_threshold,
    )


def measure_extract(handle: Any, config: Path, *, partition_key: str | None = None) -> dict[str, Any]:
    """Run the Salesforce extracts (all history, or one partition: a delta) and count what they cost."""
    threshold = _state(config)[2]
    handle.salesforce.request_log.clear()
    runner = _runner(config)
    result = runner.extract_history() if partition_key is None else runner.extract_day(partition_key)
    rows = {
        ev.asset_key.path[-1]: int(ev.materialization.metadata["rows_read"].value)
        for ev in result.get_asset_materialization_events()
    }
    calls = _calls(handle)
    total, floor, data = (
        sum(rows.values()),
        sum(read_floor(n, threshold) for n in rows.values()),
        _data_calls(calls, "query"),
    )
    return {
        "rows": total,
        "rows_by_object": rows,
        "calls": calls,
        "data_calls": data,
        "floor_data_calls": floor,
        "data_calls_vs_floor": round(data / floor, 3),
        "rows_per_call": round(total / calls["all"], 2),
        "rows_per_data_call": round(total / data, 1),
    }


def _writes(calls: dict[str, int], rows: dict[str, int], floor: int) -> dict[str, Any]:
    total, data = sum(rows.values()), _data_calls(calls, "collection")
    return {
        "rows": total,
        "rows_by_object": rows,
        "calls": calls,
        "data_calls": data,
        "floor_data_calls": floor,
        "data_calls_vs_floor": round(data / floor, 3) if floor else None,
        "rows_per_call": round(total / calls["all"], 1) if calls["all"] else None,
        "per_record_calls": total,
        "per_record_vs_ours": round(total / calls["all"], 1) if calls["all"] else None,
    }


def measure_identity_writeback(handle: Any, config: Path) -> dict[str, Any]:
    """``salesforce/xero_ids``: Xero ids onto Accounts, Opportunities and Orders (after a push)."""
    threshold = _state(config)[2]
    handle.salesforce.request_log.clear()
    result = _materialize(config, dg.AssetSelection.assets(["salesforce", "xero_ids"]))
    meta = result.get_asset_materialization_events()[0].materialization.metadata
    rows = {o: int(meta[f"{o.lower()}_updates"].value) for o in ("Account", "Opportunity", "Order")}
    return _writes(_calls(handle), rows, sum(write_floor(n, threshold) for n in rows.values()))


def pay_some(handle: Any, config: Path, every: int = 3) -> int:
    """Xero users record payments: every ``every``-th pushed invoice paid in full, the next one half."""
    led = _state(config)[1]
    links = led.links_frame(xero_object="Invoices").sort_values("xero_id").to_dict("records")
    paid = 0
    for i, r in enumerate(links):
        due = Decimal(str(handle.xero.store.get(f"{r['tenant_id']}/Invoice", r["xero_id"])["AmountDue"]))
        if i % every > 1 or due < Decimal("0.02"):
            continue
        amount = due if i % every == 0 else (due / 2).quantize(Decimal("0.01"))
        handle.xero.act("pay", tenant_id=r["tenant_id"], invoice=r["xero_id"], amount=str(amount))
        paid += 1
    handle.clock.advance(60)
    return paid


def _status_keys(wh: Any) -> set[str]:
    """Keys ('Object:id') the status write-back has written, from its change-detection tables."""
    written = wh.read("sf_status_written", ["key", "hash"])["key"]
    rollups = wh.read("sf_rollups_written", ["key", "values"])["key"]
    return set(written) | set(rollups)


def measure_status_writeback(handle: Any, config: Path) -> dict[str, Any]:
    """``salesforce/<tenant>/invoice_status`` for every organisation: Xero_Invoice__c, Xero_Payment__c
    and the roll-ups on Account and Opportunity/Order. Rows per object come from the asset's own
    change-detection tables; the floor is per run, since each organisation's run batches on its own."""
    from sfxero_dagster.config import load_config

    wh, _, threshold = _state(config)
    rows: Counter[str] = Counter()
    floor = 0
    handle.salesforce.request_log.clear()
    for t in load_config(config).xero.tenants:
        before = _status_keys(wh)
        _materialize(config, dg.AssetSelection.assets(["salesforce", t.key, "invoice_status"]))
        new = Counter(k.split(":", 1)[0] for k in _status_keys(wh) - before)
        rows.update(new)
        floor += sum(write_floor(n, threshold) for n in new.values())
    return _writes(_calls(handle), dict(sorted(rows.items())), floor)


def edit_opportunities(handle: Any, config: Path, pct: float) -> int:
    """A user edits ``pct`` % of the opportunities (one line's quantity each), ten minutes on."""
    lines = _state(config)[0].read("sf_opportunity_line_items", ["Id", "OpportunityId", "Quantity"])
    first = lines.sort_values("Id").drop_duplicates("OpportunityId")
    edits = first.head(max(1, round(len(first) * pct / 100)))
    handle.clock.advance(600)
    for line_id, qty in zip(edits["Id"], edits["Quantity"], strict=True):
        handle.salesforce.act("edit", id=line_id, fields={"Quantity": float(qty) + 1})
    return len(edits)


def measure_bulk(handle: Any, config: Path, *, threshold: int = 1000, page: int = 2000) -> dict[str, Any]:
    """The Bulk 2.0 path, which the shipped threshold (10,000 rows) keeps the ``bench`` world below:
    the same client, with ``bulk_threshold`` lowered to ``threshold``, reads every opportunity line and
    re-upserts every ``Xero_Invoice__c`` (same values, by external id). A read first asks one REST
    page (``page`` rows) to learn the size, then runs one query job; a write is one ingest job."""
    from sfxero_dagster.clients.salesforce import SalesforceClient, SalesforceCredentials, SalesforceSettings
    from sfxero_dagster.config import load_settings
    from sfxero_dagster.defs.salesforce.assets import extracts

    cfg, env = load_settings(config).config, os.environ
    secrets = SalesforceCredentials(
        consumer_key=env.get("SF_CONSUMER_KEY"), consumer_secret=env.get("SF_CONSUMER_SECRET")
    )
    # the bench's own page size and threshold, below the configured bounds on purpose (no validation)
    settings = SalesforceSettings.of(cfg.salesforce, secrets).model_copy(
        update={"query_batch_size": page, "bulk_threshold": threshold, "bulk_poll_seconds": 0.2}
    )
    sf = SalesforceClient(settings)
    sf.login()
    fields = next(e.fields for e in extracts(cfg) if e.object_name == "OpportunityLineItem")
    handle.salesforce.request_log.clear()
    rows = len(sf.extract("OpportunityLineItem", list(fields)))
    read_calls = _calls(handle)
    ext = cfg.payments.invoice_external_id
    current = list(sf.query(f"SELECT {ext}, Status__c FROM {cfg.payments.invoice_object}"))
    handle.salesforce.request_log.clear()
    outcomes = sf.upsert(
        cfg.payments.invoice_object, ext, [{ext: r[ext], "Status__c": r["Status__c"]} for r in current]
    )
    write_calls = _calls(handle)
    return {
        "bulk_threshold": threshold,
        "read": {
            "object": "OpportunityLineItem",
            "rows": rows,
            "calls": read_calls,
            "bulk_calls": read_calls.get("bulk", 0),
            "job_floor_calls": BULK_READ_CALLS + math.ceil(rows / BULK_RESULT_PAGE),
            "note": "plus one REST page that learns the size and one describe that types the CSV back",
            "rest_pages_instead": math.ceil(rows / REST_PAGE),
        },
        "write": {
            "object": cfg.payments.invoice_object,
            "rows": len(outcomes),
            "ok": sum(1 for o in outcomes if o.success),
            "calls": write_calls,
            "bulk_calls": write_calls.get("bulk", 0),
            "job_floor_calls": BULK_WRITE_CALLS,
            "note": "simple-salesforce reads the job once more after its last poll, for the counts",
            "collections_instead": math.ceil(len(outcomes) / COLLECTION),
            "per_record_instead": len(outcomes),
        },
    }


def p4(tmp: Path, *, scale: str = "bench", changed_pct: float = 1.0, pay_every: int = 3) -> dict[str, Any]:
    """P4: Salesforce calls per row read (history, then a delta) and per row written back.

    Counted from the Salesforce sandbox's request log, so every HTTP request counts: logins,
    describes, query pages, collection and Bulk calls. The floor counts only the calls that move
    data (query pages or a Bulk job; collections of 200 or a Bulk job) at the shipped
    ``bulk_threshold``; the per-record approach makes one call per record written. The delta runs
    before the push, so it reads the user's edits and not the write-back's own echo.
    """
    handle, config = _world(tmp, scale)  # Xero limits lifted: P4 is about Salesforce
    try:
        history = measure_extract(handle, config)
        edited = edit_opportunities(handle, config, changed_pct)
        today = handle.clock.now().astimezone(UTC).date().isoformat()
        delta = {**measure_extract(handle, config, partition_key=today), "opportunities_edited": edited}
        _runner(config).cycle(("reference", "stage", "push"))
        identity = measure_identity_writeback(handle, config)
        paid = pay_some(handle, config, pay_every)
        status = {**measure_status_writeback(handle, config), "invoices_paid_in_xero": paid}
        bulk = measure_bulk(handle, config)
        threshold = _state(config)[2]
    finally:
        handle.stop()
    sections = (history, delta, identity, status)
    return {
        "scale": scale,
        "bulk_threshold": threshold,
        "history_extract": history,
        "delta_extract": delta,
        "xero_ids_writeback": identity,
        "invoice_status_writeback": status,
        "bulk_path": bulk,
        "floor_definition": (
            f"reads: per object max(1, ceil(rows / {REST_PAGE})) REST query pages, or above bulk_threshold "
            f"one Bulk 2.0 query job ({BULK_READ_CALLS} calls + 1 per {BULK_RESULT_PAGE:,} rows); writes: "
            f"per object and run ceil(rows / {COLLECTION}) sObject Collections calls, or above "
            f"bulk_threshold one Bulk 2.0 job ({BULK_WRITE_CALLS} calls). Logins and describes are not in "
            "the floor; they are in calls.all and rows_per_call."
        ),
        "target": "data calls at the floor (ratio 1.0)",
        "met": all(s["data_calls_vs_floor"] in (None, 1.0) for s in sections),
    }


def main(argv: list[str]) -> None:
    logging.getLogger("dagster").setLevel(logging.WARNING)
    which = argv or ["p3", "p4"]
    out: dict[str, Any] = {}
    for name in which:
        with tempfile.TemporaryDirectory() as tmp:
            started = time.perf_counter()
            figures = {"p3": p3, "p4": p4}[name](Path(tmp))
            out[name.upper()] = {**figures, "bench_seconds": round(time.perf_counter() - started, 1)}
    print(json.dumps(out, indent=2))


if __name__ == "__main__":
    main(sys.argv[1:])
