"""Authorization codes: random, stored hashed, short-lived and redeemable exactly once."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import Engine, select
from sqlalchemy.orm import Session

from gridshare.config import Settings
from gridshare.grants.codes import CodeExpired, CodeReused, CodeUnknown, issue_code, redeem_code
from gridshare.grants.secrets import digest
from gridshare.store.db import session_factory, transaction, utcnow
from gridshare.store.tables.clients import Client, Registration
from gridshare.store.tables.grants import AuthorizationCode, Grant


def _client_and_grant(session: Session) -> None:
    session.add(Registration(id="r1"))
    session.flush()
    session.add(
        Client(client_id="c1", registration_id="r1", status="sandbox", response_types=["code"])
    )
    session.flush()
    session.add(Grant(grant_id="g1", client_id="c1", status="active", scope="s", enabled_scope="s"))


def _issue(engine: Engine, settings: Settings) -> str:
    with transaction(session_factory(engine)) as session:
        _client_and_grant(session)
        session.flush()
        return issue_code(
            session,
            settings,
            client_id="c1",
            grant_id="g1",
            redirect_uri="https://app.example/cb",
            redirect_uri_given=True,
            code_challenge="E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM",
        )


def test_a_code_is_random_and_stored_only_as_its_hash(engine: Engine, settings: Settings) -> None:
    code = _issue(engine, settings)
    assert len(code) >= 43  # 256 bits in URL-safe base64
    with session_factory(engine)() as session:
        stored = session.scalars(select(AuthorizationCode)).one()
    assert stored.code_hash == digest(code)
    assert code not in {stored.code_hash, stored.code_challenge, stored.redirect_uri}
    lifetime = stored.expires_at - stored.created
    assert lifetime == timedelta(seconds=settings.authorization_code_seconds)
    assert lifetime <= timedelta(minutes=10)


def test_redeem_returns_the_record_once_then_reports_reuse_with_the_record(
    engine: Engine, settings: Settings
) -> None:
    code = _issue(engine, settings)
    sessions = session_factory(engine)
    with transaction(sessions) as session:
        record = redeem_code(session, code)
        assert (record.client_id, record.grant_id) == ("c1", "g1")
        assert record.redirect_uri == "https://app.example/cb"
        assert record.redirect_uri_given is True
        assert record.used_at is not None
    with transaction(sessions) as session, pytest.raises(CodeReused) as reused:
        redeem_code(session, code)
    assert reused.value.code.code_hash == digest(code)
    assert reused.value.code.grant_id == "g1"


def test_unknown_code_is_refused(engine: Engine, settings: Settings) -> None:
    _issue(engine, settings)
    with transaction(session_factory(engine)) as session, pytest.raises(CodeUnknown):
        redeem_code(session, "not-a-code")


def test_expired_code_is_refused_and_stays_unused(engine: Engine, settings: Settings) -> None:
    code = _issue(engine, settings)
    sessions = session_factory(engine)
    with transaction(sessions) as session:
        session.get_one(AuthorizationCode, digest(code)).expires_at = utcnow() - timedelta(
            seconds=1
        )
    with transaction(sessions) as session, pytest.raises(CodeExpired) as expired:
        redeem_code(session, code)
    assert expired.value.code.used_at is None
    with sessions() as session:
        assert session.get_one(AuthorizationCode, digest(code)).used_at is None


def test_a_spent_code_reports_reuse_even_after_it_expires(
    engine: Engine, settings: Settings
) -> None:
    code = _issue(engine, settings)
    sessions = session_factory(engine)
    with transaction(sessions) as session:
        redeem_code(session, code)
        session.get_one(AuthorizationCode, digest(code)).expires_at = utcnow() - timedelta(
            seconds=1
        )
    with transaction(sessions) as session, pytest.raises(CodeReused):
        redeem_code(session, code)
