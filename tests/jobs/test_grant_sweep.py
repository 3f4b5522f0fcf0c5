"""The worker moves Grants whose dates have passed to their new status (CDS-WG1-02 §8.2), so the
Grants API shows `expired` without waiting for a token request to touch the Grant."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import Engine

from gridshare.config import Settings
from gridshare.grants.grants import create_grant
from gridshare.jobs.worker import Worker
from gridshare.store.db import session_factory, transaction, utcnow
from gridshare.store.tables.grants import Grant
from tests.oauth import grant_setup as setup


@pytest.mark.req("WG1-02-8.2-d")
def test_a_grant_past_its_end_is_expired_by_the_worker(engine: Engine, settings: Settings) -> None:
    now = utcnow()
    with transaction(session_factory(engine)) as session:
        reg = setup.registration(session, settings)
        ended = create_grant(
            session,
            client_id=reg.admin,
            scope="cds_client_admin",
            authorization_details=[],
            not_after=now - timedelta(minutes=1),
        )
        running = create_grant(
            session,
            client_id=reg.admin,
            scope="cds_client_admin",
            authorization_details=[],
            not_after=now + timedelta(days=1),
        )
        ended_id, running_id = ended.grant_id, running.grant_id

    assert Worker(engine, settings).expire_grants() == 1

    with session_factory(engine)() as session:
        assert session.get_one(Grant, ended_id).status == "expired"
        assert session.get_one(Grant, ended_id).enabled_scope == ""
        assert session.get_one(Grant, running_id).status == "active"
    assert Worker(engine, settings).expire_grants() == 0
