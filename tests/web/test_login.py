"""Customer login (CDS-WG3-01 §9.1.2): sessions in the database behind a random cookie, CSRF on
the form, a new session at every login, logout, back-off after repeated failures."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import Engine, select

from gridshare import urls
from gridshare.config import Settings
from gridshare.grants.secrets import digest
from gridshare.store.db import utcnow
from gridshare.store.tables.grants import LoginSession
from gridshare.web.login import SESSION_COOKIE, USER_FREE, Backoff
from tests.oauth.authorization_setup import (
    REAL_CUSTOMER,
    TEST_CUSTOMER,
    World,
    hidden,
    world,
)


@pytest.fixture
def w(settings: Settings, engine: Engine) -> World:
    return world(settings, engine)


def _sessions(w: World) -> list[LoginSession]:
    with w.session() as session:
        return list(session.scalars(select(LoginSession)))


def test_the_login_form_has_labels_and_a_csrf_token(w: World) -> None:
    page = w.http.get(urls.LOGIN, params={"next": "/somewhere"})
    assert page.status_code == 200
    assert '<label for="username">' in page.text
    assert '<label for="password">' in page.text
    assert hidden(page.text, "csrf_token") == w.http.cookies["gridshare_csrf"]
    assert hidden(page.text, "next") == "/somewhere"
    assert "Cancel" not in page.text
    assert page.headers["cache-control"] == "no-store"
    assert page.headers["x-frame-options"] == "DENY"


@pytest.mark.req("WG3-9.1.2-a", "WG3-9.1.2-e")
def test_a_login_starts_a_session_stored_only_hashed(w: World) -> None:
    response = w.log_in(*TEST_CUSTOMER, "/next/page")
    assert response.status_code == 303
    assert response.headers["location"] == "/next/page"
    cookie = response.headers["set-cookie"]
    assert cookie.startswith(f"{SESSION_COOKIE}=")
    assert "HttpOnly" in cookie
    assert "SameSite=lax" in cookie or "samesite=lax" in cookie.lower()
    assert "Secure" not in cookie  # http base URL
    value = w.http.cookies[SESSION_COOKIE]
    [login] = _sessions(w)
    assert login.session_hash == digest(value)
    assert login.customer_id == "cust-home"
    assert len(value) >= 43


def test_cookies_are_secure_on_https(settings: Settings, engine: Engine) -> None:
    w = world(settings.model_copy(update={"base_url": "https://energy.example"}), engine)
    response = w.log_in(*TEST_CUSTOMER)
    assert "Secure" in response.headers["set-cookie"]


def test_a_post_without_the_csrf_token_logs_nobody_in(w: World) -> None:
    w.http.get(urls.LOGIN)
    username, password = TEST_CUSTOMER
    response = w.http.post(
        urls.LOGIN,
        data={"username": username, "password": password, "csrf_token": "forged" * 8},
        follow_redirects=False,
    )
    assert response.status_code == 400
    assert SESSION_COOKIE not in response.headers.get("set-cookie", "")
    assert _sessions(w) == []


def test_a_wrong_password_or_unknown_user_is_refused_alike(w: World) -> None:
    wrong = w.log_in(TEST_CUSTOMER[0], "not-it")
    nobody = w.log_in("nobody", "not-it")
    assert wrong.status_code == nobody.status_code == 401
    assert "The username or password is not right." in wrong.text
    assert "The username or password is not right." in nobody.text
    assert _sessions(w) == []


def test_every_login_gets_a_new_session_and_drops_the_old_one(w: World) -> None:
    w.log_in(*TEST_CUSTOMER)
    first = w.http.cookies[SESSION_COOKIE]
    w.log_in(*REAL_CUSTOMER)
    second = w.http.cookies[SESSION_COOKIE]
    assert first != second
    [login] = _sessions(w)
    assert login.session_hash == digest(second)
    assert login.customer_id == "cust-alice"


def test_a_planted_session_cookie_is_not_adopted(w: World) -> None:
    w.http.cookies.set(SESSION_COOKIE, "planted-by-an-attacker", domain="testserver.local")
    response = w.log_in(*TEST_CUSTOMER)
    assert response.cookies[SESSION_COOKIE] != "planted-by-an-attacker"
    assert digest("planted-by-an-attacker") not in {s.session_hash for s in _sessions(w)}


@pytest.mark.req("WG3-9.1.2-f")
def test_sessions_last_at_least_ten_minutes_and_logout_ends_them_at_once(w: World) -> None:
    w.log_in(*TEST_CUSTOMER)
    [login] = _sessions(w)
    assert login.expires_at - login.authenticated_at >= timedelta(minutes=10)
    page = w.http.get(urls.CONSENT, params={"request": "x"})  # any page; the cookie is sent
    assert page.status_code == 404
    logout_form = w.http.post(
        urls.LOGOUT, data={"csrf_token": login.csrf_token, "next": "/"}, follow_redirects=False
    )
    assert logout_form.status_code == 303
    assert _sessions(w) == []


def test_logout_needs_the_sessions_csrf_token(w: World) -> None:
    w.log_in(*TEST_CUSTOMER)
    response = w.http.post(urls.LOGOUT, data={"csrf_token": "guess"}, follow_redirects=False)
    assert response.status_code == 400
    assert len(_sessions(w)) == 1


@pytest.mark.req("WG3-9.1.2-f")
def test_an_expired_session_counts_as_none(w: World) -> None:
    w.log_in(*TEST_CUSTOMER)
    with w.session() as session:
        session.scalars(select(LoginSession)).one().expires_at = utcnow() - timedelta(seconds=1)
        session.commit()
    consent = w.consent_path(w.authorize(w.query()))
    assert w.http.get(consent, follow_redirects=False).headers["location"].startswith(urls.LOGIN)


def test_repeated_failures_for_a_username_back_off_even_the_right_password(w: World) -> None:
    for _ in range(USER_FREE):
        assert w.log_in(TEST_CUSTOMER[0], "wrong").status_code == 401
    blocked = w.log_in(*TEST_CUSTOMER)
    assert blocked.status_code == 429
    assert "Too many failed attempts" in blocked.text
    assert _sessions(w) == []
    assert w.log_in(*REAL_CUSTOMER).status_code == 303  # other usernames are not held back


def test_backoff_doubles_and_is_forgotten() -> None:
    now = [1000.0]
    backoff = Backoff(free=2, clock=lambda: now[0])
    backoff.failed("k")
    backoff.failed("k")
    assert backoff.wait("k") == 30.0
    now[0] += 30.0
    assert backoff.wait("k") is None
    backoff.failed("k")
    assert backoff.wait("k") == 60.0
    backoff.succeeded("k")
    assert backoff.wait("k") is None
    for _ in range(12):
        backoff.failed("k")
    assert backoff.wait("k") == 15 * 60.0  # capped
    now[0] += 16 * 60.0
    backoff.failed("k")
    assert backoff.wait("k") is None  # after a quiet spell the count starts again


def test_a_foreign_next_or_cancel_is_not_followed(w: World) -> None:
    page = w.http.get(urls.LOGIN, params={"next": "//evil.example/", "cancel": "/elsewhere?x"})
    assert hidden(page.text, "next") == "/"
    assert "Cancel" not in page.text
    response = w.log_in(*TEST_CUSTOMER, "https://evil.example/")
    assert response.headers["location"] == "/"
