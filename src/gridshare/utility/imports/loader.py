"""Storing a file's readings: resolve meters and channels, merge with the stored blocks, write.

Everything is checked before anything is written (unknown meters, units that differ from the
stored channel's, values that do not fit beside the stored ones), and the whole write is one
transaction: an import stores all of its file or nothing. Blocks whose bytes would not change are
left alone, so importing the same file twice changes nothing, not even `modified`. Days with no
stored block are inserted (binary COPY on PostgreSQL), the others upserted; a block inserted by a
concurrent import of the same days makes this one fail as a whole.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime

from sqlalchemy import Connection, Engine, Table, select
from sqlalchemy.orm import Session

from gridshare.store.bulk import insert_many, upsert_many
from gridshare.store.db import session_factory, transaction, utcnow
from gridshare.store.tables.meters import MeterDevice
from gridshare.store.tables.usage import Channel, UsageBlock
from gridshare.utility.imports.errors import UsageImportError
from gridshare.utility.imports.readings import ChannelReadings, StoredBlock, pack_day
from gridshare.utility.usage_read import values_json

LOOKUP_BATCH = 500
BLOCK_COLUMNS = (
    "channel_id",
    "start",
    "interval_seconds",
    "count",
    "values",
    "quality",
    "values_json",
    "created",
    "modified",
)

KEY = ("channel_id", "start")

ChannelIdentity = tuple[str, str, str | None, int]
"""meter id, kind, direction, interval seconds: what makes a channel unique."""


@dataclass(frozen=True, slots=True)
class UsageImportReport:
    """What an import stored."""

    rows: int
    missing: int
    channels: int
    new_channels: int
    blocks_written: int
    blocks_unchanged: int
    days: int
    first_day: date | None
    last_day: date | None

    @property
    def readings(self) -> int:
        """Rows that carried a value."""
        return self.rows - self.missing

    def summary(self) -> str:
        span = f" ({self.first_day} to {self.last_day})" if self.first_day else ""
        return (
            f"Imported {_many(self.rows, 'row')} ({self.readings:,} with a value, "
            f"{self.missing:,} missing) for {_many(self.channels, 'channel')} "
            f"({self.new_channels:,} new): {_many(self.blocks_written, 'block')} written, "
            f"{self.blocks_unchanged:,} unchanged, over {_many(self.days, 'local day')}{span}."
        )


def _many(count: int, noun: str) -> str:
    return f"{count:,} {noun}" + ("" if count == 1 else "s")


def store_readings(
    bind: Engine | Connection, channels: Sequence[ChannelReadings], rows: int, missing: int
) -> UsageImportReport:
    """Merge `channels` into the stored blocks in one transaction (on a Connection: within the
    caller's transaction, which commits or rolls back the whole import); see the module
    docstring."""
    days = sorted({readings.day for channel in channels for readings in channel.days.values()})
    with transaction(session_factory(bind)) as session:
        meters = _meter_ids(session, channels)
        stored = _stored_channels(session, meters.values())
        identities = {channel: _identity(channel, meters) for channel in channels}
        for channel in channels:
            _check_units(channel, stored.get(identities[channel]))
        known = {c: stored[identities[c]].id for c in channels if identities[c] in stored}
        blocks = _stored_blocks(session, known)
        added, replaced, unchanged = _pack(channels, known, blocks)
        fresh = [c for c in channels if c not in known]
        new = [
            Channel(
                meter_id=meters[c.meter_number],
                kind=c.kind,
                direction=c.direction,
                units=c.units,
                interval_seconds=c.interval,
            )
            for c in fresh
        ]
        session.add_all(new)
        session.flush()
        ids = known | {c: row.id for c, row in zip(fresh, new, strict=True)}
        table: Table = UsageBlock.__table__  # type: ignore[assignment]
        if added:
            insert_many(session, table, BLOCK_COLUMNS, _block_rows(added, ids))
        if replaced:
            changed = _block_rows(replaced, ids)
            upsert_many(session, table, BLOCK_COLUMNS, changed, KEY, preserve=("created",))
    return UsageImportReport(
        rows=rows,
        missing=missing,
        channels=len(channels),
        new_channels=len(new),
        blocks_written=len(added) + len(replaced),
        blocks_unchanged=unchanged,
        days=len(days),
        first_day=days[0] if days else None,
        last_day=days[-1] if days else None,
    )


def _meter_ids(session: Session, channels: Sequence[ChannelReadings]) -> dict[str, str]:
    """Meter number to meter id, for every meter the file names; an unknown one is an error."""
    first_line: dict[str, int] = {}
    for channel in channels:
        first_line[channel.meter_number] = min(
            channel.line, first_line.get(channel.meter_number, channel.line)
        )
    numbers = sorted(first_line)
    found: dict[str, str] = {}
    for offset in range(0, len(numbers), LOOKUP_BATCH):
        batch = numbers[offset : offset + LOOKUP_BATCH]
        query = select(MeterDevice.meter_number, MeterDevice.id).where(
            MeterDevice.meter_number.in_(batch)
        )
        found.update((number, id_) for number, id_ in session.execute(query) if number)
    unknown = sorted((line, number) for number, line in first_line.items() if number not in found)
    if unknown:
        line, number = unknown[0]
        more = f" (and {len(unknown) - 1} more unknown meters)" if len(unknown) > 1 else ""
        raise UsageImportError(
            line,
            "meter_number",
            f"no meter has the number {number!r}{more}; add the meter first or correct the number",
        )
    return found


def _stored_channels(session: Session, meter_ids: Iterable[str]) -> dict[ChannelIdentity, Channel]:
    ids = sorted(set(meter_ids))
    stored: dict[ChannelIdentity, Channel] = {}
    for offset in range(0, len(ids), LOOKUP_BATCH):
        query = select(Channel).where(Channel.meter_id.in_(ids[offset : offset + LOOKUP_BATCH]))
        for channel in session.scalars(query):
            identity = (channel.meter_id, channel.kind, channel.direction, channel.interval_seconds)
            stored[identity] = channel
    return stored


def _identity(channel: ChannelReadings, meters: dict[str, str]) -> ChannelIdentity:
    return (meters[channel.meter_number], channel.kind, channel.direction, channel.interval)


def _check_units(channel: ChannelReadings, stored: Channel | None) -> None:
    if stored is not None and stored.units != channel.units:
        raise UsageImportError(
            channel.line,
            "units",
            f"{channel.describe()} is already recorded in {stored.units}, not {channel.units}; "
            f"convert the readings to {stored.units}",
        )


def _stored_blocks(
    session: Session, known: dict[ChannelReadings, int]
) -> dict[tuple[int, int], StoredBlock]:
    """The stored blocks of the days the file touches, by (channel id, start epoch)."""
    table = UsageBlock.__table__
    channels = sorted(known, key=known.__getitem__)
    blocks: dict[tuple[int, int], StoredBlock] = {}
    for offset in range(0, len(channels), LOOKUP_BATCH):
        batch = channels[offset : offset + LOOKUP_BATCH]
        starts = [start for channel in batch for start in channel.days]
        if not starts:
            continue
        query = select(
            table.c.channel_id, table.c.start, table.c.count, table.c["values"], table.c.quality
        ).where(
            table.c.channel_id.in_([known[c] for c in batch]),
            table.c.start >= datetime.fromtimestamp(min(starts), UTC),
            table.c.start <= datetime.fromtimestamp(max(starts), UTC),
        )
        for channel_id, start, count, values, quality in session.execute(query):
            blocks[(channel_id, int(start.timestamp()))] = StoredBlock(count, values, quality)
    return blocks


Packed = tuple[ChannelReadings, int, int, int, bytes, bytes | None]
"""channel, start epoch, interval seconds (a read period's own length), count, values, quality"""


def _pack(
    channels: Sequence[ChannelReadings],
    known: dict[ChannelReadings, int],
    blocks: dict[tuple[int, int], StoredBlock],
) -> tuple[list[Packed], list[Packed], int]:
    """The new blocks, the changed ones, and how many are unchanged (freeing the day arrays)."""
    added: list[Packed] = []
    replaced: list[Packed] = []
    unchanged = 0
    for channel in channels:
        channel_id = known.get(channel)
        for start, readings in sorted(channel.days.items()):
            old = None if channel_id is None else blocks.get((channel_id, start))
            count, values, quality = pack_day(channel, readings, old)
            interval = channel.interval or readings.end - readings.start
            if old is None:
                added.append((channel, start, interval, count, values, quality))
            elif (old.count, old.values, old.quality) != (count, values, quality):
                replaced.append((channel, start, interval, count, values, quality))
            else:
                unchanged += 1
        channel.days.clear()
    return added, replaced, unchanged


def _block_rows(
    packed: Sequence[Packed], ids: dict[ChannelReadings, int]
) -> Iterator[tuple[object, ...]]:
    now = utcnow()
    for channel, start, interval, count, values, quality in packed:
        moment = datetime.fromtimestamp(start, UTC)
        encoded = values_json(channel.kind, count, values, quality)
        yield (ids[channel], moment, interval, count, values, quality, encoded, now, now)
