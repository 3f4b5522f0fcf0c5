"""Usage: channels and their blocks (DESIGN rule 3), written and read by local day.

A block covers one local day of the utility's timezone (DESIGN rule 6): from local midnight to the
next local midnight, so 96 fifteen-minute values on most days and 92 or 100 on DST change days.
Monthly reads are one block per read period.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import select
from sqlalchemy.orm import Session

from gridshare.store.bulk import upsert
from gridshare.store.db import utcnow
from gridshare.store.tables.usage import Channel, UsageBlock
from gridshare.utility.usage_read import values_json


@dataclass(frozen=True, slots=True)
class BlockRow:
    """One packed block as it is stored."""

    channel_id: int
    start: datetime
    interval_seconds: int
    count: int
    values: bytes
    quality: bytes | None


def day_start(day: date, tz: ZoneInfo) -> datetime:
    """The UTC instant of local midnight starting `day`."""
    return datetime.combine(day, time(0), tzinfo=tz).astimezone(UTC)


def day_length(day: date, tz: ZoneInfo) -> timedelta:
    """How long the local day lasts (23, 24 or 25 hours around DST changes)."""
    return day_start(day + timedelta(days=1), tz) - day_start(day, tz)


def intervals_in_day(day: date, tz: ZoneInfo, interval_seconds: int) -> int:
    return int(day_length(day, tz).total_seconds()) // interval_seconds


def local_day(instant: datetime, tz: ZoneInfo) -> date:
    return instant.astimezone(tz).date()


def ensure_channel(
    session: Session,
    meter_id: str,
    kind: str,
    direction: str | None,
    units: str,
    interval_seconds: int,
) -> Channel:
    """The channel for this meter and quantity, created if it does not exist yet."""
    found = session.scalars(
        select(Channel).where(
            Channel.meter_id == meter_id,
            Channel.kind == kind,
            Channel.direction.is_(None) if direction is None else Channel.direction == direction,
            Channel.interval_seconds == interval_seconds,
        )
    ).first()
    if found is not None:
        if found.units != units:
            raise ValueError(
                f"meter {meter_id} {kind} {direction or ''} "
                f"is recorded in {found.units}, not {units}"
            )
        return found
    channel = Channel(
        meter_id=meter_id,
        kind=kind,
        direction=direction,
        units=units,
        interval_seconds=interval_seconds,
    )
    session.add(channel)
    session.flush()
    return channel


def write_blocks(session: Session, blocks: Iterable[BlockRow]) -> int:
    """Insert or replace blocks by (channel, start), each with its encoded `values` array
    (`usage_read.values_json`); returns how many were written."""
    now = utcnow()
    written = list(blocks)
    kinds = dict(
        session.execute(
            select(Channel.id, Channel.kind).where(Channel.id.in_({b.channel_id for b in written}))
        ).all()
    )
    rows = [
        {
            "channel_id": b.channel_id,
            "start": b.start,
            "interval_seconds": b.interval_seconds,
            "count": b.count,
            "values": b.values,
            "quality": b.quality,
            "values_json": values_json(kinds.get(b.channel_id, ""), b.count, b.values, b.quality),
            "created": now,
            "modified": now,
        }
        for b in written
    ]
    upsert(
        session,
        UsageBlock.__table__,  # type: ignore[arg-type]
        rows,
        key=("channel_id", "start"),
        preserve=("created",),
    )
    return len(rows)
