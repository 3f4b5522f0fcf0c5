"""The customer's browser login session, as every face with customer pages reads it.

The login form (`web/login.py`) creates it and sets the cookie; the authorization form, receipts,
connected apps and Download My Data (`espi/dmd.py`) read it here.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Final
from urllib.parse import urlencode

from fastapi import Request
from sqlalchemy.orm import Session

from gridshare import urls
from gridshare.config import Settings
from gridshare.grants.secrets import digest
from gridshare.store.db import utcnow
from gridshare.store.tables.grants import LoginSession

SESSION_COOKIE: Final = "gridshare_session"


def current_login(session: Session, settings: Settings, request: Request) -> LoginSession | None:
    """The browser's live login session, its lifetime extended (the caller commits)."""
    value = request.cookies.get(SESSION_COOKIE)
    if not value:
        return None
    login = session.get(LoginSession, digest(value))
    if login is None:
        return None
    now = utcnow()
    if login.expires_at <= now:
        session.delete(login)
        return None
    login.expires_at = max(login.expires_at, now + timedelta(minutes=settings.session_minutes))
    return login


def login_url(next_path: str, cancel: str | None = None) -> str:
    """The login page, returning to `next_path` (and offering Cancel to `cancel`)."""
    query = {"next": next_path} | ({"cancel": cancel} if cancel else {})
    return f"{urls.LOGIN}?{urlencode(query)}"
