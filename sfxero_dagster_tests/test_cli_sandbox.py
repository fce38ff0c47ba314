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
        everything = json.loads(line)
        info = everything["xero"]
        sf_info = everything["salesforce"]
        assert (
            sf_info["instance_url"].startswith("https://127.0.0.1:") and Path(sf_info["ca_bundle"]).exists()
        )
        assert set(sf_info) >= {
            "token_url",
            "consumer_key",
            "consumer_secret",
            "username",
            "password",
            "security_token",
            "jwt_private_key",
        }
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
        # and any simple-salesforce program, with the CA bundle
        import requests
        from simple_salesforce import Salesforce

        session = requests.Session()
        session.trust_env = False
        session.verify = sf_info["ca_bundle"]
        token = session.post(
            sf_info["token_url"],
            data={"grant_type": "client_credentials"},
            auth=(sf_info["consumer_key"], sf_info["consumer_secret"]),
            timeout=10,
        ).json()["access_token"]
        sf = Salesforce(instance_url=sf_info["instance_url"], session_id=token, session=session)
        assert sf.query("SELECT COUNT() FROM User")["totalSize"] == 1
    finally:
        proc.send_signal(signal.SIGINT)
        _, err = proc.communicate(timeout=30)
    assert proc.returncode == 0, err
    assert "sandbox stopped" in err
