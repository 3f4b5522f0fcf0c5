"""The utility's staff accounts (`store/tables/staff.py`): who may work the connection desk.

Passwords are hashed as customers' are (`utility.customers`: scrypt from the standard library, a
fresh random salt per account, compared in constant time); checking an unknown name costs the
same hashing as a known one. Desk login sessions are the desk's (`web/desk.py`).
"""

from __future__ import annotations

import logging
import re
import secrets
from datetime import datetime
from functools import cache
from typing import Final

from sqlalchemy import exists, select
from sqlalchemy.orm import Session

from gridshare.store.db import utcnow
from gridshare.store.tables.staff import StaffUser
from gridshare.utility.customers import hash_password, verify_password

log = logging.getLogger(__name__)

NAME_PATTERN: Final = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,79}")
"""A staff name: letters, digits, `.`, `_` and `-`, at most 80, as the order history shows it."""
PASSWORD_MIN: Final = 10
PASSWORD_MAX: Final = 1024
ACTOR_PREFIX: Final = "staff:"


class StaffError(ValueError):
    """A staff account that cannot be made as asked; the message says what to change."""


def check_name(name: str) -> str:
    """`name` if it can name a staff member, else StaffError."""
    if not NAME_PATTERN.fullmatch(name):
        raise StaffError(
            f"{name!r} cannot name a staff member: use 1 to 80 letters, digits, '.', '_' or '-', "
            "starting with a letter or digit"
        )
    return name


def actor(name: str) -> str:
    """How an order's history names a change a staff member made."""
    return ACTOR_PREFIX + check_name(name)


def add(session: Session, name: str, password: str, now: datetime | None = None) -> StaffUser:
    """A new staff account."""
    check_name(name)
    if not PASSWORD_MIN <= len(password) <= PASSWORD_MAX:
        raise StaffError(
            f"a staff password needs {PASSWORD_MIN} to {PASSWORD_MAX} characters, "
            f"got {len(password)}"
        )
    if session.get(StaffUser, name) is not None:
        raise StaffError(f"there is already a staff member {name}")
    user = StaffUser(name=name, password_hash=hash_password(password), created=now or utcnow())
    session.add(user)
    session.flush()
    log.info("staff member %s added", name)
    return user


def verify(session: Session, name: str, password: str) -> StaffUser | None:
    """The staff member `name` if `password` is theirs, else None (an unknown name takes as long
    to refuse as a wrong password)."""
    user = session.get(StaffUser, name) if NAME_PATTERN.fullmatch(name) else None
    if user is None:
        verify_password(password, _unknown_name_hash())
        return None
    return user if verify_password(password, user.password_hash) else None


def any_staff(session: Session) -> bool:
    """Whether any staff account exists (without one nobody can log in to the desk)."""
    return bool(session.scalar(select(exists().select_from(StaffUser))))


@cache
def _unknown_name_hash() -> str:
    return hash_password(secrets.token_urlsafe(32))
