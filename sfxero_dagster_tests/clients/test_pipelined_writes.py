"""Batch writes with more than one batch on the wire: intents still come first, results in order.

The push sends two batches at once so that its ledger work on one overlaps Xero's on the next (P3). What
crash safety needs is unchanged: ``before_batch`` (where the push records its intents) runs before the
batch can leave, outcomes come back in input order, and a failed batch stops the write.
"""

from __future__ import annotations

import threading
from pathlib import Path

import pytest

from sfxero_dagster.clients.xero import XeroClient
from sfxero_dagster.clients.xero_tokens import FileTokenStore, XeroTokenManager
from sfxero_dagster.sandbox.clock import SandboxClock
from sfxero_dagster.sandbox.run import start_sandbox


@pytest.fixture
def au_client(tmp_path: Path):
    clock = SandboxClock()
    clock.freeze()
    handle = start_sandbox(tmp_path / "sandbox", clock=clock)
    info = handle.xero.info()
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
        clock=clock.timestamp,
        sleep=lambda s: clock.advance(max(s, 0.0)),
    )
    tid = next(t["tenantId"] for t in info["tenants"] if t["key"] == "au")
    try:
        yield handle, xc, tid
    finally:
        handle.stop()


def _sent(handle) -> int:
    return sum(1 for r in handle.xero.request_log if r["method"] == "PUT" and r["path"].endswith("/Contacts"))


def test_two_in_flight_record_before_sending_and_answer_in_order(au_client) -> None:
    handle, xc, tid = au_client
    events: list[tuple[str, int]] = []
    second_recorded = threading.Event()
    original = xc.api.create_contacts

    def create(tenant, contacts, **kw):
        start = int(contacts.contacts[0].name.rsplit(" ", 1)[1])
        events.append(("send", start))
        if start == 0:  # the first batch is still out when the second is recorded (and then sent)
            assert second_recorded.wait(10), "the second batch waited for the first one's answer"
        return original(tenant, contacts, **kw)

    def record(start: int, end: int) -> None:
        events.append(("record", start))
        if start == 50:
            second_recorded.set()

    xc.api.create_contacts = create
    contacts = [{"Name": f"Pipelined Customer {i:03d}"} for i in range(170)]
    results = list(
        xc.write(
            tid,
            "Contacts",
            contacts,
            before_batch=record,
            in_flight=2,
        )
    )
    for start in (0, 50, 100, 150):  # each batch's intents are recorded before it leaves
        assert events.index(("record", start)) < events.index(("send", start))
    assert events.index(("send", 0)) < events.index(("record", 100))  # the third waits for the first answer
    indexes = [o.index for _, outcomes in results for o in outcomes]
    assert indexes == list(range(170))
    names = [o.record["Name"] for _, outcomes in results for o in outcomes if o.ok]
    assert names == [c["Name"] for c in contacts]
    assert _sent(handle) == 4 and xc.calls.writes[tid] == 4


def test_a_failed_batch_stops_the_write_after_the_earlier_ones_are_answered(au_client) -> None:
    _, xc, tid = au_client
    original = xc.api.create_contacts

    def create(tenant, contacts, **kw):
        if contacts.contacts[0].name == "Broken 050":
            raise RuntimeError("the connection went away")
        return original(tenant, contacts, **kw)

    xc.api.create_contacts = create
    contacts = [{"Name": f"Broken {i:03d}"} for i in range(150)]
    seen: list[int] = []
    with pytest.raises(RuntimeError, match="went away"):
        for _, outcomes in xc.write(tid, "Contacts", contacts, in_flight=2):
            seen.append(outcomes[0].index)
    assert seen == [0]  # the first batch's outcomes reached the caller; the failure stopped the rest
