"""``make bench``: efficiency figures measured side by side in one run on the sandbox.

P1  Xero calls to push ~1,000 new invoices with their contacts: ours vs the floor (ceil(N/50) per write
    kind and tenant) vs a per-record baseline written here with xero-python (find the contact by name,
    create it if missing, create the invoice: one call each), on two identical sandboxes.
P2  A re-run with 0 % and with 1 % of the invoiced opportunities changed: write calls.
P3  ~6,000 invoices to one organisation under the real 60 calls/minute, in real time (bench/limits.py).
P4  Salesforce calls per row read and per row written back (bench/limits.py).
P5  Matching 100,000 accounts against 100,000 Xero contacts: seconds, peak memory (bench/scale.py).
P6  Staging and validating 1,000,000 invoice lines: seconds, peak memory (bench/scale.py).

``python -m bench.run [P1 P3 ...]`` runs all (default) or some; figures not re-run are kept from the
previous ``bench/results/latest.json``, each with the time it was measured. Writes ``latest.json`` and
``latest.md``. The chaos soak is ``make soak`` (bench/soak.py).
"""

from __future__ import annotations

import json
import logging
import math
import os
import platform
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

import dagster as dg
import yaml

from sfxero_dagster.runner import PUSH, STAGE

REPO = Path(__file__).resolve().parents[1]
RESULTS = REPO / "bench" / "results"
WRITE_PATHS = ("/Contacts", "/Invoices", "/Items", "/CreditNotes")


def _world(tmp: Path, scale: str):
    from sfxero_dagster.clients.xero_tokens import FileTokenStore
    from sfxero_dagster.sandbox.run import start_sandbox

    handle = start_sandbox(tmp / "sandbox", scale=scale)
    for t in handle.xero.info()["tenants"]:  # P1/P2 count calls; P3 measures pacing under real limits
        handle.xero.set_limits(t["tenantId"], minute=1_000_000, day=1_000_000, concurrent=100)
    state = tmp / "state"
    state.mkdir(parents=True)
    config = handle.write_client_config(REPO / "sfxero.yaml", tmp / "sfxero.yaml", state)
    cfg = yaml.safe_load(config.read_text())
    for t in cfg["xero"]["tenants"]:
        t["minute_limit"] = 100_000
    config.write_text(yaml.safe_dump(cfg))
    os.environ.update(handle.client_environment())
    os.environ["SFXERO_CONFIG"] = str(config)
    FileTokenStore(state / "xero_token.json").save(
        {"refresh_token": handle.xero.info()["refresh_token"], "expires_at": 0}
    )
    return handle, config


def _runner(config: Path):
    """The cycle's runner on the world ``config`` points at (parsed now: measure_push rewrites it)."""
    from sfxero_dagster.config import load_settings
    from sfxero_dagster.runner import Runner

    return Runner(load_settings(config), dg.DagsterInstance.ephemeral())


def _materialize(config: Path, selection, **kwargs):
    return _runner(config).run(selection, **kwargs)


def _writes(handle) -> int:
    return sum(
        1
        for r in handle.xero.request_log
        if r["method"] in ("PUT", "POST") and r["path"].endswith(WRITE_PATHS)
    )


def _prepare(config: Path) -> None:
    """History extract, Xero snapshots, staging and matching: ready to push."""
    _runner(config).cycle(("extract", "reference", "stage"))


def p1_p2(tmp: Path) -> dict:
    from sfxero_dagster.config import load_config
    from sfxero_dagster.store.ledger import Ledger
    from sfxero_dagster.store.warehouse import Warehouse
    from sfxero_dagster.sync.plan import load_plan

    handle, config = _world(tmp / "ours", "bench")
    try:
        _prepare(config)
        cfg = load_config(config)
        wh, led = Warehouse(tmp / "ours/state/warehouse.duckdb"), Ledger(tmp / "ours/state/ledger.duckdb")
        plans = {
            (t.key, c): load_plan(c, t, cfg, wh, led, preview=True)
            for t in cfg.xero.tenants
            for c in ("Contacts", "Invoices")
        }
        floor = sum(
            math.ceil(sum(1 for p in plan if p.action == action) / 50)
            for plan in plans.values()
            for action in ("create", "update")
        )
        invoices = sum(
            1 for (_, c), plan in plans.items() if c == "Invoices" for p in plan if p.action == "create"
        )
        contacts = sum(1 for (_, c), plan in plans.items() if c == "Contacts" for p in plan if p.writes)
        handle.xero.request_log.clear()
        started = time.perf_counter()
        _materialize(config, PUSH)
        ours_seconds = time.perf_counter() - started
        ours = _writes(handle)
        ours_total = len(handle.xero.request_log)
        handle.xero.request_log.clear()
        _materialize(config, PUSH)
        rerun_0 = _writes(handle)
        # P2: change 1 % of the invoiced opportunities in Salesforce, then run the delta
        links = led.links_frame(xero_object="Invoices")
        opp_ids = sorted(links.loc[links["sf_object"] == "Opportunity", "sf_id"])
        changed = opp_ids[: max(1, len(opp_ids) // 100)]
        lines = wh.read("valid_invoice_lines")
        handle.clock.advance(600)
        for oid in changed:
            line = lines.loc[lines["sf_header_id"] == oid].iloc[0]
            handle.salesforce.act(
                "edit", id=line["sf_line_id"], fields={"Quantity": float(line["quantity"]) + 1}
            )
        today = handle.clock.now().astimezone(UTC).date().isoformat()
        _runner(config).extract_day(today)
        _materialize(config, STAGE)
        handle.xero.request_log.clear()
        _materialize(config, PUSH)
        rerun_1 = _writes(handle)
        tenants_touched = len(set(links.loc[links["sf_id"].isin(changed), "tenant_id"]))
        to_send = [p for plan in plans.values() for p in plan if p.writes]
    finally:
        handle.stop()

    baseline = per_record_baseline(tmp / "baseline", to_send)
    return {
        "P1": {
            "invoices": invoices,
            "contacts_written": contacts,
            "ours_write_calls": ours,
            "ours_all_calls": ours_total,
            "floor": floor,
            "ours_vs_floor": round(ours / floor, 3),
            "baseline_calls": baseline["calls"],
            "baseline_vs_ours": round(baseline["calls"] / ours_total, 1),
            "ours_seconds": round(ours_seconds, 1),
            "baseline_seconds": baseline["seconds"],
        },
        "P2": {
            "rerun_0pct_write_calls": rerun_0,
            "changed_records_1pct": len(changed),
            "rerun_1pct_write_calls": rerun_1,
            "rerun_1pct_floor": tenants_touched,
        },
    }


def per_record_baseline(tmp: Path, planned: list) -> dict:
    """What a per-record integration does, with xero-python and no batching: for each invoice, look its
    contact up by name, create the contact if missing, then create the invoice (one call each)."""
    from xero_python.accounting import AccountingApi
    from xero_python.api_client import ApiClient, Configuration
    from xero_python.api_client.deserializer import deserialize
    from xero_python.api_client.oauth2 import OAuth2Token, TokenApi

    from sfxero_dagster.clients.xero import _to_xero_json

    handle, _config = _world(tmp, "bench")
    try:
        info = handle.xero.info()
        TokenApi.refresh_token_url = info["token_url"]
        client = ApiClient(
            Configuration(
                oauth2_token=OAuth2Token(client_id=info["client_id"], client_secret=info["client_secret"])
            )
        )
        token = {
            "access_token": "",
            "refresh_token": info["refresh_token"],
            "scope": info["scopes"],
            "expires_in": 0,
            "token_type": "Bearer",
            "expires_at": 0,
        }
        client.oauth2_token_getter(lambda: token)
        client.oauth2_token_saver(token.update)
        client.set_oauth2_token(token)
        client.refresh_oauth2_token()
        api = AccountingApi(client, base_url=info["base_url"])
        finder = api.get_model_finder()
        tenants = {t["key"]: t["tenantId"] for t in info["tenants"]}
        # the contact each planned invoice belongs to, as the plan would create or update it
        by_contact_id = {
            (p.tenant_key, (p.payload or {}).get("ContactID")): p.payload
            for p in planned
            if p.collection == "Contacts"
        }
        by_account = {(p.tenant_key, p.sf_id): p.payload for p in planned if p.collection == "Contacts"}
        handle.xero.request_log.clear()
        started = time.perf_counter()
        for p in planned:
            if p.collection != "Invoices":
                continue
            tid = tenants[p.tenant_key]
            ref = p.payload["Contact"].get("ContactID")
            account = ref.removeprefix("new:") if ref.startswith("new:") else None
            contact = by_contact_id.get((p.tenant_key, ref)) or by_account.get((p.tenant_key, account)) or {}
            name = contact.get("Name") or f"Customer of {p.sf_id}"
            quoted = name.replace("\\", "\\\\").replace('"', '\\"')
            found = api.get_contacts(tid, where=f'Name=="{quoted}"').contacts or []
            if found:
                contact_id = found[0].contact_id
            else:
                body = {k: v for k, v in contact.items() if k != "ContactID"} or {"Name": name}
                created = api.create_contacts(
                    tid, deserialize("Contacts", {"Contacts": _to_xero_json([body])}, finder)
                )
                contact_id = created.contacts[0].contact_id
            invoice = {k: v for k, v in p.payload.items() if k != "InvoiceID"}
            invoice["Contact"] = {"ContactID": str(contact_id)}
            api.create_invoices(
                tid, deserialize("Invoices", {"Invoices": _to_xero_json([invoice])}, finder), unitdp=4
            )
        return {"calls": len(handle.xero.request_log), "seconds": round(time.perf_counter() - started, 1)}
    finally:
        handle.stop()


def _machine() -> dict:
    return {
        "python": sys.version.split()[0],
        "platform": platform.platform(),
        "cpus": os.cpu_count(),
        "when": datetime.now(UTC).isoformat(timespec="seconds"),
    }


def _yes(met: bool) -> str:
    return "met" if met else "**missed**"


def report(f: dict) -> str:
    """The markdown table README shows: one row per figure, with its target and whether it is met."""
    rows = ["| figure | measured | target | |", "|---|---|---|---|"]
    if "P1" in f:
        p1, p2 = f["P1"], f["P2"]
        rows += [
            f"| P1 write calls to push {p1['invoices']:,} invoices and {p1['contacts_written']} contacts | "
            f"{p1['ours_write_calls']} (floor {p1['floor']}: {p1['ours_vs_floor']}x) | within 1.1x of the floor | "
            f"{_yes(p1['ours_vs_floor'] <= 1.1)} |",
            f"| P1 all Xero calls, ours vs per-record baseline | {p1['ours_all_calls']} vs {p1['baseline_calls']:,} "
            f"({p1['baseline_vs_ours']}x fewer) | at least 50x fewer | {_yes(p1['baseline_vs_ours'] >= 50)} |",
            f"| P2 re-run with 0 % changed: write calls | {p2['rerun_0pct_write_calls']} | 0 | "
            f"{_yes(p2['rerun_0pct_write_calls'] == 0)} |",
            f"| P2 re-run with 1 % changed ({p2['changed_records_1pct']} opportunities): write calls | "
            f"{p2['rerun_1pct_write_calls']} (floor {p2['rerun_1pct_floor']}) | - | |",
        ]
    if "P3" in f:
        p3 = f["P3"]
        rows.append(
            f"| P3 {p3['invoices']:,} invoices + {p3['contacts_written']:,} contacts to one organisation at "
            f"60 calls/min, real time | {p3['wall_seconds']} s for {p3['calls']} calls (floor "
            f"{p3['floor_seconds']:.0f} s: {p3['ratio']}x), {p3['throttled_429']} x 429 | within 1.1x, at most "
            f"one 429 | {_yes(p3['met'])} |"
        )
    if "P4" in f:
        p4 = f["P4"]
        h, d = p4["history_extract"], p4["delta_extract"]
        ids, st = p4["xero_ids_writeback"], p4["invoice_status_writeback"]
        rows += [
            f"| P4 Salesforce history extract: rows per call | {h['rows']:,} rows in {h['calls']['all']} calls "
            f"({h['rows_per_call']}/call; data calls {h['data_calls']} = floor {h['floor_data_calls']}) | at the floor | "
            f"{_yes(h['data_calls_vs_floor'] == 1.0)} |",
            f"| P4 delta extract (1 % edited) | {d['rows']:,} rows in {d['calls']['all']} calls (data calls "
            f"{d['data_calls']} = floor {d['floor_data_calls']}) | at the floor | {_yes(d['data_calls_vs_floor'] == 1.0)} |",
            f"| P4 Xero ids written back | {ids['rows']:,} rows in {ids['calls']['all']} calls ({ids['rows_per_call']}/call; "
            f"per-record: {ids['per_record_calls']:,}) | at the floor | {_yes(ids['data_calls_vs_floor'] in (None, 1.0))} |",
            f"| P4 invoice and payment status written back | {st['rows']:,} rows in {st['calls']['all']} calls "
            f"({st['rows_per_call']}/call; per-record: {st['per_record_calls']:,}) | at the floor | "
            f"{_yes(st['data_calls_vs_floor'] in (None, 1.0))} |",
        ]
    if "P5" in f:
        p5 = f["P5"]
        q = p5["quality"]["total"]
        rows.append(
            f"| P5 matching {p5['accounts']:,} accounts x {p5['xero_contacts']:,} contacts | {p5['seconds']} s, "
            f"peak {p5['peak_rss_mb']:.0f} MB ({p5['work_rss_mb']:.0f} MB for the matching); {q['correct']:,} right, "
            f"{q['wrong']} wrong, {q['review']:,} to review, {q['missed']:,} missed | under 20 s and 2 GB | {_yes(p5['met'])} |"
        )
    if "P6" in f:
        p6 = f["P6"]
        q = p6["quality"]
        rows.append(
            f"| P6 staging and validating {p6['lines']:,} invoice lines | {p6['seconds']} s (stage "
            f"{p6['stage_seconds']} s, validate {p6['validate_seconds']} s), peak {p6['peak_rss_mb']:.0f} MB; "
            f"{q['rejected_exactly_as_planted']:,} of {q['planted_headers']:,} planted defects rejected with their "
            f"reason, {q['false_rejects']} false rejects | under 60 s | {_yes(p6['met'])} |"
        )
    when = {k: v.get("measured_at", "") for k, v in f.items() if isinstance(v, dict) and "measured_at" in v}
    m = f["machine"]
    return (
        "\n".join(rows)
        + f"\n\nMachine: {m['platform']}, {m['cpus']} CPUs, Python {m['python']}. Measured: "
        + ", ".join(f"{k} {v}" for k, v in when.items())
        + ".\n"
    )


def main(argv: list[str] | None = None) -> None:
    from bench import limits, scale

    wanted = {a.upper() for a in (argv if argv is not None else sys.argv[1:])} or {
        f"P{i}" for i in range(1, 7)
    }
    logging.getLogger("dagster").setLevel(logging.WARNING)
    RESULTS.mkdir(parents=True, exist_ok=True)
    latest = RESULTS / "latest.json"
    figures = json.loads(latest.read_text()) if latest.exists() else {}
    stamp = datetime.now(UTC).isoformat(timespec="seconds")
    with tempfile.TemporaryDirectory() as tmp:
        if wanted & {"P1", "P2"}:
            figures.update({k: {**v, "measured_at": stamp} for k, v in p1_p2(Path(tmp) / "p12").items()})
        if "P3" in wanted:
            figures["P3"] = {**limits.p3(Path(tmp) / "p3"), "measured_at": stamp}
        if "P4" in wanted:
            figures["P4"] = {**limits.p4(Path(tmp) / "p4"), "measured_at": stamp}
    if "P5" in wanted:
        figures["P5"] = {**scale.p5(), "measured_at": stamp}
    if "P6" in wanted:
        figures["P6"] = {**scale.p6(), "measured_at": stamp}
    figures["machine"] = _machine()
    latest.write_text(json.dumps(figures, indent=2))
    md = report(figures)
    (RESULTS / "latest.md").write_text(md)
    print(md)


if __name__ == "__main__":
    main()
