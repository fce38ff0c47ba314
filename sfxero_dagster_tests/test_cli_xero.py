"""`sfxero xero bootstrap`: the first consent's refresh token into the token store, checked by one refresh."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest
from click.testing import CliRunner

from sfxero_dagster.cli import main
from sfxero_dagster.sandbox.run import start_sandbox

from .conftest import REPO_ROOT


def test_bootstrap_stores_and_rotates_the_token(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    handle = start_sandbox(tmp_path / "sandbox")
    try:
        config = handle.write_client_config(
            REPO_ROOT / "sfxero.yaml", tmp_path / "sfxero.yaml", tmp_path / "state"
        )
        monkeypatch.setenv("SFXERO_CONFIG", str(config))
        for key in ("XERO_CLIENT_ID", "XERO_CLIENT_SECRET", "XERO_REFRESH_TOKEN"):
            monkeypatch.delenv(key, raising=False)
        assert CliRunner().invoke(main, ["xero", "bootstrap"]).exit_code == 2  # says what to set
        env = handle.client_environment()
        monkeypatch.setenv("XERO_CLIENT_ID", env["XERO_CLIENT_ID"])
        monkeypatch.setenv("XERO_CLIENT_SECRET", env["XERO_CLIENT_SECRET"])
        first = handle.xero.info()["refresh_token"]
        monkeypatch.setenv("XERO_REFRESH_TOKEN", first)
        result = CliRunner().invoke(main, ["xero", "bootstrap"])
        assert result.exit_code == 0, result.output
        store = tmp_path / "state" / "xero_token.json"
        saved = json.loads(store.read_text())
        assert saved["access_token"] and saved["refresh_token"] != first  # rotated by the check
        assert oct(os.stat(store).st_mode & 0o777) == "0o600"
        assert first not in result.output
    finally:
        handle.stop()
