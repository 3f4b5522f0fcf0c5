"""Claiming outbox rows: only due, unleased (or expired) pending rows, oldest first, each by one
worker; on PostgreSQL a row another transaction is claiming is skipped, not waited for."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import Engine, text, update

from gridshare.jobs.outbox import enqueue
from gridshare.store.claims import claim_next, insert_once
from gridshare.store.db import session_factory, transaction, utcnow
from gridshare.store.tables.outbox import OutboxItem

LEASE = timedelta(minutes=1)


def _enqueue(engine: Engine, *keys: str) -> None:
    with transaction(session_factory(engine)) as session:
        for key in keys:
            enqueue(session, "http_post", {}, key)


def _set(engine: Engine, key: str, **values: object) -> None:
    with transaction(session_factory(engine)) as session:
        session.execute(
            update(OutboxItem).where(OutboxItem.idempotency_key == key).values(**values)
        )


def _claim(engine: Engine, worker: str = "w") -> OutboxItem | None:
    now = utcnow()
    with transaction(session_factory(engine)) as session:
        return claim_next(session, worker, now, now + LEASE)


def test_insert_once_reports_whether_it_inserted(engine: Engine) -> None:
    with transaction(session_factory(engine)) as session:
        values = {"kind": "http_post", "payload": {}, "idempotency_key": "k"}
        assert insert_once(session, values)
        assert not insert_once(session, values)


def test_claims_the_oldest_due_row_with_a_lease_and_an_attempt(engine: Engine) -> None:
    _enqueue(engine, "newer", "older")
    _set(engine, "older", next_attempt_at=utcnow() - timedelta(hours=1))
    before = utcnow()
    item = _claim(engine, "worker-1")
    assert item is not None
    assert (item.idempotency_key, item.attempts, item.leased_by) == ("older", 1, "worker-1")
    assert item.leased_until is not None and item.leased_until >= before + LEASE
    second = _claim(engine, "worker-2")
    assert second is not None and second.idempotency_key == "newer"
    assert _claim(engine) is None, "both rows are leased"


def test_skips_rows_not_due_done_dead_or_under_a_live_lease(engine: Engine) -> None:
    _enqueue(engine, "later", "done", "dead", "leased")
    now = utcnow()
    _set(engine, "later", next_attempt_at=now + timedelta(seconds=30))
    _set(engine, "done", status="done")
    _set(engine, "dead", status="dead")
    _set(engine, "leased", leased_until=now + timedelta(seconds=30), leased_by="other")
    assert _claim(engine) is None


def test_an_expired_lease_is_claimed_again(engine: Engine) -> None:
    _enqueue(engine, "k")
    _set(engine, "k", leased_until=utcnow() - timedelta(seconds=1), leased_by="gone", attempts=1)
    item = _claim(engine, "heir")
    assert item is not None
    assert (item.leased_by, item.attempts) == ("heir", 2)


@pytest.mark.postgres
def test_postgresql_skips_a_row_being_claimed_instead_of_waiting(engine: Engine) -> None:
    if engine.dialect.name != "postgresql":
        pytest.skip("SKIP LOCKED is PostgreSQL's; SQLite has one writer at a time")
    _enqueue(engine, "first", "second")
    now = utcnow()
    sessions = session_factory(engine)
    with transaction(sessions) as holding:
        held = claim_next(holding, "a", now, now + LEASE)  # locked until this commits
        assert held is not None and held.idempotency_key == "first"
        for worker, expected in (("b", "second"), ("c", None)):
            with transaction(sessions) as other:
                other.execute(text("SET LOCAL lock_timeout = '5s'"))  # fail, don't hang
                claimed = claim_next(other, worker, now, now + LEASE)
            assert (claimed.idempotency_key if claimed else None) == expected
