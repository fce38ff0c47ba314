"""Xero's token endpoint failing for a moment (found by the soak): the refresh is retried at once.

Xero rotates the refresh token on use; the old one works for 30 more minutes only. When the answer to a
refresh was lost after Xero had rotated (a dropped connection), the run failed, and a run more than 30
minutes later found only a dead token: the connection was gone until a person consented again.
"""

from __future__ import annotations

from pathlib import Path

from sfxero_dagster.clients.xero_tokens import FileTokenStore, XeroTokenManager

from .test_xero_client import sandbox  # noqa: F401  (the fixture)


def _manager(tmp_path: Path, info: dict) -> XeroTokenManager:
    m = XeroTokenManager(
        FileTokenStore(tmp_path / "token.json"),
        token_url=info["token_url"],
        client_id=info["client_id"],
        client_secret=info["client_secret"],
        scopes=info["scopes"],
        sleep=lambda s: None,
    )
    m.bootstrap(info["refresh_token"])
    return m


def test_a_refresh_whose_answer_was_lost_is_retried_and_the_grant_survives(
    tmp_path: Path,
    sandbox,  # noqa: F811
) -> None:
    handle, info, ctl = sandbox
    m = _manager(tmp_path, info)
    ctl.add_fault(action="drop_after_commit", path_regex="/connect/token", times=1)
    ctl.add_fault(action="status", status=503, path_regex="/connect/token", times=2, body="unavailable")
    assert m.access_token()  # Xero rotated, the answer was lost, the retry got (and stored) a new pair
    assert [r["fired"] for r in ctl.faults()["rules"]] == [1, 2]
    handle.clock.advance(2 * 3600)  # long after the grace period of the token the lost answer replaced
    m.store.save({**(m.store.load() or {}), "expires_at": 0})
    assert m.access_token()  # the stored refresh token is the live one
