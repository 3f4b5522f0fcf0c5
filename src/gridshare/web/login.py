"""Customer login, CDS-WG3-01 §9.1.2 Customer Authentication: username and password, sessions
kept in the database, logout, and back-off after repeated failures.

- Sessions are `api.login_session`'s (`CUSTOMER_SESSIONS`, table `LoginSession`): the cookie holds
  256 random bits, the database only their SHA-256 hash. Every login starts a new session and
  deletes the one the browser had, so a session id planted before login is worthless (no session
  fixation).
- A session lasts `settings.session_minutes` (at least 10) after the last page of the flow the
  Customer used (§9.1.2: the time on the form plus at least 10 minutes); logout ends it at once.
  `start_session` and `end_session` are the login's and the logout's answers for any session
  table; the staff desk (`web/desk.py`) uses them, `login_page` and `backoffs` for its own.
- Back-off: after `USER_FREE` failed logins for one username, or `ADDRESS_FREE` from one address,
  without `FORGET_SECONDS` of quiet, further attempts are refused with 429 without checking the
  password, for `BASE_SECONDS` doubling with every further failure up to `MAX_SECONDS`. Counts
  live in the process (per app), like the OAuth endpoints' rate limits.
- An unknown username costs the same password hashing as a known one.
- A login page reached from an authorization request offers Cancel (§9.1.2 asks for a way out):
  it posts to the `cancel` URL, which answers the Client with `access_denied`.
"""

from __future__ import annotations

import logging
import threading
import time
from collections import OrderedDict
from collections.abc import Callable
from datetime import datetime
from functools import cache
from typing import Annotated, Any, Final

from fastapi import APIRouter, Query, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from sqlalchemy import select
from sqlalchemy.orm import Session

from gridshare import urls
from gridshare.api.login_session import CUSTOMER_SESSIONS, LoginSessions
from gridshare.api.login_session import SESSION_COOKIE as SESSION_COOKIE  # the login's cookie
from gridshare.config import Settings
from gridshare.grants.secrets import new_secret, same
from gridshare.http import SessionDep, SettingsDep
from gridshare.store.db import utcnow
from gridshare.store.tables.customers import Customer
from gridshare.utility.customers import hash_password, verify_password
from gridshare.web.browser import (
    CSRF_COOKIE,
    PAGE_HEADERS,
    Form,
    FormDep,
    clear_cookie,
    csrf_ok,
    csrf_token,
    local_path,
    notice,
    page,
    set_cookie,
)

router = APIRouter(include_in_schema=False)
log = logging.getLogger(__name__)

USER_FREE: Final = 5
ADDRESS_FREE: Final = 20
BASE_SECONDS: Final = 30.0
MAX_SECONDS: Final = 15 * 60.0
FORGET_SECONDS: Final = 15 * 60.0
MAX_KEYS: Final = 100_000


class Backoff:
    """Failed attempts per key; after `free` of them each further attempt waits longer."""

    def __init__(self, free: int, clock: Callable[[], float] = time.monotonic) -> None:
        self.free = free
        self._clock = clock
        self._failures: OrderedDict[str, tuple[int, float]] = OrderedDict()
        self._lock = threading.Lock()

    def wait(self, key: str) -> float | None:
        """Seconds until `key` may try again, or None if it may now."""
        with self._lock:
            count, last = self._current(key)
            if count < self.free:
                return None
            remaining = last + min(BASE_SECONDS * 2 ** (count - self.free), MAX_SECONDS)
            remaining -= self._clock()
            return remaining if remaining > 0 else None

    def failed(self, key: str) -> None:
        with self._lock:
            count, _ = self._current(key)
            self._failures[key] = (count + 1, self._clock())
            self._failures.move_to_end(key)
            while len(self._failures) > MAX_KEYS:
                self._failures.popitem(last=False)

    def succeeded(self, key: str) -> None:
        with self._lock:
            self._failures.pop(key, None)

    def _current(self, key: str) -> tuple[int, float]:
        count, last = self._failures.get(key, (0, 0.0))
        if count and self._clock() - last > FORGET_SECONDS:
            del self._failures[key]
            return 0, 0.0
        return count, last


_backoff_lock = threading.Lock()


def backoffs(request: Request) -> tuple[Backoff, Backoff]:
    """The app's back-off counters: per username and per address."""
    state = request.app.state
    with _backoff_lock:
        found: tuple[Backoff, Backoff] | None = getattr(state, "login_backoff", None)
        if found is None:
            found = (Backoff(USER_FREE), Backoff(ADDRESS_FREE))
            state.login_backoff = found
        return found


@router.get(urls.LOGIN, response_class=HTMLResponse)
def login_form(
    request: Request,
    settings: SettingsDep,
    next_path: Annotated[str | None, Query(alias="next")] = None,
    cancel: str | None = None,
) -> Response:
    return _form(request, settings, 200, local_path(next_path), _cancel(cancel))


@router.post(urls.LOGIN, response_class=HTMLResponse)
def log_in(request: Request, session: SessionDep, settings: SettingsDep, form: FormDep) -> Response:
    next_path, cancel = local_path(form.get("next")), _cancel(form.get("cancel"))
    username = form.get("username", "").strip()
    if not csrf_ok(request, form):
        message = "This form had expired. Please try again."
        return _form(request, settings, 400, next_path, cancel, username, message)
    per_user, per_address = backoffs(request)
    user_key, address_key = username.lower(), request.client.host if request.client else "?"
    wait = max(per_user.wait(user_key) or 0, per_address.wait(address_key) or 0)
    if wait:
        log.warning(
            "login for %r from %s held back %.0f s after failures", username, address_key, wait
        )
        message = f"Too many failed attempts. Please try again in {int(wait) + 1} seconds."
        return _form(request, settings, 429, next_path, cancel, username, message)
    customer = session.scalars(select(Customer).where(Customer.username == username)).first()
    password = form.get("password", "")
    if customer is None:
        verify_password(password, _unknown_user_hash())
    elif verify_password(password, customer.password_hash):
        per_user.succeeded(user_key)
        return _start(request, session, settings, customer, next_path)
    per_user.failed(user_key)
    per_address.failed(address_key)
    message = "The username or password is not right."
    return _form(request, settings, 401, next_path, cancel, username, message)


@router.post(urls.LOGOUT)
def log_out(
    request: Request, session: SessionDep, settings: SettingsDep, form: FormDep
) -> Response:
    expired = "This form had expired. Reload it."
    back = local_path(form.get("next"))
    return end_session(request, session, settings, form, CUSTOMER_SESSIONS, back, expired)


def start_session(
    request: Request,
    session: Session,
    settings: Settings,
    sessions: LoginSessions[Any],
    next_path: str,
    now: datetime,
    **owner: Any,
) -> Response:
    """A new session in `sessions` for `owner` from `now` (the browser's previous one is
    deleted), and the way on to `next_path` with its cookie."""
    value = sessions.start(session, settings, request, now, **owner)
    session.commit()
    response = RedirectResponse(next_path, 303, headers=PAGE_HEADERS)
    set_cookie(response, settings, sessions.cookie, value)
    return response


def _start(
    request: Request, session: Session, settings: Settings, customer: Customer, next_path: str
) -> Response:
    """A new session for `customer`, authenticated now."""
    now = utcnow()
    return start_session(
        request,
        session,
        settings,
        CUSTOMER_SESSIONS,
        next_path,
        now,
        customer_id=customer.id,
        authenticated_at=now,
    )


def end_session(
    request: Request,
    session: Session,
    settings: Settings,
    form: Form,
    sessions: LoginSessions[Any],
    back: str,
    expired: str,
) -> Response:
    """Logout: ends the browser's session in `sessions` and sends it to `back` without the cookie.
    The form must carry the session's CSRF token; if not, the page says `expired`."""
    login = sessions.current(session, settings, request)
    if login is not None:
        if not same(form.get("csrf_token", ""), login.csrf_token):
            session.commit()
            return notice(request, settings, 400, "Please try again", expired)
        sessions.end(session, login)
        session.commit()
    response = RedirectResponse(back, 303, headers=PAGE_HEADERS)
    clear_cookie(response, settings, sessions.cookie)
    return response


def login_page(
    request: Request, settings: Settings, template: str, status_code: int, **context: Any
) -> Response:
    """A login form carrying the visitor's double-submit CSRF token (its cookie set if new)."""
    token = csrf_token(request)
    response = page(request, settings, template, status_code, csrf_token=token, **context)
    if request.cookies.get(CSRF_COOKIE) != token:
        set_cookie(response, settings, CSRF_COOKIE, token)
    return response


def _form(
    request: Request,
    settings: Settings,
    status_code: int,
    next_path: str,
    cancel: str | None,
    username: str = "",
    message: str | None = None,
) -> Response:
    return login_page(
        request,
        settings,
        "login.html",
        status_code,
        next_path=next_path,
        cancel=cancel,
        username=username,
        message=message,
        login_path=urls.LOGIN,
    )


def _cancel(value: str | None) -> str | None:
    """Cancel may post only to the authorization form."""
    path = local_path(value, "")
    return path if path.startswith(f"{urls.CONSENT}?") else None


@cache
def _unknown_user_hash() -> str:
    return hash_password(new_secret())
