"""The sync ledger: every operation, migrations, two writer processes, and recovery after SIGKILL."""

from __future__ import annotations

import multiprocessing as mp
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path

import duckdb
import pytest

from sfxero_dagster.core.hashing import canonical_json, idempotency_key, payload_hash
from sfxero_dagster.store.ledger import (
    SCHEMA_VERSION,
    Closure,
    Event,
    IntentIn,
    Ledger,
    Link,
    QueueItemIn,
)

from . import ledger_worker

T0 = datetime(2026, 1, 1, tzinfo=UTC)


@pytest.fixture
def ledger(tmp_path: Path) -> Ledger:
    return Ledger(tmp_path / "ledger.duckdb")


def intent(sf_id: str, key: str = "k") -> IntentIn:
    return IntentIn(
        "xero:Invoices:PUT", "t1", "Opportunity", sf_id, "Invoice", f"SF-{sf_id}", f"h-{sf_id}", key, "run-1"
    )


def test_links_upsert_lookup_and_frame(ledger: Ledger) -> None:
    ledger.upsert_links([Link("t1", "Account", "001A", "Contact", "c-1", "001A", "h1")], now=T0)
    ledger.upsert_links([Link("t1", "Account", "001A", "Contact", None, None, "h2")], now=T0 + timedelta(1))
    link = ledger.get_link("t1", "Account", "001A", "Contact")
    assert link is not None
    assert (link.xero_id, link.xero_number, link.payload_hash) == ("c-1", "001A", "h2")  # None never erases
    assert ledger.get_link("t2", "Account", "001A", "Contact") is None
    assert [x.sf_id for x in ledger.link_by_xero_id("c-1")] == ["001A"]
    assert list(ledger.links_frame(tenant_id="t1")["xero_id"]) == ["c-1"]
    assert ledger.links_frame(tenant_id="nope").empty


def test_intents_close_once_and_write_link_atomically(ledger: Ledger) -> None:
    a, b = ledger.record_intents([intent("006A"), intent("006B")], now=T0)
    assert {i.sf_id for i in ledger.pending_intents()} == {"006A", "006B"}
    closed = ledger.close_intents(
        [Closure(a, "succeeded", {"status": 200}, "inv-1", "SF-006A"), Closure(b, "failed", {"err": "x"})]
    )
    assert sorted(closed) == sorted([a, b])
    assert ledger.pending_intents() == []
    got = ledger.get_intent(a)
    assert got is not None and got.state == "succeeded" and got.outcome == {"status": 200} and got.closed_at
    link = ledger.get_link("t1", "Opportunity", "006A", "Invoice")
    assert link is not None and (link.xero_id, link.payload_hash) == ("inv-1", "h-006A")
    assert ledger.get_link("t1", "Opportunity", "006B", "Invoice") is None  # failed: no link
    # applying an outcome twice is impossible
    assert ledger.close_intent(Closure(a, "succeeded", None, "inv-OTHER")) is False
    assert ledger.get_link("t1", "Opportunity", "006A", "Invoice").xero_id == "inv-1"


def test_pending_filters(ledger: Ledger) -> None:
    ledger.record_intents(
        [intent("006A"), IntentIn("xero:Contacts:POST", "t2", "Account", "001A", "Contact", "001A", "h")]
    )
    assert [i.sf_id for i in ledger.pending_intents(tenant_id="t2")] == ["001A"]
    assert [i.sf_id for i in ledger.pending_intents(target="xero:Invoices:PUT")] == ["006A"]


def test_recover_pending_links_found_and_abandons_missing(ledger: Ledger) -> None:
    ledger.record_intents([intent("006A"), intent("006B")])
    in_xero = {"SF-006A": ("inv-A", "SF-006A")}
    report = ledger.recover_pending(lambda i: in_xero.get(i.natural_key))
    assert len(report.linked) == 1 and len(report.abandoned) == 1
    assert ledger.get_link("t1", "Opportunity", "006A", "Invoice").xero_id == "inv-A"
    assert ledger.get_link("t1", "Opportunity", "006B", "Invoice") is None
    assert ledger.pending_intents() == []
    again = ledger.recover_pending(lambda i: ("dup", None))
    assert again.linked == [] and again.abandoned == []


def test_events_append_and_query(ledger: Ledger) -> None:
    ledger.log_events(
        [
            Event(
                "create",
                run_id="r1",
                stream="invoices",
                sf_object="Opportunity",
                sf_id="006A",
                tenant_id="t1",
                xero_id="inv-1",
                http_status=200,
                context={"total": Decimal("10.50")},
            ),
            Event(
                "fail",
                run_id="r1",
                sf_id="006B",
                http_status=400,
                error_code="ValidationException",
                message="Invoice # must be unique.",
            ),
            Event("skip", run_id="r2", sf_id="006A"),
        ]
    )
    r1 = ledger.events(run_id="r1")
    assert list(r1["action"]) == ["create", "fail"]
    assert r1.loc[0, "context"] == '{"total": "10.50"}'
    assert r1.loc[1, "http_status"] == 400 and r1.loc[1, "error_code"] == "ValidationException"
    assert list(ledger.events(sf_id="006A")["run_id"]) == ["r1", "r2"]
    assert ledger.events(action="retry").empty


def test_review_queue_upsert_resolve_ignore(ledger: Ledger) -> None:
    item = QueueItemIn(
        "Opportunity", "006A", "missing_sku", "no SKU", "t1", "ProductCode", None, "Set it", {"a": 1}, "00kA"
    )
    ledger.queue_upsert([item], now=T0)
    ledger.queue_upsert(
        [item, QueueItemIn("Opportunity", "006A", "unmapped_tax_code", tenant_id="t1")],
        now=T0 + timedelta(hours=1),
    )
    open_items = ledger.queue_list()
    assert [(i.reason_code, i.attempts) for i in open_items] == [("missing_sku", 2), ("unmapped_tax_code", 1)]
    first = open_items[0]
    assert first.payload == {"a": 1} and first.line_id == "00kA" and first.last_seen > first.first_seen
    assert ledger.queue_counts() == {"missing_sku": 1, "unmapped_tax_code": 1}
    assert ledger.queue_list(reason_code="missing_sku")[0].item_id == first.item_id
    # a later successful run resolves the record's items, except the ones it was told to keep
    assert ledger.queue_resolve_for_record("Opportunity", "006A", keep_reasons=["unmapped_tax_code"]) == 1
    assert ledger.queue_get(first.item_id).state == "resolved"
    # failing again re-opens it with one more attempt
    ledger.queue_upsert([item])
    assert ledger.queue_get(first.item_id).state == "open" and ledger.queue_get(first.item_id).attempts == 3
    # ignore with a note; a new failure does not re-open an ignored item
    with pytest.raises(ValueError, match="needs a note"):
        ledger.queue_ignore(first.item_id, " ")
    assert ledger.queue_ignore(first.item_id, "known test product") is True
    ledger.queue_upsert([item])
    ignored = ledger.queue_get(first.item_id)
    assert ignored.state == "ignored" and ignored.note == "known test product"
    assert ledger.queue_get(99999) is None


def test_watermarks_only_move_forward(ledger: Ledger) -> None:
    assert ledger.get_watermark("Account") is None
    assert ledger.advance_watermark("Account", "2026-01-02T00:00:00Z", "r1")
    assert not ledger.advance_watermark("Account", "2026-01-01T00:00:00Z", "r2")
    assert not ledger.advance_watermark("Account", "2026-01-02T00:00:00Z", "r3")
    assert ledger.get_watermark("Account") == "2026-01-02T00:00:00Z"
    assert ledger.advance_watermark("Account", "2026-01-03T00:00:00Z")
    assert ledger.get_watermark("Account") == "2026-01-03T00:00:00Z"


def test_migration_from_v1_keeps_data(tmp_path: Path) -> None:
    path = tmp_path / "old.duckdb"
    assert Ledger(path, migrate_to=1).schema_version() == 1
    with duckdb.connect(str(path)) as con:
        con.execute("INSERT INTO watermarks VALUES ('Account', '2026-01-01T00:00:00Z', now(), 'r0')")
        cols = [r[0] for r in con.execute("DESCRIBE review_queue").fetchall()]
        assert "line_id" not in cols
    upgraded = Ledger(path)
    assert upgraded.schema_version() == SCHEMA_VERSION == 3
    assert upgraded.get_watermark("Account") == "2026-01-01T00:00:00Z"
    upgraded.queue_upsert([QueueItemIn("Opportunity", "006A", "missing_sku", line_id="00kA")])
    assert upgraded.queue_list()[0].line_id == "00kA"
    assert Ledger(path).schema_version() == 3  # idempotent


def test_migration_to_v3_records_which_contacts_we_created(tmp_path: Path) -> None:
    """Links made before origins were kept: a contact our push created (a succeeded PUT intent) is ours;
    any other contact link is 'linked', so a push no longer changes that contact."""
    path = tmp_path / "v2.duckdb"
    Ledger(path, migrate_to=2)
    with duckdb.connect(str(path)) as con:  # what a v2 push left: a created contact and a linked one
        con.execute(
            """INSERT INTO intents (intent_id, tenant_id, target, sf_object, sf_id, xero_object, natural_key,
                   payload_hash, state, created_at)
               VALUES ('i1', 't1', 'xero:Contacts:PUT', 'Account', '001A', 'Contacts', '001A', 'h', 'succeeded',
                   now())"""
        )
        for sf_id, contact in (("001A", "c-ours"), ("001B", "c-theirs")):
            con.execute(
                "INSERT INTO links VALUES ('t1', 'Account', ?, 'Contacts', ?, NULL, 'h', now(), now())",
                [sf_id, contact],
            )
    upgraded = Ledger(path)
    assert upgraded.get_link("t1", "Account", "001A", "Contacts").origin == "created"
    assert upgraded.get_link("t1", "Account", "001B", "Contacts").origin == "linked"
    # the first origin recorded is kept; a link to another contact takes the new one
    upgraded.upsert_links([Link("t1", "Account", "001B", "Contacts", "c-theirs", origin="linked:exact_name")])
    assert upgraded.get_link("t1", "Account", "001B", "Contacts").origin == "linked"
    upgraded.upsert_links([Link("t1", "Account", "001B", "Contacts", "c-other", origin="linked:tax_number")])
    assert upgraded.get_link("t1", "Account", "001B", "Contacts").origin == "linked:tax_number"


def test_memory_path_is_refused() -> None:
    with pytest.raises(ValueError, match="needs a file"):
        Ledger(":memory:")


def test_bulk_operations_are_set_based(ledger: Ledger) -> None:
    ids = ledger.record_intents([intent(f"006{i:05d}") for i in range(5000)])
    closed = ledger.close_intents([Closure(i, "succeeded", None, f"x{n}") for n, i in enumerate(ids)])
    assert len(closed) == 5000 and len(ledger.links_frame()) == 5000
    assert ledger.pending_intents() == []


def test_two_processes_write_at_once(tmp_path: Path) -> None:
    path = str(tmp_path / "shared.duckdb")
    Ledger(path)  # create + migrate first
    ctx = mp.get_context("spawn")
    procs = [ctx.Process(target=ledger_worker.hammer, args=(path, w, 15)) for w in ("a", "b")]
    for p in procs:
        p.start()
    for p in procs:
        p.join(120)
    assert [p.exitcode for p in procs] == [0, 0]
    ledger = Ledger(path)
    assert len(ledger.events()) == 2 * 15 * 5
    assert len(ledger.pending_intents()) == 30
    assert len(ledger.links_frame()) == 30
    assert sorted((i.sf_id, i.attempts) for i in ledger.queue_list()) == [
        (f"{w}-{k}", 5) for w in ("a", "b") for k in range(3)
    ]
    assert ledger.get_watermark("stream-a") == "2026-01-01T00:00:14Z"


def test_crash_leaves_intent_pending_and_recovery_resolves_it(tmp_path: Path) -> None:
    path = str(tmp_path / "crash.duckdb")
    ctx = mp.get_context("spawn")
    p = ctx.Process(target=ledger_worker.crash_with_open_intent, args=(path,))
    p.start()
    p.join(60)
    assert p.exitcode == -9  # SIGKILL
    ledger = Ledger(path)
    pending = ledger.pending_intents()
    assert {i.natural_key for i in pending} == {"SF-006A", "SF-006B"}
    # 006A had reached Xero before the crash, 006B had not
    report = ledger.recover_pending(lambda i: ("inv-A", i.natural_key) if i.sf_id == "006A" else None)
    assert len(report.linked) == 1 and len(report.abandoned) == 1
    assert ledger.get_link("t", "Opportunity", "006A", "Invoice").xero_id == "inv-A"
    assert ledger.get_link("t", "Opportunity", "006B", "Invoice") is None
    assert ledger.pending_intents() == []


def test_payload_hash_is_canonical() -> None:
    a = {"LineItems": [{"UnitAmount": Decimal("10.50"), "Quantity": 1.0}], "Name": "x", "Skip": None}
    b = {"Name": "x", "LineItems": [{"Quantity": Decimal("1"), "UnitAmount": Decimal("10.5000")}]}
    assert payload_hash(a) == payload_hash(b)
    assert payload_hash(a) != payload_hash({**b, "Name": "y"})
    assert canonical_json({"d": datetime(2026, 1, 1, tzinfo=UTC)}) == '{"d":"2026-01-01T00:00:00+00:00"}'


def test_idempotency_key_deterministic_and_bounded() -> None:
    k1 = idempotency_key("tenant-1", "Invoices:PUT", "a" * 500)
    assert k1 == idempotency_key("tenant-1", "Invoices:PUT", "a" * 500)
    assert k1 != idempotency_key("tenant-1", "Invoices:PUT", "b")
    assert len(k1) <= 128 and k1.startswith("sfx-tenant-1-Invoices:PUT-")
