"""The utility's staff: who may work the connection desk (`web/desk.py`), and their login sessions.

Staff are not customers: they have their own accounts (`gridshare staff add NAME`) and their own
sessions, with the columns of customers' (`sessions.SessionColumns`) and kept by the same code
(`api.login_session.LoginSessions`).
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, String
from sqlalchemy.orm import Mapped, mapped_column

from gridshare.store.db import utcnow
from gridshare.store.tables.base import Base
from gridshare.store.tables.sessions import SessionColumns


class StaffUser(Base):
    __tablename__ = "staff_users"

    name: Mapped[str] = mapped_column(String(80), primary_key=True)
    password_hash: Mapped[str] = mapped_column(
        String(255), comment="scrypt, as customers' (utility.customers.hash_password)"
    )
    created: Mapped[datetime] = mapped_column(default=utcnow)


class StaffSession(SessionColumns, Base):
    """A staff member's desk login session."""

    __tablename__ = "staff_sessions"

    staff_name: Mapped[str] = mapped_column(ForeignKey("staff_users.name"), index=True)
