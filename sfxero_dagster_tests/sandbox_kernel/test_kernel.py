"""The shared sandbox kernel: clock, fault rules, durable store, HTTP(S) server and control client."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path

import pytest
import requests

from sfxero_dagster.sandbox.clock import SandboxClock
from sfxero_dagster.sandbox.control import SandboxControl
from sfxero_dagster.sandbox.faults import FaultInjector, FaultRule
from sfxero_dagster.sandbox.httpbase import Response, SandboxApp, SandboxServer
from sfxero_dagster.sandbox.store import RecordStore
from sfxero_dagster.sandbox.tls import ensure_local_ca, server_ssl_context


def test_clock_advance_set_freeze() -> None:
    clock = SandboxClock()
    start = clock.now()
    clock.advance(3600)
    assert (clock.now() - start).total_seconds() >= 3600
    frozen = clock.freeze()
    assert clock.now() == frozen
    clock.advance(61)
    assert (clock.now() - frozen).total_seconds() == 61
    clock.set(datetime(2030, 1, 1, tzinfo=UTC))
    assert clock.now() == datetime(2030, 1, 1, tzinfo=UTC)
    with pytest.raises(ValueError, match="timezone-aware"):
        clock.set(datetime(2030, 1, 1))
    clock.unfreeze()
    assert clock.now() >= datetime(2030, 1, 1, tzinfo=UTC)


def test_fault_rules_match_count_and_skip() -> None:
    inj = FaultInjector()
    inj.add(
        {
            "action": "status",
            "status": 429,
            "methods": ["put"],
            "path_regex": "/invoices",
            "times": 2,
            "skip": 1,
        }
    )
    hdrs: dict[str, str] = {}
    assert inj.take("GET", "/api.xro/2.0/Invoices", hdrs) is None  # wrong method
    assert inj.take("PUT", "/api.xro/2.0/Invoices", hdrs) is None  # skipped once
    assert inj.take("PUT", "/api.xro/2.0/Invoices", hdrs).status == 429
    assert inj.take("PUT", "/api.xro/2.0/INVOICES", hdrs).status == 429  # case-insensitive path
    assert inj.take("PUT", "/api.xro/2.0/Invoices", hdrs) is None  # exhausted
    assert inj.injected == {"status_429": 2}
    with pytest.raises(ValueError, match="unknown fault action"):
        FaultRule(action="explode")  # type: ignore[arg-type]


def test_fault_rule_header_match() -> None:
    inj = FaultInjector()
    inj.add(FaultRule(action="delay", header={"xero-tenant-id": "t1"}, times=-1))
    assert inj.take("GET", "/x", {"xero-tenant-id": "t2"}) is None
    assert inj.take("GET", "/x", {"xero-tenant-id": "t1"}) is not None
    assert inj.take("GET", "/x", {"xero-tenant-id": "t1"}) is not None  # unlimited


def test_store_persists_decimals_and_rolls_back(tmp_path: Path) -> None:
    path = tmp_path / "state.sqlite3"
    store = RecordStore(path)
    store.put("Invoice", "a", {"Total": Decimal("10.25"), "Lines": [{"q": Decimal("1.5000")}]})
    store.set_meta("counter", 7)
    with pytest.raises(RuntimeError), store.transaction():
        store.put("Invoice", "b", {"Total": Decimal("1")})
        raise RuntimeError("boom")
    assert store.get("Invoice", "b") is None  # rolled back in memory too
    store.put_many("Contact", [(str(i), {"n": i}) for i in range(100)])
    store.close()
    again = RecordStore(path)
    assert again.get("Invoice", "a") == {"Total": Decimal("10.25"), "Lines": [{"q": Decimal("1.5000")}]}
    assert str(again.get("Invoice", "a")["Lines"][0]["q"]) == "1.5000"
    assert again.get_meta("counter") == 7
    assert again.count("Contact") == 100 and again.get("Invoice", "b") is None
    assert again.delete("Contact", "5") and not again.delete("Contact", "5")


def test_store_find_follows_every_write(tmp_path: Path) -> None:
    """``find`` answers like a scan after puts, in-place changes, deletes, rollbacks and a reopen."""
    store = RecordStore(tmp_path / "state.sqlite3")
    store.put_many("Account", [(f"a{i}", {"Id": f"a{i}", "Ext": f"X-{i % 3}"}) for i in range(9)])

    def scan(value: str) -> list[str]:
        return [r["Id"] for r in store.all("Account") if str(r.get("Ext")).lower() == value.lower()]

    def found(value: str) -> list[str]:
        return [r["Id"] for r in store.find("Account", "Ext", value)]

    assert found("x-1") == scan("x-1") == ["a1", "a4", "a7"]
    rec = store.get("Account", "a4")
    rec["Ext"] = "X-2"  # changed in place, then written
    store.put("Account", "a4", rec)
    store.put("Account", "a9", {"Id": "a9", "Ext": "x-1"})
    store.delete("Account", "a7")
    store.put("Account", "a1", {"Id": "a1"})  # field removed
    with pytest.raises(RuntimeError), store.transaction():
        store.put("Account", "a10", {"Id": "a10", "Ext": "X-1"})
        raise RuntimeError("boom")
    for value in ("X-0", "X-1", "X-2", "nothing"):
        assert found(value) == scan(value), value
    assert found("X-1") == ["a9"] and store.find("Account", "Ext", None) == []
    store.close()
    again = RecordStore(tmp_path / "state.sqlite3")
    assert [r["Id"] for r in again.find("Account", "Ext", "x-2")] == [
        r["Id"] for r in again.all("Account") if r.get("Ext") == "X-2"
    ]
    assert sorted(r["Id"] for r in again.find("Account", "Ext", "x-2")) == ["a2", "a4", "a5", "a8"]


@pytest.fixture
def tls_server(tmp_path: Path):
    app = SandboxApp()
    writes: list[int] = []

    def write(req):
        writes.append(1)
        return Response.json({"n": len(writes)}, 201)

    app.router.add("POST", "/things", write)
    app.router.add("GET", "/things/(?P<tid>[^/]+)", lambda req: Response.json({"id": req.params["tid"]}))
    paths = ensure_local_ca(tmp_path / "tls")
    with SandboxServer(app, ssl_context=server_ssl_context(paths)) as server:
        session = requests.Session()
        session.trust_env = False
        session.verify = str(paths["ca"])
        yield server, session, writes, SandboxControl(server.url, verify=str(paths["ca"]))


def test_tls_routing_and_plain_text_404(tls_server) -> None:
    server, session, _, _ = tls_server
    assert server.url.startswith("https://127.0.0.1:")
    assert session.get(f"{server.url}/things/a%20b").json() == {"id": "a b"}
    resp = session.get(f"{server.url}/nothing")
    assert resp.status_code == 404 and resp.headers["Content-Type"].startswith("text/plain")
    assert session.delete(f"{server.url}/things").status_code == 405
    with pytest.raises(requests.exceptions.SSLError):
        requests.get(f"{server.url}/things/x", verify=True, timeout=5)  # the system CAs do not trust it


def test_drop_before_and_after_commit(tls_server) -> None:
    server, session, writes, control = tls_server
    control.add_fault(action="drop_before_commit", methods=["POST"], path_regex="^/things$")
    with pytest.raises(requests.ConnectionError):
        session.post(f"{server.url}/things")
    assert writes == []  # never reached the handler
    control.add_fault(action="drop_after_commit", methods=["POST"], path_regex="^/things$")
    with pytest.raises(requests.ConnectionError):
        session.post(f"{server.url}/things")
    assert writes == [1]  # committed, but the client never heard
    assert session.post(f"{server.url}/things").json() == {"n": 2}
    assert control.faults()["injected"] == {"drop_before_commit": 1, "drop_after_commit": 1}


def test_status_fault_and_request_log(tls_server) -> None:
    server, session, _, control = tls_server
    control.add_fault(
        action="status", status=503, path_regex="/things/", body={"x": 1}, headers={"Retry-After": "2"}
    )
    resp = session.get(f"{server.url}/things/1")
    assert resp.status_code == 503 and resp.json() == {"x": 1} and resp.headers["Retry-After"] == "2"
    assert session.get(f"{server.url}/things/1").status_code == 200
    log = control.requests_log()
    assert [r["status"] for r in log if r["path"] == "/things/1"] == [503, 200]
    control.clear_requests()
    assert control.requests_log() == []


def test_control_clock_and_bad_fault(tls_server) -> None:
    _, _, _, control = tls_server
    control.freeze()
    before = datetime.fromisoformat(control.clock()["now"])
    after = datetime.fromisoformat(control.advance(90)["now"])
    assert (after - before).total_seconds() == 90
    with pytest.raises(RuntimeError, match="unknown fault action"):
        control.add_fault(action="nope")
