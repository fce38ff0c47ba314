"""bench/limits.py at the small scale: the P3 and P4 measurements, checked against what they claim.

The benchmarks themselves run at ~6,000 invoices (P3, minutes of wall time at 60 calls a minute) and at
the ``bench`` scale (P4); here the same measuring code runs on the small prepared world, so a change
that breaks a figure's meaning fails a fast test.
"""

from __future__ import annotations

import math

import dagster as dg
import pytest

from bench.limits import (
    edit_opportunities,
    measure_bulk,
    measure_extract,
    measure_identity_writeback,
    measure_push,
    measure_status_writeback,
    pay_some,
    read_floor,
    sliding_window_floor,
    write_floor,
)
from sfxero_dagster.clients.xero import XeroClient

from ..defs.conftest import World


def test_sliding_window_floor() -> None:
    assert sliding_window_floor(0) == sliding_window_floor(1) == sliding_window_floor(60) == 0
    assert sliding_window_floor(61) == sliding_window_floor(120) == 60
    assert sliding_window_floor(141) == 120
    assert sliding_window_floor(4, limit=1) == 180


def test_p3_push_under_a_low_limit_in_sandbox_time(
    prepared_world: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The real push at one call a minute: every call waits for the window, none is refused, and in
    sandbox time (frozen; only the client's waits move it) the push takes exactly the floor."""
    clock = prepared_world.handle.clock
    clock.freeze()
    monkeypatch.setattr(
        "sfxero_dagster.defs.resources.XeroClient",
        lambda **kw: XeroClient(**kw, clock=clock.timestamp, sleep=lambda s: clock.advance(max(s, 0.0))),
    )
    figures = measure_push(
        prepared_world.handle, prepared_world.config_path, "au", minute=1, timer=clock.timestamp
    )
    # contacts and invoices created (contacts linked by weak evidence cost no call since invariant 1):
    # at least one wait for the window
    assert figures["calls"] >= 2
    assert figures["throttled_429"] == 0
    assert figures["wall_seconds"] == figures["floor_seconds"] == 60 * (figures["calls"] - 1)
    assert figures["met"]


def test_p4_counts_salesforce_calls_at_the_floor(prepared_world: World) -> None:
    world = prepared_world
    handle, config = world.handle, world.config_path
    # a delta after one edited opportunity: one query per object, the edit read back
    assert edit_opportunities(handle, config, pct=1) == 1
    delta = measure_extract(handle, config, partition_key=world.today())
    objects = len(delta["rows_by_object"])
    assert objects == 8 and delta["calls"]["query"] == delta["floor_data_calls"] == objects
    assert delta["rows_by_object"]["opportunity_line_items"] >= 1
    # Xero ids written back: ceil(n / 200) collection calls per object, one login, nothing else
    world.materialize(dg.AssetSelection.groups("push"))
    ids = measure_identity_writeback(handle, config)
    assert ids["rows"] == sum(ids["rows_by_object"].values()) > 0
    expected = sum(math.ceil(n / 200) for n in ids["rows_by_object"].values())
    assert ids["calls"] == {"all": expected + 1, "collection": expected, "login": 1}
    assert ids["data_calls_vs_floor"] == 1.0 and ids["per_record_calls"] == ids["rows"]
    # invoice and payment status: one run per organisation, each batching on its own
    assert pay_some(handle, config) > 0
    status = measure_status_writeback(handle, config)
    assert {"Xero_Invoice__c", "Xero_Payment__c", "Account"} <= set(status["rows_by_object"])
    assert status["calls"]["collection"] == status["floor_data_calls"] < status["rows"]
    assert status["data_calls_vs_floor"] == 1.0
    # the Bulk 2.0 path, with the threshold lowered below this small world
    bulk = measure_bulk(handle, config, threshold=50, page=100)
    read, write = bulk["read"], bulk["write"]
    assert read["rows"] == world.warehouse.read("sf_opportunity_line_items").shape[0]
    assert read["calls"]["query"] == 1  # the first REST page, which tells the size
    assert read["job_floor_calls"] <= read["bulk_calls"] <= read["job_floor_calls"] + 2  # + polls
    assert write["ok"] == write["rows"] > 50 and "collection" not in write["calls"]
    assert write["job_floor_calls"] <= write["bulk_calls"] <= write["job_floor_calls"] + 2


def test_read_and_write_floors() -> None:
    assert [read_floor(n, 10_000) for n in (0, 1, 2000, 2001, 10_000)] == [1, 1, 1, 2, 5]
    assert read_floor(10_001, 10_000) == 3  # one Bulk 2.0 query job: create, poll, one results page
    assert [write_floor(n, 10_000) for n in (0, 1, 200, 201, 10_000, 10_001)] == [0, 1, 1, 2, 50, 5]
