"""Browser login sessions (`api/login_session.py`), the same for customers' and staff's tables: a
cookie of 256 random bits stored only as its SHA-256 digest, a lifetime that slides with every page
(CDS-WG3-01 §9.1.2: at least 10 minutes after the last one), a new session at every start that
deletes the browser's previous one, and an end that deletes at once."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta
from typing import Any

import pytest
from fastapi import Request
from sqlalchemy import Engine, select
from sqlalchemy.orm import Session

from gridshare.api.login_session import CUSTOMER_SESSIONS, SESSION_COOKIE, LoginSessions
from gridshare.config import Settings
from gridshare.grants.secrets import digest
from gridshare.store.db import session_factory, utcnow
from gridshare.store.tables.customers import Customer
from gridshare.store.tables.staff import StaffSession
from gridshare.utility import staff

STAFF_SESSIONS = LoginSessions(StaffSession, "test_desk")
KINDS = {
    "customer": (CUSTOMER_SESSIONS, {"customer_id": "cu-ann"}),
    "staff": (STAFF_SESSIONS, {"staff_name": "bea"}),
}


@pytest.fixture
def session(engine: Engine) -> Iterator[Session]:
    with session_factory(engine)() as session:
        session.add(Customer(id="cu-ann", name="Ann", username="ann", password_hash="!"))
        staff.add(session, "bea", "desk password 1")
        session.commit()
        yield session


@pytest.fixture(params=sorted(KINDS))
def kind(request: pytest.FixtureRequest) -> tuple[LoginSessions[Any], dict[str, str]]:
    sessions, owner = KINDS[request.param]
    return sessions, owner


def browser(cookies: dict[str, str] | None = None) -> Request:
    """A request from a browser that sends `cookies`."""
    header = "; ".join(f"{name}={value}" for name, value in (cookies or {}).items())
    return Request({"type": "http", "headers": [(b"cookie", header.encode())]})


def rows(session: Session, sessions: LoginSessions[Any]) -> list[Any]:
    return list(session.scalars(select(sessions.table)))


def test_a_session_is_stored_only_as_the_digest_of_its_cookie(
    session: Session, settings: Settings, kind: tuple[LoginSessions[Any], dict[str, str]]
) -> None:
    sessions, owner = kind
    now = utcnow()
    value = sessions.start(session, settings, browser(), now, **owner)
    session.commit()
    [login] = rows(session, sessions)
    assert len(value) >= 43 and login.session_hash == digest(value) != value
    assert login.created == now
    assert login.expires_at == now + timedelta(minutes=settings.session_minutes)
    assert all(getattr(login, column) == owned for column, owned in owner.items())
    assert len(login.csrf_token) >= 43 and login.csrf_token != value
    assert sessions.current(session, settings, browser({sessions.cookie: value})) is login


def test_a_start_deletes_the_browsers_previous_session_only(
    session: Session, settings: Settings, kind: tuple[LoginSessions[Any], dict[str, str]]
) -> None:
    sessions, owner = kind
    elsewhere = sessions.start(session, settings, browser(), utcnow(), **owner)
    first = sessions.start(session, settings, browser(), utcnow(), **owner)
    session.commit()
    second = sessions.start(session, settings, browser({sessions.cookie: first}), utcnow(), **owner)
    session.commit()
    assert {login.session_hash for login in rows(session, sessions)} == {
        digest(elsewhere),
        digest(second),
    }
    assert sessions.current(session, settings, browser({sessions.cookie: first})) is None


def test_a_planted_or_missing_cookie_finds_no_session(
    session: Session, settings: Settings, kind: tuple[LoginSessions[Any], dict[str, str]]
) -> None:
    sessions, owner = kind
    planted = browser({sessions.cookie: "planted-by-an-attacker"})
    assert sessions.current(session, settings, planted) is None
    value = sessions.start(session, settings, planted, utcnow(), **owner)
    session.commit()
    assert value != "planted-by-an-attacker"
    assert [login.session_hash for login in rows(session, sessions)] == [digest(value)]
    assert sessions.current(session, settings, browser()) is None
    assert sessions.current(session, settings, browser({"other": value})) is None


def test_customer_and_staff_sessions_do_not_stand_for_each_other(
    session: Session, settings: Settings
) -> None:
    customer = CUSTOMER_SESSIONS.start(
        session, settings, browser(), utcnow(), **KINDS["customer"][1]
    )
    desk = STAFF_SESSIONS.start(session, settings, browser(), utcnow(), **KINDS["staff"][1])
    session.commit()
    assert CUSTOMER_SESSIONS.current(session, settings, browser({SESSION_COOKIE: desk})) is None
    assert STAFF_SESSIONS.current(session, settings, browser({"test_desk": customer})) is None


def test_every_page_extends_a_live_session(
    session: Session, settings: Settings, kind: tuple[LoginSessions[Any], dict[str, str]]
) -> None:
    sessions, owner = kind
    value = sessions.start(session, settings, browser(), utcnow() - timedelta(hours=1), **owner)
    [login] = rows(session, sessions)
    login.expires_at = utcnow() + timedelta(minutes=1)
    session.commit()
    before = utcnow()
    assert sessions.current(session, settings, browser({sessions.cookie: value})) is login
    session.commit()
    assert login.expires_at >= before + timedelta(minutes=settings.session_minutes)
    longer = login.expires_at = utcnow() + timedelta(days=1)
    assert sessions.current(session, settings, browser({sessions.cookie: value})) is login
    assert login.expires_at == longer  # never shortened


def test_an_expired_session_counts_as_none_and_is_deleted(
    session: Session, settings: Settings, kind: tuple[LoginSessions[Any], dict[str, str]]
) -> None:
    sessions, owner = kind
    value = sessions.start(session, settings, browser(), utcnow(), **owner)
    [login] = rows(session, sessions)
    login.expires_at = utcnow() - timedelta(seconds=1)
    session.commit()
    assert sessions.current(session, settings, browser({sessions.cookie: value})) is None
    session.commit()
    assert rows(session, sessions) == []


def test_an_end_deletes_the_session_at_once(
    session: Session, settings: Settings, kind: tuple[LoginSessions[Any], dict[str, str]]
) -> None:
    sessions, owner = kind
    value = sessions.start(session, settings, browser(), utcnow(), **owner)
    session.commit()
    cookie = browser({sessions.cookie: value})
    login = sessions.current(session, settings, cookie)
    assert login is not None
    sessions.end(session, login)
    session.commit()
    assert rows(session, sessions) == []
    assert sessions.current(session, settings, cookie) is None
