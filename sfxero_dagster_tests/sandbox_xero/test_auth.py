"""Tokens: rotation with a 30-minute grace, invalid_grant after it, client credentials, TokenExpired."""

from __future__ import annotations

import pytest
import requests
from xero_python.identity import IdentityApi

from .conftest import AU, UK, XeroSandbox, fresh_access_token
from .conftest import refresh_grant as refresh


def test_refresh_token_rotates_with_grace_then_invalid_grant(xero: XeroSandbox) -> None:
    rt = xero.info["refresh_token"]
    first = refresh(xero, rt)
    assert first.status_code == 200
    body = first.json()
    # only the keys xero-python's update_token accepts
    assert set(body) == {"access_token", "expires_in", "token_type", "refresh_token", "scope"}
    assert body["expires_in"] == 1800 and body["token_type"] == "Bearer" and body["refresh_token"] != rt
    xero.control.advance(29 * 60)
    assert refresh(xero, rt).status_code == 200  # still inside the grace period
    xero.control.advance(2 * 60)
    late = refresh(xero, rt)
    assert late.status_code == 400 and late.json() == {"error": "invalid_grant"}
    assert refresh(xero, body["refresh_token"]).status_code == 200  # the rotated token is the live one
    assert refresh(xero, "made-up").json() == {"error": "invalid_grant"}


def test_wrong_client_secret_and_grant(xero: XeroSandbox) -> None:
    bad = requests.post(
        xero.info["token_url"],
        data={
            "grant_type": "refresh_token",
            "refresh_token": xero.info["refresh_token"],
            "client_id": xero.info["client_id"],
            "client_secret": "nope",
        },
        timeout=10,
    )
    assert bad.status_code == 400 and bad.json() == {"error": "invalid_client"}
    odd = requests.post(
        xero.info["token_url"],
        data={
            "grant_type": "password",
            "client_id": xero.info["client_id"],
            "client_secret": xero.info["client_secret"],
        },
        timeout=10,
    )
    assert odd.json() == {"error": "unsupported_grant_type"}


def test_client_credentials_with_basic_auth_for_custom_connection(xero: XeroSandbox) -> None:
    resp = requests.post(
        xero.info["token_url"],
        data={"grant_type": "client_credentials"},
        auth=(xero.info["client_id"], xero.info["client_secret"]),
        timeout=10,
    )
    assert resp.status_code == 200 and "refresh_token" not in resp.json()
    token = resp.json()["access_token"]
    # a custom connection is tied to one organisation; the tenant header may be omitted
    orgs = xero.raw("GET", "/Organisation", tenant=None, token=token)
    assert orgs.status_code == 200 and orgs.json()["Organisations"][0]["OrganisationID"] == AU
    assert xero.raw("GET", "/Organisation", tenant=UK, token=token).status_code == 403


def test_access_token_expires_after_30_minutes(xero: XeroSandbox) -> None:
    token = fresh_access_token(xero)
    assert xero.raw("GET", "/Organisation", token=token).status_code == 200
    xero.control.advance(30 * 60)
    resp = xero.raw("GET", "/Organisation", token=token)
    assert resp.status_code == 401
    body = resp.json()
    assert (
        body["Title"] == "Unauthorized"
        and body["Status"] == 401
        and body["Detail"].startswith("TokenExpired")
    )
    assert xero.raw("GET", "/Organisation", token="garbage").status_code == 401


def test_xero_python_refreshes_and_saves_rotated_token(
    xero: XeroSandbox, accounting, identity: IdentityApi
) -> None:
    connections = identity.get_connections()
    assert sorted(c.tenant_id for c in connections) == sorted([AU, UK])
    assert {c.tenant_name for c in connections} == {"Acme Pty Ltd", "Acme UK Ltd"}
    token = accounting.api_client.get_oauth2_token()
    assert token["refresh_token"] != xero.info["refresh_token"]
    # unknown tenant
    with pytest.raises(Exception) as info:
        accounting.get_organisations("00000000-0000-0000-0000-000000000000")
    assert getattr(info.value, "status", None) == 403
