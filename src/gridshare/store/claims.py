"""The outbox's dialect-specific SQL (DESIGN: "Scale beyond one machine"), kept to a few functions.

`insert_once` writes an outbox row unless its idempotency key exists (INSERT ... ON CONFLICT DO
NOTHING on both engines; `insert_new` is the same for any table with a unique column, e.g. the
mail the demo captures). `claim_next` leases the oldest due row to one worker: on PostgreSQL it
selects it `FOR UPDATE SKIP LOCKED`, so many workers claim different rows without waiting on each
other; on SQLite, which has one writer at a time, one conditional UPDATE ... RETURNING claims it.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import ColumnElement, or_, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from gridshare.store.tables.outbox import OutboxItem


def insert_once(session: Session, values: dict[str, Any]) -> bool:
    """Insert an outbox row in the session's transaction; False if its idempotency key exists."""
    return insert_new(session, OutboxItem, values, "idempotency_key")


def insert_new(session: Session, table: Any, values: dict[str, Any], unique: str) -> bool:
    """Insert a row of `table` (a mapped class with an integer `id`) unless one with the same
    `unique` column value exists; False, changing nothing, if it does."""
    dialect = session.get_bind().dialect.name
    insert = postgresql.insert if dialect == "postgresql" else sqlite.insert
    statement = insert(table).values(values).on_conflict_do_nothing(index_elements=[unique])
    return session.execute(statement.returning(table.id)).first() is not None


def claim_next(
    session: Session, worker: str, now: datetime, lease_until: datetime
) -> OutboxItem | None:
    """Lease the oldest due row to `worker` until `lease_until`, counting an attempt; None if none.

    A row is due when it is pending, its `next_attempt_at` has come and nobody holds a live lease.
    Run it in its own short transaction: the lease is the claim once that commits.
    """
    oldest = select(OutboxItem).where(_due(now)).order_by(OutboxItem.next_attempt_at, OutboxItem.id)
    if session.get_bind().dialect.name == "postgresql":
        row = session.scalars(oldest.limit(1).with_for_update(skip_locked=True)).first()
        if row is not None:
            row.leased_until = lease_until
            row.leased_by = worker
            row.attempts += 1
            session.flush()
        return row
    return session.scalars(
        update(OutboxItem)
        .where(OutboxItem.id == oldest.with_only_columns(OutboxItem.id).limit(1).scalar_subquery())
        .where(_due(now))
        .values(leased_until=lease_until, leased_by=worker, attempts=OutboxItem.attempts + 1)
        .returning(OutboxItem)
    ).first()


def _due(now: datetime) -> ColumnElement[bool]:
    return (
        (OutboxItem.status == "pending")
        & (OutboxItem.next_attempt_at <= now)
        & or_(OutboxItem.leased_until.is_(None), OutboxItem.leased_until <= now)
    )
