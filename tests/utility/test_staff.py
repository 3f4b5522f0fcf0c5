"""Staff accounts for the connection desk: scrypt hashes with a salt of their own, verified in
constant time, names fit for an order's history (`staff:<name>`)."""

from __future__ import annotations

import pytest
from sqlalchemy import Engine

from gridshare.store.db import session_factory, transaction
from gridshare.store.tables.staff import StaffUser
from gridshare.utility import staff
from gridshare.utility.customers import verify_password

PASSWORD = "correct horse battery"


def test_an_added_account_verifies_its_password_only(engine: Engine) -> None:
    with transaction(session_factory(engine)) as session:
        assert not staff.any_staff(session)
        staff.add(session, "ana.lopez", PASSWORD)
    with session_factory(engine)() as session:
        assert staff.any_staff(session)
        stored = session.get_one(StaffUser, "ana.lopez")
        assert stored.password_hash.startswith("scrypt$") and PASSWORD not in stored.password_hash
        assert verify_password(PASSWORD, stored.password_hash)
        user = staff.verify(session, "ana.lopez", PASSWORD)
        assert user is not None and user.name == "ana.lopez"
        assert staff.verify(session, "ana.lopez", PASSWORD + "!") is None
        assert staff.verify(session, "ANA.LOPEZ", PASSWORD) is None
        assert staff.verify(session, "nobody", PASSWORD) is None
        assert staff.verify(session, "not a name", PASSWORD) is None


def test_every_account_gets_its_own_salt(engine: Engine) -> None:
    with transaction(session_factory(engine)) as session:
        first = staff.add(session, "ana", PASSWORD).password_hash
        second = staff.add(session, "ben", PASSWORD).password_hash
    salt = 4
    assert first.split("$")[salt] != second.split("$")[salt]
    assert first != second


def test_a_name_is_taken_once(engine: Engine) -> None:
    with transaction(session_factory(engine)) as session:
        staff.add(session, "ana", PASSWORD)
    with session_factory(engine)() as session, pytest.raises(staff.StaffError, match="already"):
        staff.add(session, "ana", "another password")


@pytest.mark.parametrize("name", ["", " ana", "ana lopez", "-ana", "ana:x", "a" * 81, "ána"])
def test_names_that_could_not_show_in_an_orders_history_are_refused(
    engine: Engine, name: str
) -> None:
    with session_factory(engine)() as session, pytest.raises(staff.StaffError, match="letters"):
        staff.add(session, name, PASSWORD)


@pytest.mark.parametrize("password", ["", "short", "x" * (staff.PASSWORD_MAX + 1)])
def test_passwords_too_short_or_too_long_are_refused(engine: Engine, password: str) -> None:
    with session_factory(engine)() as session, pytest.raises(staff.StaffError, match="password"):
        staff.add(session, "ana", password)


def test_a_staff_members_changes_are_attributed_to_them() -> None:
    assert staff.actor("ana.lopez") == "staff:ana.lopez"
    with pytest.raises(staff.StaffError):
        staff.actor("ana lopez")
