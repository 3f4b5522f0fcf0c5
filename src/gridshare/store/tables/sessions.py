"""The columns every browser login session has (CDS-WG3-01 §9.1.2), whoever it is for: the
customer's (`grants.LoginSession`) and the staff's (`staff.StaffSession`) tables add who it
belongs to. The cookie holds 256 random bits; we keep only their SHA-256 hash, with the session's
CSRF token and its expiry (`api/login_session.py`)."""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING, Any

from sqlalchemy import String
from sqlalchemy.orm import Mapped, mapped_column

from gridshare.store.db import utcnow


class SessionColumns:
    """A mixin for a session table (the cookie holds the random id; we keep its hash)."""

    session_hash: Mapped[str] = mapped_column(String(64), primary_key=True)
    csrf_token: Mapped[str] = mapped_column(String(64))
    created: Mapped[datetime] = mapped_column(default=utcnow)
    expires_at: Mapped[datetime]

    if TYPE_CHECKING:

        def __init__(self, **columns: Any) -> None: ...
