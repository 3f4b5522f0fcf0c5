"""What one Subscription's `Access` reaches as ESPI usage resources (NAESB REQ.21 ESPI, DIGEST §2;
DESIGN rule 2): its UsagePoints and their MeterReadings, with the windows their blocks may be read
in, and the Bill Sections their UsageSummaries come from.

- **MeterReadings**: a meter the Access's usage reaches (`UsageReach`), installed at a service
  point, gives that point one MeterReading per channel whose readings may be read there: the
  windows are the meter's usage windows (`UsageReach.windows`: the periods it measured one of the
  Customer's contracts, clipped by the grant's durations) within its installation at the point and
  after `history_start` (the scope's HistoryLength), and at least one block of the channel starts
  in them. A channel is published when ESPI has codes for its kind and units
  (`reading_type.publishable`) and the Subscription's function blocks include its commodity: 5
  for electricity (usage in every direction, and demand), 10 for gas, 11 for water.
- **UsagePoints**: the service points with at least one MeterReading; the ServiceCategory is the
  commodity of their first MeterReading (electricity, then gas, then water).
- **ReadingTypes**: from each channel and the decimal exponents of all its stored blocks (one
  query of the blocks' two-byte headers), so a channel has the same ReadingType whoever reads it.
- **Cost** (FB 12): a reading carries a cost when its channel is the one its meter's rate plan
  bills (the net channel of a net-metered meter, else its usage channel in the plan's units; as
  the Usage Segments API chooses it) and the Service Contract served through the point at the
  block's time has a rate plan that prices each reading by its time (time-of-use or flat).
- **UsageSummaries** (FB 15, 16): the Bill Sections the Access reaches (`billsections`) of the
  contracts served through the point, ending after `history_start` (`summaries`).
- **Current billing period** (FB 28; `_current_periods`), per Service Contract served through the
  point whose rate plan parses: the period runs from the end of the contract's last bill to the
  earliest of now, the end of the contract's service there and the end of what the Subscription
  may read of the channels its plan bills (their MeterReading windows: the Access's usage
  windows, the installations, HistoryLength). The last bill is the latest stored Bill Section of
  the contract ending by then, whether or not the Access reaches it; its sections' UsageSummaries
  (a delivery and a generation section when another entity supplies) carry the period, when they
  are published. A contract never billed, or whose service there ended with its last bill, has
  none. The usage is the sum of the billed channel's readings inside the period and the windows,
  exactly as the IntervalBlocks show them (per meter its net, else forward, else undirected
  channel of the plan's kind and units; read periods, interval 0, are whole periods and never
  counted), as of the end of the newest of them
  (the period's start when there is none). The cost so far is `utility.tariffs.bill_section`
  over the local days from the first day read to the newest reading's day, with the section's
  components and, when the plan has demand rates, the meter's demand readings: as the bills are
  priced. A `tiered` plan cannot be priced before the period ends (its baseline allowance is the
  whole period's), nor a plan in another currency than the section: they get the usage only.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Collection, Iterable, Mapping
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from decimal import Decimal
from typing import Final
from zoneinfo import ZoneInfo

from sqlalchemy import ColumnElement, and_, exists, func, or_, select, true
from sqlalchemy.orm import Session

from gridshare.espi.resources import (
    interval_block,
    meter_reading,
    reading_type,
    usage_point,
    usage_summary,
)
from gridshare.espi.resources.reading_type import ReadingType
from gridshare.grants.access import Access
from gridshare.grants.reach import SECTIONS, UsageReach, Window, earlier, midnight
from gridshare.store.db import utcnow
from gridshare.store.tables.bills import BillCostDetail, BillLineItem, BillSection, BillUsageDetail
from gridshare.store.tables.contracts import RatePlan, ServiceContract
from gridshare.store.tables.meters import MeterInstallation
from gridshare.store.tables.programs import Entity
from gridshare.store.tables.servicepoints import ServicePoint, ServicePointContract
from gridshare.store.tables.usage import Channel, UsageBlock
from gridshare.utility import codec
from gridshare.utility.tariffs import (
    COMPONENTS,
    IntervalUsage,
    Tariff,
    TariffError,
    bill_section,
    billed_channel,
    parse_tariff,
    per_reading_tariff,
)
from gridshare.utility.usage import day_start, local_day
from gridshare.utility.usage_read import local_starts

COMMODITY_BLOCKS: Final[Mapping[int, int]] = {1: 5, 7: 10, 9: 11}
"""The function block that publishes each commodity's interval data."""
INTERVAL_COST: Final = 12
SUMMARY_BLOCKS: Final = frozenset({15, 16, 28})
SUMMARY_COST_BLOCKS: Final = frozenset({16, 28})
CURRENT_PERIOD: Final = 28
DEMAND: Final = ("electric_demand", "forward")
"""The channel whose peak a plan's demand rates price (as the bills do)."""
LINE_ITEMS: Final = "include_bill_section_line_items"
_DIRECTION_ORDER: Final[Mapping[str | None, int]] = {None: 0, "forward": 0, "reverse": 1, "net": 2}
_COMMODITY_OF_SECTION: Final = {"electric": 1, "natural_gas": 7, "water": 9}


@dataclass(frozen=True)
class ChannelRow:
    id: int
    meter_id: str
    kind: str
    direction: str | None
    units: str
    interval_seconds: int
    created: datetime


@dataclass(frozen=True)
class Pricing:
    """A rate plan pricing a channel's readings from `start` until `end` (None: open)."""

    start: datetime | None
    end: datetime | None
    tariff: Tariff
    currency: str

    def covers(self, moment: datetime) -> bool:
        return (self.start is None or self.start <= moment) and (
            self.end is None or moment < self.end
        )


@dataclass(frozen=True)
class MeterReading:
    id: str
    channel: ChannelRow
    windows: tuple[Window, ...]
    reading_type: ReadingType
    power: int
    """A value of ours is `value * 10**power` in the ReadingType's scaled unit."""
    pricing: tuple[Pricing, ...]

    @property
    def title(self) -> str:
        c = self.channel
        return meter_reading.title(c.kind, c.direction, c.interval_seconds)


@dataclass(frozen=True)
class UsagePoint:
    id: str
    service_kind: int
    published: datetime
    updated: datetime
    readings: tuple[MeterReading, ...]
    contracts: tuple[str, ...]
    """The Service Contracts ever served through the point (their Bill Sections' reach decides
    which the Subscription sees)."""

    def reading(self, meter_reading_id: str) -> MeterReading | None:
        return next((r for r in self.readings if r.id == meter_reading_id), None)


@dataclass(frozen=True)
class Published:
    """A ReadingType and when the first of its channels was created (its entry's dates)."""

    reading_type: ReadingType
    published: datetime
    updated: datetime


@dataclass(frozen=True)
class Model:
    points: tuple[UsagePoint, ...]
    summaries: bool
    """Whether UsagePoints have UsageSummaries (FB 15/16 and Bill Sections in the Access)."""
    reading_types: Mapping[str, Published]
    """The MeterReadings' ReadingTypes by id, in the order they first appear."""

    def point(self, usage_point_id: str) -> UsagePoint | None:
        return next((p for p in self.points if p.id == usage_point_id), None)


def _published(points: Iterable[UsagePoint]) -> dict[str, Published]:
    """Each ReadingType with the creation of the first and the last of its channels."""
    found: dict[str, Published] = {}
    for point in points:
        for reading in point.readings:
            rt, created = reading.reading_type, reading.channel.created
            known = found.get(rt.id)
            if known is None:
                found[rt.id] = Published(rt, created, created)
            else:
                found[rt.id] = Published(
                    rt, min(known.published, created), max(known.updated, created)
                )
    return found


def load(
    session: Session,
    tz: ZoneInfo,
    access: Access,
    blocks: Collection[int],
    history_start: datetime | None,
    intervals: Collection[int] = (),
) -> Model:
    """The UsagePoints and MeterReadings the Access reaches (module docstring); `intervals`, when
    given, are the only interval lengths published (the scope's IntervalDuration)."""
    usage = access.usage
    summaries = bool(SUMMARY_BLOCKS & set(blocks)) and access.reach(SECTIONS) is not None
    if usage is None:
        return Model((), summaries, {})
    placed = _placed(session, tz, usage, history_start)
    channels = _channels(session, {meter for meter, _ in placed}, blocks, intervals)
    with_blocks = _with_blocks(session, tz, placed, channels)
    powers = _powers(session, {channel_id for channel_id, _ in with_blocks})
    contracts = _contracts(session, {point for _, point in placed})
    priced = _pricing(session, tz, contracts) if INTERVAL_COST in blocks else {}
    by_point: dict[str, list[MeterReading]] = defaultdict(list)
    for (meter_id, point_id), windows in placed.items():
        mine = [c for c in channels.values() if c.meter_id == meter_id]
        for channel in mine:
            if (channel.id, point_id) not in with_blocks:
                continue
            pricing = _billed(channel, mine, priced.get(point_id, ()))
            currency = pricing[0].currency if pricing else None
            multiplier = reading_type.multiplier(channel.units, powers[channel.id])
            by_point[point_id].append(
                MeterReading(
                    meter_reading.meter_reading_id(
                        meter_id, channel.kind, channel.direction, channel.interval_seconds
                    ),
                    channel,
                    windows,
                    reading_type.of_channel(
                        channel.kind,
                        channel.direction,
                        channel.units,
                        channel.interval_seconds,
                        multiplier,
                        currency,
                    ),
                    reading_type.UNITS[channel.units].shift - multiplier,
                    tuple(p for p in pricing if p.currency == currency),
                )
            )
    rows = session.execute(
        select(ServicePoint.id, ServicePoint.created, ServicePoint.modified).where(
            ServicePoint.id.in_(sorted(by_point))
        )
    ).all()
    points = []
    for point_id, created, modified in sorted(rows):
        readings = sorted(by_point[point_id], key=_reading_order)
        kind = usage_point.SERVICE_KINDS[readings[0].reading_type.commodity]
        served = tuple(sorted({c for c, *_ in contracts.get(point_id, ())}))
        points.append(UsagePoint(point_id, kind, created, modified, tuple(readings), served))
    return Model(tuple(points), summaries, _published(points))


def _placed(
    session: Session, tz: ZoneInfo, usage: UsageReach, history_start: datetime | None
) -> dict[tuple[str, str], tuple[Window, ...]]:
    """(meter, service point) -> the windows its usage may be read there (every installed meter
    is considered when the usage reach is unbounded, as for a direct-access grant)."""
    query = select(
        MeterInstallation.meter_id,
        MeterInstallation.service_point_id,
        MeterInstallation.start,
        MeterInstallation.end,
    )
    if usage.bounded:
        query = query.where(MeterInstallation.meter_id.in_(sorted(usage.meters)))
    history = Window(history_start, None)
    placed = {}
    for meter_id, point_id, start, end in session.execute(query):
        installed = Window(midnight(start, tz), midnight(end, tz))
        windows = tuple(
            clipped
            for window in usage.windows(meter_id)
            if (inside := window.clip(installed)) is not None
            and (clipped := inside.clip(history)) is not None
        )
        if windows:
            placed[meter_id, point_id] = windows
    return placed


def _channels(
    session: Session,
    meter_ids: Collection[str],
    blocks: Collection[int],
    intervals: Collection[int] = (),
) -> dict[int, ChannelRow]:
    """The meters' channels the function blocks and the interval lengths publish (read periods,
    interval 0, are not interval data: IntervalDuration does not apply to them)."""
    found = {}
    for row in session.execute(
        select(
            Channel.id,
            Channel.meter_id,
            Channel.kind,
            Channel.direction,
            Channel.units,
            Channel.interval_seconds,
            Channel.created,
        ).where(Channel.meter_id.in_(sorted(meter_ids)))
    ):
        channel = ChannelRow(*row)
        if not reading_type.publishable(channel.kind, channel.units):
            continue
        if intervals and channel.interval_seconds and channel.interval_seconds not in intervals:
            continue
        if COMMODITY_BLOCKS[reading_type.COMMODITIES[channel.kind]] in blocks:
            found[channel.id] = channel
    return found


def block_range(interval: int, windows: Iterable[Window], tz: ZoneInfo) -> ColumnElement[bool]:
    """Blocks of a channel of `interval` that may hold readings inside the windows: daily blocks
    from the local day a window starts in, read periods from the window's start."""
    ranges = []
    for window in windows:
        bounds: list[ColumnElement[bool]] = [true()]
        if window.start is not None:
            low = window.start if interval == 0 else day_start(local_day(window.start, tz), tz)
            bounds.append(UsageBlock.start >= low)
        if window.end is not None:
            bounds.append(UsageBlock.start < window.end)
        ranges.append(and_(*bounds))
    return or_(*ranges)


def _with_blocks(
    session: Session,
    tz: ZoneInfo,
    placed: Mapping[tuple[str, str], tuple[Window, ...]],
    channels: Mapping[int, ChannelRow],
) -> set[tuple[int, str]]:
    """(channel, service point) pairs with at least one block in the point's windows."""
    found = set()
    for (meter_id, point_id), windows in placed.items():
        for interval in {c.interval_seconds for c in channels.values() if c.meter_id == meter_id}:
            ids = [
                c.id
                for c in channels.values()
                if c.meter_id == meter_id and c.interval_seconds == interval
            ]
            stored = exists().where(
                UsageBlock.channel_id == Channel.id, block_range(interval, windows, tz)
            )
            for channel_id in session.scalars(
                select(Channel.id).where(Channel.id.in_(ids), stored)
            ):
                found.add((channel_id, point_id))
    return found


def _powers(session: Session, channels: Collection[int]) -> dict[int, list[int]]:
    """Each channel's decimal exponents over all its stored blocks (float blocks have none)."""
    found: dict[int, list[int]] = {c: [] for c in channels}
    rows = session.execute(
        select(UsageBlock.channel_id, func.substr(UsageBlock.values, 1, 2))
        .where(UsageBlock.channel_id.in_(sorted(channels)))
        .distinct()
    )
    for channel_id, head in rows:
        encoding, exponent = codec.header(bytes(head))
        if encoding != codec.FLOAT64:
            found[channel_id].append(exponent)
    return found


Served = tuple[str, date, date | None, str | None]
"""(contract id, first day, day after the last, rate plan id)"""


def _contracts(session: Session, point_ids: Collection[str]) -> dict[str, list[Served]]:
    found: dict[str, list[Served]] = defaultdict(list)
    for point_id, contract_id, start, end, plan_id in session.execute(
        select(
            ServicePointContract.service_point_id,
            ServicePointContract.contract_id,
            ServicePointContract.start,
            ServicePointContract.end,
            ServiceContract.rate_plan_id,
        )
        .join(ServiceContract, ServiceContract.id == ServicePointContract.contract_id)
        .where(ServicePointContract.service_point_id.in_(sorted(point_ids)))
    ):
        found[point_id].append((contract_id, start, end, plan_id))
    return found


def _pricing(
    session: Session, tz: ZoneInfo, contracts: Mapping[str, list[Served]]
) -> dict[str, list[Pricing]]:
    """Per service point, the periods a rate plan pricing each reading applies there."""
    plan_ids = {plan for served in contracts.values() for *_, plan in served if plan is not None}
    plans = {}
    for plan_id, currency, data in session.execute(
        select(RatePlan.id, RatePlan.currency, RatePlan.tariff).where(
            RatePlan.id.in_(sorted(plan_ids))
        )
    ):
        tariff = per_reading_tariff(data)
        if tariff is not None:
            plans[plan_id] = (tariff, currency)
    found: dict[str, list[Pricing]] = defaultdict(list)
    for point_id, served in contracts.items():
        for _, start, end, plan_id in sorted(served, key=lambda s: s[1]):
            if plan_id in plans:
                tariff, currency = plans[plan_id]
                found[point_id].append(
                    Pricing(midnight(start, tz), midnight(end, tz), tariff, currency)
                )
    return found


def _billed(
    channel: ChannelRow, meter_channels: list[ChannelRow], pricing: Iterable[Pricing]
) -> tuple[Pricing, ...]:
    """The pricing periods whose rate plan bills this channel (module docstring)."""
    if channel.interval_seconds == 0:
        return ()
    return tuple(
        priced
        for priced in pricing
        if billed_channel(meter_channels, priced.tariff, channel.interval_seconds) == channel
    )


def _reading_order(reading: MeterReading) -> tuple[int, str, int, int, str]:
    c = reading.channel
    return (
        reading.reading_type.commodity,
        c.kind,
        _DIRECTION_ORDER.get(c.direction, 3),
        c.interval_seconds,
        reading.id,
    )


# --- UsageSummaries ------------------------------------------------------------------------------


def summaries(
    session: Session,
    tz: ZoneInfo,
    access: Access,
    blocks: Collection[int],
    point: UsagePoint,
    history_start: datetime | None,
) -> list[usage_summary.Summary]:
    """The UsagePoint's UsageSummaries (module docstring; `usage_summary` for the fields)."""
    reach = access.reach(SECTIONS)
    if reach is None or not SUMMARY_BLOCKS & set(blocks) or not point.contracts:
        return []
    sections = [
        s
        for s in session.scalars(
            select(BillSection)
            .where(BillSection.contract_id.in_(point.contracts))
            .order_by(BillSection.start_date, BillSection.id)
        )
        if reach.flags(s.id) is not None
        and (history_start is None or day_start(s.end_date + timedelta(days=1), tz) > history_start)
    ]
    ids = [s.id for s in sections]
    totals = _totals(session, ids)
    costs = _costs(session, ids)
    items = _line_items(session, ids)
    agencies = dict(
        session.execute(
            select(Entity.id, Entity.name).where(
                Entity.id.in_(
                    {s.supply_entity_id for s in sections if s.supply_entity_id}
                    | {s.distribution_entity_id for s in sections if s.distribution_entity_id}
                )
            )
        ).all()
    )
    with_cost = bool(SUMMARY_COST_BLOCKS & set(blocks))
    current = _current_periods(session, tz, point, utcnow()) if CURRENT_PERIOD in blocks else {}
    found = []
    for section in sections:
        total = totals.get(section.id)
        open_period, changed = current.get(section.id, (None, None))
        flags = reach.flags(section.id) or frozenset()
        supplier_only = (
            "supply" in section.section_types and "distribution" not in section.section_types
        )
        agency = section.supply_entity_id if supplier_only else section.distribution_entity_id
        found.append(
            usage_summary.Summary(
                section_id=section.id,
                start=day_start(section.start_date, tz),
                end=day_start(section.end_date + timedelta(days=1), tz),
                published=section.created,
                updated=section.modified if changed is None else max(section.modified, changed),
                commodity=next(
                    (
                        _COMMODITY_OF_SECTION[t]
                        for t in section.section_types
                        if t in _COMMODITY_OF_SECTION
                    ),
                    None,
                ),
                consumption=None if total is None else usage_summary.measurement(*total),
                cost=_cost(
                    section,
                    costs.get(section.id, {}),
                    items.get(section.id, []),
                    LINE_ITEMS in flags,
                    tz,
                )
                if with_cost
                else None,
                agency=agencies.get(agency) if agency is not None else None,
                current=open_period,
            )
        )
    return found


def _totals(session: Session, section_ids: list[str]) -> dict[str, tuple[Decimal, str]]:
    """Each section's total usage (the `ami_reading` or `amr_reading` usage detail) and units."""
    found: dict[str, tuple[Decimal, str]] = {}
    for section_id, types, value, units in session.execute(
        select(
            BillUsageDetail.section_id,
            BillUsageDetail.types,
            BillUsageDetail.value,
            BillUsageDetail.units,
        )
        .where(BillUsageDetail.section_id.in_(section_ids))
        .order_by(BillUsageDetail.section_id, BillUsageDetail.position)
    ):
        if units and {"ami_reading", "amr_reading"} & set(types) and section_id not in found:
            found[section_id] = (value, units)
    return found


def _costs(session: Session, section_ids: list[str]) -> dict[str, dict[str, Decimal]]:
    """Each section's `overall_total` and `usage_charges` subtotal, when it has them."""
    found: dict[str, dict[str, Decimal]] = defaultdict(dict)
    for section_id, types, cost in session.execute(
        select(BillCostDetail.section_id, BillCostDetail.types, BillCostDetail.cost).where(
            BillCostDetail.section_id.in_(section_ids)
        )
    ):
        if "overall_total" in types:
            found[section_id]["total"] = cost
        elif "usage_charges" in types and "subtotal" in types:
            found[section_id]["usage"] = cost
    return found


def _line_items(session: Session, section_ids: list[str]) -> dict[str, list[BillLineItem]]:
    found: dict[str, list[BillLineItem]] = defaultdict(list)
    for item in session.scalars(
        select(BillLineItem)
        .where(BillLineItem.section_id.in_(section_ids))
        .order_by(BillLineItem.section_id, BillLineItem.position)
    ):
        found[item.section_id].append(item)
    return found


def _cost(
    section: BillSection,
    costs: Mapping[str, Decimal],
    items: list[BillLineItem],
    with_items: bool,
    tz: ZoneInfo,
) -> usage_summary.Cost | None:
    """The section's bill, what is not a usage charge, and those other line items."""
    total = costs.get("total")
    if total is None:
        return None
    usage = costs.get("usage")
    if usage is None:
        usage = sum((i.cost for i in items if "usage_charge" in i.types), Decimal(0))
    others = [i for i in items if "usage_charge" not in i.types] if with_items else []
    return usage_summary.Cost(
        currency=section.currency,
        bill=total,
        additional=total - usage,
        details=tuple(
            usage_summary.LineItem(
                amount=i.cost,
                note=i.name,
                item_kind=usage_summary.item_kind(i.types, i.cost),
                start=day_start(i.start_date, tz),
                end=day_start(i.end_date + timedelta(days=1), tz),
            )
            for i in others
        ),
    )


# --- the current billing period (FB 28) ---------------------------------------------------------


@dataclass(frozen=True)
class _Bill:
    section_id: str
    end_date: date
    types: tuple[str, ...]
    currency: str


@dataclass(frozen=True)
class _Read:
    """Readings inside a period as the bills take them, the end of the newest one and the last
    change of their blocks (None when there is none)."""

    usage: IntervalUsage
    end: datetime | None
    changed: datetime | None


Current = tuple[usage_summary.Current, datetime | None]
"""A section's current billing period and the last change of the blocks it counts."""


def _current_periods(
    session: Session, tz: ZoneInfo, point: UsagePoint, now: datetime
) -> dict[str, Current]:
    """Section id -> the current billing period after it, for the point's contracts' last bills
    (module docstring)."""
    links = session.execute(
        select(
            ServicePointContract.contract_id,
            ServicePointContract.start,
            ServicePointContract.end,
            RatePlan.currency,
            RatePlan.tariff,
        )
        .join(ServiceContract, ServiceContract.id == ServicePointContract.contract_id)
        .join(RatePlan, RatePlan.id == ServiceContract.rate_plan_id)
        .where(ServicePointContract.service_point_id == point.id)
    ).all()
    bills: dict[str, list[_Bill]] = defaultdict(list)
    for section_id, contract_id, end_date, types, currency in session.execute(
        select(
            BillSection.id,
            BillSection.contract_id,
            BillSection.end_date,
            BillSection.section_types,
            BillSection.currency,
        ).where(BillSection.contract_id.in_(sorted({link[0] for link in links})))
    ):
        bills[str(contract_id)].append(_Bill(section_id, end_date, tuple(types), currency))
    found: dict[str, Current] = {}
    for contract_id, start, end, currency, data in links:
        try:
            tariff = parse_tariff(data)
        except TariffError:
            continue
        billed = _billed_readings(point, tariff)
        if not billed:
            continue
        served = Window(midnight(start, tz), midnight(end, tz))
        ends = [w.end for r in billed for w in r.windows]
        reach_end = None if None in ends else max(e for e in ends if e is not None)
        until = earlier(now, earlier(served.end, reach_end))
        assert until is not None  # now is never None
        closed = [b for b in bills[contract_id] if _after(b.end_date, tz) <= until]
        if not closed:
            continue
        last = max(b.end_date for b in closed)
        period = Window(_after(last, tz), until)
        if served.end is not None and served.end <= _after(last, tz):
            continue  # the contract's final bill: nothing is open
        inside = period.clip(served) or Window(until, until)
        usage = _read(session, tz, billed, inside)
        demand = None
        if tariff.demand_rates:
            demanded = [r for r in point.readings if _is_demand(r)]
            demand = _read(session, tz, demanded, inside).usage if demanded else None
        as_of = usage.end or inside.start or until
        for bill in (b for b in closed if b.end_date == last):
            components = tuple(c for c in COMPONENTS if c in bill.types) or COMPONENTS
            priced = tariff.structure != "tiered" and currency == bill.currency
            to_date = None
            if priced:
                to_date = _to_date(tariff, tz, inside, usage, demand, components)
            found[bill.section_id] = (
                usage_summary.Current(
                    consumption=usage_summary.measurement(usage.usage.total(), tariff.units, as_of),
                    bill_to_date=to_date,
                    currency=currency,
                    as_of=as_of,
                ),
                usage.changed,
            )
    return found


def _after(end_date: date, tz: ZoneInfo) -> datetime:
    """The instant a bill period ending on `end_date` (inclusive) ends."""
    return day_start(end_date + timedelta(days=1), tz)


def _billed_readings(point: UsagePoint, tariff: Tariff) -> list[MeterReading]:
    """Per meter, the interval MeterReading the plan bills (`utility.tariffs.billed_channel`;
    the shortest interval first, as the readings are ordered)."""
    chosen: dict[str, MeterReading] = {}
    by_meter: dict[str, list[MeterReading]] = defaultdict(list)
    for reading in point.readings:
        if reading.channel.interval_seconds > 0:
            by_meter[reading.channel.meter_id].append(reading)
    for meter_id, readings in by_meter.items():
        for reading in readings:
            channels = [r.channel for r in readings]
            billed = billed_channel(channels, tariff, reading.channel.interval_seconds)
            if billed == reading.channel and meter_id not in chosen:
                chosen[meter_id] = reading
    return list(chosen.values())


def _is_demand(reading: MeterReading) -> bool:
    c = reading.channel
    return (c.kind, c.direction) == DEMAND and c.interval_seconds > 0


def _read(
    session: Session, tz: ZoneInfo, readings: Iterable[MeterReading], period: Window
) -> _Read:
    """The readings' values inside `period` and their windows, as their IntervalBlocks show them
    (`interval_block.readings`), at local wall-clock times."""
    parts: list[IntervalUsage] = []
    end: datetime | None = None
    changed: datetime | None = None
    for reading in readings:
        windows = tuple(c for w in reading.windows if (c := w.clip(period)) is not None)
        if not windows:
            continue
        interval = reading.channel.interval_seconds
        rows = session.execute(
            select(
                UsageBlock.start,
                UsageBlock.interval_seconds,
                UsageBlock.count,
                UsageBlock.values,
                UsageBlock.quality,
                UsageBlock.created,
                UsageBlock.modified,
            )
            .where(
                UsageBlock.channel_id == reading.channel.id,
                block_range(interval, windows, tz),
            )
            .order_by(UsageBlock.start)
        ).all()
        for row in rows:
            block = interval_block.Block(*row)
            shown = interval_block.readings(block, windows, reading.power, None)
            if shown is None:
                continue
            local = local_starts(block.start, block.interval_seconds, block.count, tz)
            index = (shown.starts - int(block.start.timestamp())) // block.interval_seconds
            parts.append(IntervalUsage(local[index], shown.values, -reading.power))
            end = shown.end if end is None else max(end, shown.end)
            changed = block.modified if changed is None else max(changed, block.modified)
    return _Read(IntervalUsage.join(parts), end, changed)


def _to_date(
    tariff: Tariff,
    tz: ZoneInfo,
    period: Window,
    usage: _Read,
    demand: IntervalUsage | None,
    components: tuple[str, ...],
) -> Decimal:
    """The bill so far: the period's local days up to the newest reading's, priced as a bill."""
    if usage.end is None or period.start is None:
        return Decimal(0)
    first = local_day(period.start, tz)
    last = local_day(usage.end - timedelta(microseconds=1), tz)
    return bill_section(
        tariff, first, last, usage.usage, components=components, demand=demand
    ).total
