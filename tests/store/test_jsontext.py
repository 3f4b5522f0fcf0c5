"""JSON columns keep decimals exact on every engine."""

from __future__ import annotations

from decimal import Decimal

import pytest
from sqlalchemy import Engine

from gridshare.store import jsontext
from gridshare.store.db import session_factory, transaction
from gridshare.store.tables.programs import Program


def test_decimals_round_trip_exactly_through_text() -> None:
    value = {"rate": Decimal("0.123456789012345678901"), "n": 3, "list": [Decimal("-1E+3")]}
    assert jsontext.loads(jsontext.dumps(value)) == value
    assert jsontext.dumps({"x": Decimal("0.10")}) == '{"x":0.10}'
    with pytest.raises(TypeError):
        jsontext.dumps({"x": Decimal("NaN")})


def test_json_columns_keep_decimals(engine: Engine) -> None:
    rate = Decimal("0.000123456789123456789")
    with transaction(session_factory(engine)) as session:
        session.add(
            Program(
                id="p1",
                program_number="P-1",
                level="account",
                kinds=["rebate"],
                name="Rebate",
                description="A rebate",
                documentation="https://example.com/p",
                details={"rate": rate},
            )
        )
    with session_factory(engine)() as session:
        details = session.get_one(Program, "p1").details
    assert details == {"rate": rate}
    assert isinstance(details["rate"], Decimal)
