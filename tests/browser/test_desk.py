"""The connection desk (`web/desk.py`) in a real browser (headless Chromium), as the utility's staff
use it: DEG Connections guide v1.1, "Taxonomy" connection-status (PENDING -> IN_PROGRESS ->
COMPLETED or FAILED, or CANCELLED).

The operator makes the staff account with the `gridshare staff add` CLI on the server's database,
as on the server's machine. The order is taken into that database as the Beckn face takes a
confirmed one (`utility.orders.take`, beside the running server): a signed Beckn `confirm` over
HTTP would need a registry the browser harness does not configure, and the desk only reads the
order. The staff member then logs in (a wrong password first), finds the order in the list, opens
it from the keyboard and moves it along; a second, stale tab shows what happens to a move the
order no longer allows.
"""

from __future__ import annotations

import os
import subprocess
import sys
import uuid
from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest
from sqlalchemy import Engine

from gridshare.config import Settings
from gridshare.store.db import make_engine, session_factory
from gridshare.utility import orders
from gridshare.web.desk import DESK_LOGIN, DESK_ORDERS
from tests.browser.journeys import no_horizontal_scroll, screenshot_dirs, tab_to, unnamed_controls
from tests.e2e.servers import free_port
from tests.utility.order_setup import place

if TYPE_CHECKING:
    from playwright.sync_api import BrowserContext, Locator, Page

pytestmark = pytest.mark.slow

STAFF_NAME = "ana.desk"
STAFF_PASSWORD = "a desk password 1"
WRONG = "The name or password is not right."
"""Accessibility-tree roles of the desk's form controls, each of which needs an accessible name."""


def _operator(settings: Settings, *args: str, stdin: str = "") -> str:
    """`python -m gridshare ARGS` run by the operator on the server's machine (its data directory
    and, under PostgreSQL, its database), `stdin` typed in; fails unless it exits 0."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("GRIDSHARE_")}
    env["GRIDSHARE_DATA_DIR"] = str(settings.data_dir)
    env["GRIDSHARE_BASE_URL"] = settings.base_url
    if settings.database_url:
        env["GRIDSHARE_DATABASE_URL"] = settings.database_url
    done = subprocess.run(
        [sys.executable, "-m", "gridshare", *args],
        input=stdin,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 0, f"gridshare {' '.join(args)}: {done.stderr}{done.stdout}"
    return done.stdout + done.stderr


@pytest.fixture(scope="module")
def staff_member(server_settings: Settings) -> str:
    """A staff account made with the operator CLI; its name (the password is STAFF_PASSWORD)."""
    said = _operator(
        server_settings, "staff", "add", STAFF_NAME, "--password-stdin", stdin=STAFF_PASSWORD + "\n"
    )
    assert f"{STAFF_NAME} can now log in at {server_settings.url(DESK_LOGIN)}" in said
    return STAFF_NAME


@pytest.fixture(scope="module")
def database(server_settings: Settings) -> Iterator[Engine]:
    """The running server's own database, reached beside it."""
    engine = make_engine(server_settings.sqlalchemy_url)
    yield engine
    engine.dispose()


def _new_order(database: Engine, customer_name: str) -> str:
    """A PENDING order for `customer_name`, taken as the Beckn face takes a confirmed one (the
    requester's BAP at a local port nobody listens on, so the worker's announcements of the desk's
    changes go nowhere off this machine); its id."""
    bap_uri = f"http://127.0.0.1:{free_port()}/beckn"
    transaction_id = str(uuid.uuid4())
    context = {
        "domain": "deg:connection",
        "bap_id": "bap.example.org",
        "bap_uri": bap_uri,
        "transaction_id": transaction_id,
    }
    document: dict[str, Any] = {
        "provider": {"id": "sf_electric_authority"},
        "items": [{"id": "new-resi-connection"}],
        "fulfillments": [{"id": "fulfillment-1"}],
        "quote": {"price": {"value": "200.00", "currency": "USD"}},
    }
    return place(
        database,
        transaction_id,
        customer_name=customer_name,
        email=f"{customer_name.split()[0].lower()}@example.com",
        total=Decimal("200.00"),
        document=document,
        reply_to={"context": context},
    )


def _history(database: Engine, order_id: str) -> list[tuple[str | None, str, str, str | None]]:
    """The order's recorded history: (from, to, actor, reason), oldest first."""
    with session_factory(database)() as session:
        return [
            (event.from_status, event.to_status, event.actor, event.reason)
            for event in orders.events(session, order_id)
        ]


def _heading(page: Page) -> str:
    return page.get_by_role("heading", level=1).inner_text()


def _log_in(page: Page, name: str, password: str) -> None:
    """Type the name into the focused field, Tab to the password, type it and press Enter."""
    assert _heading(page) == "Connection desk"
    page.wait_for_function("document.activeElement?.id === 'name'")  # autofocus on the name
    page.keyboard.type(name)
    tab_to(page, page.get_by_label("Password"))
    page.keyboard.type(password)
    with page.expect_navigation():
        page.keyboard.press("Enter")


def _offered(page: Page) -> list[str]:
    """The statuses the order page's form offers to move to."""
    return page.get_by_label("New status").locator("option").all_inner_texts()


def _history_rows(page: Page) -> list[list[str]]:
    """The order page's History table: When, Change, By, Reason per row."""
    rows = page.locator("h2:text-is('History') + .wide table tbody tr")
    return [[cell.strip() for cell in row.locator("td").all_inner_texts()] for row in rows.all()]


def _order_row(page: Page, order_id: str) -> Locator:
    return page.get_by_role("row").filter(has=page.get_by_role("link", name=order_id, exact=True))


def _screenshot(page: Page, tmp_path: Path, name: str) -> None:
    """Keep a picture of the page (desktop width, which the desk is made for) and check it fits."""
    for directory in screenshot_dirs(tmp_path):
        page.screenshot(path=directory / f"desk-{name}.png", full_page=True)
    assert no_horizontal_scroll(page), f"the desk's {name} page scrolls sideways"


def test_staff_member_logs_in_finds_the_order_and_moves_it_along(
    server: str,
    staff_member: str,
    database: Engine,
    context: BrowserContext,
    tmp_path: Path,
) -> None:
    order_id = _new_order(database, "Rosa Delgado")
    page = context.new_page()
    statuses: list[int] = []
    page.on("response", lambda response: statuses.append(response.status))
    page.goto(server + DESK_LOGIN)
    assert unnamed_controls(page) == []

    # A wrong password: the page says so and keeps the name, and nothing opens.
    _log_in(page, staff_member, "not the password")
    assert page.get_by_role("alert").inner_text() == WRONG
    assert page.get_by_label("Staff name").input_value() == staff_member
    assert page.get_by_label("Password").input_value() == ""
    assert page.get_by_role("link", name="All orders").count() == 0
    assert 401 in statuses

    page.get_by_label("Staff name").fill("")
    page.get_by_label("Staff name").focus()
    _log_in(page, staff_member, STAFF_PASSWORD)
    assert page.url == server + DESK_ORDERS
    assert _heading(page) == "Connection orders"
    assert f"Logged in as {staff_member}" in page.locator("form.no-print").inner_text()
    assert unnamed_controls(page) == []
    _screenshot(page, tmp_path, "orders")

    # The order in the list, then opened from the keyboard.
    row = _order_row(page, order_id)
    cells = [cell.strip() for cell in row.locator("td").all_inner_texts()]
    assert cells[0] == order_id
    assert cells[2:] == [
        "PENDING",
        "New Residential Connection",
        "Rosa Delgado",
        "bap.example.org",
        "200.00 USD",
    ]
    link = row.get_by_role("link", name=order_id, exact=True)
    tab_to(page, link)
    with page.expect_navigation():
        page.keyboard.press("Enter")
    assert page.url == f"{server}{DESK_ORDERS}/{order_id}"
    assert _heading(page) == f"Order {order_id}: PENDING"
    assert _offered(page) == ["IN_PROGRESS", "FAILED", "CANCELLED"]  # not COMPLETED yet
    assert [row[1:] for row in _history_rows(page)] == [["PENDING", "bap.example.org", ""]]
    assert unnamed_controls(page) == []

    # PENDING -> IN_PROGRESS with a reason, sent from the keyboard.
    page.get_by_label("New status").select_option("IN_PROGRESS")
    page.get_by_label("Reason").fill("crew booked for Tuesday")
    tab_to(page, page.get_by_role("button", name="Change the status"))
    with page.expect_navigation():
        page.keyboard.press("Enter")
    assert page.url == f"{server}{DESK_ORDERS}/{order_id}"
    assert _heading(page) == f"Order {order_id}: IN_PROGRESS"
    assert page.get_by_role("alert").count() == 0
    actor = f"staff:{staff_member}"
    assert [row[1:] for row in _history_rows(page)] == [
        ["PENDING", "bap.example.org", ""],
        ["PENDING → IN_PROGRESS", actor, "crew booked for Tuesday"],
    ]
    assert _history(database, order_id)[-1] == (
        "PENDING",
        "IN_PROGRESS",
        actor,
        "crew booked for Tuesday",
    )
    _screenshot(page, tmp_path, "order")

    # Only the moves IN_PROGRESS allows are offered: not back to PENDING, not IN_PROGRESS again.
    offered = _offered(page)
    assert offered == list(orders.NEXT[orders.IN_PROGRESS]) == ["COMPLETED", "FAILED", "CANCELLED"]
    assert "PENDING" not in offered and "IN_PROGRESS" not in offered

    with page.expect_navigation():
        page.get_by_role("link", name="All orders").click()
    assert _order_row(page, order_id).locator("td").nth(2).inner_text() == "IN_PROGRESS"
    assert not [status for status in statuses if status >= 500]


def test_a_move_from_a_stale_page_is_refused_and_the_page_says_why(
    server: str, staff_member: str, database: Engine, context: BrowserContext
) -> None:
    order_id = _new_order(database, "Sam Reed")
    order_url = f"{server}{DESK_ORDERS}/{order_id}"

    # The order's address before logging in: the login, then straight back to the order.
    first = context.new_page()
    first.goto(order_url)
    assert first.url.startswith(server + DESK_LOGIN + "?next=")
    _log_in(first, staff_member, STAFF_PASSWORD)
    assert first.url == order_url
    assert _heading(first) == f"Order {order_id}: PENDING"

    # A second tab on the same order, then the first moves it along.
    second = context.new_page()
    second.goto(order_url)
    assert _offered(second) == ["IN_PROGRESS", "FAILED", "CANCELLED"]
    first.get_by_label("New status").select_option("IN_PROGRESS")
    with first.expect_navigation():
        first.get_by_role("button", name="Change the status").click()
    assert _heading(first) == f"Order {order_id}: IN_PROGRESS"

    # The stale tab still offers IN_PROGRESS; choosing it changes nothing and says why.
    second.get_by_label("New status").select_option("IN_PROGRESS")
    second.get_by_label("Reason").fill("meter fitted")
    with second.expect_navigation() as navigation:
        second.get_by_role("button", name="Change the status").click()
    response = navigation.value
    assert response is not None and response.status == 409
    assert _heading(second) == f"Order {order_id}: IN_PROGRESS"
    assert second.get_by_role("alert").inner_text() == (
        f"Nothing was changed: order {order_id} is IN_PROGRESS; "
        "it can move to COMPLETED, FAILED, CANCELLED"
    )
    assert _offered(second) == ["COMPLETED", "FAILED", "CANCELLED"]
    assert second.get_by_label("Reason").input_value() == "meter fitted"
    assert [(row[0], row[1]) for row in _history(database, order_id)] == [
        (None, "PENDING"),
        ("PENDING", "IN_PROGRESS"),
    ]
