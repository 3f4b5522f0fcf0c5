"""The customer's side of the OAuth code flow in a real browser (headless Chromium): the login form
(submitted from the keyboard), the accounts to share ticked from the keyboard, the consent page's
Approve and Decline, Approve with nothing ticked, a double click on Approve, the Selection
Component of a customer with thirteen accounts (search, select all, the live count, "show only
selected", a preselection), and how the consent page looks at desktop and phone widths.

The app's redirect URI is its server-hosted default one (`/oauth/outcome/{client_id}`, which shows
the customer the outcome); the test records the URL the browser is redirected to, exactly what an
app's own callback would receive. The app's back channel (token exchange with PKCE,
introspection) is plain httpx.
"""

from __future__ import annotations

import re
import time
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

from gridshare import urls
from tests.browser.conftest import SCOPE, App
from tests.browser.journeys import (
    ACCOUNT_ENTRY,
    APPROVED_TITLE,
    CONSENT_TITLE,
    DECLINED_TITLE,
    answered,
    exchange,
    introspect,
    log_in,
    no_horizontal_scroll,
    screenshot_dirs,
    start,
    tick_by_keyboard,
    unnamed_controls,
)

if TYPE_CHECKING:
    from playwright.sync_api import BrowserContext, Page

pytestmark = pytest.mark.slow

"""Accessibility-tree roles of form controls, each of which needs an accessible name."""
NOTHING_CHOSEN = "Choose at least one account to share, or choose Decline."
CHAIN_ACCOUNTS = 13
"""The `chain` test customer's accounts: the parent and twelve stores (docs/demo.md)."""


def test_customer_logs_in_by_keyboard_approves_and_the_app_gets_a_working_token(
    app: App, context: BrowserContext
) -> None:
    journey = start(app, context)
    log_in(journey)
    tick_by_keyboard(journey.page)
    journey.page.get_by_role("button", name="Approve").click()
    assert answered(journey) == APPROVED_TITLE

    query = journey.callback_query()
    assert query["state"] == [journey.state]
    assert "error" not in query
    [code] = query["code"]

    token = exchange(app, journey, code)
    assert token.status_code == 200, token.text
    access_token = token.json()["access_token"]
    assert token.json()["scope"].split() == [SCOPE]
    introspected = introspect(app, access_token)
    assert introspected["active"] is True
    assert introspected["client_id"] == app.client_id

    again = exchange(app, journey, code)
    assert again.status_code == 400, "a code is good once"


def test_customer_declines_and_the_app_gets_access_denied(
    app: App, context: BrowserContext
) -> None:
    before = app.grant_ids()
    journey = start(app, context)
    log_in(journey)
    journey.page.get_by_role("button", name="Decline").click()
    assert answered(journey) == DECLINED_TITLE

    query = journey.callback_query()
    assert query["error"] == ["access_denied"]
    assert query["state"] == [journey.state]
    assert "code" not in query
    assert app.grant_ids() == before


def test_a_double_click_on_approve_makes_one_grant(app: App, context: BrowserContext) -> None:
    before = app.grant_ids()
    journey = start(app, context)
    log_in(journey)
    page = journey.page
    form = page.locator("form", has=page.get_by_role("button", name="Approve"))
    action = form.evaluate("form => form.action")
    csrf_token = form.locator("input[name=csrf_token]").input_value()
    tick_by_keyboard(page)

    page.get_by_role("button", name="Approve").dblclick()
    landed = answered(journey)
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


@pytest.mark.req("WG3-9.2-b")
def test_consent_page_at_desktop_and_phone_widths(
    app: App, context: BrowserContext, tmp_path: Path
) -> None:
    journey = start(app, context)
    log_in(journey)
    page = journey.page
    consent_url = page.url

    for name, width, height in (("desktop", 1280, 800), ("phone", 390, 844)):
        page.set_viewport_size({"width": width, "height": height})
        page.reload()
        assert CONSENT_TITLE.match(page.get_by_role("heading", level=1).inner_text())
        for directory in screenshot_dirs(tmp_path):
            page.screenshot(path=directory / f"consent-{name}.png", full_page=True)
        assert no_horizontal_scroll(page), f"horizontal scroll at {width} px"
        assert page.get_by_role("button", name="Approve").is_visible()
        assert page.get_by_role("button", name="Decline").is_visible()
        assert unnamed_controls(page) == []

    assert page.url == consent_url
    origin = app.base + "/"
    external = [url for url in journey.requests if not url.startswith(origin)]
    assert external == []
    assert not journey.callbacks, "looking at the page answered nothing"


def test_approve_with_no_account_ticked_asks_again_and_makes_no_grant(
    app: App, context: BrowserContext
) -> None:
    before = app.grant_ids()
    journey = start(app, context)
    log_in(journey)
    page = journey.page
    assert not page.get_by_role("checkbox", name=ACCOUNT_ENTRY).is_checked()

    with page.expect_navigation() as navigation:
        page.get_by_role("button", name="Approve").click()
    assert navigation.value is not None
    assert navigation.value.status == 422
    assert CONSENT_TITLE.match(page.get_by_role("heading", level=1).inner_text())
    alert = page.get_by_role("alert")
    assert alert.inner_text() == NOTHING_CHOSEN
    fieldset = page.locator("fieldset", has=page.get_by_role("checkbox", name=ACCOUNT_ENTRY))
    assert fieldset.get_attribute("aria-describedby") == alert.get_attribute("id")
    assert not page.get_by_role("checkbox", name=ACCOUNT_ENTRY).is_checked()
    assert not journey.callbacks
    assert app.grant_ids() == before

    tick_by_keyboard(page)
    page.get_by_role("button", name="Approve").click()
    assert answered(journey) == APPROVED_TITLE
    assert journey.code()
    assert len(app.grant_ids() - before) == 1


def _count(page: Page) -> str:
    """The live "N of M selected" count above the list."""
    return page.get_by_text(re.compile(r"^\d+ of \d+ selected$")).inner_text()


def _shown_entries(page: Page) -> list[str]:
    """The values (account ids) of the account checkboxes the list shows now."""
    return [
        name
        for box in page.get_by_role("checkbox", name=ACCOUNT_ENTRY).all()
        if box.is_visible() and (name := box.get_attribute("value")) is not None
    ]


def _store(number: int) -> re.Pattern[str]:
    """The name of store `number`'s checkbox (its details say "Valley Hardware #n (Town)")."""
    return re.compile(rf"^Account .*Valley Hardware #{number} \(")


@pytest.mark.req("WG3-9.2.3-b", "WG3-9.2.3-c", "WG3-9.2.3-d", "WG3-9.2.3.1-a")
def test_a_long_account_list_has_search_select_all_a_count_and_show_only_selected(
    app: App, context: BrowserContext, tmp_path: Path
) -> None:
    journey = start(app, context)
    log_in(journey, "chain", "demo-chain")
    page = journey.page
    entries = page.get_by_role("checkbox", name=ACCOUNT_ENTRY)
    assert entries.count() == CHAIN_ACCOUNTS
    assert not any(box.is_checked() for box in entries.all())
    assert _count(page) == f"0 of {CHAIN_ACCOUNTS} selected"
    future = page.get_by_role("checkbox", name="Also share accounts I add in the future")
    assert not future.is_checked()
    # §9.2.3.1: the account number, the name the customer knows it by and its address.
    for item in page.locator("li[data-text]").all():
        assert re.match(r"^Account \S+$", item.locator("strong").first.inner_text())
        assert item.locator(".detail").count() == 2
    assert page.get_by_role("checkbox", name=_store(7)).count() == 1
    listing = page.locator("ul.entries")
    assert listing.evaluate("ul => getComputedStyle(ul).overflowY") == "auto"
    assert listing.evaluate("ul => ul.scrollHeight > ul.clientHeight"), "the list scrolls"

    search = page.get_by_role("searchbox", name="Search")
    store_7 = page.get_by_role("checkbox", name=_store(7))
    search.fill("#7")
    assert _shown_entries(page) == [store_7.get_attribute("value")]
    search.fill("Dixon")
    shown = page.locator("li[data-text]:visible")
    assert 4 <= shown.count() < CHAIN_ACCOUNTS
    assert all("Dixon" in item.inner_text() for item in shown.all())
    assert not store_7.is_visible(), "store 7 is in Winters"
    search.fill("")
    assert len(_shown_entries(page)) == CHAIN_ACCOUNTS

    select_all = page.get_by_role("checkbox", name="Select all accounts")
    select_all.check()
    assert all(box.is_checked() for box in entries.all())
    assert _count(page) == f"{CHAIN_ACCOUNTS} of {CHAIN_ACCOUNTS} selected"
    store_7.uncheck()
    assert _count(page) == f"{CHAIN_ACCOUNTS - 1} of {CHAIN_ACCOUNTS} selected"
    assert not select_all.is_checked()
    assert select_all.evaluate("box => box.indeterminate")
    page.get_by_role("checkbox", name="Show only selected").check()
    assert not store_7.is_visible()
    assert len(_shown_entries(page)) == CHAIN_ACCOUNTS - 1

    # A request that preselects every account and future ones: all ticked on arrival (the
    # browser is still logged in as `chain`).
    preselected = start(
        app, context, [{"type": SCOPE, "account_numbers": ["_all", "_include_future"]}]
    )
    page = preselected.page
    assert CONSENT_TITLE.match(page.get_by_role("heading", level=1).inner_text())
    entries = page.get_by_role("checkbox", name=ACCOUNT_ENTRY)
    assert entries.count() == CHAIN_ACCOUNTS
    assert all(box.is_checked() for box in entries.all())
    assert _count(page) == f"{CHAIN_ACCOUNTS} of {CHAIN_ACCOUNTS} selected"
    assert page.get_by_role("checkbox", name="Select all accounts").is_checked()
    assert page.get_by_role("checkbox", name="Also share accounts I add in the future").is_checked()

    for name, width, height in (("desktop", 1280, 800), ("phone", 390, 844)):
        page.set_viewport_size({"width": width, "height": height})
        page.reload()
        assert _count(page) == f"{CHAIN_ACCOUNTS} of {CHAIN_ACCOUNTS} selected"
        for directory in screenshot_dirs(tmp_path):
            page.screenshot(path=directory / f"consent-chain-{name}.png", full_page=True)
        assert no_horizontal_scroll(page), f"horizontal scroll at {width} px"
        assert page.get_by_role("searchbox", name="Search").is_visible()
        assert page.get_by_role("button", name="Approve").is_visible()
        assert unnamed_controls(page) == []
    assert not journey.callbacks and not preselected.callbacks
