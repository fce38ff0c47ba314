"""The staging tables' pandera models are their Dagster types: the UI shows each table's columns."""

from __future__ import annotations

import dagster as dg

from sfxero_dagster.config import load_config
from sfxero_dagster.core.staging import STAGING_SCHEMAS
from sfxero_dagster.defs.staging.assets import STAGING_TYPES, build_staging_asset

from ..conftest import REPO_ROOT


def test_every_staging_table_shows_its_pandera_columns() -> None:
    staging = build_staging_asset(load_config(REPO_ROOT / "sfxero.yaml"))
    for name, model in STAGING_SCHEMAS.items():
        spec = staging.specs_by_key[dg.AssetKey(name)]
        schema = spec.metadata["dagster/column_schema"]
        columns = {c.name: c.type for c in schema.columns}
        assert list(columns) == list(model.to_schema().columns), name
        assert all(columns.values()), name  # each column has its pandera dtype
        assert STAGING_TYPES[name].typing_type is not None


def test_the_dagster_type_checks_a_frame_with_pandera() -> None:
    import pandas as pd

    t = STAGING_TYPES["stg_invoice_lines"]
    result = t.type_check(None, pd.DataFrame({"quantity": ["not a number"]}))  # type: ignore[arg-type]
    assert not result.success
