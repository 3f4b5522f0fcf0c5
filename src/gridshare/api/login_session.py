"""Browser login sessions kept in the database (CDS-WG3-01 §9.1.2 Customer Authentication): the
customer's, which every face with customer pages reads, and the staff's at the connection desk.

- The cookie holds 256 random bits; the table keeps only their SHA-256 digest as the key, beside
  the session's CSRF token and its expiry (`SessionColumns`).
- A live session lasts `settings.session_minutes` after the last page that read it (§9.1.2: the
  time on the form plus at least 10 minutes); an expired one counts as none and is deleted.
- Starting a session deletes the one the browser had, so a session id planted before login is
  worthless (no session fixation); ending one deletes it at once.

`LoginSessions` does this for one table and cookie: `CUSTOMER_SESSIONS` (`LoginSession`, created by
the login form in `web/login.py` and read by the authorization form, receipts, connected apps and
Download My Data in `espi/dmd.py`), and the desk's in `web/desk.py` (`StaffSession`). The caller
commits and sets or clears the cookie (`web/browser.py`).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, Final, Generic, TypeVar
from urllib.parse import urlencode

from fastapi import Request
from sqlalchemy.orm import Session

from gridshare import urls
from gridshare.config import Settings
from gridshare.grants.secrets import digest, new_secret
from gridshare.store.db import utcnow
from gridshare.store.tables.grants import LoginSession
from gridshare.store.tables.sessions import SessionColumns

SESSION_COOKIE: Final = "gridshare_session"


Row = TypeVar("Row", bound=SessionColumns)


@dataclass(frozen=True)
class LoginSessions(Generic[Row]):
    """The login sessions kept in `table`, named by the browser's cookie `cookie`."""

    table: type[Row]
    cookie: str

    def current(self, session: Session, settings: Settings, request: Request) -> Row | None:
        """The browser's live session, its lifetime extended (the caller commits)."""
        value = request.cookies.get(self.cookie)
        if not value:
            return None
        login = session.get(self.table, digest(value))
        if login is None:
            return None
        now = utcnow()
        if login.expires_at <= now:
            session.delete(login)
            return None
        login.expires_at = max(login.expires_at, _expiry(settings, now))
        return login

    def start(
        self, session: Session, settings: Settings, request: Request, now: datetime, **owner: Any
    ) -> str:
        """A new session from `now` for `owner` (the table's other columns), replacing the
        browser's previous one; returns the value for the cookie (the caller commits)."""
        previous = request.cookies.get(self.cookie)
        if previous:
            old = session.get(self.table, digest(previous))
            if old is not None:
                session.delete(old)
        value = new_secret()
        session.add(
            self.table(
                session_hash=digest(value),
                csrf_token=new_secret(),
                created=now,
                expires_at=_expiry(settings, now),
                **owner,
            )
        )
        return value

    def end(self, session: Session, login: Row) -> None:
        """Ends `login` at once (the caller commits and clears the cookie)."""
        session.delete(login)


CUSTOMER_SESSIONS: Final = LoginSessions(LoginSession, SESSION_COOKIE)


def current_login(session: Session, settings: Settings, request: Request) -> LoginSession | None:
    """The browser's live customer session, its lifetime extended (the caller commits)."""
    return CUSTOMER_SESSIONS.current(session, settings, request)


def login_url(next_path: str, cancel: str | None = None) -> str:
    """The login page, returning to `next_path` (and offering Cancel to `cancel`)."""
    query = {"next": next_path} | ({"cancel": cancel} if cancel else {})
    return f"{urls.LOGIN}?{urlencode(query)}"


def _expiry(settings: Settings, now: datetime) -> datetime:
    return now + timedelta(minutes=settings.session_minutes)
