"""The worker against a real local receiver: delivers and marks done, retries with backoff, gives
up (dead) on refusals and after the last attempt, takes over expired leases, never delivers an item
twice while its lease holds, and keeps running through handler and database errors."""

from __future__ import annotations

import logging
import threading
from collections import Counter
from collections.abc import Callable
from datetime import timedelta

import pytest
from sqlalchemy import Engine, select, update

from gridshare.config import Settings
from gridshare.jobs.delivery import Message, http_post
from gridshare.jobs.outbox import enqueue
from gridshare.jobs.worker import BACKOFF_MAX_SECONDS, Worker, retry_delay
from gridshare.store.claims import claim_next
from gridshare.store.db import make_engine, session_factory, transaction, utcnow
from gridshare.store.migrate import upgrade
from gridshare.store.tables.outbox import OutboxItem
from tests.jobs.polling import wait_for
from tests.jobs.receiver import Receiver


def _enqueue(engine: Engine, key: str, url: str, kind: str = "http_post") -> None:
    with transaction(session_factory(engine)) as session:
        enqueue(session, kind, {"url": url, "body": {"key": key}}, key)


def _row(engine: Engine, key: str) -> OutboxItem:
    with session_factory(engine)() as session:
        row = session.scalars(select(OutboxItem).where(OutboxItem.idempotency_key == key)).one()
    return row


def _time_passes(engine: Engine) -> None:
    """Every pending item's backoff has run out."""
    with transaction(session_factory(engine)) as session:
        session.execute(
            update(OutboxItem)
            .where(OutboxItem.status == "pending")
            .values(next_attempt_at=utcnow())
        )


def _lease_to(engine: Engine, worker: str, lease: timedelta) -> None:
    now = utcnow()
    with transaction(session_factory(engine)) as session:
        assert claim_next(session, worker, now, now + lease) is not None


def test_delivers_a_due_item_and_marks_it_done(
    engine: Engine, settings: Settings, receiver: Receiver
) -> None:
    _enqueue(engine, "cb-1", f"{receiver.url}/hook")
    worker = Worker(engine, settings)
    before = utcnow()
    assert worker.run_once() == 1
    row = _row(engine, "cb-1")
    assert (row.status, row.attempts, row.last_error) == ("done", 1, None)
    assert row.delivered_at is not None and before <= row.delivered_at <= utcnow()
    assert receiver.keys() == ["cb-1"]
    assert receiver.received[0].body == {"key": "cb-1"}
    assert worker.run_once() == 0
    assert receiver.keys() == ["cb-1"]


def test_a_server_error_is_retried_after_a_backoff(
    engine: Engine, settings: Settings, receiver: Receiver
) -> None:
    receiver.answer(500)
    _enqueue(engine, "cb-1", receiver.url)
    worker = Worker(engine, settings)
    before = utcnow()
    assert worker.run_once() == 1
    row = _row(engine, "cb-1")
    assert (row.status, row.attempts, row.leased_until) == ("pending", 1, None)
    assert row.last_error is not None and "answered 500" in row.last_error
    assert before + timedelta(seconds=1) <= row.next_attempt_at <= utcnow() + timedelta(seconds=2)
    assert worker.run_once() == 0, "retried before its backoff ran out"
    _time_passes(engine)
    assert worker.run_once() == 1
    row = _row(engine, "cb-1")
    assert (row.status, row.attempts) == ("done", 2)
    assert receiver.keys() == ["cb-1", "cb-1"]


def test_a_refusal_is_dead_at_once(
    engine: Engine, settings: Settings, receiver: Receiver, caplog: pytest.LogCaptureFixture
) -> None:
    receiver.answer(400)
    _enqueue(engine, "cb-1", receiver.url)
    assert Worker(engine, settings).run_once() == 1
    row = _row(engine, "cb-1")
    assert (row.status, row.attempts) == ("dead", 1)
    assert row.last_error is not None and "answered 400" in row.last_error
    assert any(
        r.levelno == logging.ERROR and "cb-1" in r.getMessage() and "dead" in r.getMessage()
        for r in caplog.records
    )
    _time_passes(engine)
    assert Worker(engine, settings).run_once() == 0


def test_gives_up_after_the_last_attempt(
    engine: Engine, settings: Settings, receiver: Receiver
) -> None:
    receiver.answer(503, 503, 503, 503)
    _enqueue(engine, "cb-1", receiver.url)
    worker = Worker(engine, settings.model_copy(update={"outbox_max_attempts": 3}))
    for attempt in (1, 2, 3):
        assert _row(engine, "cb-1").status == "pending"
        assert worker.run_once() == 1
        assert _row(engine, "cb-1").attempts == attempt
        _time_passes(engine)
    row = _row(engine, "cb-1")
    assert (row.status, row.attempts) == ("dead", 3)
    assert row.last_error is not None and "answered 503" in row.last_error
    assert worker.run_once() == 0
    assert receiver.keys() == ["cb-1"] * 3


def test_an_expired_lease_is_taken_over(
    engine: Engine, settings: Settings, receiver: Receiver
) -> None:
    _enqueue(engine, "cb-1", receiver.url)
    _lease_to(engine, "gone", timedelta(0))  # a worker claimed it and died; the lease ran out
    worker = Worker(engine, settings)
    assert worker.run_once() == 1
    row = _row(engine, "cb-1")
    assert (row.status, row.attempts, row.leased_by) == ("done", 2, worker.name)
    assert receiver.keys() == ["cb-1"]


def test_a_live_lease_is_left_alone(engine: Engine, settings: Settings, receiver: Receiver) -> None:
    _enqueue(engine, "cb-1", receiver.url)
    _lease_to(engine, "busy", timedelta(minutes=5))
    assert Worker(engine, settings).run_once() == 0
    assert receiver.keys() == []
    assert _row(engine, "cb-1").leased_by == "busy"


def test_an_item_whose_last_attempt_never_finished_is_dead_without_delivery(
    engine: Engine, settings: Settings, receiver: Receiver
) -> None:
    _enqueue(engine, "cb-1", receiver.url)
    _lease_to(engine, "gone", timedelta(0))  # attempt 1 of 1 died mid-delivery
    limited = settings.model_copy(update={"outbox_max_attempts": 1})
    assert Worker(engine, limited).run_once() == 1
    row = _row(engine, "cb-1")
    assert row.status == "dead"
    assert row.last_error is not None and "never finished" in row.last_error
    assert receiver.keys() == []


def test_handler_errors_and_unknown_kinds_are_recorded_and_retried(
    engine: Engine, settings: Settings
) -> None:
    def explode(message: Message) -> None:
        raise RuntimeError(f"cannot deliver {message.idempotency_key}")

    _enqueue(engine, "boom-1", "http://unused.test/", kind="boom")
    _enqueue(engine, "mystery-1", "http://unused.test/", kind="mystery")
    assert Worker(engine, settings, handlers={"boom": explode}).run_once() == 2
    boom, mystery = _row(engine, "boom-1"), _row(engine, "mystery-1")
    assert (boom.status, boom.last_error) == ("pending", "RuntimeError: cannot deliver boom-1")
    assert mystery.status == "pending"
    assert mystery.last_error == "this worker has no handler for 'mystery' (it has boom)"


def test_two_workers_never_deliver_the_same_item_twice(
    engine: Engine, settings: Settings, receiver: Receiver
) -> None:
    keys = [f"cb-{n:02}" for n in range(30)]
    for key in keys:
        _enqueue(engine, key, receiver.url)
    both_busy = threading.Barrier(2, timeout=20)
    first_call = threading.local()

    def post_after_both_claimed(message: Message) -> None:
        if not getattr(first_call, "done", False):  # both workers hold a claim at once
            first_call.done = True
            both_busy.wait()
        http_post(message)

    workers = [
        Worker(engine, settings, {"http_post": post_after_both_claimed}, name=f"w{n}")
        for n in (1, 2)
    ]
    attempted: list[int] = []
    threads = [threading.Thread(target=lambda w=w: attempted.append(w.run_once())) for w in workers]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert not any(thread.is_alive() for thread in threads), "a worker did not finish"
    assert Counter(receiver.keys()) == Counter(keys), "an item was delivered twice or not at all"
    assert sum(attempted) == len(keys) and min(attempted) >= 1
    done_by = {_row(engine, key).leased_by for key in keys}
    assert done_by == {"w1", "w2"}
    assert {_row(engine, key).status for key in keys} == {"done"}


def test_run_keeps_going_through_database_errors_until_stopped(
    new_database_url: Callable[[], str],
    settings: Settings,
    receiver: Receiver,
    caplog: pytest.LogCaptureFixture,
) -> None:
    engine = make_engine(new_database_url())  # no schema yet: every claim fails
    worker = Worker(engine, settings.model_copy(update={"worker_poll_seconds": 0.05}))
    stop = threading.Event()
    thread = threading.Thread(target=worker.run, args=(stop,))
    thread.start()
    try:
        wait_for(
            lambda: any("trying again" in r.getMessage() for r in caplog.records),
            "the worker to log a database error",
        )
        upgrade(engine)
        _enqueue(engine, "cb-1", receiver.url)
        wait_for(lambda: _row(engine, "cb-1").status == "done", "the worker to deliver cb-1")
    finally:
        stop.set()
        thread.join(timeout=10)
        engine.dispose()
    assert not thread.is_alive(), "the worker did not stop when asked"
    assert receiver.keys() == ["cb-1"]


def test_retry_delay_doubles_with_jitter_up_to_a_cap() -> None:
    for failed in range(1, 40):
        ceiling = min(BACKOFF_MAX_SECONDS, 2.0 * 2 ** (failed - 1))
        delay = retry_delay(failed).total_seconds()
        assert ceiling / 2 <= delay <= ceiling, (failed, delay)


def test_workers_get_distinct_names(engine: Engine, settings: Settings) -> None:
    assert Worker(engine, settings).name != Worker(engine, settings).name
