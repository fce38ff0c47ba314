"""The Salesforce REST and Bulk 2.0 emulator, composed: an :class:`~.backend.org.Org` (store, schema,
clock, lock), the backends built on it, and the route table (``routes.py``) pointing into them. Served
over TLS (simple-salesforce builds https:// URLs only); every login endpoint also answers at the
instance URL, so clients need only a URL and a CA.

The methods below are the emulator's Python face for the seed, the demo, benchmarks and tests; each
delegates to the backend that owns the rule. Facts and sources: ../shared/reference/salesforce-api.md.
"""

from __future__ import annotations

from datetime import datetime
from pathlib import Path
from typing import Any

from ..clock import SandboxClock
from ..httpbase import Request, Response, SandboxApp
from ..store import RecordStore
from .backend.org import Org, SalesforceSandboxSettings
from .errors import invalid_session, not_found
from .routes import Backends, routes
from .schema import FieldDef, ObjectDef, Schema, load_schema

__all__ = ["SalesforceApp", "SalesforceSandboxSettings"]


class SalesforceApp(SandboxApp):
    name = "salesforce"

    def __init__(
        self,
        state_dir: str | Path | None = None,
        clock: SandboxClock | None = None,
        settings: SalesforceSandboxSettings | None = None,
        schema: Schema | None = None,
    ) -> None:
        super().__init__(clock)
        self.settings = settings or SalesforceSandboxSettings()
        self.schema = schema or load_schema()
        self.state_dir = Path(state_dir) if state_dir else None
        self.store = RecordStore(self.state_dir / "salesforce.sqlite3" if self.state_dir else None)
        self.org = Org(self.schema, self.store, self.clock, self.lock, self.settings, self.state_dir)
        self.backends = Backends.build(self.org)
        for method, pattern, handler in routes(self.backends):
            self.router.add(method, pattern, handler)

    # ------------------------------------------------------------------------------ HTTP hooks
    def before(self, req: Request) -> Response | None:
        """A REST or Bulk call needs a live session and counts toward the daily limit."""
        b = self.backends
        if not b.limits.metered(req):
            return None
        with self.lock:
            sessions = b.auth.touch(req)
            if sessions is None:
                return invalid_session()
            refused = b.limits.count(req)
            if refused is not None:
                return refused
            b.auth.keep(sessions)  # the session's use is kept only once the request is admitted
        return None

    def after(self, req: Request, resp: Response) -> Response:
        return self.backends.limits.header(req, resp)

    def not_found(self, req: Request) -> Response:
        return not_found()

    # ------------------------------------------------------------------------------ lifecycle
    def bind(self, url: str) -> None:
        self.org.instance_url = url.rstrip("/")

    @property
    def instance_url(self) -> str:
        return self.org.instance_url

    def info(self) -> dict[str, Any]:
        """What a client needs to connect (URLs, credentials, CA bundle, JWT key)."""
        s = self.settings
        return {
            "instance_url": self.instance_url,
            "login_url": self.instance_url,
            "token_url": f"{self.instance_url}/services/oauth2/token",
            "api_version": "59.0",
            "ca_bundle": str(self.state_dir / "tls" / "sandbox-ca.pem") if self.state_dir else None,
            "username": s.username,
            "password": s.password,
            "security_token": s.security_token,
            "consumer_key": s.consumer_key,
            "consumer_secret": s.consumer_secret,
            "jwt_private_key": str(self.jwt_key_path()) if self.state_dir else None,
        }

    def now(self) -> datetime:
        return self.org.now()

    def stamp(self) -> str:
        return self.org.stamp()

    def is_empty(self) -> bool:
        return self.org.is_empty()

    def reset(self) -> None:
        self.org.reset()

    @property
    def user_id(self) -> str:
        return self.org.user_id

    def load_seed(self, records_by_object: dict[str, list[dict]]) -> dict[str, int]:
        """Load records as they are (ids, system fields and all), e.g. the seed generator's output."""
        return self.org.load_seed(records_by_object)

    # ------------------------------------------------------------------------------ auth and limits
    def jwt_key_path(self) -> Path:
        """The connected app's signing key pair (generated once; the sandbox keeps the public half)."""
        return self.backends.auth.jwt_key_path()

    def expire_sessions(self) -> None:
        self.backends.auth.expire_sessions()

    def set_daily_limit(self, limit: int) -> None:
        self.backends.limits.set_daily_limit(limit)

    # ------------------------------------------------------------------------------ records (SOQL source)
    def obj(self, name: str) -> ObjectDef | None:
        return self.org.obj(name)

    def records(self, object_name: str) -> list[dict]:
        return self.org.records(object_name)

    def get(self, object_name: str, record_id: str) -> dict | None:
        return self.org.get(object_name, record_id)

    def save(
        self, obj: ObjectDef, values: dict[str, Any], existing: dict | None = None, *, commit: bool = True
    ) -> tuple[dict | None, list[dict]]:
        """Create (existing=None) or update one record through every rule; the single write path."""
        return self.backends.records.save(obj, values, existing, commit=commit)

    def delete(self, obj: ObjectDef, rid: str) -> bool:
        return self.backends.records.delete(obj, rid)

    def upsert_one(self, obj: ObjectDef, f: FieldDef, value: str, body: dict) -> tuple[int, dict]:
        return self.backends.records.upsert_one(obj, f, value, body)

    def act(self, action: str, **kw: Any) -> dict:
        """What a Salesforce user does in the UI, through the same write path as the API."""
        return self.backends.actor.act(action, **kw)
