"""Pushed authorization requests (RFC 9126): stored hashed, taken once, by their client, in time."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import Engine, select
from sqlalchemy.orm import Session

from gridshare.config import Settings
from gridshare.grants.pushed_requests import URN_PREFIX, RequestUriError, push, take
from gridshare.grants.secrets import digest
from gridshare.store.db import session_factory, transaction, utcnow
from gridshare.store.tables.clients import Client, Registration
from gridshare.store.tables.grants import PushedRequest

PARAMETERS = {"client_id": ["app"], "cds_grant_id": ["", "g1"], "state": ["s"]}


def _clients(session: Session) -> None:
    session.add(Registration(id="r1"))
    session.flush()
    for client_id in ("app", "other"):
        session.add(Client(client_id=client_id, registration_id="r1", status="sandbox"))
    session.flush()


def _pushed(engine: Engine, settings: Settings) -> str:
    with transaction(session_factory(engine)) as session:
        _clients(session)
        return push(session, settings, client_id="app", parameters=PARAMETERS)


def test_a_request_uri_is_random_and_stored_hashed(engine: Engine, settings: Settings) -> None:
    request_uri = _pushed(engine, settings)
    assert request_uri.startswith(URN_PREFIX)
    value = request_uri.removeprefix(URN_PREFIX)
    assert len(value) >= 43
    with session_factory(engine)() as session:
        record = session.scalars(select(PushedRequest)).one()
    assert record.request_hash == digest(value)
    assert record.expires_at - record.created == timedelta(seconds=settings.par_seconds)


def test_taken_once_with_every_value_kept(engine: Engine, settings: Settings) -> None:
    request_uri = _pushed(engine, settings)
    sessions = session_factory(engine)
    with transaction(sessions) as session:
        assert take(session, request_uri, client_id="app") == PARAMETERS
    with transaction(sessions) as session, pytest.raises(RequestUriError) as again:
        take(session, request_uri, client_id="app")
    assert "already been used" in again.value.description
    assert again.value.record is not None


def test_only_its_client_can_take_it(engine: Engine, settings: Settings) -> None:
    request_uri = _pushed(engine, settings)
    sessions = session_factory(engine)
    with transaction(sessions) as session, pytest.raises(RequestUriError) as other:
        take(session, request_uri, client_id="other")
    assert other.value.record is None
    with transaction(sessions) as session:
        assert take(session, request_uri, client_id="app") == PARAMETERS


def test_expired_malformed_and_unknown_request_uris_are_refused(
    engine: Engine, settings: Settings
) -> None:
    request_uri = _pushed(engine, settings)
    sessions = session_factory(engine)
    with transaction(sessions) as session:
        session.scalars(select(PushedRequest)).one().expires_at = utcnow() - timedelta(seconds=1)
    for candidate, reason in (
        (request_uri, "expired"),
        (request_uri.removeprefix(URN_PREFIX), "must start with"),
        (URN_PREFIX + "unknown", "unknown"),
    ):
        with transaction(sessions) as session, pytest.raises(RequestUriError) as refused:
            take(session, candidate, client_id="app")
        assert reason in refused.value.description
