"""The code location loads: in-process and through `dagster definitions validate` like the UI would."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import dagster as dg

from .conftest import REPO_ROOT


def test_definitions_load_in_process() -> None:
    from sfxero_dagster.definitions import defs

    assert isinstance(defs, dg.Definitions)
    resources = defs.resources or {}
    assert {"sfxero_config", "ledger"} <= set(resources)


def test_dagster_definitions_validate_cli(tmp_path: Path) -> None:
    home = tmp_path / "dagster_home"
    home.mkdir()
    shutil.copy(REPO_ROOT / "dagster.yaml", home / "dagster.yaml")
    env = {**os.environ, "DAGSTER_HOME": str(home)}
    dagster = Path(sys.executable).with_name("dagster")
    proc = subprocess.run(
        [str(dagster), "definitions", "validate", "-w", "workspace.yaml"],
        cwd=REPO_ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=240,
    )
    out = proc.stdout + proc.stderr
    assert proc.returncode == 0, out
    assert "All code locations passed validation" in out


def test_instance_yaml_declares_pools_and_backfill_limits(tmp_path: Path, monkeypatch) -> None:
    home = tmp_path / "home"
    home.mkdir()
    shutil.copy(REPO_ROOT / "dagster.yaml", home / "dagster.yaml")
    monkeypatch.setenv("DAGSTER_HOME", str(home))
    instance = dg.DagsterInstance.from_config(str(home))
    try:
        settings = instance.get_concurrency_config()
        assert settings.pool_config.default_pool_limit == 1
        limits = {
            (d["key"], d.get("value")): d["limit"] for d in settings.run_queue_config.tag_concurrency_limits
        }
        assert limits[("dagster/backfill", None)] == 2
        # runs and event logs are SQLite under DAGSTER_HOME
        assert str(home) in instance.run_storage._conn_string  # type: ignore[attr-defined]
    finally:
        instance.dispose()
