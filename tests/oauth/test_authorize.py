"""The authorization endpoint: every check before login, the error page versus error redirects,
PAR request_uri use, cds_grant_id and prompt (RFC 6749 §4.1, RFC 7636, RFC 9126 §4,
CDS-WG1-02 §8.3, CDS-WG3-01 §9.1.1)."""

from __future__ import annotations

import json
from datetime import timedelta

import pytest
from sqlalchemy import Engine, func, select

from gridshare import urls
from gridshare.config import Settings
from gridshare.grants.codes import redeem_code
from gridshare.grants.grants import create_grant
from gridshare.grants.secrets import digest
from gridshare.store.db import utcnow
from gridshare.store.tables.grants import Grant, PushedRequest
from tests.oauth.authorization_setup import (
    ACCOUNTS,
    CHALLENGE,
    REAL_CUSTOMER,
    REDIRECT,
    TEST_CUSTOMER,
    World,
    redirect_params,
    set_client,
    world,
)


@pytest.fixture
def w(settings: Settings, engine: Engine) -> World:
    return world(settings, engine)


def _pending_count(w: World) -> int:
    with w.session() as session:
        return int(session.scalar(select(func.count()).select_from(PushedRequest)) or 0)


def _needs_authorization_grant(w: World, customer_id: str | None = None) -> str:
    with w.session() as session:
        grant = create_grant(
            session,
            client_id=w.client_id,
            scope=ACCOUNTS,
            authorization_details=[],
            customer_id=customer_id,
            status="needs_authorization",
        )
        session.commit()
        return grant.grant_id


# --- the error page: no redirect ------------------------------------------------------------------


@pytest.mark.req("WG3-9.1.1-a", "WG3-9.1.1-c", "WG3-9.3.2-a")
@pytest.mark.parametrize(
    "overrides",
    [
        {"client_id": None},
        {"client_id": "no-such-client"},
        {"redirect_uri": "https://evil.example/callback"},
        {"redirect_uri": REDIRECT + "&extra=1"},
        {"redirect_uri": "https://app.example/callback"},
        {"response_type": None},
        {"response_type": "token"},
    ],
    ids=[
        "no-client",
        "unknown-client",
        "unregistered-uri",
        "uri-not-exact",
        "uri-prefix",
        "no-response-type",
        "implicit",
    ],
)
def test_bad_client_redirect_uri_or_response_type_shows_the_error_page(
    w: World, overrides: dict[str, str | None]
) -> None:
    response = w.authorize(w.query(**overrides))
    assert response.status_code == 400
    assert "location" not in response.headers
    assert response.headers["content-type"].startswith("text/html")
    assert "contact the website or app" in response.text
    assert _pending_count(w) == 0


@pytest.mark.req("WG3-9.1.1-c")
def test_a_duplicated_redirect_uri_or_client_id_shows_the_error_page(w: World) -> None:
    for name, value in (("redirect_uri", REDIRECT), ("client_id", w.client_id)):
        response = w.authorize([*w.query().items(), (name, value)])
        assert response.status_code == 400
        assert "location" not in response.headers


# --- errors redirect to the redirect_uri with state ----------------------------------------------


@pytest.mark.req("WG3-9.1.1-a", "WG3-9.1.1-c", "WG1-02-3.4-e")
@pytest.mark.parametrize(
    ("overrides", "error"),
    [
        ({"code_challenge": None}, "invalid_request"),
        ({"code_challenge_method": "plain", "code_challenge": "x" * 43}, "invalid_request"),
        ({"code_challenge_method": None}, "invalid_request"),
        ({"code_challenge": "too-short"}, "invalid_request"),
        ({"scope": "cds_no_such_scope"}, "invalid_scope"),
        ({"scope": "cds_grant_admin_1"}, "invalid_scope"),
        ({"authorization_details": "not json"}, "invalid_authorization_details"),
        (
            {"authorization_details": json.dumps([{"type": ACCOUNTS, "colour": "red"}])},
            "invalid_authorization_details",
        ),
        (
            {
                "authorization_details": json.dumps(
                    [{"type": ACCOUNTS, "include_account_numbers": 3}]
                )
            },
            "invalid_authorization_details",
        ),
        ({"prompt": "none"}, "interaction_required"),
        ({"request": "eyJhbGciOiJub25lIn0.e30."}, "request_not_supported"),
    ],
    ids=[
        "no-pkce",
        "pkce-plain",
        "pkce-method-omitted",
        "pkce-malformed",
        "unknown-scope",
        "scope-not-for-customers",
        "details-not-json",
        "details-unknown-field",
        "details-bad-value",
        "prompt-none",
        "request-object",
    ],
)
def test_other_problems_redirect_with_the_error_and_state(
    w: World, overrides: dict[str, str | None], error: str
) -> None:
    params = redirect_params(w.authorize(w.query(**overrides)))
    assert params["error"] == error
    assert params["error_description"]
    assert params["state"] == "st-123"
    assert params["from"] == "gridshare"  # the registered URI's own query is kept
    assert _pending_count(w) == 0


@pytest.mark.req("WG3-9.1.1-c")
def test_a_parameter_given_twice_is_invalid_request(w: World) -> None:
    response = w.authorize([*w.query().items(), ("scope", ACCOUNTS)])
    assert redirect_params(response)["error"] == "invalid_request"


@pytest.mark.req("WG3-9.1.1-c")
def test_disabled_or_codeless_clients_are_unauthorized(w: World) -> None:
    set_client(w, status="disabled")
    assert redirect_params(w.authorize(w.query()))["error"] == "unauthorized_client"
    set_client(w, status="sandbox", response_types=[])
    assert redirect_params(w.authorize(w.query()))["error"] == "unauthorized_client"


@pytest.mark.req("WG3-9.1.1-a")
def test_a_scope_the_client_did_not_register_is_refused(w: World) -> None:
    set_client(w, scope="")
    assert redirect_params(w.authorize(w.query()))["error"] == "invalid_scope"


@pytest.mark.req("WG3-9.1.1-b")
def test_omitted_redirect_uri_means_the_default_one(w: World) -> None:
    response = w.authorize(w.query(redirect_uri=None, code_challenge=None))
    params = redirect_params(response, w.default_redirect)
    assert params["error"] == "invalid_request"
    assert w.default_redirect == f"http://testserver{urls.DEFAULT_REDIRECT}/{w.client_id}"


@pytest.mark.req("WG3-9.1.1-b")
def test_omitted_scope_means_the_default_scope(w: World) -> None:
    set_client(w, default_scope="cds_no_such_scope")
    response = w.authorize(w.query(scope=None))
    assert redirect_params(response)["error"] == "invalid_scope"
    set_client(w, default_scope=ACCOUNTS)
    consent = w.consent_path(w.authorize(w.query(scope=None)))
    w.log_in(*TEST_CUSTOMER)
    assert "Your account list" in w.http.get(consent).text


@pytest.mark.req("WG3-9.1.1-b")
def test_omitted_authorization_details_mean_the_default_ones(w: World) -> None:
    set_client(w, default_authorization_details=[{"type": ACCOUNTS, "colour": "red"}])
    response = w.authorize(w.query())
    assert redirect_params(response)["error"] == "invalid_authorization_details"


# --- a valid request -----------------------------------------------------------------------------


@pytest.mark.req("WG3-9.1.1-d", "WG3-9.1.1-f", "WG3-9.1.1-g", "WG3-9.1.2-a", "WG3-9.1.2-e")
def test_valid_request_logs_in_then_approval_redirects_with_a_code_for_a_new_grant(
    w: World,
) -> None:
    consent = w.consent_path(w.authorize(w.query()))
    before_login = w.http.get(consent, follow_redirects=False)
    assert before_login.status_code == 303
    assert before_login.headers["location"].startswith(urls.LOGIN)
    w.log_in(*TEST_CUSTOMER, consent)
    params = redirect_params(w.decide(consent, "approve"))
    assert params["state"] == "st-123"
    assert params["from"] == "gridshare"
    with w.session() as session:
        code = redeem_code(session, params["code"])
        assert code.client_id == w.client_id
        assert code.redirect_uri == REDIRECT
        assert code.redirect_uri_given is True
        assert code.code_challenge == CHALLENGE
        grant = session.get_one(Grant, code.grant_id)
        assert grant.status == "active"
        assert grant.customer_id == "cust-home"
        assert grant.scope == ACCOUNTS
        assert grant.client_id == w.client_id


@pytest.mark.req("WG3-9.1.1-f")
def test_decline_redirects_with_access_denied_and_state(w: World) -> None:
    consent = w.consent_path(w.authorize(w.query()))
    w.log_in(*TEST_CUSTOMER, consent)
    params = redirect_params(w.decide(consent, "decline"))
    assert params["error"] == "access_denied"
    assert params["state"] == "st-123"
    with w.session() as session:
        assert session.scalar(select(func.count()).select_from(Grant)) == 0


@pytest.mark.req("WG3-9.1.1-e")
def test_a_sandbox_client_is_refused_for_a_real_customer(w: World) -> None:
    response = w.approve_as(*REAL_CUSTOMER, w.query())
    params = redirect_params(response)
    assert params["error"] == "access_denied"
    assert params["state"] == "st-123"


@pytest.mark.req("WG3-9.1.1-e")
def test_a_production_client_is_refused_for_a_test_customer(w: World) -> None:
    set_client(w, status="production")
    assert redirect_params(w.approve_as(*TEST_CUSTOMER, w.query()))["error"] == "access_denied"
    assert "code" in redirect_params(w.approve_as(*REAL_CUSTOMER, w.query()))


# --- PAR request_uri -----------------------------------------------------------------------------


def _pushed(w: World, **overrides: str | None) -> str:
    response = w.push(w.query(**overrides))
    assert response.status_code == 201, response.text
    request_uri: str = response.json()["request_uri"]
    return request_uri


@pytest.mark.req("WG1-02-3.2-f", "WG3-9.1.1-a")
def test_a_pushed_request_is_used_with_only_client_id_and_request_uri(w: World) -> None:
    request_uri = _pushed(w, state="pushed-state")
    consent = w.consent_path(w.authorize({"client_id": w.client_id, "request_uri": request_uri}))
    w.log_in(*TEST_CUSTOMER, consent)
    params = redirect_params(w.decide(consent, "approve"))
    assert params["state"] == "pushed-state"
    assert params["code"]


@pytest.mark.req("WG3-9.1.1-a")
def test_a_request_uri_works_once(w: World) -> None:
    request_uri = _pushed(w)
    first = w.authorize({"client_id": w.client_id, "request_uri": request_uri})
    w.consent_path(first)
    again = redirect_params(w.authorize({"client_id": w.client_id, "request_uri": request_uri}))
    assert again["error"] == "invalid_request_uri"
    assert again["state"] == "st-123"


@pytest.mark.req("WG3-9.1.1-a")
def test_an_expired_request_uri_is_refused(w: World) -> None:
    request_uri = _pushed(w)
    with w.session() as session:
        for record in session.scalars(select(PushedRequest)):
            record.expires_at = utcnow() - timedelta(seconds=1)
        session.commit()
    params = redirect_params(w.authorize({"client_id": w.client_id, "request_uri": request_uri}))
    assert params["error"] == "invalid_request_uri"


@pytest.mark.req("WG3-9.1.1-a")
def test_an_unknown_or_other_clients_request_uri_is_refused_at_the_default_redirect(
    w: World,
) -> None:
    request_uri = _pushed(w)
    unknown = "urn:ietf:params:oauth:request_uri:nothing-here"
    params = redirect_params(
        w.authorize({"client_id": w.client_id, "request_uri": unknown}), w.default_redirect
    )
    assert params["error"] == "invalid_request_uri"
    other = w.authorize({"client_id": w.admin_id, "request_uri": request_uri})
    assert other.status_code == 400  # the admin object has no redirect URI: the error page
    assert "location" not in other.headers
    # the other client's attempt did not use it up
    w.consent_path(w.authorize({"client_id": w.client_id, "request_uri": request_uri}))


@pytest.mark.req("WG3-9.1.1-a")
def test_query_parameters_may_repeat_but_not_change_the_pushed_request(w: World) -> None:
    same = w.authorize({**w.query(), "request_uri": _pushed(w)})
    w.consent_path(same)
    changed = w.authorize({**w.query(scope="cds_other"), "request_uri": _pushed(w)})
    params = redirect_params(changed)
    assert params["error"] == "invalid_request"
    assert "scope" in params["error_description"]


# --- cds_grant_id and prompt (CDS-WG1-02 §8.3) ----------------------------------------------------


@pytest.mark.req("WG1-02-8.3-c")
def test_empty_cds_grant_id_is_ignored_and_two_are_refused(w: World) -> None:
    w.consent_path(w.authorize([*w.query().items(), ("cds_grant_id", "")]))
    grant_id = _needs_authorization_grant(w)
    twice = [*w.query().items(), ("cds_grant_id", grant_id), ("cds_grant_id", grant_id)]
    params = redirect_params(w.authorize(twice))
    assert params["error"] == "cds_grant_id_invalid_value"
    assert params["state"] == "st-123"
    once_with_empty = [*w.query().items(), ("cds_grant_id", ""), ("cds_grant_id", grant_id)]
    w.consent_path(w.authorize(once_with_empty))


@pytest.mark.req("WG1-02-8.3-b")
def test_an_inappropriate_cds_grant_id_is_invalid_value(w: World) -> None:
    assert (
        redirect_params(w.authorize(w.query(cds_grant_id="g-missing")))["error"]
        == "cds_grant_id_invalid_value"
    )
    with w.session() as session:
        active = create_grant(
            session, client_id=w.client_id, scope=ACCOUNTS, authorization_details=[]
        )
        other_client = create_grant(
            session,
            client_id=w.admin_id,
            scope=ACCOUNTS,
            authorization_details=[],
            status="needs_authorization",
        )
        session.commit()
        ids = [active.grant_id, other_client.grant_id]
    for grant_id in ids:
        params = redirect_params(w.authorize(w.query(cds_grant_id=grant_id)))
        assert params["error"] == "cds_grant_id_invalid_value"


@pytest.mark.req("WG1-02-8.3-b")
def test_other_parameters_are_checked_before_cds_grant_id(w: World) -> None:
    params = redirect_params(w.authorize(w.query(scope="cds_nope", cds_grant_id="g-missing")))
    assert params["error"] == "invalid_scope"
    params = redirect_params(w.authorize(w.query(code_challenge=None, cds_grant_id="g-missing")))
    assert params["error"] == "invalid_request"


@pytest.mark.req("WG1-02-8.3-a", "WG1-02-8.3-f")
def test_a_pushed_grant_authorization_request_activates_the_grant_on_approval(w: World) -> None:
    grant_id = _needs_authorization_grant(w)
    request_uri = _pushed(w, scope=None, cds_grant_id=grant_id, prompt="login")
    consent = w.consent_path(w.authorize({"client_id": w.client_id, "request_uri": request_uri}))
    w.log_in(*TEST_CUSTOMER, consent)
    params = redirect_params(w.decide(consent, "approve"))
    assert params["code"]
    with w.session() as session:  # before any token request
        grant = session.get_one(Grant, grant_id)
        assert grant.status == "active"
        assert grant.enabled_scope == ACCOUNTS
        assert grant.customer_id == "cust-home"
        assert session.scalar(select(func.count()).select_from(Grant)) == 1


@pytest.mark.req("WG1-02-8.3-b")
def test_cds_grant_id_with_other_scopes_than_the_grants_is_invalid_value(w: World) -> None:
    with w.session() as session:
        grant = create_grant(
            session,
            client_id=w.client_id,
            scope="cds_accounts_1 cds_other_1",
            authorization_details=[],
            status="needs_authorization",
        )
        session.commit()
    params = redirect_params(w.authorize(w.query(cds_grant_id=grant.grant_id)))
    assert params["error"] == "cds_grant_id_invalid_value"


@pytest.mark.req("WG1-02-8.3-e")
def test_another_customers_grant_is_invalid_user_after_login(w: World) -> None:
    grant_id = _needs_authorization_grant(w, customer_id="cust-alice")
    consent = w.consent_path(w.authorize(w.query(cds_grant_id=grant_id)))
    w.log_in(*TEST_CUSTOMER, consent)
    params = redirect_params(w.http.get(consent, follow_redirects=False))
    assert params["error"] == "cds_grant_id_invalid_user"
    assert params["state"] == "st-123"
    with w.session() as session:
        assert session.get_one(Grant, grant_id).status == "needs_authorization"


@pytest.mark.req("WG1-02-8.3-d", "WG1-02-8.3-a")
def test_prompt_login_asks_again_despite_a_session(w: World) -> None:
    w.log_in(*TEST_CUSTOMER)
    plain = w.consent_path(w.authorize(w.query()))
    assert w.http.get(plain, follow_redirects=False).status_code == 200
    forced = w.consent_path(w.authorize(w.query(prompt="login")))
    asked = w.http.get(forced, follow_redirects=False)
    assert asked.status_code == 303
    assert asked.headers["location"].startswith(urls.LOGIN)
    w.log_in(*TEST_CUSTOMER, forced)
    assert w.http.get(forced, follow_redirects=False).status_code == 200


def test_the_pending_request_is_stored_hashed(w: World) -> None:
    consent = w.consent_path(w.authorize(w.query()))
    pending_id = consent.split("request=", 1)[1]
    with w.session() as session:
        hashes = set(session.scalars(select(PushedRequest.request_hash)))
    assert digest(pending_id) not in hashes
    assert pending_id not in hashes
    assert len(hashes) == 1
