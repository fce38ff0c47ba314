"""A stalled Salesforce times out after ``timeout`` and is retried (found by the soak's timeout faults).

simple-salesforce sends its data calls without a timeout, so ``salesforce.timeout_seconds`` applied only
to the login and a stalled server held the run for as long as it stalled.
"""

from __future__ import annotations

import time

from sfxero_dagster.clients.salesforce import SalesforceClient

from ..sandbox_salesforce.conftest import SalesforceSandbox
from .test_salesforce_client import settings


def test_a_stalled_query_times_out_and_is_retried(sf_sandbox: SalesforceSandbox) -> None:
    client = SalesforceClient(settings(sf_sandbox, timeout=1.0), sleep=lambda s: None)
    client.login()
    sf_sandbox.control.add_fault(action="delay", delay_seconds=4, path_regex="/query", times=1)
    started = time.monotonic()
    assert len(list(client.query("SELECT Id FROM User"))) == 1
    assert time.monotonic() - started < 3.5  # gave up on the stalled request instead of waiting it out
    assert client.calls["query"] == 2
    assert sf_sandbox.control.faults()["rules"][0]["fired"] == 1
