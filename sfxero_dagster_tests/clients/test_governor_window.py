"""The governor counts a call in the rolling minute until its answer, not from when it was let go.

Xero counts a call when it arrives. If the governor counted from the start, a call that went out one
minute after a slow call could arrive less than a minute after that call arrived, and be refused (the P3
benchmark got such a 429 at a window edge). These tests reproduce the race in sandbox time: the clock is
frozen and each call's transit moves it, so nothing sleeps for real.
"""

from __future__ import annotations

from pathlib import Path

from sfxero_dagster.clients.governor import RateGovernor
from sfxero_dagster.clients.xero import XeroClient
from sfxero_dagster.clients.xero_tokens import FileTokenStore, XeroTokenManager
from sfxero_dagster.sandbox.clock import SandboxClock
from sfxero_dagster.sandbox.run import start_sandbox


def test_a_slow_call_holds_its_place_in_the_window_until_it_answers() -> None:
    now = [0.0]
    gov = RateGovernor(
        "t", minute_limit=2, clock=lambda: now[0], sleep=lambda s: now.__setitem__(0, now[0] + s)
    )
    with gov.slot():
        now[0] += 5.0  # the first call takes five seconds to answer
    with gov.slot():
        pass
    with gov.slot():
        third = now[0]
    assert third == 65.0  # a minute after the first call's answer (5 s), not after its start (0 s)


def test_uneven_latency_at_a_window_edge_earns_no_429(tmp_path: Path) -> None:
    clock = SandboxClock()
    clock.freeze()
    handle = start_sandbox(tmp_path / "sandbox", clock=clock)
    try:
        info = handle.xero.info()
        tid = next(t["tenantId"] for t in info["tenants"] if t["key"] == "au")
        handle.xero.set_limits(tid, minute=5)
        tokens = XeroTokenManager(
            FileTokenStore(tmp_path / "token.json"),
            token_url=info["token_url"],
            client_id=info["client_id"],
            client_secret=info["client_secret"],
            scopes=info["scopes"],
            clock=clock.timestamp,
        )
        tokens.bootstrap(info["refresh_token"])
        xc = XeroClient(
            base_url=info["base_url"],
            tokens=tokens,
            tenant_limits={tid: {"minute": 5}},
            clock=clock.timestamp,
            sleep=lambda s: clock.advance(max(s, 0.0)),
        )
        original = xc.api.get_organisations
        transit = iter([0.5] * 5 + [0.0] * 10)  # slow first window, fast second: the old edge race

        def slow(*args, **kwargs):
            clock.advance(next(transit))  # on the way to Xero: it counts the call on arrival
            return original(*args, **kwargs)

        xc.api.get_organisations = slow
        handle.xero.request_log.clear()
        started = clock.timestamp()
        for _ in range(12):
            xc.call(tid, "read", "get_organisations")
        statuses = [r["status"] for r in handle.xero.request_log if r["path"].endswith("/Organisation")]
        assert statuses == [200] * 12
        assert xc.governor(tid).stats.throttled == 0
        assert 120 <= clock.timestamp() - started <= 125  # two window waits, each one round trip longer
    finally:
        handle.stop()
