"""The Salesforce REST emulator: OAuth/SOAP login, SOQL queries with paging, sObject CRUD and upsert,
updated/deleted, sObject collections, API-usage limits. Served over TLS (simple-salesforce builds https://
URLs only); every login endpoint also answers at the instance URL, so clients need only a URL and a CA.

Facts and sources: ../shared/reference/salesforce-api.md. Where the docs are silent the choice is noted.
"""

from __future__ import annotations

from datetime import datetime
from pathlib import Path
from typing import Any

from ..clock import SandboxClock
from ..httpbase import Request, Response, SandboxApp
from ..store import RecordStore
from .actor import Actor
from .auth import Auth
from .backend.collections import Collections
from .backend.describe import Describe
from .backend.org import Org, SalesforceSandboxSettings
from .backend.query import Query
from .backend.records import Records
from .errors import (
    invalid_session,
    not_found,
)
from .limits import Limits
from .schema import FieldDef, ObjectDef, Schema, load_schema

DATA = r"/services/data/v(?P<v>\d+\.\d+)"


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
        self.record_backend = Records(self.org)
        self.collections = Collections(self.org, self.record_backend)
        self.auth = Auth(self.org)
        self.limits = Limits(self.org)
        self.query = Query(self.org)
        self.actor = Actor(self.org, self.record_backend)
        self.describe = Describe(self.org)
        self._register()
        from . import bulk2

        bulk2.register(self)

    # ================================================================================ lifecycle
    def bind(self, url: str) -> None:
        self.org.instance_url = url.rstrip("/")

    @property
    def instance_url(self) -> str:
        return self.org.instance_url

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
        return self.record_backend.save(obj, values, existing, commit=commit)

    def delete(self, obj: ObjectDef, rid: str) -> bool:
        return self.record_backend.delete(obj, rid)

    def upsert_one(self, obj: ObjectDef, f: FieldDef, value: str, body: dict) -> tuple[int, dict]:
        return self.record_backend.upsert_one(obj, f, value, body)

    def info(self) -> dict[str, Any]:
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

    # ================================================================================ hooks
    def before(self, req: Request) -> Response | None:
        """A REST or Bulk call needs a live session and counts toward the daily limit."""
        if not self.limits.metered(req):
            return None
        with self.lock:
            sessions = self.auth.touch(req)
            if sessions is None:
                return invalid_session()
            refused = self.limits.count(req)
            if refused is not None:
                return refused
            self.auth.keep(sessions)
        return None

    def after(self, req: Request, resp: Response) -> Response:
        return self.limits.header(req, resp)

    def jwt_key_path(self) -> Path:
        """The connected app's signing key pair (generated once; the sandbox keeps the public half)."""
        return self.auth.jwt_key_path()

    def expire_sessions(self) -> None:
        self.auth.expire_sessions()

    def set_daily_limit(self, limit: int) -> None:
        self.limits.set_daily_limit(limit)

    def not_found(self, req: Request) -> Response:
        return not_found()

    # ================================================================================ routes
    def _register(self) -> None:
        r = self.router.add
        rec, col = self.record_backend, self.collections
        query, desc = self.query, self.describe
        r("POST", "/services/oauth2/token", self.auth.token)
        r("POST", r"/services/Soap/u/(?P<v>[\d.]+)(/.*)?", self.auth.soap_login)
        r("GET", DATA + "/?", desc.resources)
        r("GET", DATA + "/limits/?", self.limits.limits)
        r("GET", DATA + "/query/?", lambda q: query.query(q, include_deleted=False))
        r("GET", DATA + "/queryAll/?", lambda q: query.query(q, include_deleted=True))
        r("GET", DATA + r"/query(All)?/(?P<locator>[\w-]+)", query.query_more)
        r("GET", DATA + "/sobjects/?", desc.describe_global)
        r("POST", DATA + "/composite/sobjects/?", lambda q: col.save_many(q, "create"))
        r("PATCH", DATA + "/composite/sobjects/?", lambda q: col.save_many(q, "update"))
        r("DELETE", DATA + "/composite/sobjects/?", col.delete_many)
        r("PATCH", DATA + r"/composite/sobjects/(?P<obj>\w+)/(?P<field>\w+)/?", col.upsert_many)
        r("GET", DATA + r"/sobjects/(?P<obj>\w+)/?", desc.sobject_basic_info)
        r("GET", DATA + r"/sobjects/(?P<obj>\w+)/describe/?", desc.describe)
        r("GET", DATA + r"/sobjects/(?P<obj>\w+)/updated/?", lambda q: rec.changed(q, deleted=False))
        r("GET", DATA + r"/sobjects/(?P<obj>\w+)/deleted/?", lambda q: rec.changed(q, deleted=True))
        r("POST", DATA + r"/sobjects/(?P<obj>\w+)/?", rec.create_record)
        r("GET", DATA + r"/sobjects/(?P<obj>\w+)/(?P<id>\w+)/?", rec.retrieve_record)
        r("PATCH", DATA + r"/sobjects/(?P<obj>\w+)/(?P<id>\w+)/?", rec.update_record)
        r("DELETE", DATA + r"/sobjects/(?P<obj>\w+)/(?P<id>\w+)/?", rec.delete_record)
        r("GET", DATA + r"/sobjects/(?P<obj>\w+)/(?P<field>\w+)/(?P<value>.+)", rec.retrieve_by_external_id)
        r("PATCH", DATA + r"/sobjects/(?P<obj>\w+)/(?P<field>\w+)/(?P<value>.+)", rec.upsert_by_external_id)
        r("POST", "/_sandbox/reset", self.org.ctl_reset)
        r("POST", "/_sandbox/seed", self.org.ctl_seed)
        r("POST", "/_sandbox/limits", self.limits.ctl_limits)
        r(
            "POST",
            "/_sandbox/expire_sessions",
            self.auth.ctl_expire_sessions,
        )
        r("GET", "/_sandbox/state", self.org.ctl_state)
        r("POST", "/_sandbox/act/(?P<action>[a-z_]+)", self.actor.ctl_act)

    def act(self, action: str, **kw: Any) -> dict:
        """What a Salesforce user does in the UI, through the same write path as the API."""
        return self.actor.act(action, **kw)
