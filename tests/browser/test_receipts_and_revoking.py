"""Revoking an approval in a real browser (headless Chromium), and what the app sees afterwards:
from the Authorization Receipt (CDS-WG3-01 §9.4), opened by someone who is not logged in, and from
the logged-in customer's connected-apps page. Either way the app's access token stops at once
(introspection says inactive, a bearer API answers 401) and its refresh token no longer works.

The customer approves as `home` (one account), ticking the account from the keyboard; the app's
back channel is plain httpx.
"""

from __future__ import annotations

import re
import time
from datetime import datetime
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

import httpx
import pytest

from gridshare import urls
from tests.browser.conftest import App
from tests.browser.journeys import (
    APPROVED_TITLE,
    Journey,
    answered,
    assert_bearer_error,
    bearer_api,
    exchange,
    introspect,
    log_in,
    start,
    tick_by_keyboard,
)

if TYPE_CHECKING:
    from playwright.sync_api import Browser, BrowserContext, Locator, Page

pytestmark = pytest.mark.slow

APP_NAME = "Sunny Side App"
REVOKE = f"Revoke access for {APP_NAME}"
ACTIVE_WORDS = "Active: the app can use the access you approved."
REVOKED_WORDS = "Revoked: you withdrew this access; the app can no longer use it."
MINUTE = re.compile(r"^(\d{4}-\d{2}-\d{2} \d{2}:\d{2}) \S+$")
"""How the pages write a moment: local time to the minute, then the time zone."""


def _approve(app: App, context: BrowserContext) -> tuple[Journey, str, dict[str, Any]]:
    """Log in as `home`, tick its account from the keyboard and approve; the journey (now on the
    outcome page), the account's number as the form showed it, and the app's token answer."""
    journey = start(app, context)
    log_in(journey)
    page = journey.page
    shown = page.locator("li[data-text] strong").first.inner_text()
    assert shown.startswith("Account ")
    number = shown.removeprefix("Account ")
    tick_by_keyboard(page)
    page.get_by_role("button", name="Approve").click()
    assert answered(journey) == APPROVED_TITLE
    token = exchange(app, journey, journey.code())
    assert token.status_code == 200, token.text
    tokens: dict[str, Any] = token.json()
    assert tokens["refresh_token"]
    return journey, number, tokens


def _described(within: Page | Locator, term: str) -> str:
    """The text of the `<dd>` after the `<dt>` reading `term` (on a page or in a part of it)."""
    return within.locator(f"dt:text-is('{term}') + dd").inner_text().strip()


def _minute(text: str) -> datetime:
    matched = MINUTE.match(text)
    assert matched, text
    return datetime.strptime(matched[1], "%Y-%m-%d %H:%M")


def _refresh(app: App, refresh_token: str) -> httpx.Response:
    return httpx.post(
        app.metadata["token_endpoint"],
        data={"grant_type": "refresh_token", "refresh_token": refresh_token},
        auth=app.auth,
    )


def _assert_access_works(app: App, access_token: str) -> None:
    """Active, and the bearer API takes the token for what it is: valid, but the wrong kind."""
    assert introspect(app, access_token)["active"] is True
    assert_bearer_error(bearer_api(app, access_token), 403, "insufficient_scope")


def _assert_access_stopped(app: App, tokens: dict[str, Any]) -> None:
    """Inactive, 401 on the bearer API, and the refresh token refused."""
    assert introspect(app, tokens["access_token"])["active"] is False
    assert_bearer_error(bearer_api(app, tokens["access_token"]), 401, "invalid_token")
    refreshed = _refresh(app, tokens["refresh_token"])
    assert refreshed.status_code == 400, refreshed.text
    assert refreshed.json()["error"] == "invalid_grant"


@pytest.mark.req("WG3-9.4-a", "WG3-9.4-c", "WG3-9.4-g", "WG3-9.4-h")
def test_the_receipt_hides_the_accounts_from_strangers_and_revokes_without_a_login(
    app: App, browser: Browser, context: BrowserContext
) -> None:
    journey, number, tokens = _approve(app, context)
    page = journey.page
    confirmation = _described(page, "Confirmation number")
    approved_at = _minute(_described(page, "Approved on"))
    with page.expect_navigation():
        page.get_by_role("link", name="Your authorization receipt").click()
    receipt_url = page.url
    assert urlsplit(receipt_url).path.startswith(urls.RECEIPTS + "/")
    assert confirmation not in receipt_url, "the receipt's address is unrelated to its number"
    # The customer, still logged in, sees which account they shared.
    assert number in page.locator("dd.selected").inner_text()
    assert page.get_by_role("link", name="Log in to see which").count() == 0
    _assert_access_works(app, tokens["access_token"])

    stranger = browser.new_context(viewport={"width": 1280, "height": 800})
    stranger.set_default_timeout(15_000)
    try:
        anonymous = stranger.new_page()
        response = anonymous.goto(receipt_url)
        assert response is not None
        assert response.status == 200
        assert "noindex" in response.headers.get("x-robots-tag", "")
        robots = anonymous.locator('meta[name="robots"]')
        assert robots.get_attribute("content") == "noindex"
        assert anonymous.get_by_role("heading", level=1).inner_text() == "Authorization receipt"
        assert anonymous.locator("#confirmation").inner_text() == confirmation
        assert (
            abs((_minute(_described(anonymous, "Approved on")) - approved_at).total_seconds()) <= 60
        )
        assert anonymous.locator("#status").inner_text() == ACTIVE_WORDS
        assert _described(anonymous, "App") == APP_NAME
        # The selected account is Customer Data: a count and a login link, never the number.
        selected = anonymous.locator("dd.selected").inner_text()
        assert selected.startswith("1 account "), selected
        assert number not in anonymous.content()
        login = anonymous.get_by_role("link", name="Log in to see which")
        assert urlsplit(login.get_attribute("href") or "").path == urls.LOGIN

        with anonymous.expect_navigation():
            anonymous.get_by_role("button", name=REVOKE).click()
        assert anonymous.url == receipt_url
        assert anonymous.locator("#status").inner_text() == REVOKED_WORDS
        assert anonymous.get_by_role("button", name=REVOKE).count() == 0
    finally:
        stranger.close()

    _assert_access_stopped(app, tokens)
    page.reload()
    assert page.locator("#status").inner_text() == REVOKED_WORDS


def test_revoking_from_the_connected_apps_page_stops_the_app_at_once(
    app: App, context: BrowserContext
) -> None:
    journey, _, tokens = _approve(app, context)
    [grant_id] = tokens["cds_grant_ids"]
    assert app.grant(grant_id)["status"] == "active"
    _assert_access_works(app, tokens["access_token"])

    page = journey.page
    page.goto(app.base + urls.CONNECTED_APPS)
    assert page.get_by_role("heading", level=1).inner_text() == "Connected apps"
    listed = page.locator(f"section#grant-{grant_id}")
    assert listed.get_by_role("heading", level=2).inner_text() == APP_NAME
    assert _described(listed, "Status") == ACTIVE_WORDS
    with page.expect_navigation():
        listed.get_by_role("button", name=REVOKE).click()
    assert urlsplit(page.url).path == urls.CONNECTED_APPS
    assert _described(listed, "Status") == REVOKED_WORDS
    assert listed.get_by_role("button", name=REVOKE).count() == 0

    assert app.grant(grant_id)["status"] == "revoked"
    _assert_access_stopped(app, tokens)
    time.sleep(1)  # "from then on": still refused a moment later, not just right after revoking
    assert introspect(app, tokens["access_token"])["active"] is False
    assert_bearer_error(bearer_api(app, tokens["access_token"]), 401, "invalid_token")
