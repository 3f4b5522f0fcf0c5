"""The server-hosted default redirect URI shows the Customer the outcome (CDS-WG1-02 §4.2;
CDS-WG3-01 §9.1.1, §9.3.3)."""

from __future__ import annotations

import pytest
from sqlalchemy import Engine

from gridshare import urls
from gridshare.config import Settings
from gridshare.grants.scopes import load_catalogue
from tests.oauth.authorization_setup import ACCOUNTS, TEST_CUSTOMER, World, world


@pytest.fixture
def w(settings: Settings, engine: Engine) -> World:
    return world(settings, engine)


def _follow(w: World, response_location: str) -> str:
    page = w.http.get(response_location)
    assert page.status_code == 200
    assert page.headers["x-robots-tag"] == "noindex"
    return page.text


@pytest.mark.req("WG1-02-4.2-g", "WG3-9.1.1-h")
def test_an_approval_at_the_default_redirect_shows_a_confirmation(
    w: World, settings: Settings
) -> None:
    response = w.approve_as(*TEST_CUSTOMER, w.query(redirect_uri=None))
    location = response.headers["location"]
    assert location.startswith(w.default_redirect + "?code=")
    html = _follow(w, location)
    assert "You approved Sunny App" in html
    assert load_catalogue(settings).scopes[ACCOUNTS].name in html
    assert "Reference" in html


@pytest.mark.req("WG1-02-4.2-g", "WG3-9.3.3-a")
def test_a_decline_at_the_default_redirect_is_confirmed(w: World) -> None:
    consent = w.consent_path(w.authorize(w.query(redirect_uri=None)))
    w.log_in(*TEST_CUSTOMER, consent)
    response = w.decide(consent, "decline")
    html = _follow(w, response.headers["location"])
    assert "You declined" in html
    assert "Sunny App" in html


@pytest.mark.req("WG1-02-4.2-g", "WG3-9.3.3-a")
def test_an_error_at_the_default_redirect_is_explained_in_our_words(w: World) -> None:
    response = w.authorize(w.query(redirect_uri=None, scope="cds_nothing"))
    location = response.headers["location"]
    assert location.startswith(w.default_redirect + "?error=invalid_scope")
    html = _follow(w, location)
    assert "could not be completed" in html
    assert "asked for access that does not exist" in html
    assert "contact Sunny App" in html
    forged = _follow(
        w, f"{urls.DEFAULT_REDIRECT}/{w.client_id}?error=x&error_description=Call+555-0100"
    )
    assert "555-0100" not in forged


def test_unknown_clients_and_codes_are_not_found(w: World) -> None:
    assert w.http.get(f"{urls.DEFAULT_REDIRECT}/nobody?error=access_denied").status_code == 404
    missing = w.http.get(f"{urls.DEFAULT_REDIRECT}/{w.client_id}?code=made-up")
    assert missing.status_code == 404
