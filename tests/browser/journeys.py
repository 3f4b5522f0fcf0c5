"""What the browser tests share: one tab going through an authorization request (open the
authorization URL, log in by keyboard, tick accounts by keyboard, wait for the answer), the app's
back channel (code exchange, introspection, a bearer API) and where screenshots go."""

from __future__ import annotations

import os
import re
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import parse_qs, urlsplit

import httpx

from gridshare import urls
from tests.browser.conftest import App, new_pkce

if TYPE_CHECKING:
    from playwright.sync_api import BrowserContext, Locator, Page, Request

CONSENT_TITLE = re.compile(r"^Share your data with Sunny Side App\?$")
APPROVED_TITLE = "You approved Sunny Side App"
DECLINED_TITLE = "You declined"
ACCOUNT_ENTRY = re.compile(r"^Account ")
"""The accessible name of an account's checkbox: its label, "Account <number>" then details."""


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

    def code(self) -> str:
        """The code the app's redirect URI received (no error, the request's state)."""
        query = self.callback_query()
        assert "error" not in query, query
        assert query["state"] == [self.state]
        [code] = query["code"]
        return code


def start(
    app: App,
    context: BrowserContext,
    authorization_details: list[dict[str, Any]] | None = None,
) -> Journey:
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
    journey.page.goto(app.authorization_url(state, verifier, authorization_details))
    return journey


def log_in(journey: Journey, username: str = "home", password: str = "demo-home") -> None:
    """Fill in the login form and submit it with Enter; land on the consent page."""
    page = journey.page
    assert page.get_by_role("heading", level=1).inner_text().startswith("Log in to")
    page.get_by_label("Username").fill(username)
    page.get_by_label("Password").fill(password)
    with page.expect_navigation():
        page.get_by_label("Password").press("Enter")
    assert urlsplit(page.url).path == urls.CONSENT
    assert CONSENT_TITLE.match(page.get_by_role("heading", level=1).inner_text())


def tab_to(page: Page, target: Locator, limit: int = 60) -> None:
    """Press Tab until `target` has the keyboard focus, as a keyboard user moves through the form
    (from wherever the focus is; past the end it wraps round to the top)."""
    for _ in range(limit):
        page.keyboard.press("Tab")
        if target.evaluate("element => element === document.activeElement"):
            return
    raise AssertionError(f"{limit} presses of Tab never reached {target}")


def tick_by_keyboard(page: Page, name: str | re.Pattern[str] = ACCOUNT_ENTRY) -> None:
    """Tick the one checkbox named `name` (by default the only account's) as a keyboard user
    does: Tab to it, press Space."""
    box = page.get_by_role("checkbox", name=name)
    assert not box.is_checked()
    tab_to(page, box)
    page.keyboard.press("Space")
    assert box.is_checked()


def answered(journey: Journey) -> str:
    """Wait until the tab has left the consent page; the heading it shows then."""
    heading = journey.page.get_by_role("heading", level=1)
    deadline = time.monotonic() + 15
    while CONSENT_TITLE.match(heading.inner_text()):
        assert time.monotonic() < deadline, "still on the consent page"
        journey.page.wait_for_timeout(50)
    return heading.inner_text()


def exchange(app: App, journey: Journey, code: str) -> httpx.Response:
    """The app's token request for `code` with the journey's PKCE verifier."""
    return httpx.post(
        app.metadata["token_endpoint"],
        data={
            "grant_type": "authorization_code",
            "code": code,
            "redirect_uri": app.redirect_uri,
            "code_verifier": journey.verifier,
        },
        auth=app.auth,
    )


def introspect(app: App, token: str) -> dict[str, Any]:
    answer = httpx.post(
        app.metadata["introspection_endpoint"], data={"token": token}, auth=app.auth
    )
    assert answer.status_code == 200, answer.text
    result: dict[str, Any] = answer.json()
    return result


def bearer_api(app: App, access_token: str) -> httpx.Response:
    """The Grants API called with `access_token`: a customer-data token is the wrong kind there
    (403 `insufficient_scope`) while it is valid, and 401 `invalid_token` once revoked."""
    return httpx.get(
        app.metadata["cds_grants_api"], headers={"Authorization": f"Bearer {access_token}"}
    )


def assert_bearer_error(answer: httpx.Response, status: int, error: str) -> None:
    assert answer.status_code == status, answer.text
    assert f'error="{error}"' in answer.headers["WWW-Authenticate"]


def screenshot_dirs(tmp_path: Path) -> list[Path]:
    """Where screenshots go: the test's own directory, and `$GRIDSHARE_SCREENSHOTS_DIR` too."""
    dirs = [tmp_path]
    if shared := os.environ.get("GRIDSHARE_SCREENSHOTS_DIR"):
        dirs.append(Path(shared))
    for made in dirs:
        made.mkdir(parents=True, exist_ok=True)
    return dirs


def no_horizontal_scroll(page: Page) -> bool:
    page_width = page.evaluate("document.documentElement.scrollWidth")
    view_width = page.evaluate("document.documentElement.clientWidth")
    return bool(page_width <= view_width)


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
"""The accessibility roles of form controls."""


def unnamed_controls(page: Page) -> list[str]:
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
