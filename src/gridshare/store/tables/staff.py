"""The utility's staff: who may work the connection desk (`web/desk.py`), and their login sessions.

Staff are not customers: they have their own accounts (`gridshare staff add NAME`) and their own
sessions, kept like customers' (`LoginSession`): the browser's cookie holds 256 random bits, the
database only their SHA-256 hash, with the session's CSRF token and its expiry.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, String
from sqlalchemy.orm import Mapped, mapped_column

from gridshare.store.db import utcnow
from gridshare.store.tables.base import Base


class StaffUser(Base):
    __tablename__ = "staff_users"

    name: Mapped[str] = mapped_column(String(80), primary_key=True)
    password_hash: Mapped[str] = mapped_column(
        String(255), comment="scrypt, as customers' (utility.customers.hash_password)"
    )
    created: Mapped[datetime] = mapped_column(default=utcnow)


class StaffSession(Base):
    """A staff member's desk login session (the cookie holds the random id; we keep its hash)."""

    __tablename__ = "staff_sessions"

    session_hash: Mapped[str] = mapped_column(String(64), primary_key=True)
    staff_name: Mapped[str] = mapped_column(ForeignKey("staff_users.name"), index=True)
    csrf_token: Mapped[str] = mapped_column(String(64))
    created: Mapped[datetime] = mapped_column(default=utcnow)
    expires_at: Mapped[datetime]
