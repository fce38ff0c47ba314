"""Every asset that writes the ledger or the warehouse declares the pool that serialises it.

Writers are found by running a sync cycle and watching every statement that reaches DuckDB: a write
(INSERT, UPDATE, DELETE, CREATE, ...) is charged to the asset whose step is running. The model
(``defs/pools.py``, README "Dagster instance") says which pool that is.
"""

from __future__ import annotations

import re
from typing import Any

import dagster as dg
import pytest

from sfxero_dagster.defs.pools import LEDGER_WRITER, SALESFORCE_API, expected_pool
from sfxero_dagster.runner import PUSH, QUEUE, REFERENCE, STAGE, WRITEBACK
from sfxero_dagster.store.duckfile import LockedDuckDB

from .conftest import World

WRITE = re.compile(r"^\s*(INSERT|UPDATE|DELETE|CREATE|DROP|ALTER|MERGE|REPLACE|COPY|TRUNCATE)\b", re.I)


class _Watched:
    """A DuckDB connection that reports each write statement to ``seen``."""

    def __init__(self, con: Any, seen: dict[str, dg.AssetsDefinition]) -> None:
        self._con, self._seen = con, seen

    def execute(self, sql: str, *args: Any, **kwargs: Any) -> Any:
        if WRITE.match(sql):
            try:
                ctx = dg.AssetExecutionContext.get()
            except Exception:  # outside a step (a sensor, a test's own read): not an asset's write
                ctx = None
            if ctx is not None:
                for key in ctx.assets_def.keys:
                    self._seen[key.to_user_string()] = ctx.assets_def
        return self._con.execute(sql, *args, **kwargs)

    def __getattr__(self, name: str) -> Any:
        return getattr(self._con, name)


@pytest.fixture
def writers(monkeypatch: pytest.MonkeyPatch) -> dict[str, dg.AssetsDefinition]:
    seen: dict[str, dg.AssetsDefinition] = {}
    connect = LockedDuckDB._connect
    monkeypatch.setattr(LockedDuckDB, "_connect", lambda self: _Watched(connect(self), seen))
    return seen


def test_every_ledger_or_warehouse_writer_declares_its_pool(
    prepared_world: World, writers: dict[str, dg.AssetsDefinition]
) -> None:
    runner = prepared_world.runner()
    runner.extract_day(prepared_world.today())
    runner.run(REFERENCE | STAGE | PUSH | WRITEBACK | QUEUE)
    # the cycle's writers: extracts, snapshots, staging, matching, the plan, pushes, write-backs
    assert {"salesforce/accounts", "xero/au/reference", "valid_invoices", "contact_matches"} <= set(writers)
    assert {"push_plan", "xero/uk/invoices", "salesforce/xero_ids", "reconciliation"} <= set(writers)
    wrong = {
        key: (a.op.pool, expected_pool(dg.AssetKey.from_user_string(key).path, a.required_resource_keys))
        for key, a in writers.items()
        if a.op.pool != expected_pool(dg.AssetKey.from_user_string(key).path, a.required_resource_keys)
    }
    assert wrong == {}, "asset: (declared pool, the pool the model gives it)"


def test_the_model_names_the_pools_dagster_yaml_documents() -> None:
    from ..conftest import REPO_ROOT

    text = (REPO_ROOT / "dagster.yaml").read_text()
    for pool in (SALESFORCE_API, LEDGER_WRITER, "xero_api_<key>"):
        assert pool in text
