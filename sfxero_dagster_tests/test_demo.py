"""The demo runs end to end on a fresh state directory and says what it did not do."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from .conftest import REPO_ROOT


def test_demo_runs_twice_and_reports_honestly(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from sfxero_dagster.demo import run_demo

    cfg = (REPO_ROOT / "sfxero.yaml").read_text()
    cfg = cfg.replace("127.0.0.1:18710", "127.0.0.1:18799").replace(
        "state_dir: .sfxero_state", f"state_dir: {tmp_path / 'state'}"
    )
    (tmp_path / "sfxero.yaml").write_text(cfg)
    monkeypatch.setenv("SFXERO_CONFIG", str(tmp_path / "sfxero.yaml"))
    for var in ("XERO_CLIENT_ID", "XERO_CLIENT_SECRET"):
        monkeypatch.delenv(var, raising=False)
    first = run_demo(str(tmp_path / "sandbox"))
    assert set(first["tenants"]) == {"au", "uk"}
    assert first["tenants"]["uk"]["tax_rates"] >= 5 and first["xero_api_calls"] == 12
    assert any("Salesforce sandbox" in m for m in first["missing"])
    second = run_demo(str(tmp_path / "sandbox"))  # the rotated token from the first run is reused
    assert second["tenants"] == first["tenants"]
    import shutil

    shutil.rmtree(tmp_path / "sandbox")  # a wiped sandbox: the stored token is stale, the demo consents again
    third = run_demo(str(tmp_path / "sandbox"))
    assert third["tenants"] == first["tenants"]
    assert oct(os.stat(tmp_path / "state" / "xero_token.json").st_mode & 0o777) == "0o600"
