"""Xero OAuth tokens: a rotation-safe store and a manager that refreshes once across processes.

Xero refresh tokens rotate: every refresh returns a new one and the old one dies 30 minutes later. Two
processes refreshing the same grant, or a process that forgets to persist the new token, end in
``invalid_grant`` and a broken connection until someone re-consents. So every rotated token is written
atomically (temp file, fsync, rename; mode 0600) and refreshes happen under an inter-process lock, with
the store re-read inside the lock: a process that waited finds the fresh token and does not refresh again.
A refresh answered with a 5xx, a timeout or a dropped connection is retried at once: Xero may have rotated
the token before the answer was lost, and only within the 30-minute grace does the old one get a new pair.
"""

from __future__ import annotations

import json
import os
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager, contextmanager
from pathlib import Path
from typing import Any, Protocol

import requests
from filelock import FileLock
from tenacity import Retrying, retry_if_exception, stop_after_attempt, wait_exponential_jitter


class TokenError(RuntimeError):
    """The token endpoint refused (e.g. ``invalid_grant``): a person must re-consent."""


class TokenStore(Protocol):
    def load(self) -> dict[str, Any] | None: ...
    def save(self, token: dict[str, Any]) -> None: ...
    def lock(self) -> AbstractContextManager[None]: ...


class FileTokenStore:
    """A JSON file next to an inter-process lock file; writes are atomic and private (0600)."""

    def __init__(self, path: str | Path, lock_timeout: float = 60.0) -> None:
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._lock = FileLock(str(self.path) + ".lock", timeout=lock_timeout)

    def load(self) -> dict[str, Any] | None:
        try:
            return json.loads(self.path.read_text(encoding="utf-8"))
        except FileNotFoundError:
            return None

    def save(self, token: dict[str, Any]) -> None:
        fd, tmp = tempfile.mkstemp(prefix=".token-", dir=str(self.path.parent))
        try:
            os.fchmod(fd, 0o600)
            with os.fdopen(fd, "w", encoding="utf-8") as fh:
                json.dump(token, fh)
                fh.flush()
                os.fsync(fh.fileno())
            os.replace(tmp, self.path)
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise
        dir_fd = os.open(str(self.path.parent), os.O_RDONLY)
        try:
            os.fsync(dir_fd)
        finally:
            os.close(dir_fd)

    @contextmanager
    def lock(self) -> Iterator[None]:
        with self._lock:
            yield


class XeroTokenManager:
    """Hands out a valid access token, refreshing (refresh_token or client_credentials grant) when due."""

    def __init__(
        self,
        store: TokenStore,
        *,
        token_url: str,
        client_id: str,
        client_secret: str,
        scopes: list[str],
        flow: str = "refresh_token",
        verify: bool | str = True,
        timeout: float = 30.0,
        margin_seconds: float = 120.0,
        clock: Callable[[], float] = time.time,
        sleep: Callable[[float], None] = time.sleep,
        max_attempts: int = 5,
    ) -> None:
        if flow not in ("refresh_token", "client_credentials"):
            raise ValueError(f"unknown Xero auth flow {flow!r}")
        self.store = store
        self.token_url = token_url
        self.client_id = client_id
        self.client_secret = client_secret
        self.scopes = scopes
        self.flow = flow
        self.margin = margin_seconds
        self.clock = clock
        self.sleep = sleep
        self.max_attempts = max_attempts
        self.timeout = timeout
        self.session = requests.Session()
        self.session.trust_env = False  # REQUESTS_CA_BUNDLE must not override an explicit CA bundle
        self.session.verify = verify
        self.refreshes = 0

    def bootstrap(self, refresh_token: str) -> None:
        """Store the refresh token from the first consent (later ones come from rotation)."""
        with self.store.lock():
            self.store.save({"refresh_token": refresh_token, "expires_at": 0})

    def _valid(self, token: dict[str, Any] | None) -> bool:
        return bool(
            token and token.get("access_token") and token.get("expires_at", 0) > self.clock() + self.margin
        )

    def access_token(self) -> str:
        token = self.store.load()
        if self._valid(token):
            return token["access_token"]  # type: ignore[index]
        with self.store.lock():
            token = self.store.load()  # another process may have refreshed while we waited
            if self._valid(token):
                return token["access_token"]  # type: ignore[index]
            return self._refresh(token)["access_token"]

    def invalidate(self, stale_access_token: str) -> str:
        """The API said 401 for ``stale_access_token``: refresh unless someone already did."""
        with self.store.lock():
            token = self.store.load()
            if (
                token
                and token.get("access_token")
                and token["access_token"] != stale_access_token
                and self._valid(token)
            ):
                return token["access_token"]
            return self._refresh(token)["access_token"]

    def _refresh(self, token: dict[str, Any] | None) -> dict[str, Any]:
        data = {
            "client_id": self.client_id,
            "client_secret": self.client_secret,
            "scope": " ".join(self.scopes),
        }
        if self.flow == "refresh_token":
            if not token or not token.get("refresh_token"):
                raise TokenError("no Xero refresh token stored: run the first OAuth consent (see README)")
            data.update(grant_type="refresh_token", refresh_token=token["refresh_token"])
        else:
            data["grant_type"] = "client_credentials"
        resp = self._post(data)
        if resp.status_code != 200:
            try:
                error = resp.json().get("error", resp.text[:200])
            except ValueError:
                error = resp.text[:200]
            raise TokenError(f"Xero token endpoint answered {resp.status_code}: {error}")
        body = resp.json()
        new = {
            "access_token": body["access_token"],
            "refresh_token": body.get("refresh_token") or (token or {}).get("refresh_token"),
            "expires_at": self.clock() + float(body.get("expires_in", 1800)),
            "scope": body.get("scope", " ".join(self.scopes)),
            "token_type": body.get("token_type", "Bearer"),
        }
        self.store.save(new)  # persist the rotated token before anything else can fail
        self.refreshes += 1
        return new

    def _post(self, data: dict[str, str]) -> requests.Response:
        """The token endpoint, retried on 5xx, timeouts and dropped connections (see the module doc)."""

        def attempt() -> requests.Response:
            resp = self.session.post(self.token_url, data=data, timeout=self.timeout)
            if resp.status_code >= 500:
                raise _Unavailable(resp)
            return resp

        retrying = Retrying(
            retry=retry_if_exception(
                lambda e: isinstance(e, _Unavailable | requests.ConnectionError | requests.Timeout)
            ),
            stop=stop_after_attempt(self.max_attempts),
            wait=wait_exponential_jitter(multiplier=0.5, max=8),
            sleep=self.sleep,
            reraise=True,
        )
        try:
            return retrying(attempt)
        except _Unavailable as exc:
            return exc.response  # still unavailable: reported by the caller with its status
        except (requests.ConnectionError, requests.Timeout) as exc:
            raise TokenError(f"Xero token endpoint unreachable: {type(exc).__name__}") from exc


class _Unavailable(Exception):
    def __init__(self, response: requests.Response) -> None:
        super().__init__(response.status_code)
        self.response = response
