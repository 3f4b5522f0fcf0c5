"""Authorization Receipts (CDS-WG3-01 §9.4): one per approval, at a random URL.

The URL's random key is kept as a SHA-256 hash (for finding the receipt) and sealed with the
server key (so the server can link the receipt from the outcome page, the connected-apps page and
older receipts). `snapshot` freezes what the Customer saw and approved.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import ForeignKey, LargeBinary, String
from sqlalchemy.orm import Mapped, mapped_column

from gridshare.store.db import utcnow
from gridshare.store.tables.base import Base


class Receipt(Base):
    __tablename__ = "receipts"

    key_hash: Mapped[str] = mapped_column(String(64), primary_key=True)
    key_sealed: Mapped[bytes] = mapped_column(LargeBinary, comment="the URL key, sealed")
    confirmation: Mapped[str] = mapped_column(String(16), unique=True)
    grant_id: Mapped[str] = mapped_column(ForeignKey("grants.grant_id"), index=True)
    customer_id: Mapped[str] = mapped_column(ForeignKey("customers.id"), index=True)
    created: Mapped[datetime] = mapped_column(default=utcnow)
    snapshot: Mapped[dict[str, Any]] = mapped_column(comment="what the Customer approved")
    superseded_by: Mapped[str | None] = mapped_column(
        String(64), comment="key_hash of the newer receipt for the same Grant"
    )
