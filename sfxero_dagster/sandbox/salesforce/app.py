"""The Salesforce REST emulator: OAuth/SOAP login, SOQL queries with paging, sObject CRUD and upsert,
updated/deleted, sObject collections, API-usage limits. Served over TLS (simple-salesforce builds https://
URLs only); every login endpoint also answers at the instance URL, so clients need only a URL and a CA.

Facts and sources: ../shared/reference/salesforce-api.md. Where the docs are silent the choice is noted.
"""

from __future__ import annotations

import base64
import re
import secrets
from datetime import datetime
from pathlib import Path
from typing import Any

from ..clock import SandboxClock
from ..httpbase import Request, Response, SandboxApp
from ..store import RecordStore
from .backend.collections import Collections
from .backend.describe import Describe
from .backend.org import Org, SalesforceSandboxSettings
from .backend.query import Query
from .backend.records import Records
from .errors import (
    invalid_session,
    not_found,
    oauth_error,
    request_limit_exceeded,
    soap_login_fault,
)
from .ids import normalise_id
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
        self.query = Query(self.org)
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

    # ================================================================================ auth
    def jwt_key_path(self) -> Path:
        """The connected app's signing key pair (generated once; the sandbox keeps the public half)."""
        assert self.state_dir is not None
        path = self.state_dir / "jwt" / "connected-app.key"
        if not path.exists():
            from cryptography.hazmat.primitives import serialization
            from cryptography.hazmat.primitives.asymmetric import rsa

            path.parent.mkdir(parents=True, exist_ok=True)
            key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
            path.write_bytes(
                key.private_bytes(
                    serialization.Encoding.PEM,
                    serialization.PrivateFormat.PKCS8,
                    serialization.NoEncryption(),
                )
            )
            path.chmod(0o600)
            (path.parent / "connected-app.pub").write_bytes(
                key.public_key().public_bytes(
                    serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
                )
            )
        return path

    def _new_session(self) -> str:
        token = f"{self.settings.org_id}!" + secrets.token_urlsafe(48)
        with self.lock:
            sessions = self.store.get_meta("sessions", {})
            now = self.now().timestamp()
            sessions = {
                k: v for k, v in sessions.items() if now - v["last"] < self.settings.session_idle_seconds
            }
            sessions[token] = {"issued": now, "last": now}
            self.store.set_meta("sessions", sessions)
        return token

    def expire_sessions(self) -> None:
        self.store.set_meta("sessions", {})

    def _oauth_response(self) -> Response:
        token = self._new_session()
        issued = str(int(self.now().timestamp() * 1000))
        return Response.json(
            {
                "access_token": token,
                "instance_url": self.instance_url,
                "id": f"{self.instance_url}/id/{self.settings.org_id}/{self.user_id}",
                "token_type": "Bearer",
                "issued_at": issued,
                "signature": base64.b64encode(secrets.token_bytes(32)).decode(),
            }
        )

    def _token(self, req: Request) -> Response:
        form = req.form()
        grant = form.get("grant_type")
        s = self.settings
        if grant == "client_credentials":
            header = req.header("Authorization") or ""
            cid, secret = form.get("client_id"), form.get("client_secret")
            if header.lower().startswith("basic "):
                cid, _, secret = base64.b64decode(header[6:]).decode().partition(":")
            if (cid, secret) != (s.consumer_key, s.consumer_secret):
                return oauth_error("invalid_client", "invalid client credentials")
            return self._oauth_response()
        if grant == "password":
            if (form.get("client_id"), form.get("client_secret")) != (s.consumer_key, s.consumer_secret):
                return oauth_error("invalid_client_id", "client identifier invalid")
            if form.get("username") != s.username or form.get("password") not in (
                s.password,
                s.password + s.security_token,
            ):
                return oauth_error("invalid_grant", "authentication failure")
            return self._oauth_response()
        if grant == "urn:ietf:params:oauth:grant-type:jwt-bearer":
            return self._jwt(form.get("assertion", ""))
        return oauth_error("unsupported_grant_type", "grant type not supported")

    def _jwt(self, assertion: str) -> Response:
        import jwt

        if self.state_dir is None:
            return oauth_error("invalid_grant", "no connected app certificate registered")
        public = (self.jwt_key_path().parent / "connected-app.pub").read_bytes()
        try:
            # simple-salesforce sends exp as a string; Salesforce accepts it, so verify exp ourselves.
            claims = jwt.decode(
                assertion, public, algorithms=["RS256"], options={"verify_exp": False, "verify_aud": False}
            )
        except jwt.PyJWTError as exc:
            return oauth_error("invalid_grant", f"invalid assertion: {exc}")
        if claims.get("iss") != self.settings.consumer_key:
            return oauth_error("invalid_client_id", "client identifier invalid")
        if claims.get("sub") != self.settings.username:
            return oauth_error("invalid_grant", "user hasn't approved this consumer")
        try:
            if float(claims.get("exp", 0)) < self.now().timestamp():
                return oauth_error("invalid_grant", "expired authorization code")
        except (TypeError, ValueError):
            return oauth_error("invalid_grant", "invalid exp claim")
        return self._oauth_response()

    def _soap_login(self, req: Request) -> Response:
        body = req.body.decode("utf-8", "replace")
        user = re.search(r"<[\w:]*username>(.*?)</[\w:]*username>", body, re.S)
        password = re.search(r"<[\w:]*password>(.*?)</[\w:]*password>", body, re.S)
        s = self.settings
        if (
            not user
            or not password
            or user.group(1) != s.username
            or password.group(1) != s.password + s.security_token
        ):
            return soap_login_fault()
        token = self._new_session()
        xml = (
            '<?xml version="1.0" encoding="UTF-8"?><soapenv:Envelope xmlns:soapenv="http://schemas.xmlsoap.org/soap/envelope/" '
            'xmlns="urn:partner.soap.sforce.com"><soapenv:Body><loginResponse><result>'
            f"<metadataServerUrl>{self.instance_url}/services/Soap/m/59.0/{self.settings.org_id}</metadataServerUrl>"
            "<passwordExpired>false</passwordExpired><sandbox>true</sandbox>"
            f"<serverUrl>{self.instance_url}/services/Soap/u/59.0/{self.settings.org_id}</serverUrl>"
            f"<sessionId>{token}</sessionId><userId>{self.user_id}</userId>"
            f"<userInfo><organizationId>{self.settings.org_id}</organizationId><userName>{s.username}</userName></userInfo>"
            "</result></loginResponse></soapenv:Body></soapenv:Envelope>"
        )
        return Response(200, xml.encode(), {"Content-Type": "text/xml; charset=utf-8"})

    # ================================================================================ hooks
    def before(self, req: Request) -> Response | None:
        path = req.raw_path
        if not path.startswith("/services/data") and not path.startswith("/services/async"):
            return None
        header = req.header("Authorization") or ""
        token = header.split(" ", 1)[1].strip() if " " in header else ""
        now = self.now().timestamp()
        with self.lock:
            sessions = self.store.get_meta("sessions", {})
            session = sessions.get(token)
            if session is None or now - session["last"] >= self.settings.session_idle_seconds:
                return invalid_session()
            session["last"] = now
            usage = self.store.get_meta("api_usage", {"day": "", "count": 0})
            today = self.now().date().isoformat()
            if usage["day"] != today:
                usage = {"day": today, "count": 0}
            if usage["count"] >= self.settings.daily_api_limit:
                req.usage = usage["count"]  # type: ignore[attr-defined]
                return request_limit_exceeded()
            usage["count"] += 1
            req.usage = usage["count"]  # type: ignore[attr-defined]
            self.store.set_meta("api_usage", usage)
            self.store.set_meta("sessions", sessions)
        return None

    def after(self, req: Request, resp: Response) -> Response:
        if hasattr(req, "usage"):
            resp.headers["Sforce-Limit-Info"] = f"api-usage={req.usage}/{self.settings.daily_api_limit}"  # type: ignore[attr-defined]
        return resp

    def not_found(self, req: Request) -> Response:
        return not_found()

    def set_daily_limit(self, limit: int) -> None:
        self.settings.daily_api_limit = limit

    # ================================================================================ routes
    def _register(self) -> None:
        r = self.router.add
        rec, col = self.record_backend, self.collections
        query, desc = self.query, self.describe
        r("POST", "/services/oauth2/token", self._token)
        r("POST", r"/services/Soap/u/(?P<v>[\d.]+)(/.*)?", self._soap_login)
        r("GET", DATA + "/?", desc.resources)
        r("GET", DATA + "/limits/?", self._limits)
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
        r("POST", "/_sandbox/limits", self._ctl_limits)
        r(
            "POST",
            "/_sandbox/expire_sessions",
            lambda q: (self.expire_sessions(), Response.json({"expired": True}))[1],
        )
        r("GET", "/_sandbox/state", self.org.ctl_state)
        r("POST", "/_sandbox/act/(?P<action>[a-z_]+)", self._ctl_act)

    def _limits(self, req: Request) -> Response:
        usage = self.store.get_meta("api_usage", {"count": 0})
        limit = self.settings.daily_api_limit
        return Response.json(
            {"DailyApiRequests": {"Max": limit, "Remaining": max(0, limit - usage["count"])}}
        )

    # ================================================================================ control API
    def _ctl_limits(self, req: Request) -> Response:
        body = req.json() or {}
        if "daily_api_limit" in body:
            self.settings.daily_api_limit = int(body["daily_api_limit"])
        if body.get("reset_usage"):
            self.store.set_meta("api_usage", {"day": "", "count": 0})
        return Response.json(
            {"daily_api_limit": self.settings.daily_api_limit, "usage": self.store.get_meta("api_usage", {})}
        )

    def act(self, action: str, **kw: Any) -> dict:
        """What a Salesforce user does in the UI, through the same write path as the API."""
        with self.lock, self.store.transaction():
            if action == "edit":
                obj = self.schema.by_prefix(kw["id"])
                existing = self.store.get(obj.name, normalise_id(kw["id"])) if obj else None
                if existing is None:
                    raise ValueError(f"unknown record {kw['id']}")
                rec, errors = self.save(obj, kw.get("fields", {}), existing)
            elif action == "create":
                obj = self.obj(kw["object"])
                if obj is None:
                    raise ValueError(f"unknown object {kw['object']}")
                rec, errors = self.save(obj, kw.get("fields", {}))
            elif action == "close_won":
                rec, errors = self.save(
                    self.obj("Opportunity"),
                    {"StageName": "Closed Won"},
                    self.store.get("Opportunity", normalise_id(kw["id"])),
                )
            elif action in ("activate_order", "cancel_order"):
                status = "Activated" if action == "activate_order" else "Cancelled"
                rec, errors = self.save(
                    self.obj("Order"), {"Status": status}, self.store.get("Order", normalise_id(kw["id"]))
                )
            elif action == "delete":
                obj = self.schema.by_prefix(kw["id"])
                if obj is None or not self.delete(obj, kw["id"]):
                    raise ValueError(f"cannot delete {kw['id']}")
                return {"id": normalise_id(kw["id"]), "deleted": True}
            else:
                raise ValueError(f"unknown action {action!r}")
        if errors:
            raise ValueError("; ".join(e["message"] for e in errors))
        return rec

    def _ctl_act(self, req: Request) -> Response:
        try:
            return Response.json(self.act(req.params["action"], **(req.json() or {})))
        except (KeyError, ValueError, AttributeError) as exc:
            return Response.json({"error": str(exc)}, 400)
