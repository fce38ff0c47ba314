"""Child process for the concurrent-refresh test (importable under spawn)."""

from __future__ import annotations

import json
import sys
import time

from sfxero_dagster.clients.xero_tokens import FileTokenStore, XeroTokenManager


def refresh_at(path: str, info_json: str, start_at: float, out: str) -> None:
    info = json.loads(info_json)
    manager = XeroTokenManager(
        FileTokenStore(path),
        token_url=info["token_url"],
        client_id=info["client_id"],
        client_secret=info["client_secret"],
        scopes=info["scopes"],
    )
    while time.time() < start_at:
        time.sleep(0.001)
    try:
        token = manager.access_token()
        result = {"token": token, "refreshes": manager.refreshes, "error": None}
    except Exception as exc:  # the test asserts there is none
        result = {"token": None, "refreshes": manager.refreshes, "error": repr(exc)}
    with open(out, "w") as fh:
        json.dump(result, fh)
    sys.exit(0)
