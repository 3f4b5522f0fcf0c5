"""The customer's side of the OAuth code flow in a real browser (headless Chromium): the login form
(submitted from the keyboard), the consent page's Approve and Decline, a double click on Approve,
and how the consent page looks and behaves at desktop and phone widths.

The app's redirect URI is its server-hosted default one (`/oauth/outcome/{client_id}`, which shows
the customer the outcome); the test records the URL the browser is redirected to, exactly what an
app's own callback would receive. The app's back channel (token exchange with PKCE,
introspection) is plain httpx.
"""

from __future__ import annotations

import os
import re
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest

from gridshare import urls
from tests.browser.conftest import SCOPE, App, new_pkce

if TYPE_CHECKING:
    from playwright.sync_api import BrowserContext, Page, Request

pytestmark = pytest.mark.slow

CONSENT_TITLE = re.compile(r"^Share your data with Sunny Side App\?$")
APPROVED_TITLE = "You approved Sunny Side App"
DECLINED_TITLE = "You declined"
FORM_CONTROL_ROLES = {
    "button",
    "checkbox",
    "combobox",
    "listbox",
    "radio",
    "searchbox",
    "slider",
    "spinbutton",
    "switch",
    "textbox",
}
"""Accessibility-tree roles of form controls, each of which needs an accessible name."""


@dataclass
class Journey:
    """One browser tab going through an authorization request; what it asked and what it saw."""

    app: App
    page: Page
    state: str
    verifier: str
    callbacks: list[str] = field(default_factory=list)
    requests: list[str] = field(default_factory=list)
    posts: list[str] = field(default_factory=list)
    statuses: list[tuple[int, str]] = field(default_factory=list)

    def callback_query(self) -> dict[str, list[str]]:
        [callback] = self.callbacks
        assert callback.startswith(self.app.redirect_uri + "?")
        return parse_qs(urlsplit(callback).query)


def _start(app: App, context: BrowserContext) -> Journey:
    """Open the authorization URL in a new tab, recording every request the tab makes (the
    redirects to the app's redirect URI among them)."""
    state, verifier = new_pkce()
    journey = Journey(app, context.new_page(), state, verifier)

    def seen(request: Request) -> None:
        journey.requests.append(request.url)
        if request.method == "POST":
            journey.posts.append(urlsplit(request.url).path)
        if request.url.startswith(app.redirect_uri + "?"):
            journey.callbacks.append(request.url)

    journey.page.on("request", seen)
    journey.page.on("response", lambda r: journey.statuses.append((r.status, r.url)))
    journey.page.goto(app.authorization_url(state, verifier))
    return journey


def _log_in(journey: Journey, username: str = "home", password: str = "demo-home") -> None:
    """Fill in the login form and submit it with Enter; land on the consent page."""
    page = journey.page
    assert page.get_by_role("heading", level=1).inner_text().startswith("Log in to")
    page.get_by_label("Username").fill(username)
    page.get_by_label("Password").fill(password)
    with page.expect_navigation():
        page.get_by_label("Password").press("Enter")
    assert urlsplit(page.url).path == urls.CONSENT
    assert CONSENT_TITLE.match(page.get_by_role("heading", level=1).inner_text())


def _answered(journey: Journey) -> str:
    """Wait until the tab has left the consent page; the heading it shows then."""
    heading = journey.page.get_by_role("heading", level=1)
    deadline = time.monotonic() + 15
    while CONSENT_TITLE.match(heading.inner_text()):
        assert time.monotonic() < deadline, "still on the consent page"
        journey.page.wait_for_timeout(50)
    return heading.inner_text()


def _introspect(app: App, token: str) -> dict[str, Any]:
    answer = httpx.post(
        app.metadata["introspection_endpoint"], data={"token": token}, auth=app.auth
    )
    assert answer.status_code == 200, answer.text
    result: dict[str, Any] = answer.json()
    return result


def test_customer_logs_in_by_keyboard_approves_and_the_app_gets_a_working_token(
    app: App, context: BrowserContext
) -> None:
    journey = _start(app, context)
    _log_in(journey)
    journey.page.get_by_role("button", name="Approve").click()
    assert _answered(journey) == APPROVED_TITLE

    query = journey.callback_query()
    assert query["state"] == [journey.state]
    assert "error" not in query
    [code] = query["code"]

    token = httpx.post(
        app.metadata["token_endpoint"],
        data={
            "grant_type": "authorization_code",
            "code": code,
            "redirect_uri": app.redirect_uri,
            "code_verifier": journey.verifier,
        },
        auth=app.auth,
    )
    assert token.status_code == 200, token.text
    access_token = token.json()["access_token"]
    assert token.json()["scope"].split() == [SCOPE]
    introspected = _introspect(app, access_token)
    assert introspected["active"] is True
    assert introspected["client_id"] == app.client_id

    again = httpx.post(
        app.metadata["token_endpoint"],
        data={
            "grant_type": "authorization_code",
            "code": code,
            "redirect_uri": app.redirect_uri,
            "code_verifier": journey.verifier,
        },
        auth=app.auth,
    )
    assert again.status_code == 400, "a code is good once"


def test_customer_declines_and_the_app_gets_access_denied(
    app: App, context: BrowserContext
) -> None:
    before = app.grant_ids()
    journey = _start(app, context)
    _log_in(journey)
    journey.page.get_by_role("button", name="Decline").click()
    assert _answered(journey) == DECLINED_TITLE

    query = journey.callback_query()
    assert query["error"] == ["access_denied"]
    assert query["state"] == [journey.state]
    assert "code" not in query
    assert app.grant_ids() == before


def test_a_double_click_on_approve_makes_one_grant(app: App, context: BrowserContext) -> None:
    before = app.grant_ids()
    journey = _start(app, context)
    _log_in(journey)
    page = journey.page
    form = page.locator("form", has=page.get_by_role("button", name="Approve"))
    action = form.evaluate("form => form.action")
    csrf_token = form.locator("input[name=csrf_token]").input_value()

    page.get_by_role("button", name="Approve").dblclick()
    landed = _answered(journey)
    assert journey.posts.count(urls.CONSENT) >= 1
    # Chromium sends one submission or, if the second replaces the first, the second finds the
    # request answered: either way one Grant and no server error.
    assert landed in (APPROVED_TITLE, "Already answered"), landed
    assert not [seen for seen in journey.statuses if seen[0] >= 500]

    # The second submission for certain, with the browser's cookies: harmless.
    again = context.request.post(
        action, form={"csrf_token": csrf_token, "decision": "approve"}, max_redirects=0
    )
    assert again.status == 409
    assert "Already answered" in again.text()
    time.sleep(0.3)  # a submission the browser abandoned may still be finishing on the server
    assert len(app.grant_ids() - before) == 1
    assert len(journey.callbacks) <= 1
    if journey.callbacks:
        assert journey.callback_query()["state"] == [journey.state]


def _screenshot_dirs(tmp_path: Path) -> list[Path]:
    dirs = [tmp_path]
    if shared := os.environ.get("GRIDSHARE_SCREENSHOTS_DIR"):
        dirs.append(Path(shared))
    for made in dirs:
        made.mkdir(parents=True, exist_ok=True)
    return dirs


def _unnamed_controls(page: Page) -> list[str]:
    """Form controls in Chromium's accessibility tree without an accessible name; also checks
    the tree holds every visible control of the page's forms."""
    cdp = page.context.new_cdp_session(page)
    tree = cdp.send("Accessibility.getFullAXTree")
    cdp.detach()
    controls = [
        node
        for node in tree["nodes"]
        if not node.get("ignored") and node.get("role", {}).get("value") in FORM_CONTROL_ROLES
    ]
    in_dom = page.locator(
        "form :is(input:not([type=hidden]), button, select, textarea):visible"
    ).count()
    assert len(controls) >= in_dom > 0
    return [
        node["role"]["value"]
        for node in controls
        if not str(node.get("name", {}).get("value", "")).strip()
    ]


@pytest.mark.req("WG3-9.2-b")
def test_consent_page_at_desktop_and_phone_widths(
    app: App, context: BrowserContext, tmp_path: Path
) -> None:
    journey = _start(app, context)
    _log_in(journey)
    page = journey.page
    consent_url = page.url

    for name, width, height in (("desktop", 1280, 800), ("phone", 390, 844)):
        page.set_viewport_size({"width": width, "height": height})
        page.reload()
        assert CONSENT_TITLE.match(page.get_by_role("heading", level=1).inner_text())
        for directory in _screenshot_dirs(tmp_path):
            page.screenshot(path=directory / f"consent-{name}.png", full_page=True)
        page_width = page.evaluate("document.documentElement.scrollWidth")
        view_width = page.evaluate("document.documentElement.clientWidth")
        assert page_width <= view_width, f"horizontal scroll at {width} px"
        assert page.get_by_role("button", name="Approve").is_visible()
        assert page.get_by_role("button", name="Decline").is_visible()
        assert _unnamed_controls(page) == []

    assert page.url == consent_url
    origin = app.base + "/"
    external = [url for url in journey.requests if not url.startswith(origin)]
    assert external == []
    assert not journey.callbacks, "looking at the page answered nothing"
