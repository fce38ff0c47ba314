"""OAuth 2.0 as Xero's identity server does it: the token endpoint, bearer checks, tenant connections.

Refresh tokens rotate (the old one keeps working for a grace period, then ``invalid_grant``); access
tokens live ``access_token_ttl`` seconds; a custom connection (client credentials) reaches exactly one
organisation. The sandbox skips the browser consent: :meth:`XeroAuth.issue_refresh_token` hands out
what the first consent would.
"""

from __future__ import annotations

import base64
import secrets
import threading
import uuid
from collections.abc import Callable
from datetime import timedelta

from ..clock import SandboxClock
from ..httpbase import Request, Response
from ..store import RecordStore
from .errors import oauth_error, tenant_not_connected, unauthorized
from .render import iso_ms
from .settings import ALLOWED_TOKEN_SCOPES, XeroSandboxSettings
from .wire import ms_from_datetime


class XeroAuth:
    def __init__(
        self,
        settings: XeroSandboxSettings,
        store: RecordStore,
        lock: threading.RLock,
        clock: SandboxClock,
        tenants: Callable[[], dict[str, dict]],
    ) -> None:
        self.settings = settings
        self.store = store
        self.lock = lock
        self.clock = clock
        self.tenants = tenants

    def now_ms(self) -> int:
        return ms_from_datetime(self.clock.now())

    def issue_refresh_token(self) -> str:
        """The token a first OAuth consent would hand the app (the sandbox skips the browser step)."""
        token = secrets.token_hex(32)
        with self.lock:
            rts = self.store.get_meta("refresh_tokens", {})
            rts[token] = {"issued_ms": self.now_ms(), "used_ms": None}
            self.store.set_meta("refresh_tokens", rts)
            self.store.set_meta("bootstrap_refresh_token", token)
        return token

    # ------------------------------------------------------------------------------- POST /connect/token
    def _client_credentials(self, req: Request, form: dict[str, str]) -> tuple[str | None, str | None]:
        header = req.header("Authorization") or ""
        if header.lower().startswith("basic "):
            try:
                cid, _, secret = base64.b64decode(header[6:]).decode().partition(":")
                return cid, secret
            except (ValueError, UnicodeDecodeError):
                return None, None
        return form.get("client_id"), form.get("client_secret")

    def token(self, req: Request) -> Response:
        form = req.form()
        cid, secret = self._client_credentials(req, form)
        if cid != self.settings.client_id or secret != self.settings.client_secret:
            return oauth_error("invalid_client")
        grant = form.get("grant_type")
        now = self.now_ms()
        with self.lock:
            if grant == "refresh_token":
                rts = self.store.get_meta("refresh_tokens", {})
                old = rts.get(form.get("refresh_token", ""))
                if old is None or now - old["issued_ms"] > self.settings.refresh_ttl * 1000:
                    return oauth_error("invalid_grant")
                if old["used_ms"] is not None and now - old["used_ms"] > self.settings.refresh_grace * 1000:
                    return oauth_error("invalid_grant")
                if old["used_ms"] is None:
                    old["used_ms"] = now  # rotation: the old token keeps working for the grace period
                new_rt = secrets.token_hex(32)
                rts[new_rt] = {"issued_ms": now, "used_ms": None}
                self.store.set_meta("refresh_tokens", self._prune_refresh(rts, now))
                access = self._issue_access(list(self.tenants()), now)
                return Response.json(
                    {
                        "access_token": access,
                        "expires_in": self.settings.access_token_ttl,
                        "token_type": "Bearer",
                        "refresh_token": new_rt,
                        "scope": form.get("scope") or ALLOWED_TOKEN_SCOPES,
                    }
                )
            if grant == "client_credentials":
                # A custom connection is linked to exactly one organisation: the first one.
                tenants = list(self.tenants())[:1]
                access = self._issue_access(tenants, now)
                return Response.json(
                    {
                        "access_token": access,
                        "expires_in": self.settings.access_token_ttl,
                        "token_type": "Bearer",
                        "scope": form.get("scope") or ALLOWED_TOKEN_SCOPES,
                    }
                )
        return oauth_error("unsupported_grant_type")

    def _prune_refresh(self, rts: dict, now: int) -> dict:
        keep = {}
        for tok, meta in rts.items():
            if meta["used_ms"] is not None and now - meta["used_ms"] > self.settings.refresh_grace * 1000:
                continue
            if now - meta["issued_ms"] > self.settings.refresh_ttl * 1000:
                continue
            keep[tok] = meta
        return keep

    def _issue_access(self, tenants: list[str], now: int) -> str:
        token = "sbx." + secrets.token_urlsafe(40)
        ats = {
            t: m
            for t, m in self.store.get_meta("access_tokens", {}).items()
            if now - m["issued_ms"] < 2 * self.settings.access_token_ttl * 1000
        }
        ats[token] = {"issued_ms": now, "tenants": tenants}
        self.store.set_meta("access_tokens", ats)
        return token

    # ------------------------------------------------------------------------------- every API call
    def authenticate(self, req: Request) -> tuple[dict | None, Response | None]:
        """The bearer token's grant (issued time, tenants), or the 401 Xero answers."""
        header = req.header("Authorization") or ""
        token = header[7:].strip() if header.lower().startswith("bearer ") else ""
        meta = self.store.get_meta("access_tokens", {}).get(token)
        if meta is None:
            return None, unauthorized("AuthenticationUnsuccessful")
        age = self.now_ms() - meta["issued_ms"]
        if age >= self.settings.access_token_ttl * 1000:
            expired = self.clock.now() - timedelta(milliseconds=age - self.settings.access_token_ttl * 1000)
            return None, unauthorized(f"TokenExpired: token expired at {expired:%m/%d/%Y %H:%M:%S}")
        return meta, None

    def tenant(self, req: Request, meta: dict) -> tuple[str, Response | None]:
        """The organisation a call addresses (``xero-tenant-id``), or 403 when the token cannot reach it."""
        tid = req.header("xero-tenant-id") or ""
        if not tid and len(meta["tenants"]) == 1:
            tid = meta["tenants"][0]  # custom connections may omit the tenant header
        if tid not in meta["tenants"] or tid not in self.tenants():
            return tid, tenant_not_connected()
        return tid, None

    # ------------------------------------------------------------------------------- GET /connections
    def connections(self, req: Request) -> Response:
        tenants = self.tenants()
        out = []
        for tid in req.auth["tenants"]:  # type: ignore[attr-defined]
            t = tenants.get(tid)
            if t is None:
                continue
            created = iso_ms(t["created_ms"])
            out.append(
                {
                    "id": str(uuid.uuid5(uuid.UUID(tid), "connection")),
                    "authEventId": str(uuid.uuid5(uuid.UUID(tid), "auth")),
                    "tenantId": tid,
                    "tenantType": "ORGANISATION",
                    "tenantName": t["name"],
                    "createdDateUtc": created,
                    "updatedDateUtc": created,
                }
            )
        return Response.json(out)
