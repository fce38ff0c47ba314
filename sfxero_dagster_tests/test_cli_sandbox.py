"""`sfxero sandbox up` as a user runs it: a foreground process, one JSON line, a clean Ctrl-C."""

from __future__ import annotations

import json
import signal
import subprocess
import sys
from pathlib import Path

from xero_python.accounting import AccountingApi

from .sandbox_xero.conftest import make_client


def test_sandbox_up_prints_connection_json_and_stops_on_ctrl_c(tmp_path: Path, monkeypatch) -> None:
    from xero_python.api_client.oauth2 import TokenApi

    seed = tmp_path / "seed.json"
    seed.write_text(
        json.dumps({"tenants": [{"key": "nz", "name": "Kiwi Ltd", "region": "NZ", "base_currency": "NZD"}]})
    )
    sfxero = Path(sys.executable).with_name("sfxero")
    proc = subprocess.Popen(
        [
            str(sfxero),
            "sandbox",
            "up",
            "--state-dir",
            str(tmp_path / "state"),
            "--xero-port",
            "0",
            "--seed-file",
            str(seed),
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        line = proc.stdout.readline()
        info = json.loads(line)["xero"]
        assert set(info) >= {
            "base_url",
            "token_url",
            "client_id",
            "client_secret",
            "refresh_token",
            "tenants",
        }
        assert [t["tenantName"] for t in info["tenants"]] == ["Kiwi Ltd"]
        # any xero-python program can use it with these values
        monkeypatch.setattr(TokenApi, "refresh_token_url", info["token_url"])
        api = AccountingApi(make_client(info), base_url=info["base_url"])
        org = api.get_organisations(info["tenants"][0]["tenantId"]).organisations[0]
        assert (org.name, org.base_currency.value) == ("Kiwi Ltd", "NZD")
    finally:
        proc.send_signal(signal.SIGINT)
        _, err = proc.communicate(timeout=30)
    assert proc.returncode == 0, err
    assert "sandbox stopped" in err
