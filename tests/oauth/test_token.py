"""The token endpoint: client_credentials (direct and Grant Admin), authorization_code with PKCE,
refresh rotation, and the refusals that change nothing (RFC 6749 §3.2, §4.1.3, §4.4, §5, §6;
CDS-WG1-02 §3.3.2, §7.6, §8.2)."""

from __future__ import annotations

import json
from datetime import timedelta
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine, func, select

from gridshare import urls
from gridshare.app import create_app
from gridshare.config import Settings
from gridshare.grants.authorization_details import resolve_request
from gridshare.grants.clients import new_credential, register
from gridshare.grants.grants import create_grant, set_status
from gridshare.grants.scopes import DEFAULT_FILE, load_catalogue
from gridshare.grants.secrets import digest
from gridshare.store.db import session_factory, utcnow
from gridshare.store.tables.clients import Client, Credential
from gridshare.store.tables.grants import AuthorizationCode, Grant, Token
from tests.oauth.token_setup import (
    ACCOUNTS,
    ADMIN,
    FILES,
    GRANT_ADMIN,
    REDIRECT,
    VERIFIER,
    Party,
    World,
    accounts_grant,
    code_for,
    files_grant,
    registered,
    world,
)


@pytest.fixture
def w(settings: Settings, engine: Engine) -> World:
    return world(settings, engine)


def _count_tokens(w: World) -> int:
    with w.session() as session:
        return int(session.scalar(select(func.count()).select_from(Token)) or 0)


def _grant(w: World, grant_id: str) -> Grant:
    with w.session() as session:
        grant = session.get(Grant, grant_id)
        assert grant is not None
        return grant


# --- client_credentials --------------------------------------------------------------------------


@pytest.mark.req("WG1-02-3.2-c", "WG1-02-11.2-d")
def test_client_credentials_gives_a_bearer_token_bound_to_a_server_created_grant(w: World) -> None:
    answer = w.token(w.reg.admin, grant_type="client_credentials", scope=ADMIN)
    assert answer.status_code == 200
    assert answer.headers["cache-control"] == "no-store"
    assert answer.headers["pragma"] == "no-cache"
    body = answer.json()
    assert set(body) == {"access_token", "token_type", "expires_in", "scope", "cds_grant_ids"}
    assert body["token_type"] == "Bearer"
    assert body["expires_in"] == w.settings.access_token_seconds
    assert body["scope"] == ADMIN
    (grant_id,) = body["cds_grant_ids"]
    grant = _grant(w, grant_id)
    assert (grant.client_id, grant.customer_id, grant.status) == (
        w.reg.admin.client_id,
        None,
        "active",
    )
    assert grant.scope == grant.enabled_scope == ADMIN
    with w.session() as session:
        token = session.get(Token, digest(body["access_token"]))
        assert token is not None
        assert token.grant_ids == [grant_id]
        assert token.credential_id is not None
    # the token opens the Grants API, where its Grant is listed (example 12.16)
    listed = w.http.get(urls.GRANTS, headers={"Authorization": f"Bearer {body['access_token']}"})
    assert listed.status_code == 200
    assert grant_id in {g["grant_id"] for g in listed.json()["grants"]}


def test_client_credentials_reuses_its_grant_while_it_gives_access(w: World) -> None:
    first = w.token(w.reg.admin, grant_type="client_credentials", scope=ADMIN).json()
    second = w.token(w.reg.admin, grant_type="client_credentials").json()  # scope: the default
    assert second["scope"] == ADMIN
    assert second["cds_grant_ids"] == first["cds_grant_ids"]
    assert second["access_token"] != first["access_token"]


def test_a_closed_client_credentials_grant_is_replaced_but_a_disabled_one_is_not(w: World) -> None:
    first = w.token(w.reg.admin, grant_type="client_credentials", scope=ADMIN).json()
    with w.session() as session:
        grant = session.get(Grant, first["cds_grant_ids"][0])
        assert grant is not None
        set_status(session, grant, "closed")
        session.commit()
    second = w.token(w.reg.admin, grant_type="client_credentials", scope=ADMIN)
    assert second.status_code == 200
    new_grant = second.json()["cds_grant_ids"][0]
    assert new_grant != first["cds_grant_ids"][0]
    with w.session() as session:
        grant = session.get(Grant, new_grant)
        assert grant is not None
        set_status(session, grant, "disabled")
        session.commit()
    before = _count_tokens(w)
    third = w.token(w.reg.admin, grant_type="client_credentials", scope=ADMIN)
    assert third.status_code == 400
    assert third.json()["error"] == "invalid_grant"
    assert _count_tokens(w) == before


READINGS = "gridshare_test_readings"


def _with_readings_scope(settings: Settings, directory: Path) -> Settings:
    """The bundled catalogue plus a direct-access scope whose field defaults to a relative date."""
    data = json.loads(DEFAULT_FILE.read_text())
    data["cds_scope_descriptions"][READINGS] = {
        "id": READINGS,
        "type": READINGS,
        "name": "Test readings",
        "description": "Readings for tests",
        "documentation": "/developers/oauth",
        "registration_requirements": [],
        "registration_optional": [],
        "response_types_supported": [],
        "grant_types_supported": ["client_credentials"],
        "token_endpoint_auth_methods_supported": ["client_secret_basic"],
        "code_challenge_methods_supported": [],
        "coverages_supported": [],
        "grant_admin_scope": None,
        "authorization_details_types_supported": [READINGS],
        "authorization_details_fields_supported": [
            {
                "id": "since",
                "name": "Since",
                "description": "How far back",
                "documentation": "/developers/oauth",
                "for_types": [READINGS],
                "format": "relative_or_absolute_datetime",
                "is_required": False,
                "default": "P1D",
                "maximum": "P30D",
                "minimum": "P0D",
                "historical": True,
            }
        ],
    }
    path = directory / "scopes.json"
    path.write_text(json.dumps(data))
    return settings.model_copy(update={"scopes_file": path})


@pytest.mark.req("WG1-02-3.9-c")
def test_relative_dates_resolve_at_the_first_request_of_a_client_credentials_grant(
    tmp_path: Path, settings: Settings, engine: Engine
) -> None:
    """A later request reuses the Grant made for the same request earlier, whose relative
    dates were resolved then; the answer shows absolute dates."""
    custom = _with_readings_scope(settings, tmp_path)
    catalogue = load_catalogue(custom)
    with session_factory(engine)() as session:
        done = register(session, custom, catalogue, {"scope": f"{ADMIN} {READINGS}"})
        (client,) = [c for c in done.clients if c.scope == READINGS]
        _, secret = new_credential(session, custom, client)
        an_hour_ago = utcnow() - timedelta(hours=1)
        then = resolve_request(
            catalogue,
            scope=READINGS,
            details=[],
            allowed_scopes={READINGS},
            settings=custom,
            now=an_hour_ago,
        )
        earlier = create_grant(
            session,
            client_id=client.client_id,
            scope=then.scope,
            authorization_details=then.authorization_details,
        )
        earlier.created = an_hour_ago
        session.commit()
        party = Party(client.client_id, secret)
        earlier_id = earlier.grant_id
    http = TestClient(create_app(custom, engine))
    answer = http.post(
        urls.TOKEN,
        data={"grant_type": "client_credentials", "scope": READINGS},
        headers=party.basic,
    )
    assert answer.status_code == 200, answer.text
    body = answer.json()
    assert body["cds_grant_ids"] == [earlier_id]
    assert body["authorization_details"] == then.authorization_details
    assert body["authorization_details"][0]["since"].endswith("Z")
    # asking for another value makes another Grant
    other = http.post(
        urls.TOKEN,
        data={
            "grant_type": "client_credentials",
            "authorization_details": json.dumps([{"type": READINGS, "since": "P2D"}]),
        },
        headers=party.basic,
    )
    assert other.status_code == 200, other.text
    assert other.json()["cds_grant_ids"] != [earlier_id]


def test_client_credentials_refuses_unregistered_and_unknown_scopes(w: World) -> None:
    for scope in ("cds_grant_admin_1 cds_client_admin", "cds_nonsense", ACCOUNTS):
        answer = w.token(w.reg.admin, grant_type="client_credentials", scope=scope)
        assert answer.status_code == 400, scope
        assert answer.json()["error"] == "invalid_scope", scope
    assert _count_tokens(w) == 0


def test_client_credentials_for_a_scope_without_that_grant_type(w: World) -> None:
    """A Client Object without the grant type is unauthorized_client; a scope that does not allow
    it (here added to the admin object behind the registration's back) is invalid_scope."""
    answer = w.token(w.reg.accounts, grant_type="client_credentials", scope=ACCOUNTS)
    assert (answer.status_code, answer.json()["error"]) == (400, "unauthorized_client")
    with w.session() as session:
        admin = session.get(Client, w.reg.admin.client_id)
        assert admin is not None
        admin.scope = f"{ADMIN} {ACCOUNTS}"
        session.commit()
    answer = w.token(w.reg.admin, grant_type="client_credentials", scope=ACCOUNTS)
    assert (answer.status_code, answer.json()["error"]) == (400, "invalid_scope")
    assert _count_tokens(w) == 0


def test_grant_types_the_client_may_not_use_or_that_do_not_exist(w: World) -> None:
    answer = w.token(w.reg.admin, grant_type="authorization_code", code="x")
    assert (answer.status_code, answer.json()["error"]) == (400, "unauthorized_client")
    answer = w.token(w.reg.admin, grant_type="password", username="a", password="b")
    assert (answer.status_code, answer.json()["error"]) == (400, "unsupported_grant_type")
    answer = w.token(w.reg.admin, scope=ADMIN)
    assert (answer.status_code, answer.json()["error"]) == (400, "invalid_request")
    assert _count_tokens(w) == 0


# --- client authentication and malformed requests ------------------------------------------------


def test_a_wrong_secret_or_no_authentication_is_invalid_client_401(w: World) -> None:
    wrong = type(w.reg.admin)(w.reg.admin.client_id, "not-the-secret")
    answer = w.token(wrong, grant_type="client_credentials", scope=ADMIN)
    assert answer.status_code == 401
    assert answer.json()["error"] == "invalid_client"
    assert answer.headers["www-authenticate"].startswith("Basic")
    assert answer.headers["cache-control"] == "no-store"
    assert answer.headers["pragma"] == "no-cache"
    answer = w.http.post(urls.TOKEN, data={"grant_type": "client_credentials"})
    assert answer.status_code == 401
    # client_secret_post is not offered; a body client_id must name the authenticated client
    answer = w.token(w.reg.admin, grant_type="client_credentials", client_secret=w.reg.admin.secret)
    assert (answer.status_code, answer.json()["error"]) == (400, "invalid_request")
    answer = w.token(
        w.reg.admin, grant_type="client_credentials", client_id=w.reg.grant_admin.client_id
    )
    assert (answer.status_code, answer.json()["error"]) == (401, "invalid_client")
    assert _count_tokens(w) == 0


def test_bodies_that_are_not_a_proper_form_are_refused_and_change_nothing(w: World) -> None:
    headers = w.reg.admin.basic
    as_json = w.http.post(urls.TOKEN, json={"grant_type": "client_credentials"}, headers=headers)
    assert (as_json.status_code, as_json.json()["error"]) == (400, "invalid_request")
    assert as_json.headers["cache-control"] == "no-store"
    form = {"Content-Type": "application/x-www-form-urlencoded", **headers}
    twice = w.http.post(
        urls.TOKEN, content=b"grant_type=client_credentials&scope=a&scope=b", headers=form
    )
    assert (twice.status_code, twice.json()["error"]) == (400, "invalid_request")
    huge = w.http.post(
        urls.TOKEN,
        content=b"grant_type=client_credentials&scope=" + b"x" * 70_000,
        headers=form,
    )
    assert huge.status_code == 413
    assert huge.json()["error"] == "invalid_request"
    bad_encoding = w.http.post(
        urls.TOKEN, content=b"grant_type=client_credentials&scope=%ff", headers=form
    )
    assert bad_encoding.status_code == 400
    latin1 = w.http.post(
        urls.TOKEN,
        content=b"grant_type=client_credentials",
        headers={**headers, "Content-Type": "application/x-www-form-urlencoded; charset=latin-1"},
    )
    assert latin1.status_code == 400
    assert _count_tokens(w) == 0


def test_empty_parameters_count_as_omitted(w: World) -> None:
    """RFC 6749 §3.1: an empty scope is the default scope."""
    answer = w.token(w.reg.admin, grant_type="client_credentials", scope="")
    assert answer.status_code == 200
    assert answer.json()["scope"] == ADMIN


@pytest.mark.req("WG1-02-7.6-d")
def test_an_expired_credential_is_refused_and_its_tokens_stop_working(w: World) -> None:
    token = w.admin_token()
    other = w.admin_token()
    assert w.introspect(w.reg.grant_admin, token)["active"] is True
    with w.session() as session:
        credential = session.scalars(
            select(Credential).where(Credential.secret_hash == digest(w.reg.admin.secret))
        ).one()
        credential.expires_at = utcnow() - timedelta(seconds=1)
        session.commit()
    answer = w.token(w.reg.admin, grant_type="client_credentials", scope=ADMIN)
    assert (answer.status_code, answer.json()["error"]) == (401, "invalid_client")
    assert w.introspect(w.reg.grant_admin, token) == {"active": False}
    assert w.introspect(w.reg.grant_admin, other) == {"active": False}
    listed = w.http.get(urls.GRANTS, headers={"Authorization": f"Bearer {token}"})
    assert listed.status_code == 401


# --- Grant Admin (CDS-WG1-02 §3.3.2) -------------------------------------------------------------


def _grant_admin_request(
    w: World, entries: list[dict[str, str]], scope: str = GRANT_ADMIN
) -> dict[str, str]:
    import json

    return {
        "grant_type": "client_credentials",
        "scope": scope,
        "authorization_details": json.dumps(entries),
    }


@pytest.mark.req("WG1-02-3.3.2-e", "WG1-02-3.3.2-g", "WG1-02-3.3.2-d")
def test_grant_admin_token_reaches_the_named_grant(w: World) -> None:
    with w.session() as session:
        grant = files_grant(session, w.reg.files)
        session.commit()
        grant_id = grant.grant_id
    entry = {"type": GRANT_ADMIN, "client_id": w.reg.files, "grant_id": grant_id}
    answer = w.token(w.reg.grant_admin, **_grant_admin_request(w, [entry]))
    assert answer.status_code == 200, answer.text
    body = answer.json()
    assert body["scope"] == GRANT_ADMIN
    assert body["authorization_details"] == [entry]
    assert body["cds_grant_ids"] == [grant_id]
    assert "refresh_token" not in body
    with w.session() as session:
        token = session.get(Token, digest(body["access_token"]))
        assert token is not None
        assert token.client_id == w.reg.grant_admin.client_id
        assert token.grant_ids == [grant_id]
        assert token.scope == FILES
        assert token.authorization_details == [{"type": FILES, "file_id": "f-1"}]
    # the token reaches the Server-Provided Files API (the file itself does not exist here)
    listed = w.http.get(urls.FILES, headers={"Authorization": f"Bearer {body['access_token']}"})
    assert listed.status_code == 200
    # the authorization_details entry alone (no scope string) names the scope too
    alone = _grant_admin_request(w, [entry])
    del alone["scope"]
    assert w.token(w.reg.grant_admin, **alone).status_code == 200


@pytest.mark.req("WG1-02-3.3.2-g")
def test_grant_admin_reaches_a_customer_grant_made_with_the_default_redirect(w: World) -> None:
    with w.session() as session:
        grant = accounts_grant(session, w.reg.accounts.client_id, w.customer_id)
        session.commit()
        grant_id, scope = grant.grant_id, grant.enabled_scope
    entry = {"type": GRANT_ADMIN, "client_id": w.reg.accounts.client_id, "grant_id": grant_id}
    answer = w.token(w.reg.grant_admin, **_grant_admin_request(w, [entry]))
    assert answer.status_code == 200, answer.text
    assert w.introspect(w.reg.admin, answer.json()["access_token"])["scope"] == scope


@pytest.mark.req("WG1-02-3.3.2-f")
def test_grant_admin_refuses_grants_it_may_not_reach(w: World, settings: Settings) -> None:
    with w.session() as session:
        mine = files_grant(session, w.reg.files)
        closed = files_grant(session, w.reg.files, "f-2")
        set_status(session, closed, "closed")
        stranger = registered(session, settings, "Stranger")
        theirs = files_grant(session, stranger.files)
        admin_grant = create_grant(
            session, client_id=w.reg.admin.client_id, scope=ADMIN, authorization_details=[]
        )
        session.commit()
        ids = (mine.grant_id, closed.grant_id, theirs.grant_id, admin_grant.grant_id)
        stranger_files = stranger.files
    mine_id, closed_id, theirs_id, admin_id = ids

    def ask(client_id: str, grant_id: str) -> tuple[int, str]:
        entry = {"type": GRANT_ADMIN, "client_id": client_id, "grant_id": grant_id}
        answer = w.token(w.reg.grant_admin, **_grant_admin_request(w, [entry]))
        return answer.status_code, answer.json().get("error", "")

    details_error = (400, "invalid_authorization_details")
    # another registration's Grant, named with its own client or with ours
    assert ask(stranger_files, theirs_id) == details_error
    assert ask(w.reg.files, theirs_id) == details_error
    # the Grant's client_id is not the named Client Object
    assert ask(w.reg.accounts.client_id, mine_id) == details_error
    # an empty enabled_scope (closed Grant)
    assert ask(w.reg.files, closed_id) == (400, "invalid_grant")
    # a Grant whose scope has no grant_admin_scope (cds_client_admin)
    assert ask(w.reg.admin.client_id, admin_id) == details_error
    # not exactly one entry
    entry = {"type": GRANT_ADMIN, "client_id": w.reg.files, "grant_id": mine_id}
    for entries in ([], [entry, entry]):
        answer = w.token(w.reg.grant_admin, **_grant_admin_request(w, entries))
        assert (answer.status_code, answer.json()["error"]) == details_error
    # missing or extra fields
    for broken in ({"type": GRANT_ADMIN, "grant_id": mine_id}, {**entry, "extra": "x"}):
        answer = w.token(w.reg.grant_admin, **_grant_admin_request(w, [broken]))
        assert (answer.status_code, answer.json()["error"]) == details_error
    # not JSON
    answer = w.token(
        w.reg.grant_admin,
        grant_type="client_credentials",
        scope=GRANT_ADMIN,
        authorization_details="[{",
    )
    assert (answer.status_code, answer.json()["error"]) == details_error
    # with another scope
    answer = w.token(
        w.reg.grant_admin, **_grant_admin_request(w, [entry], f"{GRANT_ADMIN} {ADMIN}")
    )
    assert (answer.status_code, answer.json()["error"]) == (400, "invalid_scope")
    # only the Grant Admin Client Object holds the Grant Admin scope
    answer = w.token(w.reg.admin, **_grant_admin_request(w, [entry]))
    assert answer.status_code == 400
    assert _count_tokens(w) == 0


@pytest.mark.req("WG1-02-8.2-d")
def test_closing_the_grant_ends_a_grant_admin_token(w: World) -> None:
    with w.session() as session:
        grant = files_grant(session, w.reg.files)
        session.commit()
        grant_id = grant.grant_id
    entry = {"type": GRANT_ADMIN, "client_id": w.reg.files, "grant_id": grant_id}
    token = w.token(w.reg.grant_admin, **_grant_admin_request(w, [entry])).json()["access_token"]
    assert w.http.get(urls.FILES, headers={"Authorization": f"Bearer {token}"}).status_code == 200
    closed = w.http.patch(
        f"{urls.GRANTS}/{grant_id}",
        json={"status": "closed"},
        headers={"Authorization": f"Bearer {w.admin_token()}"},
    )
    assert closed.status_code == 200
    assert w.http.get(urls.FILES, headers={"Authorization": f"Bearer {token}"}).status_code == 401
    assert w.introspect(w.reg.admin, token) == {"active": False}


# --- authorization_code (RFC 6749 §4.1.3, RFC 7636) ----------------------------------------------


def test_a_code_gives_access_and_refresh_tokens_bound_to_its_grant(w: World) -> None:
    code, grant_id = w.new_code()
    answer = w.exchange(code)
    assert answer.status_code == 200, answer.text
    assert answer.headers["cache-control"] == "no-store"
    body = answer.json()
    assert set(body) == {
        "access_token",
        "refresh_token",
        "token_type",
        "expires_in",
        "scope",
        "authorization_details",
        "cds_grant_ids",
    }
    assert body["token_type"] == "Bearer"
    assert body["scope"] == ACCOUNTS
    assert body["cds_grant_ids"] == [grant_id]
    grant = _grant(w, grant_id)
    assert body["authorization_details"] == grant.enabled_authorization_details
    with w.session() as session:
        access = session.get(Token, digest(body["access_token"]))
        refresh = session.get(Token, digest(body["refresh_token"]))
        assert access is not None and refresh is not None
        assert access.family == refresh.family
        assert access.code_hash == refresh.code_hash == digest(code)
        assert refresh.expires_at is not None
        assert refresh.expires_at - refresh.created == timedelta(days=w.settings.refresh_token_days)


def test_a_code_whose_authorization_named_no_redirect_uri_needs_none(w: World) -> None:
    code, _ = w.new_code(redirect_uri_given=False)
    assert w.exchange(code, redirect_uri="").status_code == 200
    code, _ = w.new_code(redirect_uri_given=False)
    answer = w.exchange(code, redirect_uri="https://elsewhere.example/cb")
    assert (answer.status_code, answer.json()["error"]) == (400, "invalid_grant")


@pytest.mark.parametrize(
    "form",
    [
        {"redirect_uri": ""},
        {"redirect_uri": REDIRECT + "/other"},
        {"code_verifier": ""},
        {"code_verifier": "a" * 43},
        {"code_verifier": VERIFIER[:20]},
    ],
    ids=[
        "no-redirect-uri",
        "other-redirect-uri",
        "no-verifier",
        "wrong-verifier",
        "short-verifier",
    ],
)
def test_pkce_and_redirect_uri_mismatches_are_invalid_grant_and_spend_the_code(
    w: World, form: dict[str, str]
) -> None:
    code, _ = w.new_code()
    answer = w.exchange(code, **form)
    assert (answer.status_code, answer.json()["error"]) == (400, "invalid_grant")
    assert _count_tokens(w) == 0
    # the code is single use: the right request now fails too
    assert w.exchange(code).status_code == 400


def test_an_expired_or_unknown_code_is_invalid_grant(w: World) -> None:
    code, _ = w.new_code()
    with w.session() as session:
        stored = session.get(AuthorizationCode, digest(code))
        assert stored is not None
        stored.expires_at = utcnow() - timedelta(seconds=1)
        session.commit()
    answer = w.exchange(code)
    assert (answer.status_code, answer.json()["error"]) == (400, "invalid_grant")
    answer = w.exchange("no-such-code")
    assert (answer.status_code, answer.json()["error"]) == (400, "invalid_grant")
    answer = w.token(w.reg.accounts, grant_type="authorization_code")
    assert (answer.status_code, answer.json()["error"]) == (400, "invalid_request")
    assert _count_tokens(w) == 0


def test_a_code_presented_by_another_client_is_refused_and_stays_usable(
    w: World, settings: Settings
) -> None:
    with w.session() as session:
        stranger = registered(session, settings, "Stranger")
        session.commit()
    code, _ = w.new_code()
    answer = w.token(
        stranger.accounts,
        grant_type="authorization_code",
        code=code,
        redirect_uri=REDIRECT,
        code_verifier=VERIFIER,
    )
    assert (answer.status_code, answer.json()["error"]) == (400, "invalid_grant")
    assert w.exchange(code).status_code == 200


def test_a_reused_code_is_refused_and_revokes_every_token_issued_from_it(w: World) -> None:
    """RFC 6749 §4.1.2 / §10.5."""
    code, _ = w.new_code()
    first = w.exchange(code).json()
    refreshed = w.token(
        w.reg.accounts, grant_type="refresh_token", refresh_token=first["refresh_token"]
    ).json()
    assert w.introspect(w.reg.admin, refreshed["access_token"])["active"] is True
    again = w.exchange(code)
    assert (again.status_code, again.json()["error"]) == (400, "invalid_grant")
    for value in (first["access_token"], refreshed["access_token"], refreshed["refresh_token"]):
        assert w.introspect(w.reg.admin, value) == {"active": False}


def test_a_code_for_a_grant_that_no_longer_gives_access_is_refused(w: World) -> None:
    code, grant_id = w.new_code()
    with w.session() as session:
        grant = session.get(Grant, grant_id)
        assert grant is not None
        set_status(session, grant, "revoked")
        session.commit()
    answer = w.exchange(code)
    assert (answer.status_code, answer.json()["error"]) == (400, "invalid_grant")


def test_access_tokens_end_with_their_grant(w: World) -> None:
    with w.session() as session:
        grant = accounts_grant(
            session,
            w.reg.accounts.client_id,
            w.customer_id,
            not_after=utcnow() + timedelta(minutes=10),
        )
        code = code_for(session, w.settings, grant)
        session.commit()
    body = w.exchange(code).json()
    assert 0 < body["expires_in"] <= 600
    with w.session() as session:
        refresh = session.get(Token, digest(body["refresh_token"]))
        assert refresh is not None and refresh.expires_at is not None
        assert refresh.expires_at <= utcnow() + timedelta(minutes=10)


# --- refresh_token (RFC 6749 §6) -----------------------------------------------------------------


def test_refresh_rotates_and_a_rotated_token_presented_again_revokes_the_family(w: World) -> None:
    code, grant_id = w.new_code()
    first = w.exchange(code).json()
    second = w.token(
        w.reg.accounts, grant_type="refresh_token", refresh_token=first["refresh_token"]
    )
    assert second.status_code == 200, second.text
    assert second.headers["cache-control"] == "no-store"
    new = second.json()
    assert new["refresh_token"] != first["refresh_token"]
    assert new["cds_grant_ids"] == [grant_id]
    assert new["scope"] == ACCOUNTS
    assert w.introspect(w.reg.admin, first["refresh_token"]) == {"active": False}
    assert w.introspect(w.reg.admin, new["access_token"])["active"] is True
    # the old refresh token again: refused, and everything from this authorization ends
    replay = w.token(
        w.reg.accounts, grant_type="refresh_token", refresh_token=first["refresh_token"]
    )
    assert (replay.status_code, replay.json()["error"]) == (400, "invalid_grant")
    for value in (first["access_token"], new["access_token"], new["refresh_token"]):
        assert w.introspect(w.reg.admin, value) == {"active": False}
    # the Grant itself is untouched; a new authorization still works
    assert _grant(w, grant_id).status == "active"


def test_refresh_needs_a_grant_that_still_gives_access(w: World) -> None:
    code, grant_id = w.new_code()
    first = w.exchange(code).json()
    with w.session() as session:
        grant = session.get(Grant, grant_id)
        assert grant is not None
        set_status(session, grant, "suspended")
        session.commit()
    answer = w.token(
        w.reg.accounts, grant_type="refresh_token", refresh_token=first["refresh_token"]
    )
    assert (answer.status_code, answer.json()["error"]) == (400, "invalid_grant")
    with w.session() as session:
        grant = session.get(Grant, grant_id)
        assert grant is not None
        set_status(session, grant, "active")
        session.commit()
    # a suspension does not spend the refresh token
    answer = w.token(
        w.reg.accounts, grant_type="refresh_token", refresh_token=first["refresh_token"]
    )
    assert answer.status_code == 200


def test_refresh_scope_may_narrow_but_not_widen_and_is_bound_to_the_client(
    w: World, settings: Settings
) -> None:
    code, _ = w.new_code()
    first = w.exchange(code).json()
    wider = w.token(
        w.reg.accounts,
        grant_type="refresh_token",
        refresh_token=first["refresh_token"],
        scope=f"{ACCOUNTS} {ADMIN}",
    )
    assert (wider.status_code, wider.json()["error"]) == (400, "invalid_scope")
    with w.session() as session:
        stranger = registered(session, settings, "Stranger")
        session.commit()
    stolen = w.token(
        stranger.accounts, grant_type="refresh_token", refresh_token=first["refresh_token"]
    )
    assert (stolen.status_code, stolen.json()["error"]) == (400, "invalid_grant")
    same = w.token(
        w.reg.accounts,
        grant_type="refresh_token",
        refresh_token=first["refresh_token"],
        scope=ACCOUNTS,
    )
    assert same.status_code == 200
    assert same.json()["scope"] == ACCOUNTS
    missing = w.token(w.reg.accounts, grant_type="refresh_token")
    assert (missing.status_code, missing.json()["error"]) == (400, "invalid_request")
    access = w.token(
        w.reg.accounts, grant_type="refresh_token", refresh_token=first["access_token"]
    )
    assert (access.status_code, access.json()["error"]) == (400, "invalid_grant")


# --- an OAuth client library we did not write reads our answers ----------------------------------


def test_oauthlib_accepts_our_token_responses_without_a_scope_change(w: World) -> None:
    """oauthlib raises on a token response that changes the requested scope; ours keep it,
    Grant Admin included (the answer echoes the Grant Admin scope)."""
    from oauthlib.oauth2 import BackendApplicationClient, WebApplicationClient

    body = w.token(w.reg.admin, grant_type="client_credentials", scope=ADMIN).text
    parsed = BackendApplicationClient(w.reg.admin.client_id).parse_request_body_response(
        body, scope=[ADMIN]
    )
    assert parsed["token_type"] == "Bearer"
    assert parsed["cds_grant_ids"]
    with w.session() as session:
        grant = files_grant(session, w.reg.files)
        session.commit()
        grant_id = grant.grant_id
    entry = {"type": GRANT_ADMIN, "client_id": w.reg.files, "grant_id": grant_id}
    body = w.token(w.reg.grant_admin, **_grant_admin_request(w, [entry])).text
    BackendApplicationClient(w.reg.grant_admin.client_id).parse_request_body_response(
        body, scope=[GRANT_ADMIN]
    )
    code, _ = w.new_code()
    client = WebApplicationClient(w.reg.accounts.client_id)
    parsed = client.parse_request_body_response(w.exchange(code).text, scope=[ACCOUNTS])
    assert parsed["refresh_token"]
    assert client.token_type == "Bearer"
