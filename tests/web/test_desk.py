"""The connection desk (`web/desk.py`): staff log in with their own accounts, list and open
connection orders, and move them along (DEG Connections guide v1.1 connection-status). A move is
an order event by `staff:<name>` plus one `order_event` outbox item; a refused move, a form
without its CSRF token, or a visitor not logged in writes nothing."""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import timedelta
from urllib.parse import quote

import pytest
from fastapi.testclient import TestClient
from httpx import Response
from sqlalchemy import Engine, select

from gridshare.app import create_app
from gridshare.config import Settings
from gridshare.grants.secrets import digest
from gridshare.store.db import session_factory, transaction, utcnow
from gridshare.store.tables.orders import ConnectionOrder
from gridshare.store.tables.staff import StaffSession
from gridshare.utility import order_documents, orders, staff
from gridshare.web.desk import DESK_LOGIN, DESK_LOGOUT, DESK_ORDERS, SESSION_COOKIE
from tests.oauth.authorization_setup import hidden
from tests.utility.order_setup import history, move, outbox_items, place, status

PASSWORD = "desk password 1"


@pytest.fixture
def http(settings: Settings, engine: Engine) -> Iterator[TestClient]:
    with TestClient(create_app(settings, engine)) as client:
        yield client


@pytest.fixture
def ana(engine: Engine) -> str:
    with transaction(session_factory(engine)) as session:
        staff.add(session, "ana", PASSWORD)
    return "ana"


def log_in(http: TestClient, name: str, password: str, next_path: str = DESK_ORDERS) -> Response:
    form = http.get(DESK_LOGIN, params={"next": next_path})
    response: Response = http.post(
        DESK_LOGIN,
        data={
            "name": name,
            "password": password,
            "csrf_token": hidden(form.text, "csrf_token"),
            "next": next_path,
        },
        follow_redirects=False,
    )
    return response


def sessions(engine: Engine) -> list[StaffSession]:
    with session_factory(engine)() as session:
        return list(session.scalars(select(StaffSession)))


def offered(html: str) -> list[str]:
    """The statuses the advance form offers."""
    match = re.search(r'<select id="to" name="to"[^>]*>(.*?)</select>', html, re.S)
    return re.findall(r'<option value="([^"]+)"', match.group(1)) if match else []


def advance(http: TestClient, order_id: str, csrf_token: str | None, **fields: str) -> Response:
    data = dict(fields) | ({"csrf_token": csrf_token} if csrf_token is not None else {})
    path = f"{DESK_ORDERS}/{order_id}/advance"
    response: Response = http.post(path, data=data, follow_redirects=False)
    return response


def test_without_a_staff_account_the_desk_says_how_to_make_one(http: TestClient) -> None:
    page = http.get(DESK_LOGIN)
    assert page.status_code == 503
    assert "gridshare staff add NAME" in page.text
    assert 'name="password"' not in page.text


@pytest.mark.parametrize("path", [DESK_ORDERS, f"{DESK_ORDERS}/CO-ANY", "/desk"])
def test_pages_need_a_staff_login(http: TestClient, ana: str, path: str) -> None:
    response = http.get(path, follow_redirects=True)
    assert response.status_code == 200
    assert str(response.url).split("?")[0].endswith(DESK_LOGIN)
    assert '<label for="password">' in response.text


def test_the_login_returns_to_the_page_asked_for(http: TestClient, ana: str) -> None:
    first = http.get(f"{DESK_ORDERS}?status=PENDING", follow_redirects=False)
    assert first.status_code == 303
    assert (
        first.headers["location"]
        == f"{DESK_LOGIN}?next={quote(DESK_ORDERS, safe='')}%3Fstatus%3DPENDING"
    )
    done = log_in(http, ana, PASSWORD, f"{DESK_ORDERS}?status=PENDING")
    assert done.headers["location"] == f"{DESK_ORDERS}?status=PENDING"
    elsewhere = log_in(http, ana, PASSWORD, "https://evil.example/desk/orders")
    assert elsewhere.headers["location"] == DESK_ORDERS


def test_a_login_starts_a_session_stored_only_hashed(
    http: TestClient, engine: Engine, ana: str
) -> None:
    response = log_in(http, ana, PASSWORD)
    assert response.status_code == 303
    assert response.headers["location"] == DESK_ORDERS
    cookie = response.headers["set-cookie"]
    assert cookie.startswith(f"{SESSION_COOKIE}=") and "HttpOnly" in cookie
    [login] = sessions(engine)
    assert login.session_hash == digest(http.cookies[SESSION_COOKIE])
    assert login.staff_name == "ana"
    again = log_in(http, ana, PASSWORD)
    assert again.status_code == 303
    [newer] = sessions(engine)  # the browser's previous session ended
    assert newer.session_hash != login.session_hash


@pytest.mark.parametrize(("name", "password"), [("ana", "not the password"), ("bob", PASSWORD)])
def test_a_wrong_password_or_unknown_name_is_refused(
    http: TestClient, engine: Engine, ana: str, name: str, password: str
) -> None:
    response = log_in(http, name, password)
    assert response.status_code == 401
    assert "The name or password is not right." in response.text
    assert SESSION_COOKIE not in response.headers.get("set-cookie", "")
    assert sessions(engine) == []
    assert http.get(DESK_ORDERS, follow_redirects=False).status_code == 303


def test_a_login_without_the_forms_csrf_token_is_refused(
    http: TestClient, engine: Engine, ana: str
) -> None:
    assert http.get(DESK_LOGIN).status_code == 200  # sets the double-submit cookie
    response = http.post(
        DESK_LOGIN,
        data={"name": "ana", "password": PASSWORD, "csrf_token": "forged" * 8},
        follow_redirects=False,
    )
    assert response.status_code == 400
    assert "This form had expired" in response.text
    assert sessions(engine) == []


def test_a_customers_session_cookie_does_not_open_the_desk(http: TestClient, ana: str) -> None:
    http.cookies.set("gridshare_session", "a-customer-session", domain="testserver.local")
    http.cookies.set(SESSION_COOKIE, "not-a-desk-session", domain="testserver.local")
    assert http.get(DESK_ORDERS, follow_redirects=False).status_code == 303


def test_the_list_shows_orders_and_filters_by_status(
    http: TestClient, engine: Engine, ana: str
) -> None:
    pending = place(engine, "txn-1")
    working = place(engine, "txn-2", customer_name="Maria Chen")
    move(engine, working, orders.IN_PROGRESS)
    log_in(http, ana, PASSWORD)
    page = http.get(DESK_ORDERS)
    assert page.status_code == 200
    assert pending in page.text and working in page.text
    assert "Maria Chen" in page.text and "bap.example.org" in page.text
    assert "200.00 USD" in page.text and "Logged in as ana" in page.text
    only = http.get(DESK_ORDERS, params={"status": "IN_PROGRESS"})
    assert working in only.text and pending not in only.text
    bogus = http.get(DESK_ORDERS, params={"status": "SHIPPED"})
    assert bogus.status_code == 400 and "not a connection status" in bogus.text


def test_the_order_page_offers_only_the_allowed_moves(
    http: TestClient, engine: Engine, ana: str
) -> None:
    order_id = place(engine)
    log_in(http, ana, PASSWORD)
    page = http.get(f"{DESK_ORDERS}/{order_id}")
    assert page.status_code == 200
    assert "Jonathan Park" in page.text and "910 Pinecrest Blvd" in page.text
    assert offered(page.text) == list(orders.NEXT[orders.PENDING])
    [login] = sessions(engine)
    assert hidden(page.text, "csrf_token") == login.csrf_token
    move(engine, order_id, orders.IN_PROGRESS)
    assert offered(http.get(f"{DESK_ORDERS}/{order_id}").text) == list(
        orders.NEXT[orders.IN_PROGRESS]
    )
    move(engine, order_id, orders.COMPLETED)
    final = http.get(f"{DESK_ORDERS}/{order_id}")
    assert offered(final.text) == [] and "that is final" in final.text
    missing = http.get(f"{DESK_ORDERS}/CO-NOSUCHORDR")
    assert missing.status_code == 404


def test_advance_records_the_move_by_the_staff_member_and_announces_it(
    http: TestClient, engine: Engine, ana: str
) -> None:
    order_id = place(engine)
    log_in(http, ana, PASSWORD)
    token = hidden(http.get(f"{DESK_ORDERS}/{order_id}").text, "csrf_token")
    done = advance(
        http,
        order_id,
        token,
        to="IN_PROGRESS",
        reason="technician assigned",
        **{"detail.meter_id": "der://puh.meter/84469825", "detail.grid_zone": " "},
    )
    assert done.status_code == 303
    assert done.headers["location"] == f"{DESK_ORDERS}/{order_id}"
    event = history(engine, order_id)[-1]
    assert (event.from_status, event.to_status) == ("PENDING", "IN_PROGRESS")
    assert (event.actor, event.reason) == ("staff:ana", "technician assigned")
    [item] = outbox_items(engine)
    assert item.kind == "order_event"
    assert item.payload == {"order_id": order_id, "event_id": event.id, "channel": "beckn"}
    with session_factory(engine)() as session:
        details = session.get_one(ConnectionOrder, order_id).details
    assert details == {"meter_id": "der://puh.meter/84469825"}
    page = http.get(f"{DESK_ORDERS}/{order_id}")
    assert "staff:ana" in page.text and "technician assigned" in page.text


@pytest.mark.parametrize(
    ("fields", "message"),
    [
        ({"to": "COMPLETED"}, "is PENDING; it can move to IN_PROGRESS, FAILED, CANCELLED"),
        ({"to": "ON_HOLD"}, "not a connection status"),
        ({"to": "IN_PROGRESS", "detail.meter_id": "x" * 200}, "1 to 199 characters"),
        ({"to": "IN_PROGRESS", "reason": "x" * 1001}, "at most 1000 characters"),
    ],
)
def test_a_refused_move_shows_why_and_writes_nothing(
    http: TestClient, engine: Engine, ana: str, fields: dict[str, str], message: str
) -> None:
    order_id = place(engine)
    log_in(http, ana, PASSWORD)
    token = hidden(http.get(f"{DESK_ORDERS}/{order_id}").text, "csrf_token")
    refused = advance(http, order_id, token, **fields)
    assert refused.status_code == 409
    assert "Nothing was changed" in refused.text and message in refused.text
    assert offered(refused.text) == list(orders.NEXT[orders.PENDING])
    assert status(engine, order_id) == orders.PENDING
    assert len(history(engine, order_id)) == 1
    assert outbox_items(engine) == []


@pytest.mark.parametrize("token", [None, "", "forged" * 8])
def test_an_advance_without_the_sessions_csrf_token_is_refused(
    http: TestClient, engine: Engine, ana: str, token: str | None
) -> None:
    order_id = place(engine)
    log_in(http, ana, PASSWORD)
    refused = advance(http, order_id, token, to="IN_PROGRESS")
    assert refused.status_code == 400
    assert "This form had expired" in refused.text
    assert status(engine, order_id) == orders.PENDING
    assert outbox_items(engine) == []


def test_an_advance_without_a_login_goes_to_the_login_and_writes_nothing(
    http: TestClient, engine: Engine, ana: str
) -> None:
    order_id = place(engine)
    refused = advance(http, order_id, "forged" * 8, to="IN_PROGRESS")
    assert refused.status_code == 303
    assert refused.headers["location"].startswith(f"{DESK_LOGIN}?next=")
    assert status(engine, order_id) == orders.PENDING
    assert outbox_items(engine) == []


def test_logout_ends_the_session_and_needs_its_token(
    http: TestClient, engine: Engine, ana: str
) -> None:
    log_in(http, ana, PASSWORD)
    [login] = sessions(engine)
    forged = http.post(DESK_LOGOUT, data={"csrf_token": "forged" * 8}, follow_redirects=False)
    assert forged.status_code == 400 and len(sessions(engine)) == 1
    done = http.post(DESK_LOGOUT, data={"csrf_token": login.csrf_token}, follow_redirects=False)
    assert done.status_code == 303 and done.headers["location"] == DESK_LOGIN
    assert sessions(engine) == []
    assert http.get(DESK_ORDERS, follow_redirects=False).status_code == 303


def test_an_expired_session_is_deleted_and_asks_for_a_login(
    http: TestClient, engine: Engine, ana: str
) -> None:
    log_in(http, ana, PASSWORD)
    with transaction(session_factory(engine)) as session:
        [login] = session.scalars(select(StaffSession)).all()
        login.expires_at = utcnow() - timedelta(seconds=1)
    assert http.get(DESK_ORDERS, follow_redirects=False).status_code == 303
    assert sessions(engine) == []


def test_the_documents_submitted_are_listed_and_downloaded_by_staff_only(
    http: TestClient, engine: Engine, ana: str
) -> None:
    pdf = b"%PDF-1.4\n% proof\n"
    with transaction(session_factory(engine)) as session:
        order_documents.add(
            session,
            "sub-1",
            [order_documents.NewDocument("ID proof", "my id (1).pdf", "application/pdf", pdf)],
        )
    order_id = place(engine, submission_id="sub-1")
    other_id = place(engine, transaction_id="txn-2")
    with session_factory(engine)() as session:
        [kept] = order_documents.of_submission(session, "sub-1")
    link = f"{DESK_ORDERS}/{order_id}/documents/{kept.id}"
    assert http.get(link, follow_redirects=False).status_code == 303  # a login first
    log_in(http, ana, PASSWORD)
    page = http.get(f"{DESK_ORDERS}/{order_id}")
    assert "Documents submitted" in page.text and link in page.text
    download = http.get(link)
    assert download.status_code == 200 and download.content == pdf
    assert download.headers["content-disposition"] == 'attachment; filename="my_id__1_.pdf"'
    assert http.get(f"{DESK_ORDERS}/{other_id}/documents/{kept.id}").status_code == 404
    assert "Documents submitted" not in http.get(f"{DESK_ORDERS}/{other_id}").text
