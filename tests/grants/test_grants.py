"""Grants: enabled access follows the status, ended access revokes tokens, dates expire Grants,
and the §8.1 Grant object (CDS-WG1-02 §8.1, §8.2)."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import Engine
from sqlalchemy.orm import Session

from gridshare import urls
from gridshare.config import Settings
from gridshare.grants import tokens
from gridshare.grants.grants import (
    ENDED,
    GRANTS_PATH,
    LIMITED,
    NO_ACCESS,
    STATUSES,
    GrantStatusError,
    apply_time,
    create_grant,
    expire_due,
    grant_json,
    grant_uri,
    grants_json,
    revoke_tokens,
    rfc3339,
    set_status,
)
from gridshare.store.db import session_factory, utcnow
from gridshare.store.tables.clients import Client, Registration
from gridshare.store.tables.grants import Grant, Token
from tests.object_keys import GRANT_FIELDS

DETAILS = [{"type": "cds_accounts_1", "include_account_numbers": True}]


@pytest.fixture
def session(engine: Engine) -> Iterator[Session]:
    with session_factory(engine)() as session:
        session.add(Registration(id="r1"))
        session.flush()
        session.add(Client(client_id="c1", registration_id="r1", status="sandbox"))
        session.flush()
        yield session


def _grant(session: Session, **options: object) -> Grant:
    return create_grant(
        session,
        client_id="c1",
        scope="cds_accounts_1",
        authorization_details=DETAILS,
        **options,  # type: ignore[arg-type]
    )


def _token(session: Session, *grants: Grant) -> Token:
    return tokens.issue(
        session,
        kind="access",
        client_id="c1",
        scope="cds_accounts_1",
        lifetime=timedelta(hours=1),
        grant_ids=[g.grant_id for g in grants],
    ).record


def test_the_face_and_the_core_agree_on_where_the_grants_api_lives() -> None:
    assert urls.GRANTS == GRANTS_PATH


@pytest.mark.req("WG1-02-8.1-c")
def test_enabled_access_is_the_full_scope_when_granted_and_empty_without_access(
    session: Session,
) -> None:
    active = _grant(session)
    assert (active.enabled_scope, active.enabled_authorization_details) == (
        "cds_accounts_1",
        DETAILS,
    )
    for status in sorted(NO_ACCESS):
        grant = _grant(session, status=status, enabled_scope="cds_accounts_1")
        assert (grant.enabled_scope, grant.enabled_authorization_details) == ("", []), status
    for status in sorted(LIMITED):
        assert _grant(session, status=status).enabled_scope == "", status
        partial = _grant(
            session, status=status, enabled_scope="a", enabled_authorization_details=[]
        )
        assert partial.enabled_scope == "a"
    with pytest.raises(GrantStatusError):
        _grant(session, status="paused")
    assert len(STATUSES) == 14


@pytest.mark.req("WG1-02-8.1-b")
def test_eta_is_kept_only_while_pending(session: Session) -> None:
    soon = utcnow() + timedelta(days=1)
    assert _grant(session, status="active", eta=soon).eta is None
    pending = _grant(session, status="pending", eta=soon)
    assert pending.eta == soon
    set_status(session, pending, "active")
    assert pending.eta is None
    assert grant_json(Settings(), pending)["eta"] is None


@pytest.mark.req("WG1-02-8.1-c", "WG1-02-8.2-d")
def test_set_status_keeps_enabled_access_consistent(session: Session) -> None:
    grant = _grant(session)
    set_status(session, grant, "partial", enabled_scope="", enabled_authorization_details=[])
    assert grant.enabled_scope == ""
    set_status(session, grant, "suspended")
    assert (grant.enabled_scope, grant.enabled_authorization_details) == ("", [])
    set_status(session, grant, "active")
    assert (grant.enabled_scope, grant.enabled_authorization_details) == ("cds_accounts_1", DETAILS)
    set_status(session, grant, "needs_authorization")  # keeps what is enabled
    assert grant.enabled_scope == "cds_accounts_1"
    with pytest.raises(GrantStatusError):
        set_status(session, grant, "gone")


@pytest.mark.req("WG1-02-8.2-d")
@pytest.mark.parametrize("status", sorted(ENDED))
def test_ending_access_revokes_the_grants_tokens_at_once(session: Session, status: str) -> None:
    grant, other = _grant(session), _grant(session)
    token, bystander = _token(session, grant), _token(session, other)
    session.flush()
    assert set_status(session, grant, status) == 1
    session.expire_all()
    assert token.revoked_at is not None
    assert bystander.revoked_at is None
    assert not tokens.is_active(session, token)
    assert tokens.is_active(session, bystander)


@pytest.mark.req("WG1-02-8.2-d")
@pytest.mark.parametrize("status", ["future", "suspended"])
def test_a_pause_stops_tokens_without_revoking_them(session: Session, status: str) -> None:
    grant = _grant(session)
    token = _token(session, grant)
    session.flush()
    assert set_status(session, grant, status) == 0
    assert token.revoked_at is None
    assert not tokens.is_active(session, token)
    set_status(session, grant, "active")
    assert tokens.is_active(session, token)


def test_revoking_a_grants_tokens_spares_tokens_that_another_open_grant_carries(
    session: Session,
) -> None:
    grant = _grant(session)
    other = _grant(session)
    shared = _token(session, grant, other)
    alone = _token(session, grant)
    session.flush()
    grant.status, grant.enabled_scope = "closed", ""
    assert revoke_tokens(session, grant) == 1
    session.expire_all()
    assert shared.revoked_at is None
    assert alone.revoked_at is not None


def test_a_grant_id_that_prefixes_another_does_not_catch_its_tokens(session: Session) -> None:
    short = _grant(session)
    longer = Grant(
        grant_id=short.grant_id + "0",
        client_id="c1",
        status="active",
        scope="cds_accounts_1",
        enabled_scope="cds_accounts_1",
    )
    session.add(longer)
    token = _token(session, longer)
    session.flush()
    set_status(session, short, "closed")
    session.flush()
    session.expire_all()
    assert token.revoked_at is None


@pytest.mark.req("WG1-02-8.2-d")
def test_passing_not_after_or_expires_makes_a_grant_expired(session: Session) -> None:
    now = utcnow()
    lapsed = _grant(session, not_after=now - timedelta(seconds=1))
    ended = _grant(session, expires=now - timedelta(seconds=1))
    running = _grant(session, not_after=now + timedelta(days=1))
    starting = _grant(session, status="future", not_before=now - timedelta(seconds=1))
    waiting = _grant(session, status="future", not_before=now + timedelta(days=1))
    token = _token(session, lapsed)
    session.flush()
    assert expire_due(session, now) == 3
    assert (lapsed.status, lapsed.enabled_scope) == ("expired", "")
    assert ended.status == "expired"
    assert running.status == "active"
    assert (starting.status, starting.enabled_scope) == ("active", "cds_accounts_1")
    assert waiting.status == "future"
    session.flush()
    session.expire_all()
    assert token.revoked_at is not None
    assert not apply_time(session, running, now)
    assert expire_due(session, now) == 0


@pytest.mark.req("WG1-02-8.1-a", "WG1-02-8.1-b")
def test_grant_json_is_the_grant_object(session: Session) -> None:
    settings = Settings(base_url="https://utility.example")
    old = _grant(session)
    parent = _grant(session, replacing=[old.grant_id], receipt_confirmations=["948859833"])
    child = _grant(session, parent_id=parent.grant_id)
    session.flush()
    body = grant_json(settings, parent)
    assert list(body) == GRANT_FIELDS
    assert body["uri"] == f"https://utility.example/cds-api/v1/grants/{parent.grant_id}"
    assert body["replacing"] == [grant_uri(settings, old.grant_id)]
    assert grant_json(settings, old)["replaced_by"] == [body["uri"]]
    assert body["children"] == [child.grant_id]
    assert grant_json(settings, child)["parent"] == parent.grant_id
    assert body["created"] == body["modified"] == rfc3339(parent.created)
    assert body["created"].endswith("Z") and "." not in body["created"]
    assert body["receipt_confirmations"] == ["948859833"]
    assert body["not_before"] is None and body["expires"] is None
    listed = grants_json(settings, session, [parent, child])
    assert listed == [body, grant_json(settings, child)]


def test_rfc3339_is_utc_to_the_second() -> None:
    moment = datetime(2024, 1, 1, 1, 2, 3, 456789, tzinfo=UTC)
    assert rfc3339(moment) == "2024-01-01T01:02:03Z"
