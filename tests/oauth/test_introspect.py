"""Token introspection (RFC 7662): active tokens described, everything else just inactive."""

from __future__ import annotations

import pytest
from sqlalchemy import Engine

from gridshare import urls
from gridshare.config import Settings
from gridshare.grants.grants import set_status
from gridshare.store.tables.grants import Grant
from tests.oauth.token_setup import ACCOUNTS, ADMIN, World, registered, world


@pytest.fixture
def w(settings: Settings, engine: Engine) -> World:
    return world(settings, engine)


@pytest.mark.req("WG1-02-3.2-c")
def test_an_active_access_token_is_described(w: World) -> None:
    code, grant_id = w.new_code()
    issued = w.exchange(code).json()
    answer = w.http.post(
        urls.INTROSPECT,
        data={"token": issued["access_token"], "token_type_hint": "access_token"},
        headers=w.reg.admin.basic,
    )
    assert answer.status_code == 200
    assert answer.headers["cache-control"] == "no-store"
    assert answer.headers["pragma"] == "no-cache"
    body = answer.json()
    assert body["active"] is True
    assert body["scope"] == ACCOUNTS
    assert body["client_id"] == w.reg.accounts.client_id
    assert body["token_type"] == "Bearer"
    assert body["exp"] - body["iat"] == w.settings.access_token_seconds
    assert body["authorization_details"] == issued["authorization_details"]
    assert body["cds_grant_ids"] == [grant_id]
    # a refresh token is found too, whatever the hint says
    refresh = w.http.post(
        urls.INTROSPECT,
        data={"token": issued["refresh_token"], "token_type_hint": "access_token"},
        headers=w.reg.accounts.basic,
    ).json()
    assert refresh["active"] is True
    assert "token_type" not in refresh
    assert refresh["cds_grant_ids"] == [grant_id]


@pytest.mark.req("WG1-02-8.2-d")
def test_unknown_revoked_and_closed_grant_tokens_are_inactive(w: World) -> None:
    assert w.introspect(w.reg.admin, "no-such-token") == {"active": False}
    token = w.admin_token()
    w.http.post(urls.REVOKE, data={"token": token}, headers=w.reg.admin.basic)
    assert w.introspect(w.reg.admin, token) == {"active": False}
    code, grant_id = w.new_code()
    issued = w.exchange(code).json()
    with w.session() as session:
        grant = session.get(Grant, grant_id)
        assert grant is not None
        set_status(session, grant, "closed")
        session.commit()
    assert w.introspect(w.reg.admin, issued["access_token"]) == {"active": False}
    assert w.introspect(w.reg.admin, issued["refresh_token"]) == {"active": False}


def test_another_registrations_token_is_inactive_to_the_caller(
    w: World, settings: Settings
) -> None:
    with w.session() as session:
        stranger = registered(session, settings, "Stranger")
        session.commit()
    token = w.admin_token()
    assert w.introspect(stranger.admin, token) == {"active": False}
    assert w.introspect(w.reg.grant_admin, token)["scope"] == ADMIN


def test_introspection_needs_client_authentication_and_a_token(w: World) -> None:
    token = w.admin_token()
    answer = w.http.post(urls.INTROSPECT, data={"token": token})
    assert answer.status_code == 401
    assert answer.json()["error"] == "invalid_client"
    answer = w.http.post(urls.INTROSPECT, data={}, headers=w.reg.admin.basic)
    assert (answer.status_code, answer.json()["error"]) == (400, "invalid_request")
    answer = w.http.post(urls.INTROSPECT, json={"token": token}, headers=w.reg.admin.basic)
    assert (answer.status_code, answer.json()["error"]) == (400, "invalid_request")
