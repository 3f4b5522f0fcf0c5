"""Local days across DST, channels, and block writes that keep `created` and move `modified`."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import Engine, func, select, update

from gridshare.store.db import session_factory, transaction
from gridshare.store.jsontext import loads
from gridshare.store.tables.meters import MeterDevice
from gridshare.store.tables.usage import Channel, UsageBlock
from gridshare.utility import codec
from gridshare.utility.usage import (
    BlockRow,
    day_length,
    day_start,
    ensure_channel,
    intervals_in_day,
    local_day,
    write_blocks,
)
from gridshare.utility.usage_read import Column, value_sets, values_json

LA = ZoneInfo("America/Los_Angeles")


@pytest.mark.parametrize(
    ("day", "utc_start", "hours", "quarter_hours"),
    [
        (date(2024, 3, 9), datetime(2024, 3, 9, 8, tzinfo=UTC), 24, 96),
        (date(2024, 3, 10), datetime(2024, 3, 10, 8, tzinfo=UTC), 23, 92),
        (date(2024, 3, 11), datetime(2024, 3, 11, 7, tzinfo=UTC), 24, 96),
        (date(2024, 11, 3), datetime(2024, 11, 3, 7, tzinfo=UTC), 25, 100),
        (date(2024, 11, 4), datetime(2024, 11, 4, 8, tzinfo=UTC), 24, 96),
    ],
)
def test_local_days_across_dst_in_los_angeles(
    day: date, utc_start: datetime, hours: int, quarter_hours: int
) -> None:
    assert day_start(day, LA) == utc_start
    assert day_length(day, LA) == timedelta(hours=hours)
    assert intervals_in_day(day, LA, 900) == quarter_hours
    assert intervals_in_day(day, LA, 3600) == hours
    assert local_day(utc_start, LA) == day
    assert local_day(utc_start - timedelta(seconds=1), LA) == day - timedelta(days=1)


def test_the_repeated_hour_of_fall_back_belongs_to_one_local_day() -> None:
    first = datetime(2024, 11, 3, 8, 30, tzinfo=UTC)  # 01:30 PDT
    second = datetime(2024, 11, 3, 9, 30, tzinfo=UTC)  # 01:30 PST
    assert local_day(first, LA) == local_day(second, LA) == date(2024, 11, 3)


def _meter(engine: Engine, meter_id: str = "m1") -> None:
    with transaction(session_factory(engine)) as session:
        session.add(
            MeterDevice(id=meter_id, meter_number=f"N-{meter_id}", types=["electric_usage"])
        )


def test_ensure_channel_is_idempotent(engine: Engine) -> None:
    _meter(engine)
    with transaction(session_factory(engine)) as session:
        first = ensure_channel(session, "m1", "electric_usage", None, "kWh", 900)
        again = ensure_channel(session, "m1", "electric_usage", None, "kWh", 900)
        net = ensure_channel(session, "m1", "electric_usage", "net", "kWh", 900)
        hourly = ensure_channel(session, "m1", "electric_usage", None, "kWh", 3600)
    assert first.id == again.id
    assert len({first.id, net.id, hourly.id}) == 3
    with transaction(session_factory(engine)) as session:
        later = ensure_channel(session, "m1", "electric_usage", "net", "kWh", 900)
        assert later.id == net.id
        assert session.scalar(select(func.count()).select_from(Channel)) == 3


def test_ensure_channel_refuses_other_units_for_an_existing_channel(engine: Engine) -> None:
    _meter(engine)
    with transaction(session_factory(engine)) as session:
        ensure_channel(session, "m1", "electric_usage", "forward", "kWh", 900)
    with (
        pytest.raises(ValueError, match="recorded in kWh, not Wh"),
        transaction(session_factory(engine)) as session,
    ):
        ensure_channel(session, "m1", "electric_usage", "forward", "Wh", 900)


def _block(channel_id: int, values: list[Decimal | None], quality: list[int]) -> BlockRow:
    return BlockRow(
        channel_id=channel_id,
        start=datetime(2024, 3, 10, 8, tzinfo=UTC),
        interval_seconds=900,
        count=len(values),
        values=codec.pack_decimals(values),
        quality=codec.pack_quality(quality),
    )


def test_write_blocks_inserts_then_replaces_keeping_created(engine: Engine) -> None:
    _meter(engine)
    factory = session_factory(engine)
    with transaction(factory) as session:
        channel_id = ensure_channel(session, "m1", "electric_usage", None, "kWh", 900).id
        first = _block(channel_id, [Decimal("1.5"), None] * 46, [0] * 92)
        assert write_blocks(session, [first]) == 1
    long_ago = datetime(2000, 1, 1, tzinfo=UTC)
    with transaction(factory) as session:
        session.execute(update(UsageBlock).values(created=long_ago, modified=long_ago))
    second = _block(channel_id, [Decimal("2.25")] * 92, [4] * 92)
    with transaction(factory) as session:
        assert write_blocks(session, [second]) == 1
    with factory() as session:
        stored = session.scalars(select(UsageBlock)).one()
        assert (stored.values, stored.quality, stored.count) == (
            second.values,
            second.quality,
            92,
        )
        assert stored.start == second.start
        assert stored.created == long_ago
        assert stored.modified > long_ago


def test_write_blocks_keeps_each_blocks_values_json_and_refreshes_it(engine: Engine) -> None:
    """DESIGN rule 3: the encoded `values` array is written beside the block, and replaced with
    it; a kind the Usage Segments API does not serve keeps none."""
    _meter(engine)
    factory = session_factory(engine)
    with transaction(factory) as session:
        channel_id = ensure_channel(session, "m1", "electric_usage", None, "kWh", 900).id
        other = ensure_channel(session, "m1", "reactive_power", None, "kVArh", 900).id
        write_blocks(session, [_block(channel_id, [Decimal("1.5"), None], [0, 4])])
        write_blocks(session, [_block(other, [Decimal("3")], [0])])
    with factory() as session:
        stored = {b.channel_id: b.values_json for b in session.scalars(select(UsageBlock))}
    assert loads(stored[channel_id] or b"") == [[{"eu": Decimal("1.5")}], [None]]
    assert stored[other] is None
    with transaction(factory) as session:
        write_blocks(session, [_block(channel_id, [Decimal("0.25"), Decimal(2)], [0, 4])])
    with factory() as session:
        [encoded] = session.scalars(
            select(UsageBlock.values_json).where(UsageBlock.channel_id == channel_id)
        )
    assert loads(encoded or b"") == [
        [{"eu": Decimal("0.25")}],
        [{"eu": Decimal(2), "quality": "estimated"}],
    ]


def test_values_json_is_the_decoded_values_of_the_whole_block() -> None:
    values: list[Decimal | None] = [Decimal("0.1"), None, Decimal("-2.675"), Decimal("7")]
    packed, quality = codec.pack_decimals(values), codec.pack_quality([0, 0, 1, 0])
    encoded = values_json("natural_gas_usage", 4, packed, quality)
    assert encoded == value_sets([Column(b"gu", packed, quality, 0, 4)], 4)
    assert loads(encoded or b"") == [
        [{"gu": Decimal("0.1")}],
        [None],
        [{"gu": Decimal("-2.675"), "quality": "raw"}],
        [{"gu": Decimal(7)}],
    ]
    assert values_json("unknown_kind", 4, packed, quality) is None
