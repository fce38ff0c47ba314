"""The Xero Accounting API emulator, composed: auth, limits and idempotency around a route table whose
handlers live in per-resource backends (see the package docstring for the map).

:class:`XeroApp` owns the lifecycle (state directory, seed, reset, the URL it listens on) and the
request hooks; every rule lives in the module of the concern it belongs to. Facts and sources:
../shared/reference/xero-api.md (xero-python 15.2.0 mechanics, Xero docs) and the public OpenAPI
spec. Where the docs are silent or second-hand, the choice made is noted inline where it is made.
"""

from __future__ import annotations

import uuid
from decimal import Decimal
from pathlib import Path
from typing import Any

from ..clock import SandboxClock
from ..httpbase import Request, Response, SandboxApp
from ..store import RecordStore
from .actor import XeroActor
from .auth import XeroAuth
from .backend import XeroBackends
from .backend.documents import TRANSITIONS as INVOICE_TRANSITIONS
from .idempotency import IDEMPOTENCY, IdempotencyCache
from .limits import RateLimiter
from .render import Renderer
from .routes import API, GUID, api_routes, control_routes
from .settings import ALLOWED_TOKEN_SCOPES, XeroSandboxSettings
from .wire import ms_from_datetime

__all__ = [
    "ALLOWED_TOKEN_SCOPES",
    "API",
    "GUID",
    "IDEMPOTENCY",
    "INVOICE_TRANSITIONS",
    "XeroApp",
    "XeroSandboxSettings",
]

# What /_sandbox/state counts per tenant.
STATE_KINDS = ("Contact", "Item", "Invoice", "CreditNote", "Payment", "Overpayment", "Prepayment")


class XeroApp(SandboxApp):
    name = "xero"

    def __init__(
        self,
        state_dir: str | Path | None = None,
        clock: SandboxClock | None = None,
        settings: XeroSandboxSettings | None = None,
    ) -> None:
        super().__init__(clock)
        self.settings = settings or XeroSandboxSettings()
        self.store = RecordStore(Path(state_dir) / "xero.sqlite3" if state_dir else None)
        self.base_url = "http://127.0.0.1"
        self.render = Renderer(self.settings, self.clock)
        self.backends = XeroBackends.build(
            self.store, self.lock, self.clock, self.render, lambda: self.base_url
        )
        self.auth = XeroAuth(
            self.settings, self.store, self.lock, self.clock, self.backends.organisation.tenants
        )
        self.limits = RateLimiter(self.settings, self.store, self.lock, self.clock)
        self.idempotency = IdempotencyCache(self.settings, self.store, self.lock, self.clock)
        self.actor = XeroActor(self.backends, self.lock)
        self._register()

    def _register(self) -> None:
        controls = control_routes(
            reset=self._ctl_reset,
            seed=self._ctl_seed,
            limits=self._ctl_limits,
            state=self._ctl_state,
            refresh_token=self._ctl_refresh_token,
            act=self.actor.handle,
        )
        for route in api_routes(self.backends, self.auth) + controls:
            handler = self.idempotency.wrap(route.handler) if route.idempotent else route.handler
            self.router.add(route.method, route.pattern, handler)

    # ================================================================================ lifecycle
    def bind(self, url: str) -> None:
        self.base_url = url.rstrip("/")

    def now_ms(self) -> int:
        return ms_from_datetime(self.clock.now())

    def today(self) -> str:
        return self.clock.now().date().isoformat()

    def is_empty(self) -> bool:
        return not self.store.get_meta("tenants")

    def reset(self) -> None:
        with self.lock:
            self.store.clear()
            self.limits.clear()

    def load_seed(self, xero_seed: dict) -> dict[str, str]:
        """Create the seed's tenants with their contacts and items; returns tenant key → tenant id."""
        ids = {}
        for t in xero_seed.get("tenants", []):
            tid = self.add_tenant(
                t["name"],
                t.get("region", "AU"),
                t.get("base_currency", "AUD"),
                t.get("currencies"),
                t.get("tenant_id"),
                t.get("key"),
            )
            ids[t.get("key", tid)] = tid
        for key, tid in ids.items():
            per = xero_seed.get("per_tenant", {}).get(key) or xero_seed.get(key) or {}
            with self.lock, self.store.transaction():
                for c in per.get("contacts", []):
                    rec = self.backends.contacts.new_contact(tid, c)
                    self.store.put(f"{tid}/Contact", rec["ContactID"], rec)
                for it in per.get("items", []):
                    rec = self.backends.items.new_item(tid, it, unitdp=4)
                    self.store.put(f"{tid}/Item", rec["ItemID"], rec)
        if not self.store.get_meta("refresh_tokens"):
            self.issue_refresh_token()
        return ids

    def info(self) -> dict[str, Any]:
        return {
            "base_url": f"{self.base_url}{API}",
            "identity_url": self.base_url,
            "token_url": f"{self.base_url}/connect/token",
            "client_id": self.settings.client_id,
            "client_secret": self.settings.client_secret,
            "refresh_token": self.store.get_meta("bootstrap_refresh_token"),
            "scopes": ALLOWED_TOKEN_SCOPES.split(),
            "tenants": [
                {"tenantId": tid, "tenantName": t["name"], "tenantType": "ORGANISATION", "key": t["key"]}
                for tid, t in self.tenants().items()
            ],
        }

    # ================================================================================ request hooks
    def before(self, req: Request) -> Response | None:
        """Authenticate, find the tenant, then count the call against the limits (or refuse it)."""
        path = req.raw_path.lower()
        if path.startswith("/connect/"):
            return None
        meta, err = self.auth.authenticate(req)
        if err is not None:
            return err
        req.auth = meta  # type: ignore[attr-defined]
        if path.startswith("/connections"):
            return self.limits.admit(req, None)
        tid, err = self.auth.tenant(req, meta)
        if err is not None:
            return err
        req.tenant_id = tid  # type: ignore[attr-defined]
        return self.limits.admit(req, tid)

    def after(self, req: Request, resp: Response) -> Response:
        path = req.raw_path.lower()
        if not path.startswith("/connect/"):
            resp.headers.update(self.limits.headers(getattr(req, "tenant_id", None)))
            resp.headers.setdefault("Xero-Correlation-Id", str(uuid.uuid4()))
        return resp

    def dispatch(self, req: Request) -> Response:
        try:
            return super().dispatch(req)
        finally:
            self.limits.release(req)

    # ================================================================================ in-process API
    # Short names tests, benchmarks and the demo use; each hands over to the module that owns the rule.
    def tenants(self) -> dict[str, dict]:
        return self.backends.organisation.tenants()

    def add_tenant(
        self,
        name: str,
        region: str = "AU",
        base_currency: str = "AUD",
        currencies: list[str] | None = None,
        tenant_id: str | None = None,
        key: str | None = None,
    ) -> str:
        return self.backends.organisation.add_tenant(name, region, base_currency, currencies, tenant_id, key)

    def org(self, tid: str) -> dict:
        return self.backends.organisation.org(tid)

    def rates(self, tid: str) -> dict[str, Decimal]:
        return self.backends.organisation.rates(tid)

    def _new_contact(self, tid: str, el: dict) -> dict:
        """A contact record as a create would store it (tests build large stores with it)."""
        return self.backends.contacts.new_contact(tid, el)

    def apply_payment(self, tid: str, el: dict) -> tuple[dict | None, list[str]]:
        return self.backends.payments.apply(tid, el)

    def delete_payment(self, tid: str, payment_id: str) -> tuple[dict | None, list[str]]:
        return self.backends.payments.delete(tid, payment_id)

    def allocate(self, tid: str, kind: str, doc_id: str, el: dict) -> tuple[dict | None, list[str]]:
        return self.backends.allocations.allocate(tid, kind, doc_id, el)

    def create_prepaid(
        self, tid: str, kind: str, contact_id: str, amount: Decimal, currency: str | None = None
    ) -> dict:
        return self.backends.allocations.create_prepaid(tid, kind, contact_id, amount, currency)

    def act(self, action: str, **kw: Any) -> dict:
        """Do what a Xero user would do in the Xero UI (see actor.py)."""
        return self.actor.act(action, **kw)

    def issue_refresh_token(self) -> str:
        """The token a first OAuth consent would hand the app (the sandbox skips the browser step)."""
        return self.auth.issue_refresh_token()

    def limits_for(self, tid: str) -> dict[str, int]:
        return self.limits.limits_for(tid)

    def set_limits(self, tid: str, **limits: int) -> None:
        self.limits.set_limits(tid, **limits)

    # ================================================================================ /_sandbox controls
    def _ctl_reset(self, req: Request) -> Response:
        self.reset()
        return Response.json({"reset": True})

    def _ctl_seed(self, req: Request) -> Response:
        body = req.json() or {}
        if "tenants" not in body:
            from ..seed import generate

            body = generate(body.get("scale", "small"), int(body.get("seed", 7))).xero
        self.reset()
        ids = self.load_seed(body)
        return Response.json({"tenants": ids, "info": self.info()})

    def _ctl_limits(self, req: Request) -> Response:
        body = req.json() or {}
        try:
            self.set_limits(body["tenant_id"], **{k: int(v) for k, v in body.items() if k != "tenant_id"})
        except (KeyError, ValueError) as exc:
            return Response.json({"error": str(exc)}, 400)
        return Response.json({"limits": self.limits_for(body["tenant_id"])})

    def _ctl_state(self, req: Request) -> Response:
        counts = {tid: {k: self.store.count(f"{tid}/{k}") for k in STATE_KINDS} for tid in self.tenants()}
        return Response.json({"tenants": self.tenants(), "counts": counts, "clock": self.clock.state()})

    def _ctl_refresh_token(self, req: Request) -> Response:
        return Response.json({"refresh_token": self.issue_refresh_token()})
