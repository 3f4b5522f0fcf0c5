"""Green Button OAuth on the same Grants as CDS (oauth/espi_token.py; DIGEST §7, §10, §15).

The token responses are read with oauthlib's `WebApplicationClient` / `BackendApplicationClient`
(an OAuth library we did not write), which checks them as a client would.
"""

from __future__ import annotations

import json
from datetime import timedelta
from urllib.parse import parse_qs, urlsplit

import pytest
from oauthlib.oauth2 import BackendApplicationClient, WebApplicationClient
from sqlalchemy import select

from gridshare import urls
from gridshare.store.db import session_factory
from gridshare.store.tables.grants import AuthorizationCode, Grant
from tests.demo.conftest import SmallDemo
from tests.demo.conftest import demo as demo  # the module's demo utility
from tests.espi.setup import REDIRECT, RETAIL_SCOPE, SCOPE, EspiWorld, espi_world

ESPI = "http://testserver/espi/1_1/resource"


@pytest.fixture(scope="module")
def world(demo: SmallDemo) -> EspiWorld:
    return espi_world(demo)


def _introspect(world: EspiWorld, token: str) -> bool:
    answer = world.http.post(urls.INTROSPECT, data={"token": token}, headers=world.basic)
    assert answer.status_code == 200, answer.text
    return bool(answer.json()["active"])


@pytest.mark.req("ESPI-FB-14", "ESPI-OAD012")
def test_code_flow_without_pkce_answers_the_scope_string_and_uris(world: EspiWorld) -> None:
    """authorization_code: access and refresh tokens, the registered scope string, resourceURI
    (the Subscription) and authorizationURI (its Authorization), as a client library reads it."""
    code = world.code("home")
    answer = world.token_call(
        {"grant_type": "authorization_code", "code": code, "redirect_uri": REDIRECT}
    )
    assert answer.status_code == 200, answer.text
    client = WebApplicationClient(world.client_id)
    body = client.parse_request_body_response(answer.text, scope=[SCOPE])
    assert body["token_type"] == "Bearer" and body["expires_in"] > 0
    assert body["refresh_token"] and body["scope"] == [SCOPE]  # oauthlib splits the scope
    with session_factory(world.demo.engine)() as session:
        grant = session.scalars(
            select(Grant).where(Grant.client_id == world.client_id).order_by(Grant.created.desc())
        ).first()
        assert grant is not None and grant.espi_scope == SCOPE and grant.customer_id is not None
    assert body["resourceURI"] == f"{ESPI}/Batch/Subscription/{grant.grant_id}"
    assert body["authorizationURI"] == f"{ESPI}/Authorization/{grant.grant_id}"


@pytest.mark.req("ESPI-FB-14")
def test_the_same_consent_store_lists_the_authorization(world: EspiWorld) -> None:
    """The Green Button authorization is a Grant: the customer's connected-apps page shows it."""
    world.customer_token("solar")
    page = world.http.get(urls.CONNECTED_APPS)
    assert page.status_code == 200 and "Green Meter App" in page.text


@pytest.mark.req("ESPI-FB-14")
def test_authorization_codes_live_under_six_minutes_and_are_single_use(world: EspiWorld) -> None:
    code = world.code("home")
    with session_factory(world.demo.engine)() as session:
        stored = session.scalars(
            select(AuthorizationCode).order_by(AuthorizationCode.created.desc())
        ).first()
        assert stored is not None
        assert stored.expires_at - stored.created < timedelta(minutes=6)
    first = world.token_call(
        {"grant_type": "authorization_code", "code": code, "redirect_uri": REDIRECT}
    )
    assert first.status_code == 200
    again = world.token_call(
        {"grant_type": "authorization_code", "code": code, "redirect_uri": REDIRECT}
    )
    assert again.status_code == 400 and again.json()["error"] == "invalid_grant"
    assert not _introspect(world, first.json()["access_token"])  # reuse revokes what it gave


@pytest.mark.req("ESPI-FB-14")
def test_an_expired_code_is_refused(world: EspiWorld) -> None:
    code = world.code("home")
    with session_factory(world.demo.engine)() as session:
        stored = session.scalars(
            select(AuthorizationCode).order_by(AuthorizationCode.created.desc())
        ).first()
        assert stored is not None
        stored.expires_at = stored.created - timedelta(seconds=1)
        session.commit()
    answer = world.token_call(
        {"grant_type": "authorization_code", "code": code, "redirect_uri": REDIRECT}
    )
    assert answer.status_code == 400 and answer.json()["error"] == "invalid_grant"


@pytest.mark.req("ESPI-OAD013")
def test_a_refresh_ends_the_previous_access_token(world: EspiWorld) -> None:
    first = world.customer_token("home")
    answer = world.token_call(
        {"grant_type": "refresh_token", "refresh_token": first["refresh_token"]}
    )
    assert answer.status_code == 200, answer.text
    second = answer.json()
    assert second["scope"] == SCOPE and second["resourceURI"] == first["resourceURI"]
    assert not _introspect(world, first["access_token"])
    assert _introspect(world, second["access_token"])
    reused = world.token_call(
        {"grant_type": "refresh_token", "refresh_token": first["refresh_token"]}
    )
    assert reused.status_code == 400 and reused.json()["error"] == "invalid_grant"


@pytest.mark.req("ESPI-OAD015")
def test_client_credentials_gives_a_client_access_token_without_refresh(world: EspiWorld) -> None:
    answer = world.token_call({"grant_type": "client_credentials"})
    assert answer.status_code == 200, answer.text
    body = BackendApplicationClient(world.client_id).parse_request_body_response(answer.text)
    assert "refresh_token" not in body
    assert body["scope"] == [SCOPE]
    assert body["resourceURI"] == f"{ESPI}/Batch/Bulk/{world.client_id}"
    assert body["authorizationURI"] == f"{ESPI}/Authorization/{world.client_id}"
    other = world.token_call({"grant_type": "client_credentials", "scope": RETAIL_SCOPE})
    assert other.status_code == 200 and other.json()["scope"] == RETAIL_SCOPE


@pytest.mark.req("ESPI-FB-14")
def test_client_credentials_with_an_unregistered_scope_is_400(world: EspiWorld) -> None:
    answer = world.token_call({"grant_type": "client_credentials", "scope": "FB=1_3_4_5"})
    assert answer.status_code == 400 and answer.json()["error"] == "invalid_scope"


@pytest.mark.req("ESPI-FB-14")
@pytest.mark.parametrize(
    ("overrides", "error"),
    [
        ({"scope": "FB=1_3_4_5;IntervalDuration=900"}, "invalid_scope"),
        ({"scope": "cds_usage_1"}, "invalid_scope"),
        ({"authorization_details": json.dumps([{"type": "cds_usage_1"}])}, "invalid_request"),
        ({"code_challenge": "short", "code_challenge_method": "S256"}, "invalid_request"),
    ],
)
def test_malformed_authorize_redirects_with_an_error_before_any_login(
    world: EspiWorld, overrides: dict[str, str], error: str
) -> None:
    world.http.cookies.clear()
    sent = world.http.get(
        urls.AUTHORIZE, params=world.authorize_params(**overrides), follow_redirects=False
    )
    assert sent.status_code in (302, 303)
    location = urlsplit(sent.headers["location"])
    assert f"{location.scheme}://{location.netloc}{location.path}" == REDIRECT
    query = parse_qs(location.query)
    assert query["error"] == [error] and query["state"] == ["st"]


def test_an_unknown_client_gets_the_error_page_not_a_redirect(world: EspiWorld) -> None:
    sent = world.http.get(
        urls.AUTHORIZE,
        params=world.authorize_params(client_id="nobody"),
        follow_redirects=False,
    )
    assert sent.status_code == 400 and "location" not in sent.headers
