"""The utility's records keep their facts exactly: `modified` moves on every change (CDS
`cds_modified`), `created` never does, decimals stay exact and times come back as aware UTC."""

from __future__ import annotations

import time
from datetime import UTC, datetime, timedelta, timezone
from decimal import Decimal

import pytest
from sqlalchemy import Engine, select

from gridshare.store.db import session_factory, transaction
from gridshare.store.tables.accounts import Account
from gridshare.store.tables.bills import BillStatement
from gridshare.store.tables.customers import Customer


def _customer_and_account(engine: Engine) -> None:
    with transaction(session_factory(engine)) as session:
        session.add(Customer(id="c1", name="Ada", username="ada", password_hash="x"))
        session.flush()
        session.add(
            Account(
                id="a1",
                customer_id="c1",
                account_number="1000-1",
                name="Ada Home",
                types=["customer", "residential"],
                status="active",
            )
        )


def test_modified_changes_on_every_update_and_created_does_not(engine: Engine) -> None:
    _customer_and_account(engine)
    sessions = session_factory(engine)
    with sessions() as session:
        before = session.get_one(Account, "a1")
        created, modified = before.created, before.modified
    for new_name in ("Ada's Home", "Ada Lovelace Home"):
        time.sleep(0.002)
        with transaction(sessions) as session:
            session.get_one(Account, "a1").name = new_name
        with sessions() as session:
            after = session.get_one(Account, "a1")
        assert after.created == created
        assert after.modified > modified
        modified = after.modified


def test_decimals_are_exact_and_times_are_utc(engine: Engine) -> None:
    _customer_and_account(engine)
    amount = Decimal("123456789.123456789")
    pacific = timezone(timedelta(hours=-8))
    with transaction(session_factory(engine)) as session:
        session.add(
            BillStatement(
                id="b1",
                account_id="a1",
                account_number="1000-1",
                statement_date=datetime(2026, 1, 5).date(),
                currency="USD",
                amount_due=amount,
                amount_due_date=datetime(2026, 1, 25).date(),
                created=datetime(2026, 1, 5, 9, 30, tzinfo=pacific),
            )
        )
    with session_factory(engine)() as session:
        bill = session.scalars(select(BillStatement)).one()
    assert bill.amount_due == amount
    assert isinstance(bill.amount_due, Decimal)
    assert bill.created == datetime(2026, 1, 5, 17, 30, tzinfo=UTC)
    assert bill.created.tzinfo is not None


def test_naive_datetimes_are_refused(engine: Engine) -> None:
    with (
        pytest.raises(Exception, match="naive datetime"),
        transaction(session_factory(engine)) as s,
    ):
        s.add(
            Customer(
                id="c2", name="B", username="b", password_hash="x", created=datetime(2026, 1, 1)
            )
        )
