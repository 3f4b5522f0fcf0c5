"""Reading one Subscription's usage resources (NAESB REQ.21 ESPI FB_3 `Batch/Subscription/{id}`,
FB_32 resource-level REST; DIGEST §3, §5, §6): the readers the routes call.

A Subscription is one Grant (its id is the grant id, given by the caller); what it reads comes only
from the `Access` it is given (DESIGN rule 2; `espi.usage_model`). Every reader takes the
authorized function blocks and the HistoryLength start, and returns Atom entries lazily: the
UsagePoints and MeterReadings are worked out when the reader is called (so an unknown id raises
`NotFound` before anything is written), the IntervalBlocks are read in batches of `BATCH` blocks as
the entries are written, never a year at once.

`Subscription.open` works out the UsagePoints and MeterReadings once; its readers are methods.

- `batch_feed`: per UsagePoint, the UsagePoint, then each MeterReading followed by its
  ReadingType (once per feed) and its IntervalBlocks, then the UsageSummaries; the
  LocalTimeParameters once, after the first UsagePoint. The query's time filters select
  IntervalBlocks and UsageSummaries; the UsagePoints and the LocalTimeParameters are always
  written (as OpenESPI's ExportFilter does for subscriptions), a MeterReading and its ReadingType
  only when some of its IntervalBlocks are kept (the function-block checks want every
  MeterReading to come with its data), so the feed's link graph stays whole. `start-index`,
  `max-results` and `depth` then page the whole entry sequence.
- Collection readers (`usage_points`, `meter_readings`, `interval_blocks`, `usage_summaries`,
  `power_quality_summaries`, `reading_types`, and the module's `local_time_parameters`) filter
  their entries with the query (`espi.query`) and page them; member readers (`usage_point_member`,
  `meter_reading_member`, ...) return one entry.
- `intervals` (the scope's IntervalDuration, seconds) limits the interval channels published to
  those lengths; read-period channels (monthly reads) are not interval data and stay.
- `NotFound` is raised for any id the Subscription does not reach, whether or not it exists for
  another customer, with the same message.
"""

from __future__ import annotations

from collections.abc import Collection, Iterable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Final

from sqlalchemy import select
from sqlalchemy.orm import Session

from gridshare.config import Settings
from gridshare.espi import atom
from gridshare.espi.query import Query
from gridshare.espi.resources import (
    Paths,
    interval_block,
    local_time,
    meter_reading,
    power_quality,
    reading_type,
    usage_point,
    usage_summary,
)
from gridshare.espi.usage_model import MeterReading as Reading
from gridshare.espi.usage_model import (
    Model,
    Published,
    block_range,
    load,
    summaries,
)
from gridshare.espi.usage_model import UsagePoint as Point
from gridshare.grants.access import Access
from gridshare.store.db import utcnow
from gridshare.store.tables.usage import UsageBlock
from gridshare.utility.tariffs import interval_rates
from gridshare.utility.usage_read import local_starts

BATCH: Final = 64
"""Blocks read per query while a feed is written."""
DAY_SLACK: Final = timedelta(hours=26)
"""A daily block starts at most a local day (25 hours at most) before its first kept reading."""


class NotFound(LookupError):
    """The Subscription reaches no resource of that name and id (a 404)."""

    def __init__(self, name: str, resource_id: str) -> None:
        super().__init__(f"this subscription has no {name} {resource_id!r}")


# --- the readers ---------------------------------------------------------------------------------


def local_time_parameters(settings: Settings, query: Query) -> Iterator[atom.Entry]:
    """The server's one LocalTimeParameters (no customer data: no Access needed)."""
    parameters = _local_time(settings)
    kept = query.keeps(parameters.since, parameters.since)
    return query.page(iter([local_time.entry(settings, parameters)] if kept else []))


def local_time_parameters_entry(settings: Settings, local_time_id: str) -> atom.Entry:
    parameters = _local_time(settings)
    if local_time_id != parameters.id:
        raise NotFound(local_time.NAME, local_time_id)
    return local_time.entry(settings, parameters)


def _local_time(settings: Settings) -> local_time.LocalTime:
    return local_time.local_time(settings.timezone, utcnow().year)


@dataclass(frozen=True)
class Subscription:
    """One Subscription's readers, opened once per request: what its Access reaches, limited by
    its function blocks, HistoryLength start and IntervalDuration lengths."""

    session: Session
    settings: Settings
    access: Access
    blocks: Collection[int]
    history_start: datetime | None
    paths: Paths
    model: Model
    local_time: local_time.LocalTime

    @classmethod
    def open(
        cls,
        session: Session,
        settings: Settings,
        access: Access,
        subscription_id: str,
        blocks: Collection[int],
        history_start: datetime | None,
        intervals: Collection[int] = (),
    ) -> Subscription:
        model = load(session, settings.tz, access, blocks, history_start, intervals)
        return cls(
            session,
            settings,
            access,
            blocks,
            history_start,
            Paths(settings, subscription_id),
            model,
            _local_time(settings),
        )

    # --- the readers (module docstring) ---------------------------------------------------

    def batch_feed(self, query: Query, usage_point_id: str | None = None) -> Iterator[atom.Entry]:
        """`Batch/Subscription/{id}` (or `.../UsagePoint/{upid}`, one UsagePoint)."""
        points = self.model.points if usage_point_id is None else (self.point(usage_point_id),)
        return query.page(self.batch(points, query))

    def usage_points(self, query: Query) -> Iterator[atom.Entry]:
        kept = (p for p in self.model.points if query.keeps(p.published, p.updated))
        return query.page(self.point_entry(p) for p in kept)

    def usage_point_member(self, usage_point_id: str) -> atom.Entry:
        return self.point_entry(self.point(usage_point_id))

    def meter_readings(self, query: Query, usage_point_id: str) -> Iterator[atom.Entry]:
        point = self.point(usage_point_id)
        kept = (r for r in point.readings if query.keeps(r.channel.created, r.channel.created))
        return query.page(self.reading_entry(point, r) for r in kept)

    def meter_reading_member(self, usage_point_id: str, meter_reading_id: str) -> atom.Entry:
        point, reading = self.reading(usage_point_id, meter_reading_id)
        return self.reading_entry(point, reading)

    def interval_blocks(
        self, query: Query, usage_point_id: str, meter_reading_id: str
    ) -> Iterator[atom.Entry]:
        point, reading = self.reading(usage_point_id, meter_reading_id)
        return query.page(self.block_entries(point, reading, query))

    def interval_block_member(
        self, usage_point_id: str, meter_reading_id: str, block_id: str
    ) -> atom.Entry:
        point, reading = self.reading(usage_point_id, meter_reading_id)
        if not block_id.isdigit() or len(block_id) > 12:
            raise NotFound(interval_block.NAME, block_id)
        start = datetime.fromtimestamp(int(block_id), UTC)
        found = next(self.block_entries(point, reading, Query(), start), None)
        if found is None:
            raise NotFound(interval_block.NAME, block_id)
        return found

    def usage_summaries(self, query: Query, usage_point_id: str) -> Iterator[atom.Entry]:
        return query.page(self.summary_entries(self.point(usage_point_id), query))

    def usage_summary_member(self, usage_point_id: str, summary_id: str) -> atom.Entry:
        point = self.point(usage_point_id)
        for summary in self.summaries(point):
            if summary.section_id == summary_id:
                return usage_summary.entry(self.paths, point.id, summary)
        raise NotFound(usage_summary.NAME, summary_id)

    def power_quality_summaries(self, query: Query, usage_point_id: str) -> Iterator[atom.Entry]:
        """Always empty for a UsagePoint of the Subscription (`resources.power_quality`)."""
        self.point(usage_point_id)
        return query.page(iter(()))

    def power_quality_summary_member(self, usage_point_id: str, summary_id: str) -> atom.Entry:
        """Never found: we hold no power quality data (`resources.power_quality`)."""
        self.point(usage_point_id)
        raise NotFound(power_quality.NAME, summary_id)

    def reading_types(self, query: Query) -> Iterator[atom.Entry]:
        """The ReadingTypes of the Subscription's MeterReadings."""
        types = self.model.reading_types.values()
        kept = (t for t in types if query.keeps(t.published, t.updated))
        return query.page(self.reading_type_entry(t) for t in kept)

    def reading_type_member(self, reading_type_id: str) -> atom.Entry:
        found = self.model.reading_types.get(reading_type_id)
        if found is None:
            raise NotFound(reading_type.NAME, reading_type_id)
        return self.reading_type_entry(found)

    # --- building blocks -------------------------------------------------------------------

    def point(self, usage_point_id: str) -> Point:
        found = self.model.point(usage_point_id)
        if found is None:
            raise NotFound(usage_point.NAME, usage_point_id)
        return found

    def reading(self, usage_point_id: str, meter_reading_id: str) -> tuple[Point, Reading]:
        point = self.point(usage_point_id)
        found = point.reading(meter_reading_id)
        if found is None:
            raise NotFound(meter_reading.NAME, meter_reading_id)
        return point, found

    def batch(self, points: Iterable[Point], query: Query) -> Iterator[atom.Entry]:
        types = self.model.reading_types
        written: set[str] = set()
        for index, point in enumerate(points):
            yield self.point_entry(point)
            if index == 0:
                yield local_time.entry(self.settings, self.local_time)
            for reading in point.readings:
                kept = iter(self.block_entries(point, reading, query))
                first = next(kept, None)
                if first is None:
                    continue  # the query's window keeps none of its blocks
                yield self.reading_entry(point, reading)
                type_id = reading.reading_type.id
                if type_id not in written:
                    written.add(type_id)
                    yield self.reading_type_entry(types[type_id])
                yield first
                yield from kept
            yield from self.summary_entries(point, query)

    def point_entry(self, point: Point) -> atom.Entry:
        return usage_point.entry(
            self.paths,
            point.id,
            point.service_kind,
            point.published,
            point.updated,
            local_time.href(self.settings, self.local_time),
            self.model.summaries,
        )

    def reading_entry(self, point: Point, reading: Reading) -> atom.Entry:
        created = reading.channel.created
        return meter_reading.entry(
            self.paths,
            point.id,
            reading.id,
            reading.reading_type.id,
            reading.title,
            created,
            created,
        )

    def reading_type_entry(self, published: Published) -> atom.Entry:
        return reading_type.entry(
            self.paths, published.reading_type, published.published, published.updated
        )

    def block_entries(
        self, point: Point, reading: Reading, query: Query, only: datetime | None = None
    ) -> Iterator[atom.Entry]:
        """The reading's IntervalBlocks the query keeps, in time order, `BATCH` blocks a query;
        only the block starting at `only` when given."""
        channel = reading.channel
        interval = channel.interval_seconds
        conditions = [
            UsageBlock.channel_id == channel.id,
            block_range(interval, reading.windows, self.settings.tz),
        ]
        if only is not None:
            conditions.append(UsageBlock.start == only)
        if query.published_min is not None:
            slack = DAY_SLACK if interval else timedelta()
            conditions.append(UsageBlock.start >= query.published_min - slack)
        if query.published_max is not None:
            conditions.append(UsageBlock.start < query.published_max)
        if query.updated_min is not None:
            conditions.append(UsageBlock.modified >= query.updated_min)
        if query.updated_max is not None:
            conditions.append(UsageBlock.modified <= query.updated_max)
        after: datetime | None = None
        while True:
            page = select(
                UsageBlock.start,
                UsageBlock.interval_seconds,
                UsageBlock.count,
                UsageBlock.values,
                UsageBlock.quality,
                UsageBlock.created,
                UsageBlock.modified,
            ).where(*conditions)
            if after is not None:
                page = page.where(UsageBlock.start > after)
            rows = self.session.execute(page.order_by(UsageBlock.start).limit(BATCH)).all()
            for row in rows:
                block = interval_block.Block(*row)
                shown = interval_block.readings(
                    block, reading.windows, reading.power, self._rates(reading, block)
                )
                if shown is not None and query.keeps_interval(
                    shown.start, shown.end, block.modified
                ):
                    yield interval_block.entry(self.paths, point.id, reading.id, block, shown)
            if len(rows) < BATCH:
                return
            after = rows[-1].start

    def _rates(self, reading: Reading, block: interval_block.Block) -> interval_block.Rates | None:
        """The energy rates of the block's readings when they carry a cost (FB 12)."""
        if reading.channel.interval_seconds == 0:
            return None
        pricing = next((p for p in reading.pricing if p.covers(block.start)), None)
        if pricing is None:
            return None
        local = local_starts(block.start, block.interval_seconds, block.count, self.settings.tz)
        scaled, exponent = interval_rates(pricing.tariff, local)
        return interval_block.Rates(scaled, exponent)

    def summaries(self, point: Point) -> list[usage_summary.Summary]:
        return summaries(
            self.session, self.settings.tz, self.access, self.blocks, point, self.history_start
        )

    def summary_entries(self, point: Point, query: Query) -> Iterator[atom.Entry]:
        if not self.model.summaries:
            return
        for summary in self.summaries(point):
            if query.keeps(summary.published, summary.updated):
                yield usage_summary.entry(self.paths, point.id, summary)
