"""Token revocation (RFC 7009): 200 whatever the token, refresh tokens take their family along,
and one registration cannot touch another's tokens."""

from __future__ import annotations

import pytest
from sqlalchemy import Engine

from gridshare import urls
from gridshare.config import Settings
from tests.oauth.token_setup import World, registered, world


@pytest.fixture
def w(settings: Settings, engine: Engine) -> World:
    return world(settings, engine)


@pytest.mark.req("WG1-02-3.2-c")
def test_revoking_an_access_token_ends_it_alone(w: World) -> None:
    code, _ = w.new_code()
    issued = w.exchange(code).json()
    answer = w.http.post(
        urls.REVOKE,
        data={"token": issued["access_token"], "token_type_hint": "access_token"},
        headers=w.reg.accounts.basic,
    )
    assert answer.status_code == 200
    assert answer.content == b""
    assert answer.headers["cache-control"] == "no-store"
    assert w.introspect(w.reg.accounts, issued["access_token"]) == {"active": False}
    assert w.introspect(w.reg.accounts, issued["refresh_token"])["active"] is True


def test_revoking_a_refresh_token_ends_its_family(w: World) -> None:
    """RFC 7009 §2.1; the hint is wrong on purpose: the token is found anyway."""
    code, _ = w.new_code()
    first = w.exchange(code).json()
    second = w.token(
        w.reg.accounts, grant_type="refresh_token", refresh_token=first["refresh_token"]
    ).json()
    answer = w.http.post(
        urls.REVOKE,
        data={"token": second["refresh_token"], "token_type_hint": "access_token"},
        headers=w.reg.accounts.basic,
    )
    assert answer.status_code == 200
    for value in (first["access_token"], second["access_token"], second["refresh_token"]):
        assert w.introspect(w.reg.accounts, value) == {"active": False}


def test_unknown_tokens_and_unknown_hints_are_fine(w: World) -> None:
    answer = w.http.post(
        urls.REVOKE,
        data={"token": "no-such-token", "token_type_hint": "id_token"},
        headers=w.reg.admin.basic,
    )
    assert answer.status_code == 200


def test_a_client_of_the_registration_may_revoke_but_another_registration_may_not(
    w: World, settings: Settings
) -> None:
    with w.session() as session:
        stranger = registered(session, settings, "Stranger")
        session.commit()
    token = w.admin_token()
    answer = w.http.post(urls.REVOKE, data={"token": token}, headers=stranger.admin.basic)
    assert answer.status_code == 200  # the same answer as for an unknown token
    assert w.introspect(w.reg.admin, token)["active"] is True
    answer = w.http.post(urls.REVOKE, data={"token": token}, headers=w.reg.grant_admin.basic)
    assert answer.status_code == 200
    assert w.introspect(w.reg.admin, token) == {"active": False}


def test_revocation_needs_client_authentication_and_a_token(w: World) -> None:
    token = w.admin_token()
    answer = w.http.post(urls.REVOKE, data={"token": token})
    assert (answer.status_code, answer.json()["error"]) == (401, "invalid_client")
    answer = w.http.post(urls.REVOKE, data={}, headers=w.reg.admin.basic)
    assert (answer.status_code, answer.json()["error"]) == (400, "invalid_request")
    assert w.introspect(w.reg.admin, token)["active"] is True
