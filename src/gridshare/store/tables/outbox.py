"""The transactional outbox (DESIGN rule 5): side effects written with the change that causes them.

The worker claims due rows with a lease, delivers, and marks them done; a row whose lease expired
(a worker died mid-delivery) is claimed again, so delivery is at least once and the idempotency key
lets the receiver apply the effect once.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import Index, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from gridshare.store.db import utcnow
from gridshare.store.tables.base import Base


class OutboxItem(Base):
    __tablename__ = "outbox"
    __table_args__ = (Index("ix_outbox_due", "status", "next_attempt_at"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    kind: Mapped[str] = mapped_column(String(40), comment="which delivery handler runs it")
    idempotency_key: Mapped[str] = mapped_column(String(120), unique=True)
    payload: Mapped[dict[str, Any]]
    status: Mapped[str] = mapped_column(
        String(10), default="pending", comment="pending, done, dead"
    )
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    next_attempt_at: Mapped[datetime] = mapped_column(default=utcnow)
    leased_until: Mapped[datetime | None]
    leased_by: Mapped[str | None] = mapped_column(String(80))
    last_error: Mapped[str | None] = mapped_column(Text)
    created: Mapped[datetime] = mapped_column(default=utcnow)
    delivered_at: Mapped[datetime | None]
