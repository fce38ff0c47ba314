"""The Salesforce REST emulator: OAuth/SOAP login, SOQL queries with paging, sObject CRUD and upsert,
updated/deleted, sObject collections, API-usage limits. Served over TLS (simple-salesforce builds https://
URLs only); every login endpoint also answers at the instance URL, so clients need only a URL and a CA.

Facts and sources: ../shared/reference/salesforce-api.md. Where the docs are silent the choice is noted.
"""

from __future__ import annotations

import base64
import copy
import re
import secrets
import uuid
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation
from pathlib import Path
from typing import Any
from urllib.parse import unquote

from ..clock import SandboxClock
from ..httpbase import Request, Response, SandboxApp
from ..store import RecordStore
from . import render
from .errors import (
    api_error,
    invalid_session,
    not_found,
    oauth_error,
    request_limit_exceeded,
    save_failure,
    soap_login_fault,
)
from .ids import is_valid_id, make_id, normalise_id
from .render import batch_size, json_body, parse_sf_datetime
from .schema import FieldDef, ObjectDef, Schema, load_schema
from .soql import SF_DATETIME, SoqlError, execute

DATA = r"/services/data/v(?P<v>\d+\.\d+)"


@dataclass
class SalesforceSandboxSettings:
    daily_api_limit: int = 100_000
    session_idle_seconds: int = 7200
    username: str = "integration@sfxero.sandbox"
    password: str = "sandbox-password-not-real"
    security_token: str = "sandboxtoken"
    consumer_key: str = "SANDBOX_CONSUMER_KEY"
    consumer_secret: str = "sandbox-consumer-secret-not-real"
    org_id: str = "00D5g000000SFXERO"


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
        self.instance_url = "https://127.0.0.1"
        self._cursors: dict[str, list[dict]] = {}
        if not self.is_empty():
            with self.store.transaction():
                self._sync_auto_numbers()  # state written before counters were kept, or by hand
        self._register()
        from . import bulk2

        bulk2.register(self)

    # ================================================================================ lifecycle
    def bind(self, url: str) -> None:
        self.instance_url = url.rstrip("/")

    def now(self) -> datetime:
        return self.clock.now()

    def stamp(self) -> str:
        return self.now().strftime(SF_DATETIME)

    def is_empty(self) -> bool:
        return not self.store.get_meta("org")

    def reset(self) -> None:
        with self.lock:
            self.store.clear()
            self._cursors.clear()
            self._ensure_org()

    def _ensure_org(self) -> None:
        if self.store.get_meta("org"):
            return
        user_id = make_id("005", 1)
        now = self.stamp()
        self.store.put(
            "User",
            user_id,
            {
                "Id": user_id,
                "Username": self.settings.username,
                "LastName": "Integration",
                "FirstName": "Sync",
                "Name": "Sync Integration",
                "Email": "integration@sfxero.sandbox",
                "IsActive": True,
                "IsDeleted": False,
                "CreatedDate": now,
                "LastModifiedDate": now,
                "SystemModstamp": now,
                "CreatedById": user_id,
                "LastModifiedById": user_id,
            },
        )
        self.store.set_meta("org", {"user_id": user_id, "seq": {"User": 1}})

    @property
    def user_id(self) -> str:
        self._ensure_org()
        return self.store.get_meta("org")["user_id"]

    def load_seed(self, records_by_object: dict[str, list[dict]]) -> dict[str, int]:
        """Load records as they are (ids, system fields and all), e.g. the seed generator's output."""
        self._ensure_org()
        counts = {}
        with self.lock:
            org = self.store.get_meta("org")
            for obj_name, rows in records_by_object.items():
                obj = self.schema.get(obj_name)
                if obj is None:
                    raise ValueError(f"unknown object {obj_name!r} in seed")
                now = self.stamp()
                prepared = []
                for row in rows:
                    rec = {
                        "IsDeleted": False,
                        "CreatedDate": now,
                        "LastModifiedDate": now,
                        "SystemModstamp": now,
                        "CreatedById": self.user_id,
                        "LastModifiedById": self.user_id,
                        **row,
                    }
                    prepared.append((rec["Id"], rec))
                self.store.put_many(obj.name, prepared)
                org["seq"][obj.name] = max(org["seq"].get(obj.name, 0), len(self.store.all(obj.name)) + 1000)
                counts[obj.name] = len(prepared)
            self.store.set_meta("org", org)
            self._sync_auto_numbers()
        return counts

    # ================================================================================ auto-numbers
    def _auto_number_fields(self, obj: ObjectDef) -> list[FieldDef]:
        return [f for f in obj.fields.values() if f.auto_number is not None]

    def _sync_auto_numbers(self) -> None:
        """Move every auto-number counter past the highest number a stored record holds.

        Salesforce's counter only ever grows: "Autonumbers are always incremental but from time to time
        will not be sequential" (Salesforce Knowledge Article 000006447: a create that fails keeps the
        number it drew), so neither a delete nor a rollback hands a number out again. Records loaded as
        they are (the seed, a data migration) hold issued numbers, deleted ones included, so the next
        new record gets a higher one.
        """
        counters = dict(self.store.get_meta("autonumber", {}))
        for obj in self.schema.objects.values():
            for f in self._auto_number_fields(obj):
                key = f"{obj.name}.{f.name}"
                held = (f.parse_auto_number(r.get(f.name)) for r in self.store.all(obj.name))
                highest = max((n for n in held if n is not None), default=f.auto_number_start - 1)
                counters[key] = max(counters.get(key, f.auto_number_start), highest + 1)
        self.store.set_meta("autonumber", counters)

    def _issue_auto_number(self, obj: ObjectDef, f: FieldDef) -> str:
        """The next number for ``obj.f``, drawn for good (kept outside ``org``, so an all-or-none
        rollback, which restores ``org``, does not hand it out again)."""
        key = f"{obj.name}.{f.name}"
        if key not in self.store.get_meta("autonumber", {}):
            self._sync_auto_numbers()
        counters = dict(self.store.get_meta("autonumber"))
        n = counters[key]
        counters[key] = n + 1
        self.store.set_meta("autonumber", counters)
        return f.format_auto_number(n)

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
        r("POST", "/services/oauth2/token", self._token)
        r("POST", r"/services/Soap/u/(?P<v>[\d.]+)(/.*)?", self._soap_login)
        r(
            "GET",
            DATA + "/?",
            lambda q: Response.json(
                {
                    "sobjects": f"/services/data/v{q.params['v']}/sobjects",
                    "query": f"/services/data/v{q.params['v']}/query",
                }
            ),
        )
        r("GET", DATA + "/limits/?", self._limits)
        r("GET", DATA + "/query/?", lambda q: self._query(q, include_deleted=False))
        r("GET", DATA + "/queryAll/?", lambda q: self._query(q, include_deleted=True))
        r("GET", DATA + r"/query(All)?/(?P<locator>[\w-]+)", self._query_more)
        r("GET", DATA + "/sobjects/?", self._describe_global)
        r("POST", DATA + "/composite/sobjects/?", lambda q: self._collection(q, "create"))
        r("PATCH", DATA + "/composite/sobjects/?", lambda q: self._collection(q, "update"))
        r("DELETE", DATA + "/composite/sobjects/?", self._collection_delete)
        r("PATCH", DATA + r"/composite/sobjects/(?P<obj>\w+)/(?P<field>\w+)/?", self._collection_upsert)
        r("GET", DATA + r"/sobjects/(?P<obj>\w+)/?", self._sobject_meta)
        r("GET", DATA + r"/sobjects/(?P<obj>\w+)/describe/?", self._describe)
        r("GET", DATA + r"/sobjects/(?P<obj>\w+)/updated/?", lambda q: self._changed(q, deleted=False))
        r("GET", DATA + r"/sobjects/(?P<obj>\w+)/deleted/?", lambda q: self._changed(q, deleted=True))
        r("POST", DATA + r"/sobjects/(?P<obj>\w+)/?", self._create)
        r("GET", DATA + r"/sobjects/(?P<obj>\w+)/(?P<id>\w+)/?", self._get)
        r("PATCH", DATA + r"/sobjects/(?P<obj>\w+)/(?P<id>\w+)/?", self._update)
        r("DELETE", DATA + r"/sobjects/(?P<obj>\w+)/(?P<id>\w+)/?", self._delete)
        r("GET", DATA + r"/sobjects/(?P<obj>\w+)/(?P<field>\w+)/(?P<value>.+)", self._get_by_external)
        r("PATCH", DATA + r"/sobjects/(?P<obj>\w+)/(?P<field>\w+)/(?P<value>.+)", self._upsert)
        r("POST", "/_sandbox/reset", lambda q: (self.reset(), Response.json({"reset": True}))[1])
        r("POST", "/_sandbox/seed", self._ctl_seed)
        r("POST", "/_sandbox/limits", self._ctl_limits)
        r(
            "POST",
            "/_sandbox/expire_sessions",
            lambda q: (self.expire_sessions(), Response.json({"expired": True}))[1],
        )
        r(
            "GET",
            "/_sandbox/state",
            lambda q: Response.json({"counts": {k: self.store.count(k) for k in self.store.kinds()}}),
        )
        r("POST", "/_sandbox/act/(?P<action>[a-z_]+)", self._ctl_act)

    def obj(self, name: str) -> ObjectDef | None:
        return self.schema.get(name)

    def _limits(self, req: Request) -> Response:
        usage = self.store.get_meta("api_usage", {"count": 0})
        limit = self.settings.daily_api_limit
        return Response.json(
            {"DailyApiRequests": {"Max": limit, "Remaining": max(0, limit - usage["count"])}}
        )

    # ---------------------------------------------------------------------- query
    def records(self, object_name: str) -> list[dict]:
        return self.store.all(object_name)

    def get(self, object_name: str, record_id: str) -> dict | None:
        return self.store.get(object_name, normalise_id(record_id)) if record_id else None

    def _query(self, req: Request, include_deleted: bool) -> Response:
        q = req.arg("q")
        if not q:
            return api_error("MALFORMED_QUERY", "A query string has to be specified")
        try:
            result = execute(
                q, self, now=self.now(), api_version=req.params["v"], include_deleted=include_deleted
            )
        except SoqlError as exc:
            return api_error(exc.error_code, exc.message)
        return self._page(req, result.records, result.total_size, 0, batch_size(req), None)

    def _page(
        self, req: Request, records: list[dict], total: int, offset: int, size: int, cursor: str | None
    ) -> Response:
        chunk = records[offset : offset + size]
        body: dict[str, Any] = {"totalSize": total, "done": offset + size >= len(records), "records": chunk}
        if not body["done"]:
            cursor = cursor or f"01g{uuid.uuid4().hex[:15]}"
            self._cursors[cursor] = records
            body["nextRecordsUrl"] = f"/services/data/v{req.params['v']}/query/{cursor}-{offset + size}"
        return Response.json(body)

    def _query_more(self, req: Request) -> Response:
        cursor, _, offset = req.params["locator"].rpartition("-")
        records = self._cursors.get(cursor)
        if records is None or not offset.isdigit():
            return api_error("INVALID_QUERY_LOCATOR", "invalid query locator")
        return self._page(req, records, len(records), int(offset), batch_size(req), cursor)

    # ---------------------------------------------------------------------- describe
    def _describe_global(self, req: Request) -> Response:
        v = req.params["v"]
        return Response.json(
            {
                "encoding": "UTF-8",
                "maxBatchSize": 200,
                "sobjects": [
                    {
                        "name": o.name,
                        "keyPrefix": o.key_prefix,
                        "custom": o.custom,
                        "queryable": True,
                        "urls": {"sobject": f"/services/data/v{v}/sobjects/{o.name}"},
                    }
                    for o in self.schema.objects.values()
                ],
            }
        )

    def _sobject_meta(self, req: Request) -> Response:
        obj = self.obj(req.params["obj"])
        if obj is None:
            return self.not_found(req)
        d = obj.describe(req.params["v"])
        recent = sorted(self.store.all(obj.name), key=lambda r: r.get("LastModifiedDate", ""), reverse=True)[
            :5
        ]
        return Response.json(
            {
                "objectDescribe": {k: d[k] for k in ("name", "keyPrefix", "custom", "urls")},
                "recentItems": [
                    {
                        "attributes": {
                            "type": obj.name,
                            "url": f"/services/data/v{req.params['v']}/sobjects/{obj.name}/{x['Id']}",
                        },
                        "Id": x["Id"],
                    }
                    for x in recent
                ],
            }
        )

    def _describe(self, req: Request) -> Response:
        obj = self.obj(req.params["obj"])
        return Response.json(obj.describe(req.params["v"])) if obj else self.not_found(req)

    # ---------------------------------------------------------------------- record writes
    def _check(
        self, obj: ObjectDef, values: dict[str, Any], existing: dict | None
    ) -> tuple[dict, list[dict]]:
        """Validate client-supplied values; returns (clean values, SaveResult errors)."""
        clean: dict[str, Any] = {}
        errors: list[dict] = []

        def err(code: str, message: str, fields: list[str]) -> None:
            errors.append({"statusCode": code, "message": message, "fields": fields})

        for key, value in values.items():
            if key == "attributes":
                continue
            f = obj.field(key)
            if f is None:
                lookup = obj.relationship(key)
                if lookup is not None and isinstance(value, dict):  # {"Account": {"Ext__c": "A-1"}}
                    target = self.obj(lookup.reference_to[0])
                    matches = self._match_external(target, value)
                    if len(matches) != 1:
                        err(
                            "INVALID_FIELD",
                            f"Foreign key external ID: {value} not found for field in entity {target.name}",
                            [key],
                        )
                    else:
                        clean[lookup.name] = matches[0]["Id"]
                    continue
                err("INVALID_FIELD", f"No such column '{key}' on sobject of type {obj.name}", [key])
                continue
            if f.system or f.readonly:
                if (
                    f.name == "Id"
                    and existing is not None
                    and value
                    and normalise_id(str(value)) == existing["Id"]
                ):
                    continue
                err(
                    "INVALID_FIELD_FOR_INSERT_UPDATE",
                    f"Unable to create/update fields: {f.name}. Please check the security settings of this field and verify that it is read/write for your profile or permission set.",
                    [f.name],
                )
                continue
            try:
                clean[f.name] = self._coerce(f, value)
            except ValueError as exc:
                code, _, message = str(exc).partition(":")
                err(code, message.strip(), [f.name])
        merged = {**(existing or {}), **clean}
        if existing is None:
            missing = [
                f.name
                for f in obj.fields.values()
                if f.required and f.createable and merged.get(f.name) in (None, "")
            ]
            if missing:
                err("REQUIRED_FIELD_MISSING", f"Required fields are missing: [{', '.join(missing)}]", missing)
        for f in obj.fields.values():
            if f.unique and clean.get(f.name) not in (None, ""):
                for other in self.store.find(obj.name, f.name, clean[f.name]):
                    if other["Id"] != (existing or {}).get("Id"):
                        err(
                            "DUPLICATE_VALUE",
                            f"duplicate value found: {f.name} duplicates value on record with id: {other['Id']}",
                            [f.name],
                        )
                        break
        return clean, errors

    def _coerce(self, f: FieldDef, value: Any) -> Any:
        """One client-supplied value as stored, or ``ValueError("CODE: message")``.

        Numbers (double, currency, percent) are stored exactly as written, not rounded to the field's
        scale. Salesforce applies a field's decimal places only when a user edits it in its own UI; a
        value written through the API (REST, Apex, Bulk/Data Loader) is kept and read back with all its
        decimals, for standard and custom fields alike (Salesforce Knowledge Articles 000212661 and
        000387302, "number field stores more decimal places than defined"; 000385689, "Salesforce
        does not round values provided through the API"). A value with more integer digits than
        precision - scale is refused (NUMBER_OUTSIDE_VALID_RANGE).
        """
        if value is None or value == "":
            if f.type == "boolean":
                raise ValueError(
                    f"INVALID_TYPE_ON_FIELD_IN_RECORD: {f.name}: value not of required type: {value!r}"
                )
            return None
        if f.type == "boolean":
            if isinstance(value, bool):
                return value
            if str(value).lower() in ("true", "false"):  # CSV (Bulk 2.0) sends text
                return str(value).lower() == "true"
            raise ValueError(
                f"INVALID_TYPE_ON_FIELD_IN_RECORD: {f.name}: value not of required type: {value}"
            )
        if f.type in ("double", "currency", "percent", "int"):
            try:
                number = Decimal(str(value))
            except InvalidOperation:
                number = Decimal("NaN")
            if not number.is_finite():  # "NaN" and "Infinity" parse as Decimals but are no numbers
                raise ValueError(
                    f"INVALID_TYPE_ON_FIELD_IN_RECORD: {f.name}: value not of required type: {value}"
                )
            if (
                f.precision
                and f.scale is not None
                # integer digits from the exponent: int() of 1E+999999999 would build a billion digits
                and max(number.adjusted() + 1, 1) > f.precision - (f.scale or 0)
            ):
                raise ValueError(
                    f"NUMBER_OUTSIDE_VALID_RANGE: {f.name}: value outside of valid range on numeric field: {value}"
                )
            return number
        if f.type == "date":
            try:
                return date.fromisoformat(str(value)[:10]).isoformat()
            except ValueError:
                raise ValueError(
                    f"INVALID_TYPE_ON_FIELD_IN_RECORD: {f.name}: value not of required type: {value}"
                ) from None
        if f.type == "datetime":
            try:
                dt = datetime.fromisoformat(str(value).replace("Z", "+00:00").replace("+0000", "+00:00"))
            except ValueError:
                raise ValueError(
                    f"INVALID_TYPE_ON_FIELD_IN_RECORD: {f.name}: value not of required type: {value}"
                ) from None
            return (dt if dt.tzinfo else dt.replace(tzinfo=UTC)).astimezone(UTC).strftime(SF_DATETIME)
        text = str(value)
        if f.type == "reference":
            if not is_valid_id(text):
                raise ValueError(f"MALFORMED_ID: {f.name}: id value of incorrect type: {text}")
            rid = normalise_id(text)
            target = next((t for t in f.reference_to if self.store.get(t, rid)), None)
            if target is None:
                raise ValueError(f"INVALID_CROSS_REFERENCE_KEY: {f.name}: invalid cross reference id")
            return rid
        if f.length and len(text) > f.length:
            raise ValueError(
                f"STRING_TOO_LONG: {f.name}: data value too large: {text[:40]}... (max length={f.length})"
            )
        if f.type == "picklist" and f.restricted and text not in f.picklist:
            raise ValueError(
                f"INVALID_OR_NULL_FOR_RESTRICTED_PICKLIST: {f.name}: bad value for restricted picklist field: {text}"
            )
        if f.type == "email" and not re.fullmatch(r"[^@\s]+@[^@\s]+\.[^@\s]+", text):
            raise ValueError(f"INVALID_EMAIL_ADDRESS: {f.name}: invalid email address: {text}")
        return text

    def _derive(self, obj: ObjectDef, rec: dict) -> None:
        """Formula and system-computed fields."""
        name = obj.name
        if name == "Opportunity":
            stage = rec.get("StageName")
            rec["IsClosed"] = stage in ("Closed Won", "Closed Lost")
            rec["IsWon"] = stage == "Closed Won"
        elif name in ("OpportunityLineItem", "OrderItem"):
            q, p = rec.get("Quantity"), rec.get("UnitPrice")
            if q is not None and p is not None:
                disc = Decimal(str(rec.get("Discount") or 0)) if name == "OpportunityLineItem" else Decimal(0)
                rec["TotalPrice"] = (
                    Decimal(str(q)) * Decimal(str(p)) * (Decimal(100) - disc) / Decimal(100)
                ).quantize(Decimal("0.01"), rounding=ROUND_HALF_UP)  # Salesforce rounds currency half up
        elif name == "Contact" or name == "User":
            rec["Name"] = " ".join(x for x in (rec.get("FirstName"), rec.get("LastName")) if x)
        elif name == "PricebookEntry":
            product = self.store.get("Product2", rec.get("Product2Id") or "")
            if product:
                rec["Name"], rec["ProductCode"] = product.get("Name"), product.get("ProductCode")

    def _rollup(self, obj: ObjectDef, rec: dict) -> None:
        """Parents whose roll-ups depend on this record change too (SystemModstamp moves, as in Salesforce)."""
        parent_spec = {
            "OpportunityLineItem": ("Opportunity", "OpportunityId", "Amount"),
            "OrderItem": ("Order", "OrderId", "TotalAmount"),
        }
        if obj.name not in parent_spec:
            return
        parent_obj, fk, total_field = parent_spec[obj.name]
        parent = self.store.get(parent_obj, rec.get(fk) or "")
        if parent is None:
            return
        lines = [
            x
            for x in self.store.find(obj.name, fk, parent["Id"])
            if x.get(fk) == parent["Id"] and not x.get("IsDeleted")
        ]
        parent = copy.deepcopy(parent)
        parent[total_field] = sum((Decimal(str(x.get("TotalPrice") or 0)) for x in lines), Decimal("0.00"))
        parent["SystemModstamp"] = self.stamp()
        self.store.put(parent_obj, parent["Id"], parent)

    def _next_id(self, obj: ObjectDef) -> str:
        org = self.store.get_meta("org")
        seq = org["seq"].get(obj.name, 0) + 1
        org["seq"][obj.name] = seq
        self.store.set_meta("org", org)
        rid = make_id(obj.key_prefix, seq)
        while self.store.get(obj.name, rid) is not None:
            seq += 1
            rid = make_id(obj.key_prefix, seq)
            org["seq"][obj.name] = seq
            self.store.set_meta("org", org)
        return rid

    def save(
        self, obj: ObjectDef, values: dict[str, Any], existing: dict | None = None, *, commit: bool = True
    ) -> tuple[dict | None, list[dict]]:
        """Create (existing=None) or update one record through every rule; the single write path."""
        self._ensure_org()
        clean, errors = self._check(obj, values, existing)
        if errors:
            return None, errors
        now = self.stamp()
        if existing is None:
            rec = {
                "Id": self._next_id(obj),
                "IsDeleted": False,
                "CreatedDate": now,
                "CreatedById": self.user_id,
            }
            if obj.field("OwnerId"):
                rec["OwnerId"] = self.user_id
            if obj.field("CurrencyIsoCode"):
                rec["CurrencyIsoCode"] = "USD"
            for f in self._auto_number_fields(obj):
                rec[f.name] = self._issue_auto_number(obj, f)
            for f in obj.fields.values():
                if f.type == "boolean" and f.name not in rec and f.createable:
                    rec[f.name] = False
        else:
            rec = copy.deepcopy(existing)
        rec.update(clean)
        rec.update({"LastModifiedDate": now, "SystemModstamp": now, "LastModifiedById": self.user_id})
        self._derive(obj, rec)
        if commit:
            self.store.put(obj.name, rec["Id"], rec)
            self._rollup(obj, rec)
        return rec, []

    def _create(self, req: Request) -> Response:
        obj = self.obj(req.params["obj"])
        if obj is None:
            return api_error("NOT_FOUND", "The requested resource does not exist", status=404)
        body = json_body(req)
        if not isinstance(body, dict):
            return api_error("JSON_PARSER_ERROR", "The request body must be a JSON object")
        if body.get("Id"):
            return api_error("INVALID_FIELD_FOR_INSERT_UPDATE", "Unable to create/update fields: Id.", ["Id"])
        with self.lock, self.store.transaction():
            rec, errors = self.save(obj, body)
        if errors:
            return save_failure(errors)
        return Response.json({"id": rec["Id"], "success": True, "errors": []}, 201)

    def _get(self, req: Request) -> Response:
        obj = self.obj(req.params["obj"])
        rid = req.params["id"]
        if obj is None or not is_valid_id(rid):
            return self.not_found(req)
        rec = self.store.get(obj.name, normalise_id(rid))
        if rec is None or rec.get("IsDeleted"):
            return self.not_found(req)
        return Response.json(render.record(obj, rec, req.params["v"], req.arg("fields")))

    def _update(self, req: Request) -> Response:
        obj = self.obj(req.params["obj"])
        rid = req.params["id"]
        if obj is None or not is_valid_id(rid):
            return self.not_found(req)
        body = json_body(req)
        if not isinstance(body, dict):
            return api_error("JSON_PARSER_ERROR", "The request body must be a JSON object")
        with self.lock, self.store.transaction():
            existing = self.store.get(obj.name, normalise_id(rid))
            if existing is None or existing.get("IsDeleted"):
                return self.not_found(req)
            _, errors = self.save(obj, body, existing)
        if errors:
            return save_failure(errors)
        return Response.empty(204)

    def delete(self, obj: ObjectDef, rid: str) -> bool:
        rec = self.store.get(obj.name, normalise_id(rid))
        if rec is None or rec.get("IsDeleted"):
            return False
        rec = copy.deepcopy(rec)
        now = self.stamp()
        rec.update({"IsDeleted": True, "SystemModstamp": now, "LastModifiedDate": now})
        self.store.put(obj.name, rec["Id"], rec)
        self._rollup(obj, rec)
        return True

    def _delete(self, req: Request) -> Response:
        obj = self.obj(req.params["obj"])
        if obj is None or not is_valid_id(req.params["id"]):
            return self.not_found(req)
        with self.lock, self.store.transaction():
            ok = self.delete(obj, req.params["id"])
        return Response.empty(204) if ok else api_error("ENTITY_IS_DELETED", "entity is deleted", status=404)

    def _match_external(self, obj: ObjectDef, ref: dict) -> list[dict]:
        ((key, value),) = list(ref.items())[:1] or [("", "")]
        f = obj.field(key)
        if f is None:
            return []
        return [r for r in self.store.find(obj.name, f.name, value) if not r.get("IsDeleted")]

    def _external(self, req: Request) -> tuple[ObjectDef | None, FieldDef | None, str]:
        obj = self.obj(req.params["obj"])
        f = obj.field(req.params["field"]) if obj else None
        return (
            obj,
            f,
            unquote(req.params["value"].replace("+", " "))
            if req.method == "GET"
            else unquote(req.params["value"]),
        )

    def _get_by_external(self, req: Request) -> Response:
        obj, f, value = self._external(req)
        if obj is None or f is None or not (f.external_id or f.name == "Id"):
            return self.not_found(req)
        matches = self._match_external(obj, {f.name: value})
        if not matches:
            return self.not_found(req)
        if len(matches) > 1:
            return Response.json(
                [f"/services/data/v{req.params['v']}/sobjects/{obj.name}/{m['Id']}" for m in matches], 300
            )
        return Response.json(render.record(obj, matches[0], req.params["v"]))

    def upsert_one(self, obj: ObjectDef, f: FieldDef, value: str, body: dict) -> tuple[int, dict]:
        if f.name != "Id" and f.name in body and str(body[f.name]) != value:
            return 400, {
                "errors": [
                    {
                        "statusCode": "INVALID_FIELD",
                        "message": f"The value for {f.name} in the body does not match the URL",
                        "fields": [f.name],
                    }
                ]
            }
        matches = (
            self._match_external(obj, {f.name: value})
            if f.name != "Id"
            else [m for m in [self.store.get(obj.name, normalise_id(value))] if m]
        )
        if len(matches) > 1:
            return 300, {"matches": [m["Id"] for m in matches]}
        values = {k: v for k, v in body.items() if k != "attributes"}
        if matches:
            rec, errors = self.save(obj, values, matches[0])
            created = False
        else:
            if f.name == "Id":
                return 404, {
                    "errors": [
                        {
                            "statusCode": "NOT_FOUND",
                            "message": "Provided external ID field does not exist or is not accessible: Id",
                            "fields": [],
                        }
                    ]
                }
            rec, errors = self.save(obj, {**values, f.name: value})
            created = True
        if errors:
            return 400, {"errors": errors}
        return (201 if created else 200), {"id": rec["Id"], "success": True, "errors": [], "created": created}

    def _upsert(self, req: Request) -> Response:
        obj, f, value = self._external(req)
        if obj is None:
            return self.not_found(req)
        if f is None or not (f.external_id or f.name == "Id"):
            return api_error(
                "NOT_FOUND",
                f"Provided external ID field does not exist or is not accessible: {req.params['field']}",
                status=404,
            )
        body = json_body(req)
        if not isinstance(body, dict):
            return api_error("JSON_PARSER_ERROR", "The request body must be a JSON object")
        with self.lock, self.store.transaction():
            status, result = self.upsert_one(obj, f, value, body)
        if status == 300:
            v = req.params["v"]
            return Response.json(
                [f"/services/data/v{v}/sobjects/{obj.name}/{i}" for i in result["matches"]], 300
            )
        if status >= 400:
            return save_failure(result["errors"], status)
        # API 46.0+ answers an update with 200 and a body (created: false); a create with 201.
        return Response.json(result, status)

    def _changed(self, req: Request, deleted: bool) -> Response:
        obj = self.obj(req.params["obj"])
        if obj is None:
            return self.not_found(req)
        try:
            start = parse_sf_datetime(req.arg("start") or "")
            end = parse_sf_datetime(req.arg("end") or "")
        except ValueError:
            return api_error("INVALID_REPLICATION_DATE", "start and end must be valid dateTimes")
        if end <= start:
            return api_error("INVALID_REPLICATION_DATE", "end must be after start")
        lo, hi = (
            start.replace(second=0, microsecond=0).strftime(SF_DATETIME),
            end.replace(second=0, microsecond=0).strftime(SF_DATETIME),
        )
        rows = [
            r
            for r in self.store.all(obj.name)
            if lo <= r.get("SystemModstamp", "") < hi and bool(r.get("IsDeleted")) == deleted
        ]
        latest = min(end, self.now()).replace(second=0, microsecond=0).strftime(SF_DATETIME)
        if deleted:
            earliest = (self.now() - timedelta(days=15)).strftime(SF_DATETIME)
            return Response.json(
                {
                    "deletedRecords": [{"id": r["Id"], "deletedDate": r["SystemModstamp"]} for r in rows],
                    "earliestDateAvailable": earliest,
                    "latestDateCovered": latest,
                }
            )
        return Response.json({"ids": [r["Id"] for r in rows], "latestDateCovered": latest})

    # ---------------------------------------------------------------------- collections
    def _collection_body(self, req: Request) -> tuple[list[dict], bool] | Response:
        body = json_body(req)
        if not isinstance(body, dict) or not isinstance(body.get("records"), list):
            return api_error("JSON_PARSER_ERROR", "The request body must have a records array")
        if len(body["records"]) > 200:
            return api_error(
                "EXCEEDED_ID_LIMIT",
                "record limit reached. cannot submit more than 200 records into this call",
            )
        return body["records"], bool(body.get("allOrNone"))

    def _run_collection(self, items: list[tuple[Any, Any]], all_or_none: bool) -> Response:
        """items: (callable returning (result dict, ok)) per record, executed in one transaction."""
        with self.lock:
            snapshot = (
                {k: copy.deepcopy(self.store.items(k)) for k in self.store.kinds()} if all_or_none else None
            )
            meta_snapshot = copy.deepcopy(self.store.get_meta("org")) if all_or_none else None
            results = []
            with self.store.transaction():
                for fn in items:
                    results.append(fn())
                if all_or_none and not all(r.get("success") for r in results):
                    # Restore exactly what was there before the request: drop new rows, put back old ones.
                    for kind in self.store.kinds():
                        before = dict((snapshot or {}).get(kind, []))
                        for rid, _ in self.store.items(kind):
                            if rid not in before:
                                self.store.delete(kind, rid)
                        self.store.put_many(kind, list(before.items()))
                    self.store.set_meta("org", meta_snapshot)
                    results = [
                        r
                        if not r.get("success")
                        else {
                            "id": None,
                            "success": False,
                            "errors": [
                                {
                                    "statusCode": "ALL_OR_NONE_OPERATION_ROLLED_BACK",
                                    "message": "Record rolled back because not all records were valid and the request was using AllOrNone header",
                                    "fields": [],
                                }
                            ],
                        }
                        for r in results
                    ]
        return Response.json(results)

    def _collection(self, req: Request, mode: str) -> Response:
        parsed = self._collection_body(req)
        if isinstance(parsed, Response):
            return parsed
        records, all_or_none = parsed

        def one(rec: dict):
            def run() -> dict:
                obj = self.obj(((rec.get("attributes") or {}).get("type")) or "")
                if obj is None:
                    return {
                        "success": False,
                        "errors": [
                            {
                                "statusCode": "INVALID_TYPE",
                                "message": "sObject type is missing or unknown",
                                "fields": [],
                            }
                        ],
                    }
                values = {k: v for k, v in rec.items() if k not in ("attributes", "id", "Id")}
                if mode == "create":
                    if rec.get("id") or rec.get("Id"):
                        return {
                            "success": False,
                            "errors": [
                                {
                                    "statusCode": "INVALID_FIELD",
                                    "message": "cannot specify Id in an insert call",
                                    "fields": ["Id"],
                                }
                            ],
                        }
                    saved, errors = self.save(obj, values)
                else:
                    rid = rec.get("id") or rec.get("Id") or ""
                    existing = self.store.get(obj.name, normalise_id(rid)) if is_valid_id(str(rid)) else None
                    if existing is None or existing.get("IsDeleted"):
                        return {
                            "id": rid or None,
                            "success": False,
                            "errors": [
                                {
                                    "statusCode": "ENTITY_IS_DELETED" if existing else "MALFORMED_ID",
                                    "message": "record not found",
                                    "fields": ["Id"],
                                }
                            ],
                        }
                    saved, errors = self.save(obj, values, existing)
                if errors:
                    return {"success": False, "errors": errors}
                return {"id": saved["Id"], "success": True, "errors": []}

            return run

        return self._run_collection([one(r) for r in records], all_or_none)

    def _collection_upsert(self, req: Request) -> Response:
        obj = self.obj(req.params["obj"])
        f = obj.field(req.params["field"]) if obj else None
        if obj is None or f is None or not (f.external_id or f.name == "Id"):
            return api_error(
                "NOT_FOUND", "Provided external ID field does not exist or is not accessible", status=404
            )
        parsed = self._collection_body(req)
        if isinstance(parsed, Response):
            return parsed
        records, all_or_none = parsed

        def one(rec: dict):
            def run() -> dict:
                value = rec.get(f.name)
                if value in (None, ""):
                    return {
                        "success": False,
                        "errors": [
                            {
                                "statusCode": "MISSING_ARGUMENT",
                                "message": f"{f.name} not specified",
                                "fields": [f.name],
                            }
                        ],
                    }
                status, result = self.upsert_one(
                    obj, f, str(value), {k: v for k, v in rec.items() if k != "attributes"}
                )
                if status == 300:
                    return {
                        "success": False,
                        "errors": [
                            {
                                "statusCode": "DUPLICATE_EXTERNAL_ID",
                                "message": f"{f.name}: more than one record found for external id field: {result['matches']}",
                                "fields": [f.name],
                            }
                        ],
                    }
                if status >= 400:
                    return {"success": False, "errors": result["errors"]}
                return result

            return run

        return self._run_collection([one(r) for r in records], all_or_none)

    def _collection_delete(self, req: Request) -> Response:
        ids = [x for x in (req.arg("ids") or "").split(",") if x]
        if len(ids) > 200:
            return api_error("EXCEEDED_ID_LIMIT", "cannot delete more than 200 records")
        all_or_none = (req.arg("allOrNone") or "false").lower() == "true"

        def one(rid: str):
            def run() -> dict:
                obj = self.schema.by_prefix(rid) if is_valid_id(rid) else None
                if obj is None or not self.delete(obj, rid):
                    return {
                        "id": rid,
                        "success": False,
                        "errors": [
                            {
                                "statusCode": "ENTITY_IS_DELETED" if obj else "MALFORMED_ID",
                                "message": "entity is deleted or not found",
                                "fields": [],
                            }
                        ],
                    }
                return {"id": normalise_id(rid), "success": True, "errors": []}

            return run

        return self._run_collection([one(r) for r in ids], all_or_none)

    # ================================================================================ control API
    def _ctl_seed(self, req: Request) -> Response:
        body = req.json() or {}
        self.reset()
        if "records" in body:
            counts = self.load_seed(body["records"])
        else:
            from ..seed import generate

            counts = self.load_seed(generate(body.get("scale", "small"), int(body.get("seed", 7))).salesforce)
        return Response.json({"counts": counts})

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
