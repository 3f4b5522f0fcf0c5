"""The transactional outbox (DESIGN rule 5): side effects are rows written with the change that
causes them, and leave only through the worker.

`enqueue` is what the rest of the server calls. `mark_done` and `mark_failed` are the worker's
state changes; each applies only while the worker still holds the lease it claimed the row with.
`status_counts`, `dead_items` and `requeue` are for operators.
"""

from __future__ import annotations

import logging
from datetime import datetime
from typing import Any, cast

from sqlalchemy import ColumnElement, CursorResult, Result, func, select, update
from sqlalchemy.orm import Session

from gridshare.store.claims import insert_once
from gridshare.store.db import utcnow
from gridshare.store.tables.outbox import OutboxItem

logger = logging.getLogger(__name__)

STATUSES = ("pending", "done", "dead")
KIND_MAX = 40
KEY_MAX = 120
"""The widths of the `kind` and `idempotency_key` columns."""
ERROR_MAX = 2000
"""How much of a failure's message `last_error` keeps."""


def enqueue(session: Session, kind: str, payload: dict[str, Any], idempotency_key: str) -> None:
    """Add a delivery to the caller's transaction; it commits or rolls back with the caller's work.

    `payload` must be JSON. A second enqueue with the same `idempotency_key` changes nothing (the
    first one stands), so a retried request cannot send the same side effect twice.
    """
    if not 0 < len(kind) <= KIND_MAX:
        raise ValueError(f"outbox kind must be 1 to {KIND_MAX} characters, got {kind!r}")
    if not 0 < len(idempotency_key) <= KEY_MAX:
        raise ValueError(
            f"outbox idempotency key must be 1 to {KEY_MAX} characters, got {idempotency_key!r}"
        )
    values = {"kind": kind, "payload": payload, "idempotency_key": idempotency_key}
    if not insert_once(session, values):
        logger.debug("outbox: %s is already enqueued; the first one stands", idempotency_key)


def mark_done(session: Session, claimed: OutboxItem, now: datetime) -> bool:
    """Record the delivery of `claimed`; False, changing nothing, if its lease is no longer held."""
    result = session.execute(
        update(OutboxItem)
        .where(_held(claimed))
        .values(status="done", delivered_at=now, leased_until=None)
    )
    return _changed(result)


def mark_failed(
    session: Session, claimed: OutboxItem, error: str, retry_at: datetime | None
) -> bool:
    """Record a failed attempt: retry at `retry_at`, or give up (`dead`) when it is None.

    False, changing nothing, if the lease is no longer held.
    """
    values: dict[str, Any] = {"last_error": error[:ERROR_MAX], "leased_until": None}
    if retry_at is None:
        values["status"] = "dead"
    else:
        values["next_attempt_at"] = retry_at
    return _changed(session.execute(update(OutboxItem).where(_held(claimed)).values(values)))


def status_counts(session: Session) -> dict[str, int]:
    """How many items are pending, done and dead."""
    counts = dict.fromkeys(STATUSES, 0)
    rows = session.execute(select(OutboxItem.status, func.count()).group_by(OutboxItem.status))
    counts.update({status: count for status, count in rows})
    return counts


def dead_items(session: Session, limit: int = 100) -> list[OutboxItem]:
    """The items given up on, most recent first, with their `last_error`."""
    newest = select(OutboxItem).where(OutboxItem.status == "dead").order_by(OutboxItem.id.desc())
    return list(session.scalars(newest.limit(limit)))


def requeue(session: Session, idempotency_key: str) -> bool:
    """Put a dead item back in line with a fresh set of attempts; False if no such dead item.

    For after the cause is fixed (the receiver is back, its URL corrected).
    """
    result = session.execute(
        update(OutboxItem)
        .where(OutboxItem.idempotency_key == idempotency_key, OutboxItem.status == "dead")
        .values(status="pending", attempts=0, next_attempt_at=utcnow(), leased_until=None)
    )
    return _changed(result)


def _held(claimed: OutboxItem) -> ColumnElement[bool]:
    """The row is still pending under the lease `claimed` was taken with."""
    return (
        (OutboxItem.id == claimed.id)
        & (OutboxItem.status == "pending")
        & (OutboxItem.leased_by == claimed.leased_by)
        & (OutboxItem.leased_until == claimed.leased_until)
    )


def _changed(result: Result[Any]) -> bool:
    return cast(CursorResult[Any], result).rowcount == 1
