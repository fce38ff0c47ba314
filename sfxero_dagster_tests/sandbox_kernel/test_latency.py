"""The emulators answer without a 40 ms Nagle/delayed-ACK stall per response (found by the soak)."""

from __future__ import annotations

import time

from .test_kernel import tls_server  # noqa: F401  (the fixture)


def test_a_hundred_requests_on_one_connection_take_well_under_four_seconds(tls_server) -> None:  # noqa: F811
    server, session, _, _ = tls_server
    session.get(f"{server.url}/things/warm")  # the TLS handshake is not what is measured
    started = time.monotonic()
    for i in range(100):
        assert session.get(f"{server.url}/things/{i}").status_code == 200
    assert time.monotonic() - started < 2.0  # with the stall: 100 x 40 ms = 4 s
