"""The demo's interval data: what each site consumes (and its solar sends back), recorded by the
meters installed there, written as usage blocks (DESIGN rule 3) and kept for billing.

Electric meters read every 15 minutes in kWh, gas meters hourly in therms, water meters hourly in
gallons; a monthly-read AMR meter stores one block per calendar month (count 1, the month's
length as its interval). Signs follow CDS-WG3-01 §10.8.5.1.2: positive is energy from the grid,
so a bidirectional meter's reverse channel is zero or negative and net = forward + reverse. A few
readings per meter-year are estimated (quality `estimated`) or missing (stored as missing, and
counting as nothing on a bill).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

import numpy as np
import numpy.typing as npt
from sqlalchemy.orm import Session

from gridshare.demo import loadshapes
from gridshare.demo.ids import Ids
from gridshare.demo.loadshapes import Business, Weather
from gridshare.demo.population import (
    DECIMALS,
    DEMAND,
    MONTHLY,
    REVERSE,
    ChannelSpec,
    Installed,
    Plan,
    Site,
)
from gridshare.demo.timeline import Floats, Ints, Timeline, next_month
from gridshare.utility.codec import QUALITY_CODE, pack_floats, pack_quality
from gridshare.utility.tariffs import IntervalUsage
from gridshare.utility.usage import BlockRow, day_start, ensure_channel, write_blocks

GAPS_PER_METER_DAY = 0.004
ESTIMATED = QUALITY_CODE["estimated"]
MONTHLY_BASIS = 900
"""Monthly reads sum the 15-minute consumption the site would have shown an interval meter."""
MISSING = 255
"""Marks a lost reading while building a day; never stored (missing readings have no quality)."""


@dataclass(frozen=True)
class Recorded:
    """One channel's readings over the history; missing readings are held as zero."""

    channel_id: int
    spec: ChannelSpec
    usage: IntervalUsage
    register: int
    """Monthly reads: the meter's register (whole kWh) at the start of the first read."""

    def window(self, first: date, last: date) -> IntervalUsage:
        """The readings starting on local days `first` to `last` inclusive (a view)."""
        starts = self.usage.starts
        lo = int(np.searchsorted(starts, np.datetime64(first, "s"), side="left"))
        hi = int(np.searchsorted(starts, np.datetime64(last + timedelta(days=1), "s"), "left"))
        return IntervalUsage(starts[lo:hi], self.usage.scaled[lo:hi], self.usage.exponent)


@dataclass
class Readings:
    """Channels' readings by meter id and (kind, direction)."""

    by_meter: dict[str, dict[tuple[str, str | None], Recorded]]
    channels: int = 0
    blocks: int = 0


class Recorder:
    """Records sites: creates their meters' channels, writes their blocks and returns their
    readings. The weather and the local-time axes are shared by every site."""

    def __init__(self, session: Session, plan: Plan, tz: ZoneInfo, seed: int):
        self.session = session
        self.plan = plan
        self.tz = tz
        self.seed = seed
        self.ids = Ids(seed)
        self.timelines = {
            900: Timeline.build(plan.first, plan.last, tz, 900),
            3600: Timeline.build(plan.first, plan.last, tz, 3600),
        }
        self.weather = Weather.draw(self.timelines[3600], self.rng("weather"))

    def rng(self, *key: object) -> np.random.Generator:
        return np.random.default_rng([self.seed, int(self.ids("rng", *key).split("_", 1)[1], 16)])

    def record(self, sites: Iterable[Site]) -> Readings:
        readings = Readings({})
        for site in sites:
            timeline = self.timelines[900 if site.commodity == "electric" else 3600]
            rng = self.rng("site", site.key)
            flows = _flows(site, timeline, self.weather, rng)
            for installed in site.meters:
                channel_ids = {
                    spec: self.channel_id(installed, spec) for spec in installed.channels
                }
                window = _window(self.plan, site, installed)
                rows: list[BlockRow] = []
                if window is None:
                    recorded = {
                        (spec.kind, spec.direction): Recorded(id_, spec, _empty(spec), 0)
                        for spec, id_ in channel_ids.items()
                    }
                elif installed.channels == (MONTHLY,):
                    recorded, rows = self.monthly(installed, channel_ids[MONTHLY], flows[0], window)
                else:
                    recorded, rows = _intervals(
                        installed, channel_ids, timeline, flows, window, site.gaps, rng
                    )
                readings.by_meter[installed.meter.id] = recorded
                readings.channels += len(channel_ids)
                readings.blocks += write_blocks(self.session, rows)
        return readings

    def channel_id(self, installed: Installed, spec: ChannelSpec) -> int:
        meter = installed.meter.id
        kind, direction, units, interval = (
            spec.kind,
            spec.direction,
            spec.units,
            spec.interval_seconds,
        )
        return ensure_channel(self.session, meter, kind, direction, units, interval).id

    def monthly(
        self, installed: Installed, channel_id: int, consumed: Ints, window: tuple[date, date]
    ) -> tuple[dict[tuple[str, str | None], Recorded], list[BlockRow]]:
        """One read per calendar month wholly inside the window, in whole kWh."""
        timeline = self.timelines[MONTHLY_BASIS]
        rows, starts, values = [], [], []
        month = window[0] if window[0].day == 1 else next_month(window[0])
        while next_month(month) <= window[1]:
            after = next_month(month)
            scaled = int(consumed[timeline.span(month, after)].sum())
            kwh = round(scaled / 10 ** DECIMALS["electric"])
            start = day_start(month, self.tz)
            rows.append(
                BlockRow(
                    channel_id=channel_id,
                    start=start,
                    interval_seconds=int((day_start(after, self.tz) - start).total_seconds()),
                    count=1,
                    values=pack_floats([kwh], 0),
                    quality=None,
                )
            )
            starts.append(np.datetime64(month, "s"))
            values.append(kwh)
            month = after
        usage = IntervalUsage(
            np.array(starts, dtype="datetime64[s]"), np.array(values, dtype=np.int64), 0
        )
        key = (MONTHLY.kind, MONTHLY.direction)
        return {key: Recorded(channel_id, MONTHLY, usage, installed.register)}, rows


def _flows(
    site: Site, timeline: Timeline, weather: Weather, rng: np.random.Generator
) -> tuple[Ints, Ints]:
    """What the site draws and what its solar produces, per interval, as integers of the
    commodity's finest unit (`DECIMALS`: Wh, milli-therms, tenths of a gallon)."""
    occupant = site.occupant
    if site.commodity == "electric":
        if isinstance(occupant, Business):
            amount = loadshapes.business_electric(timeline, weather, occupant, rng)
        else:
            amount = loadshapes.home_electric(timeline, weather, occupant, rng)
    elif site.commodity == "natural_gas":
        if isinstance(occupant, Business):
            amount = loadshapes.business_gas(timeline, weather, occupant, rng)
        else:
            amount = loadshapes.home_gas(timeline, weather, occupant, rng)
    else:
        assert not isinstance(occupant, Business)  # the demo's water customers are homes
        amount = loadshapes.home_water(timeline, weather, occupant, rng)
    scale = 10.0 ** DECIMALS[site.commodity]
    produced: Floats = np.zeros(timeline.size)
    if site.solar is not None:
        since, capacity = site.solar
        longitude = float(site.point.longitude or 0)
        output = loadshapes.solar_output(timeline, weather, capacity, longitude, rng)
        installed = timeline.span(since, timeline.days[-1] + timedelta(days=1)).start
        produced[installed:] = output[installed:]
    return _ints(amount * scale), _ints(produced * scale)


def _ints(values: Floats) -> Ints:
    return np.asarray(np.rint(values), dtype=np.int64)


def _empty(spec: ChannelSpec) -> IntervalUsage:
    starts = np.array([], dtype="datetime64[s]")
    return IntervalUsage(starts, np.array([], dtype=np.int64), -spec.decimals)


def _window(plan: Plan, site: Site, installed: Installed) -> tuple[date, date] | None:
    """The local days [first, after) on which this meter recorded this site."""
    starts = [plan.first, installed.start, site.occupied[0] or plan.first]
    ends = [plan.last + timedelta(days=1), installed.end, site.occupied[1]]
    first = max(starts)
    after = min(e for e in ends if e is not None)
    return (first, after) if first < after else None


def _intervals(
    installed: Installed,
    channel_ids: dict[ChannelSpec, int],
    timeline: Timeline,
    flows: tuple[Ints, Ints],
    window: tuple[date, date],
    planned_gaps: list[tuple[date, int, int, str]],
    rng: np.random.Generator,
) -> tuple[dict[tuple[str, str | None], Recorded], list[BlockRow]]:
    """An interval meter's channels over its window: readings for billing and daily blocks."""
    consumed, sent = flows
    span = timeline.span(*window)
    net = consumed[span] - sent[span]
    quality = _quality(timeline, span, window, planned_gaps, rng)
    lost = quality == MISSING
    starts = timeline.local_starts[span]
    recorded: dict[tuple[str, str | None], Recorded] = {}
    rows: list[BlockRow] = []
    for spec, channel_id in channel_ids.items():
        if spec == REVERSE:
            values = np.minimum(net, 0)
        elif spec.direction == "net":
            values = net
        else:
            values = np.maximum(net, 0)
        if spec == DEMAND:
            values = values * 3600 // timeline.interval  # kWh per interval -> average kW
        usage = IntervalUsage(starts, np.where(lost, 0, values), -spec.decimals)
        recorded[(spec.kind, spec.direction)] = Recorded(channel_id, spec, usage, 0)
        rows += _daily_blocks(channel_id, spec, timeline, span, values, quality)
    return recorded, rows


def _quality(
    timeline: Timeline,
    span: slice,
    window: tuple[date, date],
    planned_gaps: list[tuple[date, int, int, str]],
    rng: np.random.Generator,
) -> npt.NDArray[np.uint8]:
    """Quality codes of the meter's readings: a few random gaps plus the site's planned ones."""
    size = span.stop - span.start
    quality = np.zeros(size, dtype=np.uint8)
    days = (window[1] - window[0]).days
    gaps = [
        (
            window[0] + timedelta(days=int(rng.integers(days))),
            int(rng.integers(0, 86400 // timeline.interval)),
            int(rng.integers(1, 17)),
            "missing" if rng.random() < 0.25 else "estimated",
        )
        for _ in range(rng.poisson(days * GAPS_PER_METER_DAY))
    ]
    for day, first, count, kind in [*gaps, *planned_gaps]:
        if not window[0] <= day < window[1]:
            continue
        start = timeline.span(day, day + timedelta(days=1)).start - span.start + first
        quality[start : min(start + count, size)] = MISSING if kind == "missing" else ESTIMATED
    return quality


def _daily_blocks(
    channel_id: int,
    spec: ChannelSpec,
    timeline: Timeline,
    span: slice,
    values: Ints,
    quality: npt.NDArray[np.uint8],
) -> list[BlockRow]:
    scale = 10.0**spec.decimals
    shown = np.where(quality == MISSING, np.nan, values / scale)
    codes = np.where(quality == MISSING, 0, quality).astype(np.uint8)
    first_day = int(timeline.day_index[span.start])
    last_day = int(timeline.day_index[span.stop - 1])
    rows = []
    for day in range(first_day, last_day + 1):
        lo = int(timeline.offsets[day]) - span.start
        hi = int(timeline.offsets[day + 1]) - span.start
        rows.append(
            BlockRow(
                channel_id=channel_id,
                start=datetime.fromtimestamp(int(timeline.day_utc[day]), UTC),
                interval_seconds=timeline.interval,
                count=hi - lo,
                values=pack_floats(shown[lo:hi], spec.decimals),
                quality=pack_quality(codes[lo:hi]),
            )
        )
    return rows
