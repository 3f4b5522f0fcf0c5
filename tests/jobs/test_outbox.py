"""The outbox's rows: enqueued with the caller's transaction, once per key; outcomes recorded only
under the lease they were claimed with; operators' counts, dead list and requeue."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import Engine, select

from gridshare.jobs.outbox import (
    dead_items,
    enqueue,
    mark_done,
    mark_failed,
    requeue,
    status_counts,
)
from gridshare.store.claims import claim_next
from gridshare.store.db import session_factory, transaction, utcnow
from gridshare.store.tables.outbox import OutboxItem


def _rows(engine: Engine) -> list[OutboxItem]:
    with session_factory(engine)() as session:
        return list(session.scalars(select(OutboxItem).order_by(OutboxItem.id)))


def _claim(engine: Engine, worker: str, lease: timedelta) -> OutboxItem:
    now = utcnow()
    with transaction(session_factory(engine)) as session:
        item = claim_next(session, worker, now, now + lease)
    assert item is not None, "expected a due item to claim"
    return item


def test_enqueue_rolls_back_with_the_callers_transaction(engine: Engine) -> None:
    sessions = session_factory(engine)
    with pytest.raises(RuntimeError), transaction(sessions) as session:
        enqueue(session, "http_post", {"url": "http://example.test/"}, "key-1")
        raise RuntimeError("the state change failed")
    assert _rows(engine) == []


def test_enqueue_commits_with_the_callers_transaction(engine: Engine) -> None:
    before = utcnow()
    with transaction(session_factory(engine)) as session:
        enqueue(session, "http_post", {"url": "http://example.test/", "body": [1]}, "key-1")
    [row] = _rows(engine)
    assert (row.kind, row.idempotency_key, row.status, row.attempts) == (
        "http_post",
        "key-1",
        "pending",
        0,
    )
    assert row.payload == {"url": "http://example.test/", "body": [1]}
    assert before <= row.next_attempt_at <= utcnow()
    assert row.leased_until is None and row.delivered_at is None


def test_a_duplicate_key_is_a_no_op_and_the_first_stands(engine: Engine) -> None:
    sessions = session_factory(engine)
    with transaction(sessions) as session:
        enqueue(session, "http_post", {"n": 1}, "same")
        enqueue(session, "http_post", {"n": 2}, "same")
    with transaction(sessions) as session:
        enqueue(session, "email", {"n": 3}, "same")
        enqueue(session, "email", {"n": 4}, "other")
    rows = _rows(engine)
    assert [(r.idempotency_key, r.kind, r.payload) for r in rows] == [
        ("same", "http_post", {"n": 1}),
        ("other", "email", {"n": 4}),
    ]


@pytest.mark.parametrize(
    ("kind", "key", "problem"),
    [("", "k", "kind"), ("k" * 41, "k", "kind"), ("email", "", "key"), ("email", "k" * 121, "key")],
)
def test_enqueue_refuses_what_the_columns_cannot_hold(
    engine: Engine, kind: str, key: str, problem: str
) -> None:
    with pytest.raises(ValueError, match=problem), transaction(session_factory(engine)) as session:
        enqueue(session, kind, {}, key)


def test_outcomes_apply_only_under_the_lease_they_were_claimed_with(engine: Engine) -> None:
    sessions = session_factory(engine)
    with transaction(sessions) as session:
        enqueue(session, "http_post", {}, "key-1")
    late = _claim(engine, "worker-a", timedelta(0))  # its lease has already run out
    current = _claim(engine, "worker-b", timedelta(minutes=1))
    assert current.attempts == 2
    with transaction(sessions) as session:
        assert not mark_done(session, late, utcnow())
        assert not mark_failed(session, late, "too late", None)
    [row] = _rows(engine)
    assert (row.status, row.leased_by, row.last_error) == ("pending", "worker-b", None)
    with transaction(sessions) as session:
        assert mark_done(session, current, utcnow())
    with transaction(sessions) as session:
        assert not mark_done(session, current, utcnow()), "done twice"
    [row] = _rows(engine)
    assert row.status == "done" and row.delivered_at is not None and row.leased_until is None


def test_a_failure_reschedules_or_gives_up(engine: Engine) -> None:
    sessions = session_factory(engine)
    with transaction(sessions) as session:
        enqueue(session, "http_post", {}, "retry")
        enqueue(session, "http_post", {}, "give-up")
    retry_at = utcnow() + timedelta(minutes=5)
    first = _claim(engine, "w", timedelta(minutes=1))
    second = _claim(engine, "w", timedelta(minutes=1))
    with transaction(sessions) as session:
        assert mark_failed(session, first, "boom " * 1000, retry_at)
        assert mark_failed(session, second, "refused", None)
    rows = {row.idempotency_key: row for row in _rows(engine)}
    assert rows["retry"].status == "pending"
    assert rows["retry"].next_attempt_at == retry_at
    assert rows["retry"].leased_until is None
    assert rows["retry"].last_error is not None and len(rows["retry"].last_error) == 2000
    assert (rows["give-up"].status, rows["give-up"].last_error) == ("dead", "refused")


def test_operators_count_list_and_requeue(engine: Engine) -> None:
    sessions = session_factory(engine)
    with transaction(sessions) as session:
        assert status_counts(session) == {"pending": 0, "done": 0, "dead": 0}
        for key in ("a", "b", "c"):
            enqueue(session, "http_post", {}, key)
    done, dead = (
        _claim(engine, "w", timedelta(minutes=1)),
        _claim(engine, "w", timedelta(minutes=1)),
    )
    with transaction(sessions) as session:
        mark_done(session, done, utcnow())
        mark_failed(session, dead, "receiver said 404", None)
    with transaction(sessions) as session:
        assert status_counts(session) == {"pending": 1, "done": 1, "dead": 1}
        assert [(i.idempotency_key, i.last_error) for i in dead_items(session)] == [
            ("b", "receiver said 404")
        ]
        assert not requeue(session, "a"), "a done item is not requeued"
        assert not requeue(session, "nope")
        assert requeue(session, "b")
    with transaction(sessions) as session:
        assert status_counts(session) == {"pending": 2, "done": 1, "dead": 0}
    claimed = [_claim(engine, "w", timedelta(minutes=1)) for _ in range(2)]
    assert sorted((item.idempotency_key, item.attempts) for item in claimed) == [("b", 1), ("c", 1)]
