"""The demo cycle in-process (serving the UI is tested with a real browser in ui/): counts add up, twice."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
import yaml

from .conftest import REPO_ROOT


def _free_port() -> int:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_demo_cycle_adds_up_and_reruns_cleanly(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from sfxero_dagster.demo import run_demo

    cfg = yaml.safe_load((REPO_ROOT / "sfxero.yaml").read_text())
    xero_port, sf_port = _free_port(), _free_port()  # never a port another run on this machine holds
    cfg["xero"].update(
        base_url=f"http://127.0.0.1:{xero_port}/api.xro/2.0",
        identity_url=f"http://127.0.0.1:{xero_port}",
        token_url=f"http://127.0.0.1:{xero_port}/connect/token",
    )
    sandbox = tmp_path / "sandbox"
    cfg["salesforce"].update(
        login_url=f"https://127.0.0.1:{sf_port}",
        instance_url=f"https://127.0.0.1:{sf_port}",
        ca_bundle=str(sandbox / "salesforce" / "tls" / "sandbox-ca.pem"),
    )
    cfg["storage"]["state_dir"] = str(tmp_path / "state")
    (tmp_path / "sfxero.yaml").write_text(yaml.safe_dump(cfg))
    monkeypatch.setenv("SFXERO_CONFIG", str(tmp_path / "sfxero.yaml"))
    monkeypatch.delenv("DAGSTER_HOME", raising=False)
    for var in ("XERO_CLIENT_ID", "XERO_CLIENT_SECRET", "SF_CONSUMER_KEY", "SF_CONSUMER_SECRET"):
        monkeypatch.delenv(var, raising=False)
    first = run_demo(str(sandbox), serve=False)
    assert first["salesforce_rows"]["accounts"] == 51 and first["staged"]["stg_customers"] == 51
    assert 0 < first["valid_invoices"] < first["staged"]["stg_invoice_headers"]
    assert first["queue"]["unmapped_tax_code"] >= 1 and first["matches"]["link"] >= 5
    assert sum(p["created"] for p in first["pushed"].values()) == first["valid_invoices"] - sum(
        p["queued"] for p in first["pushed"].values()
    )
    assert first["written_back"] > 0 and first["xero_api_calls"] > 0
    assert first["reconciliation_mismatches"] == 0
    # every pushed invoice got its status on the first tick; the payments reached Salesforce on the next
    pushed = sum(p["created"] for p in first["pushed"].values())
    assert first["status_first_tick"]["invoices_written"] == pushed
    pay = first["payments_simulated"]
    assert pay["paid"] > 0 and pay["partially_paid"] > 0 and pay["voided"] > 0 and pay["credited"] > 0
    assert first["status_after_payments"]["invoices_written"] == sum(pay.values())
    # a payment record per payment, and one per credit-note allocation
    assert (
        first["status_after_payments"]["payments_written"]
        == pay["paid"] + pay["partially_paid"] + pay["credited"]
    )
    assert all(first["sensor_runs"].values())
    status = first["salesforce_status"]
    assert status["Paid"] == pay["paid"] and status["Voided"] == pay["voided"]
    assert status["Partially Paid"] == pay["partially_paid"] + pay["credited"]  # a credit of a quarter
    assert sum(status.values()) == pushed
    second = run_demo(
        str(sandbox), serve=False
    )  # the rotated token from the first run is reused; nothing new to write
    assert second["queue"] == first["queue"] and second["valid_invoices"] == first["valid_invoices"]
    assert all(p["created"] == p["updated"] == 0 for p in second["pushed"].values())
    assert second["reconciliation_mismatches"] == 0  # more payments on the invoices still untouched
    assert sum(second["salesforce_status"].values()) == pushed
    shutil.rmtree(sandbox)  # a wiped sandbox: the stored token is stale, the demo consents again
    third = run_demo(str(sandbox), serve=False)
    assert third["valid_invoices"] == first["valid_invoices"]
