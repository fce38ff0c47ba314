"""Logging in to Salesforce: the client's settings, and a session fetched from ``login_url`` ourselves.

Why not simple-salesforce's own login: it builds login URLs as ``https://{domain}.salesforce.com``, which
cannot point at a My Domain URL given in full, a test org behind a proxy, or the local sandbox. So the
client fetches the session (OAuth client credentials, username-password or JWT bearer, or SOAP login)
and hands simple-salesforce an instance URL and a session id.
"""

from __future__ import annotations

import re
import time
from collections.abc import Callable
from typing import Any
from xml.sax.saxutils import escape

import requests
from pydantic import BaseModel
from simple_salesforce import Salesforce
from tenacity import Retrying, retry_if_exception, stop_after_attempt, wait_exponential_jitter

from sfxero_dagster.config.connections import SalesforceConfig


class SalesforceCredentials(BaseModel):
    """The secrets of the configured auth flow (from SF_* environment variables, never from the file)."""

    consumer_key: str | None = None
    consumer_secret: str | None = None
    username: str | None = None
    password: str | None = None
    security_token: str | None = None
    private_key_file: str | None = None


class SalesforceSettings(SalesforceConfig, SalesforceCredentials):
    """What the client needs: the configured connection (the one model of it, ``config.SalesforceConfig``),
    the credentials, and retry tuning that is not configuration."""

    max_relogins: int = 2
    max_attempts: int = 5
    bulk_poll_seconds: float = 0.5

    @classmethod
    def of(cls, connection: SalesforceConfig, credentials: SalesforceCredentials) -> SalesforceSettings:
        return cls(**connection.model_dump(), **credentials.model_dump())


class SalesforceAuthError(RuntimeError):
    """Salesforce refused the credentials: nothing to retry."""


class _TimeoutSession(requests.Session):
    """A session whose requests time out after ``timeout`` seconds unless the caller says otherwise.

    simple-salesforce passes no timeout on its data calls, so without this a stalled Salesforce held a run
    forever and ``salesforce.timeout_seconds`` applied to the login only. A timeout is a ``requests.Timeout``,
    which :meth:`SalesforceClient.call` retries on idempotent calls.
    """

    def __init__(self, timeout: float) -> None:
        super().__init__()
        self.timeout = timeout

    def request(self, method: str | bytes, url: str | bytes, *args: Any, **kwargs: Any) -> requests.Response:
        if kwargs.get("timeout") is None:
            kwargs["timeout"] = self.timeout
        return super().request(method, url, *args, **kwargs)


class SalesforceLogin:
    """The login half of :class:`~sfxero_dagster.clients.salesforce.SalesforceClient` (a mixin)."""

    settings: SalesforceSettings
    http: requests.Session
    sleep: Callable[[float], None]
    logins: int
    _sf: Salesforce | None

    def login(self) -> Salesforce:
        s = self.settings
        base = s.login_url.rstrip("/")
        self.logins += 1
        if s.auth_flow == "password":
            token, instance = self._soap_login(base)
        else:
            form: dict[str, str] = {}
            auth = None
            if s.auth_flow == "client_credentials":
                form["grant_type"] = "client_credentials"
                auth = (s.consumer_key or "", s.consumer_secret or "")
            elif s.auth_flow == "oauth_password":
                form.update(
                    grant_type="password",
                    client_id=s.consumer_key or "",
                    client_secret=s.consumer_secret or "",
                    username=s.username or "",
                    password=(s.password or "") + (s.security_token or ""),
                )
            else:
                form.update(
                    grant_type="urn:ietf:params:oauth:grant-type:jwt-bearer", assertion=self._jwt(base)
                )
            resp = self._post_login(f"{base}/services/oauth2/token", data=form, auth=auth)
            if resp.status_code != 200:
                message = _error_text(resp)
                raise SalesforceAuthError(
                    f"Salesforce login ({s.auth_flow}) failed with {resp.status_code}: {message}"
                )
            body = resp.json()
            token, instance = body["access_token"], body["instance_url"]
        self._sf = Salesforce(
            instance_url=instance, session_id=token, session=self.http, version=s.api_version
        )
        return self._sf

    def _post_login(self, url: str, **kwargs: Any) -> requests.Response:
        """POST to a login endpoint, retrying 5xx, timeouts and dropped connections: a login only opens a
        session, so repeating it is harmless, and a run should not fail on one unavailable moment."""

        def attempt() -> requests.Response:
            resp = self.http.post(url, timeout=self.settings.timeout_seconds, **kwargs)
            if resp.status_code >= 500:
                raise _LoginUnavailable(resp)
            return resp

        retrying = Retrying(
            retry=retry_if_exception(
                lambda e: isinstance(e, _LoginUnavailable | requests.ConnectionError | requests.Timeout)
            ),
            stop=stop_after_attempt(self.settings.max_attempts),
            wait=wait_exponential_jitter(multiplier=0.5, max=30),
            sleep=self.sleep,
            reraise=True,
        )
        try:
            return retrying(attempt)
        except _LoginUnavailable as exc:
            return exc.response  # still unavailable after the retries: reported with its status

    def _jwt(self, audience: str) -> str:
        import jwt

        s = self.settings
        if not s.private_key_file:
            raise SalesforceAuthError("jwt_bearer needs a private key file (SF_JWT_PRIVATE_KEY_FILE)")
        with open(s.private_key_file, "rb") as fh:
            key = fh.read()
        claims = {"iss": s.consumer_key, "sub": s.username, "aud": audience, "exp": int(time.time()) + 180}
        return jwt.encode(claims, key, algorithm="RS256")

    def _soap_login(self, base: str) -> tuple[str, str]:
        s = self.settings
        body = (
            '<?xml version="1.0" encoding="utf-8" ?><env:Envelope xmlns:xsd="http://www.w3.org/2001/XMLSchema" '
            'xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance" xmlns:env="http://schemas.xmlsoap.org/soap/envelope/" '
            'xmlns:urn="urn:partner.soap.sforce.com"><env:Body><urn:login>'
            f"<urn:username>{escape(s.username or '')}</urn:username>"
            f"<urn:password>{escape((s.password or '') + (s.security_token or ''))}</urn:password>"
            "</urn:login></env:Body></env:Envelope>"
        )
        resp = self._post_login(
            f"{base}/services/Soap/u/{s.api_version}",
            data=body.encode(),
            headers={"content-type": "text/xml", "charset": "UTF-8", "SOAPAction": "login"},
        )
        session = re.search(r"<sessionId>(.*?)</sessionId>", resp.text)
        server = re.search(r"<serverUrl>(https?://[^/<]+)", resp.text)
        if resp.status_code != 200 or not session or not server:
            code = re.search(r"<sf:exceptionCode>(.*?)</sf:exceptionCode>", resp.text)
            raise SalesforceAuthError(
                f"Salesforce SOAP login failed: {code.group(1) if code else resp.status_code}"
            )
        return session.group(1), server.group(1).replace("-api", "")

    @property
    def sf(self) -> Salesforce:
        return self._sf or self.login()


class _LoginUnavailable(Exception):
    def __init__(self, response: requests.Response) -> None:
        super().__init__(response.status_code)
        self.response = response


def _error_text(resp: requests.Response) -> str:
    """An OAuth error ({error, error_description}), a REST error list, or the start of the body."""
    try:
        detail = resp.json()
    except ValueError:
        return resp.text[:200]
    if isinstance(detail, dict):
        return f"{detail.get('error')}: {detail.get('error_description')}"
    if isinstance(detail, list) and detail and isinstance(detail[0], dict):
        return f"{detail[0].get('errorCode')}: {detail[0].get('message')}"
    return resp.text[:200]
