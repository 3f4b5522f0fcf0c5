"""`espi.usage_model` where a meter outlives its Customer: the small demo's `home` customer moved
out on 2024-11-24 and leaves its meter behind; here a newcomer moves in on 2024-12-01 and the meter
keeps recording (also while the house stood empty). Each Subscription sees that meter's readings
only for its own time there; a finer reading written for the newcomer changes the channel's
ReadingType for both, and both still read exact values."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal

import pytest
from sqlalchemy import select

from gridshare.espi.resources.meter_reading import meter_reading_id
from gridshare.espi.usage_model import load
from gridshare.store.db import session_factory
from gridshare.store.tables.accounts import Account
from gridshare.store.tables.contracts import ServiceContract
from gridshare.store.tables.customers import Customer
from gridshare.store.tables.meters import MeterInstallation
from gridshare.store.tables.servicepoints import ServicePointContract
from gridshare.store.tables.usage import Channel
from gridshare.utility import codec
from gridshare.utility.usage import BlockRow, day_start, intervals_in_day, write_blocks
from tests.demo.conftest import SmallDemo
from tests.espi import xml_checks as xc
from tests.espi.usage_setup import ALL_BLOCKS, Subscriber, batch, subscriptions

MOVED_OUT = date(2024, 11, 24)
MOVED_IN = date(2024, 12, 1)
WRITTEN_UNTIL = date(2024, 12, 10)
FINE = Decimal("0.1234")
"""A reading with four decimals of kWh (a tenth of a Wh)."""


@dataclass(frozen=True)
class House:
    point_id: str
    meter_id: str
    channel: Channel


@pytest.fixture(scope="module")
def house(demo: SmallDemo) -> Iterator[House]:
    """home's old house, its meter recording on, and the newcomer's contract there."""
    tz = demo.settings.tz
    with session_factory(demo.engine)() as session:
        home = session.scalars(select(Customer).where(Customer.username == "home")).one()
        point_id, contract_id, meter_id, channel = session.execute(
            select(
                ServicePointContract.service_point_id,
                ServicePointContract.contract_id,
                MeterInstallation.meter_id,
                Channel,
            )
            .join(ServiceContract, ServiceContract.id == ServicePointContract.contract_id)
            .join(Account, Account.id == ServiceContract.account_id)
            .join(
                MeterInstallation,
                MeterInstallation.service_point_id == ServicePointContract.service_point_id,
            )
            .join(Channel, Channel.meter_id == MeterInstallation.meter_id)
            .where(
                Account.customer_id == home.id,
                ServicePointContract.end == MOVED_OUT,
                Channel.kind == "electric_usage",
            )
        ).one()
        old = session.get_one(ServiceContract, contract_id)
        newcomer = Customer(
            id="cu_newcomer", name="New Comer", username="newcomer", password_hash="x"
        )
        account = Account(
            id="acct_newcomer",
            customer_id=newcomer.id,
            account_number="NEW-1",
            name="New Comer",
            types=["residential"],
            status="active",
        )
        contract = ServiceContract(
            id="sc_newcomer",
            account_id=account.id,
            contract_number="NEW-C-1",
            types=old.types,
            status="active",
            start=MOVED_IN,
            service_types=old.service_types,
            rate_plan_id=old.rate_plan_id,
        )
        for record in (newcomer, account, contract):  # no relationships: flush in order
            session.add(record)
            session.flush()
        session.add(
            ServicePointContract(
                service_point_id=point_id, contract_id=contract.id, start=MOVED_IN, end=None
            )
        )
        rows = []
        day = MOVED_OUT
        while day <= WRITTEN_UNTIL:
            count = intervals_in_day(day, tz, channel.interval_seconds)
            values = [FINE if day == WRITTEN_UNTIL else Decimal("0.5")] * count
            rows.append(
                BlockRow(
                    channel.id,
                    day_start(day, tz),
                    channel.interval_seconds,
                    count,
                    codec.pack_decimals(values),
                    None,
                )
            )
            day += timedelta(days=1)
        write_blocks(session, rows)
        session.commit()
        session.expunge(channel)
    yield House(point_id, meter_id, channel)


@pytest.fixture(scope="module")
def subscribe(demo: SmallDemo) -> Iterator[Callable[..., Subscriber]]:
    yield subscriptions(demo)


def _starts(document: bytes, point_id: str) -> list[datetime]:
    tree = xc.parse(document)
    found = []
    for block in xc.entries(tree, "IntervalBlock"):
        if f"/UsagePoint/{point_id}/" not in xc.link(block, "self"):
            continue
        for start in block.iterfind(
            "atom:content/espi:IntervalBlock/espi:IntervalReading/espi:timePeriod/espi:start",
            xc.NS,
        ):
            found.append(datetime.fromtimestamp(int(start.text or ""), UTC))
    return found


def test_each_tenant_sees_only_its_own_time_at_the_meter(
    demo: SmallDemo, house: House, subscribe: Callable[..., Subscriber]
) -> None:
    tz = demo.settings.tz
    out, moved_in = day_start(MOVED_OUT, tz), day_start(MOVED_IN, tz)
    before = _starts(batch(demo, subscribe("home")), house.point_id)
    after = _starts(batch(demo, subscribe("newcomer")), house.point_id)
    assert before and max(before) < out
    assert after and min(after) == moved_in
    assert max(after) >= day_start(WRITTEN_UNTIL, tz)
    with session_factory(demo.engine)() as session:
        model = load(session, tz, subscribe("newcomer").access, ALL_BLOCKS, None)
    (point,) = model.points
    (reading,) = point.readings
    assert point.id == house.point_id
    assert reading.id == meter_reading_id(
        house.meter_id,
        house.channel.kind,
        house.channel.direction,
        house.channel.interval_seconds,
    )
    assert [w.start for w in reading.windows] == [moved_in]


def test_a_finer_reading_changes_the_reading_type_for_everyone_and_values_stay_exact(
    demo: SmallDemo, house: House, subscribe: Callable[..., Subscriber]
) -> None:
    for username in ("home", "newcomer"):
        tree = xc.parse(batch(demo, subscribe(username)))
        types = {
            xc.link(e, "self"): e.findtext(
                "atom:content/espi:ReadingType/espi:powerOfTenMultiplier", namespaces=xc.NS
            )
            for e in xc.entries(tree, "ReadingType")
        }
        reading = next(
            e
            for e in xc.entries(tree, "MeterReading")
            if f"/UsagePoint/{house.point_id}/" in xc.link(e, "self")
        )
        multiplier = next(types[h] for h in xc.links(reading, "related") if h in types)
        assert multiplier == "-1"
        values = {
            v.text
            for block in xc.entries(tree, "IntervalBlock")
            if f"/UsagePoint/{house.point_id}/" in xc.link(block, "self")
            for v in block.iterfind(".//espi:IntervalReading/espi:value", xc.NS)
        }
        if username == "newcomer":
            assert values == {"5000", "1234"}  # 0.5 kWh and 0.1234 kWh in Wh * 10**-1
        else:
            assert values and all(v is not None and v.endswith("0") for v in values)
