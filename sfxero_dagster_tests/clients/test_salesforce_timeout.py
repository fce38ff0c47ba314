"""Salesforce unavailable for a moment, found by the soak's faults: a stalled request times out after
``timeout`` and is retried (simple-salesforce sends its data calls without a timeout, so
``salesforce.timeout_seconds`` applied only to the login), and so is a login answered with a 5xx.
"""

from __future__ import annotations

import time

import pytest

from sfxero_dagster.clients.salesforce import SalesforceAuthError, SalesforceClient

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


def test_an_unavailable_login_is_retried_and_a_persistent_one_is_a_clear_error(
    sf_sandbox: SalesforceSandbox,
) -> None:
    """Found by the soak: a 5xx at login failed the run at once, with an AttributeError on the body."""
    client = SalesforceClient(settings(sf_sandbox), sleep=lambda s: None)
    body = [{"errorCode": "SERVER_UNAVAILABLE", "message": "down for a moment"}]
    sf_sandbox.control.add_fault(action="status", status=503, path_regex="/oauth2/token", times=2, body=body)
    sf_sandbox.control.add_fault(action="drop_before_commit", path_regex="/oauth2/token", times=1)
    assert len(list(client.query("SELECT Id FROM User"))) == 1
    sf_sandbox.control.clear_faults()
    sf_sandbox.control.add_fault(action="status", status=503, path_regex="/oauth2/token", times=-1, body=body)
    with pytest.raises(SalesforceAuthError, match="503: SERVER_UNAVAILABLE: down for a moment"):
        SalesforceClient(settings(sf_sandbox), sleep=lambda s: None).login()
