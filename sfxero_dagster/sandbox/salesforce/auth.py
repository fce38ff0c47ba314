"""Authentication: OAuth 2.0 token grants (client credentials, username-password, JWT bearer), SOAP
``login()``, and the sessions they open (idle timeout, ``INVALID_SESSION_ID``). Every login endpoint
answers at the instance URL, so clients need only a URL and a CA.
"""

from __future__ import annotations

import base64
import re
import secrets
from pathlib import Path

from ..httpbase import Request, Response
from .backend.org import Org
from .errors import oauth_error, soap_login_fault


class Auth:
    def __init__(self, org: Org) -> None:
        self.org = org

    def touch(self, req: Request) -> dict | None:
        """The sessions with the request's one marked used now, or None when it has none or it idled out.
        The caller keeps them (:meth:`keep`) once the request is admitted; the caller holds the lock."""
        header = req.header("Authorization") or ""
        token = header.split(" ", 1)[1].strip() if " " in header else ""
        now = self.org.now().timestamp()
        sessions = self.org.store.get_meta("sessions", {})
        session = sessions.get(token)
        if session is None or now - session["last"] >= self.org.settings.session_idle_seconds:
            return None
        session["last"] = now
        return sessions

    def keep(self, sessions: dict) -> None:
        self.org.store.set_meta("sessions", sessions)

    def jwt_key_path(self) -> Path:
        """The connected app's signing key pair (generated once; the sandbox keeps the public half)."""
        assert self.org.state_dir is not None
        path = self.org.state_dir / "jwt" / "connected-app.key"
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

    def new_session(self) -> str:
        token = f"{self.org.settings.org_id}!" + secrets.token_urlsafe(48)
        with self.org.lock:
            sessions = self.org.store.get_meta("sessions", {})
            now = self.org.now().timestamp()
            sessions = {
                k: v for k, v in sessions.items() if now - v["last"] < self.org.settings.session_idle_seconds
            }
            sessions[token] = {"issued": now, "last": now}
            self.org.store.set_meta("sessions", sessions)
        return token

    def expire_sessions(self) -> None:
        self.org.store.set_meta("sessions", {})

    def _oauth_response(self) -> Response:
        token = self.new_session()
        issued = str(int(self.org.now().timestamp() * 1000))
        return Response.json(
            {
                "access_token": token,
                "instance_url": self.org.instance_url,
                "id": f"{self.org.instance_url}/id/{self.org.settings.org_id}/{self.org.user_id}",
                "token_type": "Bearer",
                "issued_at": issued,
                "signature": base64.b64encode(secrets.token_bytes(32)).decode(),
            }
        )

    def token(self, req: Request) -> Response:
        form = req.form()
        grant = form.get("grant_type")
        s = self.org.settings
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

        if self.org.state_dir is None:
            return oauth_error("invalid_grant", "no connected app certificate registered")
        public = (self.jwt_key_path().parent / "connected-app.pub").read_bytes()
        try:
            # simple-salesforce sends exp as a string; Salesforce accepts it, so verify exp ourselves.
            claims = jwt.decode(
                assertion, public, algorithms=["RS256"], options={"verify_exp": False, "verify_aud": False}
            )
        except jwt.PyJWTError as exc:
            return oauth_error("invalid_grant", f"invalid assertion: {exc}")
        if claims.get("iss") != self.org.settings.consumer_key:
            return oauth_error("invalid_client_id", "client identifier invalid")
        if claims.get("sub") != self.org.settings.username:
            return oauth_error("invalid_grant", "user hasn't approved this consumer")
        try:
            if float(claims.get("exp", 0)) < self.org.now().timestamp():
                return oauth_error("invalid_grant", "expired authorization code")
        except (TypeError, ValueError):
            return oauth_error("invalid_grant", "invalid exp claim")
        return self._oauth_response()

    def soap_login(self, req: Request) -> Response:
        body = req.body.decode("utf-8", "replace")
        user = re.search(r"<[\w:]*username>(.*?)</[\w:]*username>", body, re.S)
        password = re.search(r"<[\w:]*password>(.*?)</[\w:]*password>", body, re.S)
        s = self.org.settings
        if (
            not user
            or not password
            or user.group(1) != s.username
            or password.group(1) != s.password + s.security_token
        ):
            return soap_login_fault()
        token = self.new_session()
        xml = (
            '<?xml version="1.0" encoding="UTF-8"?><soapenv:Envelope xmlns:soapenv="http://schemas.xmlsoap.org/soap/envelope/" '
            'xmlns="urn:partner.soap.sforce.com"><soapenv:Body><loginResponse><result>'
            f"<metadataServerUrl>{self.org.instance_url}/services/Soap/m/59.0/{self.org.settings.org_id}</metadataServerUrl>"
            "<passwordExpired>false</passwordExpired><sandbox>true</sandbox>"
            f"<serverUrl>{self.org.instance_url}/services/Soap/u/59.0/{self.org.settings.org_id}</serverUrl>"
            f"<sessionId>{token}</sessionId><userId>{self.org.user_id}</userId>"
            f"<userInfo><organizationId>{self.org.settings.org_id}</organizationId><userName>{s.username}</userName></userInfo>"
            "</result></loginResponse></soapenv:Body></soapenv:Envelope>"
        )
        return Response(200, xml.encode(), {"Content-Type": "text/xml; charset=utf-8"})

    def ctl_expire_sessions(self, req: Request) -> Response:
        self.expire_sessions()
        return Response.json({"expired": True})
