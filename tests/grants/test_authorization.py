"""Pending authorization requests: answered once, never mistaken for a pushed request; the
redirect URLs keep the registered URI's own query (RFC 6749 §3.1.2, §4.1.2)."""

from __future__ import annotations

from datetime import timedelta
from urllib.parse import parse_qsl, urlsplit

import pytest
from sqlalchemy import Engine, select

from gridshare.config import Settings
from gridshare.grants.authorization import (
    AuthorizationRequest,
    PendingGone,
    error_url,
    find_pending,
    open_pending,
    response_url,
    take_pending,
)
from gridshare.grants.pushed_requests import URN_PREFIX, RequestUriError, take
from gridshare.store.db import session_factory, transaction, utcnow
from gridshare.store.tables.clients import Client, Registration
from gridshare.store.tables.grants import PushedRequest

REQUEST = AuthorizationRequest(
    client_id="app",
    redirect_uri="https://app.example/cb?x=1",
    redirect_uri_given=True,
    state="st",
    scope="cds_accounts_1",
    authorization_details='[{"type": "cds_accounts_1", "minimum": 1.50}]',
    code_challenge="E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM",
    grant_id=None,
    force_login=True,
)


def _opened(engine: Engine, settings: Settings) -> str:
    with transaction(session_factory(engine)) as session:
        session.add(Registration(id="r1"))
        session.flush()
        session.add(Client(client_id="app", registration_id="r1", status="sandbox"))
        session.flush()
        return open_pending(session, settings, REQUEST)


def test_a_pending_request_comes_back_whole_and_is_answered_once(
    engine: Engine, settings: Settings
) -> None:
    pending_id = _opened(engine, settings)
    sessions = session_factory(engine)
    with sessions() as session:
        found = find_pending(session, pending_id)
    assert found.request == REQUEST
    with transaction(sessions) as session:
        assert take_pending(session, pending_id).request == REQUEST
    for attempt in (find_pending, take_pending):
        with transaction(sessions) as session, pytest.raises(PendingGone) as gone:
            attempt(session, pending_id)
        assert gone.value.reason == "answered"


def test_pending_requests_expire_after_the_session_lifetime(
    engine: Engine, settings: Settings
) -> None:
    pending_id = _opened(engine, settings)
    sessions = session_factory(engine)
    with transaction(sessions) as session:
        record = session.scalars(select(PushedRequest)).one()
        assert record.expires_at - record.created == timedelta(minutes=settings.session_minutes)
        record.expires_at = utcnow() - timedelta(seconds=1)
    with transaction(sessions) as session, pytest.raises(PendingGone) as gone:
        take_pending(session, pending_id)
    assert gone.value.reason == "expired"
    with sessions() as session, pytest.raises(PendingGone) as unknown:
        find_pending(session, "made-up")
    assert unknown.value.reason == "unknown"


def test_a_pending_id_is_not_a_request_uri(engine: Engine, settings: Settings) -> None:
    pending_id = _opened(engine, settings)
    with transaction(session_factory(engine)) as session, pytest.raises(RequestUriError):
        take(session, URN_PREFIX + pending_id, client_id="app")


def test_response_urls_keep_the_registered_query_and_skip_absent_values() -> None:
    url = response_url("https://app.example/cb?x=1&y=", {"code": "c d", "state": None})
    parts = urlsplit(url)
    assert (parts.scheme, parts.netloc, parts.path) == ("https", "app.example", "/cb")
    assert parse_qsl(parts.query, keep_blank_values=True) == [
        ("x", "1"),
        ("y", ""),
        ("code", "c d"),
    ]
    error = dict(parse_qsl(urlsplit(error_url("https://a.example/", "s", "e", "why")).query))
    assert error == {"error": "e", "error_description": "why", "state": "s"}
