"""The production Xero client against the sandbox: tokens, pacing, retries, idempotent batches."""

from __future__ import annotations

import json
import multiprocessing as mp
import stat
import time
from collections import Counter
from decimal import Decimal as D
from pathlib import Path

import pytest

from sfxero_dagster.clients.governor import DailyLimitReached, RateGovernor
from sfxero_dagster.clients.xero import XeroClient
from sfxero_dagster.clients.xero_tokens import FileTokenStore, TokenError, XeroTokenManager
from sfxero_dagster.sandbox.clock import SandboxClock
from sfxero_dagster.sandbox.control import SandboxControl
from sfxero_dagster.sandbox.run import start_sandbox

from . import token_worker


@pytest.fixture
def sandbox(tmp_path: Path):
    clock = SandboxClock()
    clock.freeze()
    handle = start_sandbox(tmp_path / "sandbox", clock=clock)
    info = handle.info()["xero"]
    try:
        yield handle, info, SandboxControl(info["identity_url"])
    finally:
        handle.stop()


def manager(tmp_path: Path, info: dict, clock=time.time, name: str = "token.json") -> XeroTokenManager:
    m = XeroTokenManager(
        FileTokenStore(tmp_path / name),
        token_url=info["token_url"],
        client_id=info["client_id"],
        client_secret=info["client_secret"],
        scopes=info["scopes"],
        clock=clock,
    )
    if not (tmp_path / name).exists():
        m.bootstrap(info["refresh_token"])
    return m


def client(handle, info: dict, tmp_path: Path, **kw) -> XeroClient:
    clock = handle.clock
    return XeroClient(
        base_url=info["base_url"],
        tokens=manager(tmp_path, info, clock=clock.timestamp),
        clock=clock.timestamp,
        sleep=lambda s: clock.advance(max(s, 0.0)),
        **kw,
    )


def tenant(info: dict, key: str = "au") -> str:
    return next(t["tenantId"] for t in info["tenants"] if t["key"] == key)


# ----- token store ------------------------------------------------------------------------------
def test_token_store_is_atomic_private_and_persists_rotation(tmp_path: Path, sandbox) -> None:
    _, info, _ = sandbox
    m = manager(tmp_path, info)
    first = m.access_token()
    stored = json.loads((tmp_path / "token.json").read_text())
    assert stored["access_token"] == first and stored["refresh_token"] != info["refresh_token"]
    assert stat.S_IMODE((tmp_path / "token.json").stat().st_mode) == 0o600
    assert m.access_token() == first and m.refreshes == 1  # still valid: no second refresh
    assert not list(tmp_path.glob(".token-*"))  # no temp files left behind
    again = m.invalidate(first)
    assert again != first and m.refreshes == 2
    assert json.loads((tmp_path / "token.json").read_text())["refresh_token"] != stored["refresh_token"]


def test_missing_or_dead_refresh_token_is_a_clear_error(tmp_path: Path, sandbox) -> None:
    _, info, _ = sandbox
    m = XeroTokenManager(
        FileTokenStore(tmp_path / "none.json"),
        token_url=info["token_url"],
        client_id=info["client_id"],
        client_secret=info["client_secret"],
        scopes=info["scopes"],
    )
    with pytest.raises(TokenError, match="run the first OAuth consent"):
        m.access_token()
    m.bootstrap("not-a-real-token")
    with pytest.raises(TokenError, match="invalid_grant"):
        m.access_token()


def test_two_processes_refreshing_at_once_end_with_one_token(tmp_path: Path, sandbox) -> None:
    _, info, control = sandbox
    path = tmp_path / "shared.json"
    manager(tmp_path, info, name="shared.json")  # bootstrap only
    control.clear_requests()
    ctx = mp.get_context("spawn")
    start_at = time.time() + 2.0
    outs = [tmp_path / f"out{i}.json" for i in range(2)]
    procs = [
        ctx.Process(target=token_worker.refresh_at, args=(str(path), json.dumps(info), start_at, str(o)))
        for o in outs
    ]
    for p in procs:
        p.start()
    for p in procs:
        p.join(60)
    results = [json.loads(o.read_text()) for o in outs]
    assert [r["error"] for r in results] == [None, None]
    assert results[0]["token"] == results[1]["token"]  # the second process used the first one's refresh
    assert sorted(r["refreshes"] for r in results) == [0, 1]
    token_calls = [r for r in control.requests_log() if r["path"] == "/connect/token"]
    assert [r["status"] for r in token_calls] == [200]
    stored = json.loads(path.read_text())
    # the stored refresh token is live
    m = manager(tmp_path, info, name="shared.json")
    assert m.invalidate(stored["access_token"])


# ----- governor ----------------------------------------------------------------------------------
def test_governor_math_with_a_fake_clock() -> None:
    now = [1000.0]
    slept: list[float] = []
    gov = RateGovernor(
        "t",
        minute_limit=3,
        day_limit=5,
        clock=lambda: now[0],
        sleep=lambda s: (slept.append(s), now.__setitem__(0, now[0] + s)),
    )
    for _ in range(4):
        with gov.slot():
            pass
    assert slept == [60.0]
    gov.observe({"X-MinLimit-Remaining": "0"})
    with gov.slot():
        pass
    assert slept[-1] > 0
    with pytest.raises(DailyLimitReached), gov.slot():
        pass
    gov2 = RateGovernor("t2", clock=lambda: now[0], sleep=lambda s: None)
    with pytest.raises(DailyLimitReached) as info:
        gov2.throttled("day", 3600)
    assert info.value.resume_at == now[0] + 3600


def test_200_calls_stay_under_60_a_minute_with_zero_429s(tmp_path: Path, sandbox) -> None:
    handle, info, control = sandbox
    xc = client(handle, info, tmp_path)
    au = tenant(info)
    control.clear_requests()
    for _ in range(200):
        xc.call(au, "read", "get_organisations")
    log = [r for r in control.requests_log() if r["path"].endswith("/Organisation")]
    assert len(log) == 200 and all(r["status"] == 200 for r in log)
    times = sorted(
        time.mktime(time.strptime(r["at"][:19], "%Y-%m-%dT%H:%M:%S")) + float("0." + r["at"][20:26])
        for r in log
    )
    worst = max(sum(1 for t in times if start <= t < start + 60) for start in times)
    assert worst <= 60
    assert xc.governor(au).stats.throttled == 0 and xc.governor(au).stats.waits >= 3


# ----- retries -----------------------------------------------------------------------------------
def test_429_minute_is_retried_after_retry_after(tmp_path: Path, sandbox) -> None:
    handle, info, control = sandbox
    xc = client(handle, info, tmp_path)
    control.add_fault(
        action="status",
        status=429,
        path_regex="/Organisation",
        times=2,
        headers={"Retry-After": "17", "X-Rate-Limit-Problem": "minute"},
        body={"Title": "Too Many Requests"},
    )
    before = handle.clock.timestamp()
    data, _ = xc.call(tenant(info), "read", "get_organisations")
    assert data.organisations[0].name == "Acme Pty Ltd"
    assert handle.clock.timestamp() - before >= 34  # waited Retry-After twice (sandbox time)
    assert xc.calls.retries[tenant(info)] == 2


def test_day_limit_parks_proactively_from_headers(tmp_path: Path, sandbox) -> None:
    handle, info, control = sandbox
    xc = client(handle, info, tmp_path)
    au = tenant(info)
    handle.xero.set_limits(au, day=2)
    xc.call(au, "read", "get_organisations")
    xc.call(au, "read", "get_organisations")  # answers X-DayLimit-Remaining: 0
    control.clear_requests()
    with pytest.raises(DailyLimitReached) as parked:
        xc.call(au, "read", "get_organisations")
    assert control.requests_log() == []  # never sent: no 429 provoked
    assert parked.value.resume_at > handle.clock.timestamp() + 3600


def test_429_day_parks_without_retrying(tmp_path: Path, sandbox) -> None:
    handle, info, control = sandbox
    xc = client(handle, info, tmp_path)
    au = tenant(info)
    control.add_fault(
        action="status",
        status=429,
        path_regex="/Organisation",
        times=-1,
        headers={"Retry-After": "40000", "X-Rate-Limit-Problem": "day"},
        body={"Title": "Too Many Requests"},
    )
    control.clear_requests()
    with pytest.raises(DailyLimitReached) as parked:
        xc.call(au, "read", "get_organisations")
    org_calls = lambda: [r for r in control.requests_log() if r["path"].endswith("/Organisation")]  # noqa: E731
    assert [r["status"] for r in org_calls()] == [429]  # one 429, no retry loop
    assert parked.value.resume_at >= handle.clock.timestamp() + 40000 - 1
    with pytest.raises(DailyLimitReached):  # parked: the next call does not even reach Xero
        xc.call(au, "read", "get_organisations")
    assert len(org_calls()) == 1


def test_503_and_dropped_connections_are_retried(tmp_path: Path, sandbox) -> None:
    handle, info, control = sandbox
    xc = client(handle, info, tmp_path)
    control.add_fault(action="status", status=503, path_regex="/TaxRates", times=2)
    control.add_fault(action="drop_before_commit", path_regex="/TaxRates", times=1)
    data, _ = xc.call(tenant(info), "read", "get_tax_rates")
    assert data.tax_rates and xc.calls.retries[tenant(info)] == 3


def test_drop_after_commit_on_a_batch_is_replayed_not_duplicated(tmp_path: Path, sandbox) -> None:
    handle, info, control = sandbox
    xc = client(handle, info, tmp_path)
    au = tenant(info)
    control.add_fault(action="drop_after_commit", methods=["PUT"], path_regex="/Contacts$")
    contacts = [{"Name": f"Batch {i}", "ContactNumber": f"001BATCH{i:05d}"} for i in range(120)]
    outcomes = [o for _, outs in xc.write(au, "Contacts", contacts) for o in outs]
    assert len(outcomes) == 120 and all(o.ok for o in outcomes)
    names = Counter(c["Name"] for c in handle.xero.store.all(f"{au}/Contact"))
    assert all(names[c["Name"]] == 1 for c in contacts)
    puts = [r for r in control.requests_log() if r["method"] == "PUT"]
    assert len(puts) == 4  # 3 batches of <=50, one of them sent twice
    assert control.faults()["injected"] == {"drop_after_commit": 1}


def test_expired_access_token_is_refreshed_once(tmp_path: Path, sandbox) -> None:
    handle, info, _ = sandbox
    xc = XeroClient(
        base_url=info["base_url"],
        tokens=manager(tmp_path, info),
        clock=handle.clock.timestamp,
        sleep=lambda s: handle.clock.advance(s),
    )  # the token manager uses real time
    au = tenant(info)
    xc.call(au, "read", "get_organisations")
    handle.clock.advance(31 * 60)  # the server now considers the token expired; the client does not know
    data, _ = xc.call(au, "read", "get_organisations")
    assert data.organisations and xc.tokens.refreshes == 2


def test_batch_with_bad_elements_keeps_the_good_ones(tmp_path: Path, sandbox) -> None:
    handle, info, _ = sandbox
    xc = client(handle, info, tmp_path)
    au = tenant(info)
    contact = next(iter(xc.write(au, "Contacts", [{"Name": "Payer Pty Ltd"}])))[1][0].record
    line = {
        "Description": "W",
        "Quantity": D(1),
        "UnitAmount": D("10.00"),
        "AccountCode": "200",
        "TaxType": "OUTPUT",
    }
    invoices = [
        {
            "Type": "ACCREC",
            "Contact": {"ContactID": contact["ContactID"]},
            "InvoiceNumber": f"SF-{i}",
            "Date": "2026-01-05",
            "DueDate": "2026-02-04",
            "Status": "AUTHORISED",
            "CurrencyCode": "JPY" if i == 1 else "AUD",
            "LineItems": [line],
        }
        for i in range(3)
    ]
    ((_, outs),) = list(xc.write(au, "Invoices", invoices))
    assert [o.ok for o in outs] == [True, False, True]
    assert outs[1].errors == ["Organisation is not subscribed to currency JPY"]
    assert outs[0].record["Total"] == D("11.00") and outs[2].record["InvoiceNumber"] == "SF-2"
    found = xc.invoices_by_number(au, ["SF-0", "SF-1", "SF-2"])
    assert sorted(found) == ["SF-0", "SF-2"]


def test_client_credentials_flow_for_custom_connections(tmp_path: Path, sandbox) -> None:
    handle, info, _ = sandbox
    tokens = XeroTokenManager(
        FileTokenStore(tmp_path / "cc.json"),
        token_url=info["token_url"],
        client_id=info["client_id"],
        client_secret=info["client_secret"],
        scopes=info["scopes"],
        flow="client_credentials",
        clock=handle.clock.timestamp,
    )
    xc = XeroClient(
        base_url=info["base_url"], tokens=tokens, clock=handle.clock.timestamp, sleep=handle.clock.advance
    )
    data, _ = xc.call(tenant(info), "read", "get_organisations")
    assert data.organisations[0].name == "Acme Pty Ltd"
    assert (
        "refresh_token" not in json.loads((tmp_path / "cc.json").read_text())
        or json.loads((tmp_path / "cc.json").read_text())["refresh_token"] is None
    )
    handle.clock.advance(31 * 60)  # expired: a new client-credentials token, no refresh token needed
    assert xc.call(tenant(info), "read", "get_organisations")[0].organisations and tokens.refreshes == 2


def test_read_all_pages_and_modified_since(tmp_path: Path, sandbox) -> None:
    handle, info, control = sandbox
    xc = client(handle, info, tmp_path)
    au = tenant(info)
    app = handle.xero
    existing = app.store.count(f"{au}/Contact")  # the generated seed's contacts
    app.store.put_many(
        f"{au}/Contact",
        [(c["ContactID"], c) for c in (app._new_contact(au, {"Name": f"Bulk {i:04d}"}) for i in range(1001))],
    )
    handle.clock.advance(5)
    cut = handle.clock.now()
    xc.write(au, "Contacts", [{"Name": "Late Ltd"}]).__next__()
    control.clear_requests()
    everything = xc.read_all(au, "get_contacts", "contacts")
    assert len(everything) == existing + 1002
    pages = [r for r in control.requests_log() if r["path"].endswith("/Contacts")]
    assert len(pages) == 2  # pageSize=1000: a full page, then a short one
    recent = xc.read_all(au, "get_contacts", "contacts", modified_since=cut)
    assert [c["Name"] for c in recent] == ["Late Ltd"]
