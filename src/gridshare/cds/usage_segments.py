"""CDS-WG3-01 §10.8 Usage Segments API: `GET cds_usagesegments_api` lists the Usage Segments the
token reaches (`Access.usage`), served from the usage blocks (DESIGN rule 3).

- **One Usage Segment** is one meter's channels of one interval length on one local day: the
  blocks of those channels starting that day. Its id is `{meter_id}-{interval}-{YYYYMMDD}` (the
  channel interval in seconds, the local day of the blocks). A read-period channel (`interval` 0,
  one value per bill period) gives one segment per period, its `interval` the period's length and
  one Value Set (§10.8.1); its id carries interval 0.
- **Trimming** (§7.3.6, §7.3.7): a segment is cut to the Value Sets whose intervals lie wholly
  inside a window the token may see (`UsageReach.windows`: the periods the meter measured the
  Customer's contracts, clipped to `segment_start`/`segment_end`/`sync_until`); its
  `segment_start`/`segment_end` move accordingly. A piece that does not start with its day gets
  the id suffix `-{index of its first value}`. A period value not wholly inside is left out.
- **Formats** (§10.8.2, §7.2.8.1): one Value Format per channel with a block in the segment, the
  `usagesegment_format` of the `include_usage_segment_value_types` choice matching the channel's
  kind, units and direction; only the chosen ones when the Grant lists them, none (and no values)
  when it is null. Channels no choice describes (e.g. kW demand) appear only when the token's
  scopes do not restrict the value types, with a Value Format made from the channel.
- **Values** (§10.8.3-§10.8.5): one Value Set per interval, a Value Object `{"eu": ...}` (`ed`,
  `gu`, `wu`, `fu` by type) per format, `null` where the channel has no value. A reading whose
  quality is not the default `valid` carries it as `"quality"` in its Value Object (a Server
  field, §10.8.4: the choices' formats name no quality). Written by `utility.usage_read` without a
  Python object per reading; a segment of one channel that is not trimmed copies the block's
  stored `values_json` (DESIGN rule 3), decoded only for blocks written without it.
- **Supply mix and cost** (§10.8.5.3, §10.8.5.7), when the token's value types allow them:
  electric segments carry the supplier's (else distributor's) `supply_mix` rows, one format per
  (attribution, supply_type), EACs only those the token reaches; interval segments carry the
  billed usage's energy cost at the rate plan's rates (`tariffs.interval_rates`, tou and flat
  plans). Such segments are multi-format: their values are encoded, never the stored copy.
- **Related ids** (§10.8.1) are those of the spans (meter x service point x contract) covering the
  segment, listed only when the token reaches them; Bill Sections of those contracts whose dates
  overlap the segment; Aggregations having the meter, a point, a contract or an account as member.
- **Aggregated usage** (§4.11, §4.12, §10.7.7): for each Aggregation in `UsageReach.aggregations`
  (a Usage Query naming `aggregation_numbers`), one segment per local day and interval length,
  id `agg-{aggregation_id}-{interval}-{YYYYMMDD}`, with one Value Format per value type (electric
  usage by direction, natural gas, water; units as stored) whose values are the sums over the
  Aggregation's member meters while members (`grants.aggregates`), computed by numpy over the
  blocks (`usage_read.summed`). A sum with a member's reading missing is `null`; sums carry no
  reading quality. `related_aggregations` names the Aggregation and every other related list is
  empty (members are never revealed, §12.3); the related-id and Bill Section filters match no
  aggregated segment. Trimmed to the Grant's windows as above.
- **Order** (§10.8.8): `aggregation_number` (the lowest of the related Aggregations, empty when
  none), `account_number`, `contract_number` (of the covering span that sorts first), then
  `segment_start`, then `cds_modified` newest first (then meter id and interval, to be total).
  Paging is by keyset: the cursor names the last segment's sort key; a page reads the keys of at
  most a page of segments (no blob) per query and then only the blocks it writes.
"""

from __future__ import annotations

import re
from collections import defaultdict
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from itertools import pairwise
from typing import Annotated, Any, Final
from zoneinfo import ZoneInfo

import numpy as np
import orjson
from fastapi import APIRouter, Query, Request, Response
from sqlalchemy import (
    ColumnElement,
    Select,
    String,
    and_,
    cast,
    false,
    func,
    literal,
    or_,
    select,
    true,
    tuple_,
)
from sqlalchemy.orm import Session

from gridshare import urls
from gridshare.api.errors import insufficient_scope, invalid_request
from gridshare.api.pagination import (
    CURSOR,
    Cursor,
    CursorQuery,
    Order,
    Page,
    SortKey,
    datetime_param,
    decode_cursor,
    encode_cursor,
    page_url,
)
from gridshare.cds.customer_data import AccessDep, id_list, respond
from gridshare.config import Settings
from gridshare.grants.access import Access
from gridshare.grants.aggregates import member_meters
from gridshare.grants.reach import (
    ACCOUNTS,
    AGGREGATIONS,
    CONTRACTS,
    EACS,
    METERS,
    POINTS,
    SECTIONS,
    Reach,
    UsageReach,
    Window,
)
from gridshare.grants.scopes import VALUE_TYPES_FIELD, load_catalogue
from gridshare.http import SessionDep, SettingsDep
from gridshare.store.tables.accounts import Account
from gridshare.store.tables.aggregations import Aggregation, AggregationMember
from gridshare.store.tables.bills import BillSection
from gridshare.store.tables.contracts import RatePlan, ServiceContract
from gridshare.store.tables.eacs import SupplyMix
from gridshare.store.tables.meters import MeterDevice
from gridshare.store.tables.servicepoints import ServicePoint
from gridshare.store.tables.usage import Channel, UsageBlock
from gridshare.timefmt import rfc3339
from gridshare.utility.tariffs import (
    Tariff,
    billed_channel,
    interval_rates,
    per_reading_tariff,
)
from gridshare.utility.usage import day_start, local_day
from gridshare.utility.usage_read import (
    VALUE_KEYS,
    Column,
    Span,
    cost_tokens,
    local_starts,
    period_tokens,
    spans,
    summed,
    value_sets,
)

router = APIRouter(tags=["CDS-WG3-01 Customer Data"])

DEMAND_TYPE: Final = "average"
"""Our demand channels hold the average demand over each interval (§10.8.7.7)."""
DIRECTIONS: Final = {"net": 0, "forward": 1, "reverse": 2}
"""Which usage channel a rate plan bills: net metering the net one, other meters their only one."""
SUPPLY_MIX: Final = "electric_supply_mix"
COST: Final = "cost"
ELECTRIC: Final = frozenset({"electric_usage", "electric_demand"})
ATTRIBUTIONS: Final = ("base", "individual", "residual")
"""§10.8.7.8, the order of supply mix formats in a segment (then §10.8.7.9's order)."""
SUPPLY_TYPES: Final = (
    "general",
    "carbonfree",
    "peaker",
    "solar",
    "wind",
    "hydro",
    "geothermal",
    "biomass",
    "nuclear",
    "storage",
    "demand_management",
    "distributed",
    "natural_gas",
    "coal",
    "oil",
)
LOW: Final = datetime(1900, 1, 1, tzinfo=UTC)
HIGH: Final = datetime(9999, 1, 1, tzinfo=UTC)
"""Open window ends, as instants no block reaches."""
LONGEST_PERIOD: Final = timedelta(days=62)
"""Read periods are shorter than this (the `after` filter's SQL bound for them)."""
AGGREGATED: Final = "agg-"
"""The prefix of an Aggregation's aggregated usage in segment ids (in place of a meter id)."""
SUMMED_KINDS: Final = frozenset({"electric_usage", "natural_gas_usage", "water_usage"})
"""The channel kinds whose values are summed into aggregated usage."""
_ID = re.compile(r"^(.+)-(\d{1,7})-(\d{8})(?:-(\d{1,5}))?$")


@router.get(urls.USAGE_SEGMENTS, summary="List Usage Segments (CDS-WG3-01 §10.8.8)")
def list_usage_segments(
    request: Request,
    access: AccessDep,
    session: SessionDep,
    settings: SettingsDep,
    cds_usagesegment_ids: Annotated[str | None, Query()] = None,
    before: Annotated[str | None, Query()] = None,
    after: Annotated[str | None, Query()] = None,
    cds_account_ids: Annotated[str | None, Query()] = None,
    account_numbers: Annotated[str | None, Query()] = None,
    cds_servicecontract_ids: Annotated[str | None, Query()] = None,
    contract_numbers: Annotated[str | None, Query()] = None,
    cds_servicepoint_ids: Annotated[str | None, Query()] = None,
    servicepoint_numbers: Annotated[str | None, Query()] = None,
    cds_meterdevice_ids: Annotated[str | None, Query()] = None,
    meter_numbers: Annotated[str | None, Query()] = None,
    cds_billsection_ids: Annotated[str | None, Query()] = None,
    cursor: CursorQuery = None,
) -> Response:
    usage = access.usage
    if usage is None:
        raise insufficient_scope("a scope that includes usagesegments")
    filters = Filters(
        segment_ids=_segment_ids(id_list("cds_usagesegment_ids", cds_usagesegment_ids)),
        before=datetime_param("before", before),
        after=datetime_param("after", after),
        related={
            "accounts": _set(id_list("cds_account_ids", cds_account_ids)),
            "account_numbers": _set(id_list("account_numbers", account_numbers)),
            "contracts": _set(id_list("cds_servicecontract_ids", cds_servicecontract_ids)),
            "contract_numbers": _set(id_list("contract_numbers", contract_numbers)),
            "points": _set(id_list("cds_servicepoint_ids", cds_servicepoint_ids)),
            "point_numbers": _set(id_list("servicepoint_numbers", servicepoint_numbers)),
            "meters": _set(id_list("cds_meterdevice_ids", cds_meterdevice_ids)),
            "meter_numbers": _set(id_list("meter_numbers", meter_numbers)),
        },
        sections=_set(id_list("cds_billsection_ids", cds_billsection_ids)),
    )
    position = _position(decode_cursor(cursor))
    listing = Listing(session, settings.tz, access, usage, filters, formats(settings, usage))
    found, nxt, prev = listing.page(position, settings.usage_page_size)
    items = listing.segments_json(found)

    def link(at: Cursor | None) -> str | None:
        return None if at is None else page_url(settings, request, CURSOR, encode_cursor(at))

    page: Page[Any] = Page(items, link(nxt), link(prev))
    return respond(access, "usage_segments", items, page)


# --- filters -----------------------------------------------------------------------------------


@dataclass(frozen=True)
class SegmentId:
    meter_id: str
    interval: int
    day: date
    index: int


@dataclass(frozen=True)
class Filters:
    segment_ids: frozenset[SegmentId] | None
    before: datetime | None
    after: datetime | None
    related: Mapping[str, frozenset[str] | None]
    sections: frozenset[str] | None


def _set(values: list[str] | None) -> frozenset[str] | None:
    return None if values is None else frozenset(values)


def _segment_ids(values: list[str] | None) -> frozenset[SegmentId] | None:
    """Our segment ids; an id of another shape names no segment (it matches nothing)."""
    if values is None:
        return None
    found = set()
    for value in values:
        matched = _ID.match(value)
        if matched is None:
            continue
        meter_id, interval, day, index = matched.groups()
        try:
            when = datetime.strptime(day, "%Y%m%d").date()
        except ValueError:
            continue
        found.add(SegmentId(meter_id, int(interval), when, int(index or 0)))
    return frozenset(found)


def segment_id(meter_id: str, interval: int, day: date, index: int) -> str:
    """The id of the segment of `meter_id`'s channels of `interval` on `day` from value `index`."""
    base = f"{meter_id}-{interval}-{day:%Y%m%d}"
    return base if index == 0 else f"{base}-{index}"


# --- value formats -----------------------------------------------------------------------------


FormatKey = tuple[str, str | None, str | None]
"""What tells Value Formats of one type apart: (type, units, direction) for measurements,
(type, attribution, supply_type) for supply mix, (type, currency, None) for cost."""


def format_key(value_format: Mapping[str, Any]) -> FormatKey:
    kind = str(value_format.get("type"))
    if kind == SUPPLY_MIX:
        return kind, value_format.get("attribution"), value_format.get("supply_type")
    if kind == COST:
        return kind, value_format.get("currency"), None
    return kind, value_format.get("units"), value_format.get("direction")


@dataclass(frozen=True)
class Formats:
    """The Value Formats of the catalogue's value-type choices, by `format_key`, and the token's
    allowed choice ids (None: every value type; empty: durations only)."""

    described: Mapping[FormatKey, tuple[str, Mapping[str, Any]]]
    allowed: frozenset[str] | None

    def of(self, channel: Channel) -> Mapping[str, Any] | None:
        """The Value Format of the channel's values, or None when the token may not see them."""
        if channel.kind not in VALUE_KEYS:
            return None
        made: dict[str, Any] = {
            "id": "_".join(filter(None, (channel.kind, channel.direction, channel.units))).lower(),
            "type": channel.kind,
            "units": channel.units,
        }
        if channel.kind == "electric_demand":
            made["demand_type"] = DEMAND_TYPE
        if channel.direction is not None:
            made["direction"] = channel.direction
        return self.allowed_format(made)

    def allowed_format(self, made: Mapping[str, Any]) -> Mapping[str, Any] | None:
        """The choice's Value Format describing the same values as `made`, or `made` itself
        when no choice does and the token's value types are not restricted; None when the
        token may not see them."""
        known = self.described.get(format_key(made))
        if self.allowed is not None:
            return known[1] if known is not None and known[0] in self.allowed else None
        return known[1] if known is not None else made

    @property
    def durations_only(self) -> bool:
        return self.allowed is not None and not self.allowed


def formats(settings: Settings, usage: UsageReach) -> Formats:
    described: dict[FormatKey, tuple[str, Mapping[str, Any]]] = {}
    for scope in load_catalogue(settings).scopes.values():
        described_field = scope.field(VALUE_TYPES_FIELD)
        if described_field is None:
            continue
        for choice in described_field.choices:
            value_format = choice.extra.get("usagesegment_format")
            if isinstance(value_format, Mapping):
                described.setdefault(format_key(value_format), (choice.id, dict(value_format)))
    return Formats(described, usage.formats)


# --- lanes: a meter's time under one listing group -----------------------------------------------


@dataclass(frozen=True)
class Lane:
    """A stretch of one meter's time [start, end) covered by the same spans."""

    meter_id: str
    start: datetime
    end: datetime
    contracts: frozenset[str]
    points: frozenset[str]
    accounts: frozenset[str]


GroupKey = tuple[str, str, str, str]
"""(aggregation_number, account_number, contract_number, contract id): §10.8.8 order."""


@dataclass(frozen=True)
class Key:
    """One row of a group's segment keys: the blocks of a meter's channels of one interval that
    start at `start` (no values)."""

    meter_id: str
    lane_interval: int
    start: datetime
    modified: datetime
    created: datetime
    length: int
    count: int


@dataclass(frozen=True)
class Segment:
    group: GroupKey
    key: Key
    lane: Lane
    first: int
    last: int
    """Value Sets [first, last) of the blocks."""

    @property
    def interval(self) -> int:
        return self.key.length if self.key.lane_interval == 0 else self.key.lane_interval

    @property
    def start(self) -> datetime:
        return self.key.start + timedelta(seconds=self.first * self.interval)

    @property
    def end(self) -> datetime:
        return self.key.start + timedelta(seconds=self.last * self.interval)


@dataclass
class Group:
    key: GroupKey
    lanes: list[Lane] = field(default_factory=list)


class Listing:
    """The Usage Segments one request may list, walked group by group in §10.8.8 order."""

    def __init__(
        self,
        session: Session,
        tz: ZoneInfo,
        access: Access,
        usage: UsageReach,
        filters: Filters,
        value_formats: Formats,
    ) -> None:
        self.session = session
        self.tz = tz
        self.access = access
        self.usage = usage
        self.filters = filters
        self.formats = value_formats
        self.spans = spans(session, self._meters(), tz)
        self.contract_accounts = {s.contract_id: s.account_id for s in self.spans}
        self.section_rows: list[tuple[str, str, date, date]] | None = None
        self._names()
        self.channels = self._channels()
        self.aggregated: dict[str, Mapping[str, tuple[Window, ...]]] = {}
        """`agg-{aggregation_id}` -> its member meters and the windows they count in"""
        groups = self._groups() + self._aggregated_groups()
        self.groups = sorted(groups, key=lambda g: g.key)

    # --- what may be listed --------------------------------------------------------------------

    def _meters(self) -> set[str] | None:
        meters = None if not self.usage.bounded else set(self.usage.meters)
        related = self.filters.related
        if related["meters"] is not None:
            meters = set(related["meters"]) if meters is None else meters & related["meters"]
        if related["meter_numbers"] is not None:
            numbered = set(
                self.session.scalars(
                    select(MeterDevice.id).where(
                        MeterDevice.meter_number.in_(list(related["meter_numbers"]))
                    )
                )
            )
            meters = numbered if meters is None else meters & numbered
        if self.filters.segment_ids is not None:
            named = {s.meter_id for s in self.filters.segment_ids}
            meters = named if meters is None else meters & named
        return meters

    def _names(self) -> None:
        """Numbers of the spans' records, and the Aggregations they are members of."""
        s = self.session
        contract_ids = {x.contract_id for x in self.spans}
        account_ids = {x.account_id for x in self.spans}
        point_ids = {x.point_id for x in self.spans}
        meter_ids = {x.meter_id for x in self.spans}
        self.contract_numbers = dict(
            s.execute(
                select(ServiceContract.id, ServiceContract.contract_number).where(
                    ServiceContract.id.in_(contract_ids)
                )
            ).all()
        )
        self.account_numbers = dict(
            s.execute(
                select(Account.id, Account.account_number).where(Account.id.in_(account_ids))
            ).all()
        )
        self.point_numbers = dict(
            s.execute(
                select(ServicePoint.id, ServicePoint.servicepoint_number).where(
                    ServicePoint.id.in_(point_ids)
                )
            ).all()
        )
        self.meter_numbers = dict(
            s.execute(
                select(MeterDevice.id, MeterDevice.meter_number).where(
                    MeterDevice.id.in_(meter_ids)
                )
            ).all()
        )
        self.memberships: dict[str, set[str]] = defaultdict(set)
        """member record id -> Aggregation ids the token reaches"""
        self.aggregation_numbers: dict[str, str] = {}
        reach = self.access.reach(AGGREGATIONS)
        if reach is None:
            return
        owned = contract_ids | account_ids | point_ids | meter_ids
        for aggregation_id, number, *members in s.execute(
            select(
                AggregationMember.aggregation_id,
                Aggregation.aggregation_number,
                AggregationMember.account_id,
                AggregationMember.contract_id,
                AggregationMember.service_point_id,
                AggregationMember.meter_id,
            )
            .join(Aggregation, Aggregation.id == AggregationMember.aggregation_id)
            .where(
                or_(
                    AggregationMember.account_id.in_(account_ids),
                    AggregationMember.contract_id.in_(contract_ids),
                    AggregationMember.service_point_id.in_(point_ids),
                    AggregationMember.meter_id.in_(meter_ids),
                )
            )
        ):
            if reach.flags(aggregation_id) is None:
                continue
            self.aggregation_numbers[aggregation_id] = number or ""
            for member in members:
                if member in owned:
                    self.memberships[member].add(aggregation_id)

    def _channels(self) -> dict[str, list[Channel]]:
        """Each listed meter's channels whose values the token may see (all of them when it may
        see durations only: the segments still exist)."""
        meter_ids = {x.meter_id for x in self.spans}
        found: dict[str, list[Channel]] = defaultdict(list)
        self.meter_channels: dict[str, list[Channel]] = defaultdict(list)
        for channel in self.session.scalars(
            select(Channel).where(Channel.meter_id.in_(meter_ids)).order_by(Channel.id)
        ):
            self.meter_channels[channel.meter_id].append(channel)
            if channel.kind in VALUE_KEYS and (
                self.formats.durations_only or self.formats.of(channel) is not None
            ):
                found[channel.meter_id].append(channel)
        return found

    def visible(self, kind: str, ids: frozenset[str] | set[str]) -> list[str]:
        reach = self.access.reach(kind)
        if reach is None:
            return []
        return sorted(i for i in ids if reach.flags(i) is not None)

    def _groups(self) -> list[Group]:
        by_meter: dict[str, list[Span]] = defaultdict(list)
        for span in self.spans:
            if span.meter_id in self.channels:
                by_meter[span.meter_id].append(span)
        groups: dict[GroupKey, Group] = {}
        for meter_id, meter_spans in by_meter.items():
            for lane in self._lanes(meter_id, meter_spans):
                key = self._group_key(lane)
                groups.setdefault(key, Group(key)).lanes.append(lane)
        return [groups[k] for k in sorted(groups)]

    def _aggregated_groups(self) -> list[Group]:
        """One group per reached Aggregation with channels to sum, keyed by its number first; its
        lanes are the token's windows, its "meter" the id prefix `agg-{aggregation_id}`."""
        wanted = self.usage.aggregations
        f = self.filters
        if not wanted or f.sections is not None or any(v is not None for v in f.related.values()):
            return []
        numbers = dict(
            self.session.execute(
                select(Aggregation.id, Aggregation.aggregation_number).where(
                    Aggregation.id.in_(sorted(wanted))
                )
            ).all()
        )
        grouped = member_meters(self.session, self.tz, sorted(wanted))
        meter_ids = sorted({m for meters in grouped.values() for m in meters})
        by_meter: dict[str, list[Channel]] = defaultdict(list)
        for channel in self.session.scalars(
            select(Channel)
            .where(
                Channel.meter_id.in_(meter_ids),
                Channel.kind.in_(sorted(SUMMED_KINDS)),
                Channel.interval_seconds > 0,
            )
            .order_by(Channel.id)
        ):
            if self.formats.durations_only or self.formats.of(channel) is not None:
                by_meter[channel.meter_id].append(channel)
        found = []
        for aggregation_id, windows in sorted(wanted.items()):
            pseudo = AGGREGATED + aggregation_id
            meters = grouped.get(aggregation_id, {})
            channels = [c for m in sorted(meters) for c in by_meter.get(m, [])]
            if not channels:
                continue
            self.aggregated[pseudo] = meters
            self.channels[pseudo] = channels
            lanes = [
                Lane(pseudo, w.start or LOW, w.end or HIGH, frozenset(), frozenset(), frozenset())
                for w in windows
            ]
            key = (numbers.get(aggregation_id) or "", "", "", pseudo)
            found.append(Group(key, lanes))
        return found

    def _lanes(self, meter_id: str, meter_spans: list[Span]) -> Iterator[Lane]:
        """The meter's time cut where its covering spans change, inside the token's windows and
        the listed Bill Sections' periods, kept when the related filters match."""
        cuts = sorted({s.start or LOW for s in meter_spans} | {s.end or HIGH for s in meter_spans})
        windows = [Window(w.start or LOW, w.end or HIGH) for w in self.usage.windows(meter_id)]
        for a, b in pairwise(cuts):
            covering = [s for s in meter_spans if (s.start or LOW) <= a and (s.end or HIGH) >= b]
            if not covering:
                continue
            contracts = frozenset(s.contract_id for s in covering)
            stretch = Window(a, b)
            for window in self._section_windows(contracts, windows):
                clipped = stretch.clip(window)
                if clipped is None:
                    continue
                lane = Lane(
                    meter_id,
                    clipped.start or LOW,
                    clipped.end or HIGH,
                    contracts,
                    frozenset(s.point_id for s in covering),
                    frozenset(s.account_id for s in covering),
                )
                if self._matches(lane):
                    yield lane

    def _section_windows(
        self, contracts: frozenset[str], windows: list[Window]
    ) -> Iterator[Window]:
        if self.filters.sections is None:
            yield from windows
            return
        if self.section_rows is None:
            self.section_rows = self._sections(frozenset(self.contract_accounts))
        for section_id, contract_id, first, last in self.section_rows:
            if section_id not in self.filters.sections:
                continue
            period = Window(day_start(first, self.tz), day_start(last + timedelta(days=1), self.tz))
            for window in windows:
                clipped = period.clip(window)
                if clipped is not None and contract_id in contracts:
                    yield clipped

    def _sections(self, contracts: frozenset[str]) -> list[tuple[str, str, date, date]]:
        """Bill Sections of these contracts the token reaches: (id, contract, start, end)."""
        reach = self.access.reach(SECTIONS)
        if reach is None or not contracts:
            return []
        return [
            (section_id, contract_id, first, last)
            for section_id, contract_id, first, last in self.session.execute(
                select(
                    BillSection.id,
                    BillSection.contract_id,
                    BillSection.start_date,
                    BillSection.end_date,
                ).where(BillSection.contract_id.in_(list(contracts)))
            )
            if contract_id is not None and reach.flags(section_id) is not None
        ]

    def _matches(self, lane: Lane) -> bool:
        related = self.filters.related
        seen = {
            "accounts": set(self.visible(ACCOUNTS, lane.accounts)),
            "contracts": set(self.visible(CONTRACTS, lane.contracts)),
            "points": set(self.visible(POINTS, lane.points)),
            "meters": set(self.visible(METERS, {lane.meter_id})),
        }
        numbers: dict[str, tuple[set[str], Mapping[str, str | None]]] = {
            "account_numbers": (seen["accounts"], self.account_numbers),
            "contract_numbers": (seen["contracts"], self.contract_numbers),
            "point_numbers": (seen["points"], self.point_numbers),
            "meter_numbers": (seen["meters"], self.meter_numbers),
        }
        for name, wanted in related.items():
            if wanted is None:
                continue
            if name in seen:
                if not seen[name] & wanted:
                    return False
            else:
                ids, names = numbers[name]
                if not {names.get(i) for i in ids} & wanted:
                    return False
        return True

    def aggregations(self, lane: Lane) -> set[str]:
        found: set[str] = set()
        for member in (lane.meter_id, *lane.points, *lane.contracts, *lane.accounts):
            found |= self.memberships.get(member, set())
        return found

    def _group_key(self, lane: Lane) -> GroupKey:
        numbers = [self.aggregation_numbers[a] for a in self.aggregations(lane)]
        first = min(
            (
                self.account_numbers.get(self._account_of(c), None) or "",
                self.contract_numbers.get(c) or "",
                c,
            )
            for c in lane.contracts
        )
        return (min(numbers, default=""), *first)

    def _account_of(self, contract_id: str) -> str:
        return self.contract_accounts.get(contract_id, "")

    # --- keys ------------------------------------------------------------------------------------

    def _keys(self, group: Group) -> tuple[Select[Any], Order] | None:
        """The query of a group's segment keys (one row per meter, channel interval and block
        start) and their order within the group."""
        if group.key[3] in self.aggregated:
            return self._aggregated_keys(group)
        conditions = []
        for lane in group.lanes:
            channels = self.channels.get(lane.meter_id, [])
            daily = [c.id for c in channels if c.interval_seconds > 0]
            periods = [c.id for c in channels if c.interval_seconds == 0]
            first_day = day_start(local_day(lane.start, self.tz), self.tz)
            if daily:
                conditions.append(
                    and_(
                        UsageBlock.channel_id.in_(daily),
                        UsageBlock.start >= first_day,
                        UsageBlock.start < lane.end,
                    )
                )
            if periods:
                conditions.append(
                    and_(
                        UsageBlock.channel_id.in_(periods),
                        UsageBlock.start >= lane.start,
                        UsageBlock.start < lane.end,
                    )
                )
        if not conditions:
            return None
        query = (
            select(
                Channel.meter_id.label("meter_id"),
                Channel.interval_seconds.label("lane_interval"),
                UsageBlock.start.label("start"),
                func.max(UsageBlock.modified).label("modified"),
                func.min(UsageBlock.created).label("created"),
                func.max(UsageBlock.interval_seconds).label("length"),
                func.max(UsageBlock.count).label("blocks"),
            )
            .join(Channel, Channel.id == UsageBlock.channel_id)
            .where(or_(*conditions), *self._key_filters())
            .group_by(Channel.meter_id, Channel.interval_seconds, UsageBlock.start)
        )
        sub = query.subquery()
        order = Order(
            keys=(
                SortKey(sub.c.start, "start"),
                SortKey(sub.c.modified, "modified", descending=True),
                SortKey(sub.c.meter_id, "meter_id"),
                SortKey(sub.c.lane_interval, "lane_interval"),
            )
        )
        return select(sub), order

    def _aggregated_keys(self, group: Group) -> tuple[Select[Any], Order] | None:
        """The keys of an Aggregation's segments: one per channel interval and block start of
        its members' channels while they are members, within the token's windows."""
        pseudo = group.key[3]
        meters = self.aggregated[pseudo]
        by_windows: dict[tuple[Window, ...], list[int]] = defaultdict(list)
        for channel in self.channels[pseudo]:
            by_windows[meters[channel.meter_id]].append(channel.id)
        conditions = []
        for windows, channel_ids in by_windows.items():
            for window in windows:
                for lane in group.lanes:
                    clipped = Window(window.start or LOW, window.end or HIGH).clip(
                        Window(lane.start, lane.end)
                    )
                    if clipped is None or clipped.start is None or clipped.end is None:
                        continue
                    conditions.append(
                        and_(
                            UsageBlock.channel_id.in_(channel_ids),
                            UsageBlock.start
                            >= day_start(local_day(clipped.start, self.tz), self.tz),
                            UsageBlock.start < clipped.end,
                        )
                    )
        if not conditions:
            return None
        query = (
            select(
                cast(literal(pseudo), String(200)).label("meter_id"),
                Channel.interval_seconds.label("lane_interval"),
                UsageBlock.start.label("start"),
                func.max(UsageBlock.modified).label("modified"),
                func.min(UsageBlock.created).label("created"),
                func.max(UsageBlock.interval_seconds).label("length"),
                func.max(UsageBlock.count).label("blocks"),
            )
            .join(Channel, Channel.id == UsageBlock.channel_id)
            .where(or_(*conditions), *self._key_filters(pseudo))
            .group_by(Channel.interval_seconds, UsageBlock.start)
        )
        sub = query.subquery()
        order = Order(
            keys=(
                SortKey(sub.c.start, "start"),
                SortKey(sub.c.modified, "modified", descending=True),
                SortKey(sub.c.meter_id, "meter_id"),
                SortKey(sub.c.lane_interval, "lane_interval"),
            )
        )
        return select(sub), order

    def _key_filters(self, pseudo: str | None = None) -> list[ColumnElement[bool]]:
        found: list[ColumnElement[bool]] = []
        if self.filters.before is not None:
            found.append(UsageBlock.start <= self.filters.before)
        if self.filters.after is not None:
            after = self.filters.after
            first_day = day_start(local_day(after - timedelta(microseconds=1), self.tz), self.tz)
            found.append(
                or_(
                    and_(Channel.interval_seconds > 0, UsageBlock.start >= first_day),
                    and_(Channel.interval_seconds == 0, UsageBlock.start >= after - LONGEST_PERIOD),
                )
            )
        if self.filters.segment_ids is not None:
            named = [
                and_(
                    Channel.meter_id == s.meter_id if pseudo is None else true(),
                    Channel.interval_seconds == s.interval,
                    UsageBlock.start == day_start(s.day, self.tz),
                )
                for s in self.filters.segment_ids
                if pseudo is None or s.meter_id == pseudo
            ]
            found.append(or_(*named) if named else false())
        return found

    def _scan(self, group: Group, inner: Cursor | None, forward: bool, batch: int) -> Iterator[Key]:
        """The group's keys in listing order (backwards when not `forward`) beyond `inner`."""
        built = self._keys(group)
        if built is None:
            return
        query, order = built
        while True:
            window = query if inner is None else query.where(order.beyond(inner))
            rows = self.session.execute(window.order_by(*order.clauses(forward)).limit(batch)).all()
            for row in rows:
                yield Key(
                    row.meter_id,
                    row.lane_interval,
                    row.start,
                    row.modified,
                    row.created,
                    row.length,
                    row.blocks,
                )
            if len(rows) < batch:
                return
            inner = Cursor(order.position(rows[-1]), forward)

    def _segments(self, group: Group, key: Key) -> list[Segment]:
        """The segments of one key: one per lane of its meter the blocks overlap, trimmed."""
        found = []
        for lane in group.lanes:
            if lane.meter_id != key.meter_id:
                continue
            if key.lane_interval == 0:
                first, last = 0, 1
                if key.start < lane.start or key.start + timedelta(seconds=key.length) > lane.end:
                    continue
            else:
                step = key.lane_interval
                first = max(0, -(-int((lane.start - key.start).total_seconds()) // step))
                last = min(key.count, int((lane.end - key.start).total_seconds()) // step)
                if first >= last:
                    continue
            segment = Segment(group.key, key, lane, first, last)
            if self._wanted(segment):
                found.append(segment)
        return sorted(found, key=lambda s: s.start)

    def _wanted(self, segment: Segment) -> bool:
        f = self.filters
        if f.before is not None and segment.start > f.before:
            return False
        if f.after is not None and segment.end < f.after:
            return False
        if f.segment_ids is not None:
            day = local_day(segment.key.start, self.tz)
            named = SegmentId(segment.key.meter_id, segment.key.lane_interval, day, segment.first)
            return named in f.segment_ids
        return True

    # --- paging ----------------------------------------------------------------------------------

    def walk(
        self, position: tuple[GroupKey, Cursor] | None, forward: bool, batch: int
    ) -> Iterator[list[Segment]]:
        """The segments beyond `position`, key by key, in listing order (or backwards)."""
        groups = self.groups if forward else list(reversed(self.groups))
        for group in groups:
            inner = None
            if position is not None:
                if (group.key < position[0]) if forward else (group.key > position[0]):
                    continue
                if group.key == position[0]:
                    inner = position[1]
            for key in self._scan(group, inner, forward, batch):
                found = self._segments(group, key)
                if found:
                    yield found if forward else list(reversed(found))

    def page(
        self, position: Cursor | None, size: int
    ) -> tuple[list[Segment], Cursor | None, Cursor | None]:
        """A page of segments at the cursor, and the cursors of the next and previous pages."""
        located = None if position is None else self.locate(position)
        forward = position is None or position.forward
        batch = size + 1
        found: list[Segment] = []
        more = False
        for segments in self.walk(located, forward, batch):
            if len(found) >= size:
                more = True
                break
            found += segments
        if not forward:
            found.reverse()
        if found:
            before = _cursor(found[0], forward=False)
            after = _cursor(found[-1], forward=True)
        elif position is not None:
            before = position if not forward else position.other_side()
            after = position if forward else position.other_side()
        else:
            return [], None, None
        if forward:
            has_next = more
            has_previous = position is not None and self._any(before)
        else:
            has_next = self._any(after)
            has_previous = more
        return found, after if has_next else None, before if has_previous else None

    def locate(self, cursor: Cursor) -> tuple[GroupKey, Cursor]:
        """The group of the cursor's segment and its place within the group (400 when the
        token no longer reaches that segment's time)."""
        start, modified, meter_id, interval, first = cursor.values
        assert isinstance(start, datetime)
        step = int(str(interval))
        at = start + timedelta(seconds=int(str(first)) * step)
        for group in self.groups:
            for lane in group.lanes:
                if lane.meter_id == meter_id and lane.start <= at < lane.end:
                    inner: tuple[Any, ...] = (start, modified, meter_id, step)
                    return group.key, Cursor(inner, cursor.forward, cursor.inclusive)
        raise _stale()

    def _any(self, position: Cursor) -> bool:
        located = self.locate(position)
        return next(self.walk(located, position.forward, 2), None) is not None

    # --- objects ---------------------------------------------------------------------------------

    def segments_json(self, found: Sequence[Segment]) -> list[dict[str, Any]]:
        """The Usage Segment objects (§10.8.1) of a page."""
        blocks = self._blocks(found)
        sections = self._sections(frozenset(c for s in found for c in s.lane.contracts))
        extras = None if self.formats.durations_only else self._extras(found)
        related: dict[Lane, dict[str, list[str]]] = {}
        items = []
        for segment in found:
            key = segment.key
            lane = segment.lane
            if key.meter_id in self.aggregated:
                items.append(self._aggregated_json(segment, blocks))
                continue
            if lane not in related:
                related[lane] = self._related(lane)
            channels = [
                c
                for c in self.channels.get(key.meter_id, [])
                if c.interval_seconds == key.lane_interval and (c.id, key.start) in blocks
            ]
            channels.sort(key=_channel_order)
            if self.formats.durations_only:
                value_formats: list[Any] = []
                values = b"[]"
            else:
                value_formats = [self.formats.of(c) for c in channels]
                columns = [
                    Column(
                        VALUE_KEYS[c.kind],
                        blocks[c.id, key.start].values,
                        blocks[c.id, key.start].quality,
                        segment.first,
                        segment.last,
                    )
                    for c in channels
                ]
                derived = self._derived(segment, channels, value_formats, columns, extras)
                value_formats += [f for f, _ in derived]
                stored = blocks[channels[0].id, key.start] if len(channels) == 1 else None
                whole = segment.first == 0 and segment.last == key.count
                if stored is not None and whole and stored.encoded is not None and not derived:
                    values = stored.encoded
                else:
                    length = segment.last - segment.first
                    values = value_sets(columns, length, [t for _, t in derived])
            first_day = local_day(segment.start, self.tz)
            last_day = local_day(segment.end - timedelta(microseconds=1), self.tz)
            modified = rfc3339(key.modified)
            items.append(
                {
                    "cds_usagesegment_id": segment_id(
                        key.meter_id,
                        key.lane_interval,
                        local_day(key.start, self.tz),
                        segment.first,
                    ),
                    "cds_created": rfc3339(key.created),
                    "cds_modified": modified,
                    "cds_synced": modified,
                    **related[lane],
                    "related_billsections": sorted(
                        section_id
                        for section_id, contract_id, first, last in sections
                        if contract_id in lane.contracts and first <= last_day and last >= first_day
                    ),
                    "segment_start": rfc3339(segment.start),
                    "segment_end": rfc3339(segment.end),
                    "interval": segment.interval,
                    "formats": value_formats,
                    "values": orjson.Fragment(values),
                }
            )
        return items

    def _aggregated_json(
        self, segment: Segment, blocks: Mapping[tuple[int, datetime], Stored]
    ) -> dict[str, Any]:
        """An aggregated Usage Segment (module doc): per value type, the sum of the member
        meters' values while they are members; no member is named."""
        key = segment.key
        meters = self.aggregated[key.meter_id]
        count = segment.last - segment.first
        starts = int(segment.start.timestamp()) + np.arange(count, dtype=np.int64) * (
            segment.interval
        )
        types: dict[tuple[str, str | None, str], list[Channel]] = defaultdict(list)
        for channel in self.channels[key.meter_id]:
            if channel.interval_seconds == key.lane_interval:
                types[channel.kind, channel.direction, channel.units].append(channel)
        value_formats: list[Any] = []
        columns: list[Column] = []
        for _, channels in sorted(types.items(), key=lambda t: _channel_order(t[1][0])):
            parts = []
            for channel in channels:
                mask = np.zeros(count, dtype=np.bool_)
                for window in meters[channel.meter_id]:
                    first = int((window.start or LOW).timestamp())
                    last = int((window.end or HIGH).timestamp())
                    mask |= (starts >= first) & (starts + segment.interval <= last)
                stored = blocks.get((channel.id, key.start))
                parts.append((None if stored is None else stored.values, mask))
            if not any(b is not None and m.any() for b, m in parts):
                continue
            value_formats.append(self.formats.of(channels[0]))
            packed = summed(parts, segment.first, segment.last)
            columns.append(Column(VALUE_KEYS[channels[0].kind], packed, None, 0, count))
        if self.formats.durations_only:
            value_formats, values = [], b"[]"
        else:
            values = value_sets(columns, count)
        modified = rfc3339(key.modified)
        return {
            "cds_usagesegment_id": segment_id(
                key.meter_id, key.lane_interval, local_day(key.start, self.tz), segment.first
            ),
            "cds_created": rfc3339(key.created),
            "cds_modified": modified,
            "cds_synced": modified,
            "related_aggregations": [key.meter_id.removeprefix(AGGREGATED)],
            "related_accounts": [],
            "related_servicecontracts": [],
            "related_servicepoints": [],
            "related_meterdevices": [],
            "related_billsections": [],
            "segment_start": rfc3339(segment.start),
            "segment_end": rfc3339(segment.end),
            "interval": segment.interval,
            "formats": value_formats,
            "values": orjson.Fragment(values),
        }

    # --- supply mix and cost (§10.8.5.3, §10.8.5.7) -------------------------------------------

    def _extras(self, found: Sequence[Segment]) -> Extras:
        """What the page's supply mix and cost values come from: the lanes' contracts (their
        supplier, else distributor, and rate plan) and those entities' supply mix rows."""
        contract_ids = sorted({c for s in found for c in s.lane.contracts})
        services: dict[str, Service] = {}
        tariffs: dict[str, Tariff | None] = {}
        for (
            contract_id,
            types,
            supplier,
            distributor,
            plan_id,
            currency,
            data,
        ) in self.session.execute(
            select(
                ServiceContract.id,
                ServiceContract.service_types,
                ServiceContract.supply_entity_id,
                ServiceContract.distribution_entity_id,
                RatePlan.id,
                RatePlan.currency,
                RatePlan.tariff,
            )
            .outerjoin(RatePlan, RatePlan.id == ServiceContract.rate_plan_id)
            .where(ServiceContract.id.in_(contract_ids))
        ):
            if plan_id is not None and plan_id not in tariffs:
                tariffs[plan_id] = per_reading_tariff(data)
            tariff = None if plan_id is None else tariffs[plan_id]
            services[contract_id] = Service(
                "electric" in (types or ()),
                supplier or distributor,
                tariff,
                currency or "",
            )
        entities = {x.entity for x in services.values() if x.electric and x.entity is not None}
        mixes: dict[str, dict[tuple[str, str], list[tuple[int, int, bytes]]]] = defaultdict(
            lambda: defaultdict(list)
        )
        if entities and found:
            eacs = self.access.reach(EACS)
            first = min(s.start for s in found)
            last = max(s.end for s in found)
            for row in self.session.scalars(
                select(SupplyMix)
                .where(
                    SupplyMix.entity_id.in_(sorted(entities)),
                    SupplyMix.period_start < last,
                    SupplyMix.period_end > first,
                )
                .order_by(SupplyMix.period_start, SupplyMix.id)
            ):
                mixes[row.entity_id][row.attribution, row.supply_type].append(
                    (
                        int(row.period_start.timestamp()),
                        int(row.period_end.timestamp()),
                        _mix_object(row.share, row.carbon_intensity, row.eac_ids, eacs),
                    )
                )
        return Extras(services, mixes)

    def _derived(
        self,
        segment: Segment,
        channels: Sequence[Channel],
        value_formats: Sequence[Mapping[str, Any]],
        columns: Sequence[Column],
        extras: Extras | None,
    ) -> list[tuple[Mapping[str, Any], list[bytes]]]:
        """The segment's supply mix and cost Value Formats the token may see, each with its
        Value Objects."""
        if extras is None:
            return []
        services = [extras.services[c] for c in sorted(segment.lane.contracts)]
        count = segment.last - segment.first
        found: list[tuple[Mapping[str, Any], list[bytes]]] = []
        supplied = next((x for x in services if x.electric and x.entity is not None), None)
        if supplied is not None and any(c.kind in ELECTRIC for c in channels):
            usage_at = [
                i
                for i, f in enumerate(value_formats)
                if f["type"] == "electric_usage" and f.get("direction") != "reverse"
            ]
            start, end = int(segment.start.timestamp()), int(segment.end.timestamp())
            components = extras.mixes.get(supplied.entity or "", {})
            for attribution, supply_type in sorted(components, key=_mix_order):
                periods = [
                    p for p in components[attribution, supply_type] if p[0] < end and p[1] > start
                ]
                allowed = self.formats.allowed_format(
                    {
                        "id": f"{SUPPLY_MIX}_{attribution}_{supply_type}",
                        "type": SUPPLY_MIX,
                        "indexes": [],
                        "attribution": attribution,
                        "supply_type": supply_type,
                    }
                )
                if allowed is None or not periods:
                    continue
                starts = start + np.arange(count, dtype=np.int64) * segment.interval
                tokens = period_tokens(starts, segment.interval, periods)
                found.append(({**allowed, "indexes": usage_at}, tokens))
        if segment.key.lane_interval == 0:
            return found  # a read period spans TOU buckets and seasons: no per-value cost
        for service in services:
            tariff = service.tariff
            billed = None if tariff is None else self._billed(segment, channels, tariff)
            if tariff is None or billed is None:
                continue
            allowed = self.formats.allowed_format(
                {
                    "id": f"{COST}_{service.currency.lower()}",
                    "type": COST,
                    "currency": service.currency,
                    "indexes": [],
                }
            )
            if allowed is None:
                continue
            local = local_starts(segment.start, segment.interval, count, self.tz)
            rates, exponent = interval_rates(tariff, local)
            found.append(
                ({**allowed, "indexes": [billed]}, cost_tokens(columns[billed], rates, exponent))
            )
            break
        return found

    def _billed(self, segment: Segment, channels: Sequence[Channel], tariff: Tariff) -> int | None:
        """The position among `channels` of the channel the tariff bills (net metering bills the
        net channel, other meters their only usage channel), None when it is not shown."""
        meter_channels = self.meter_channels.get(segment.key.meter_id, [])
        billed = billed_channel(meter_channels, tariff, segment.key.lane_interval)
        if billed is None or billed not in channels:
            return None
        return list(channels).index(billed)

    def _related(self, lane: Lane) -> dict[str, list[str]]:
        """The related ids of a lane's segments the token reaches (but Bill Sections)."""
        return {
            "related_aggregations": sorted(self.aggregations(lane)),
            "related_accounts": self.visible(ACCOUNTS, lane.accounts),
            "related_servicecontracts": self.visible(CONTRACTS, lane.contracts),
            "related_servicepoints": self.visible(POINTS, lane.points),
            "related_meterdevices": self.visible(METERS, {lane.meter_id}),
        }

    def _blocks(self, found: Sequence[Segment]) -> dict[tuple[int, datetime], Stored]:
        """The page's blocks, by (channel id, start): one query over the page's channels and
        time span when the page's days are dense (cheaper than a keyset of hundreds of pairs),
        the pairs themselves when they are sparse (read periods, ids named far apart)."""
        pairs = {
            (c.id, s.key.start)
            for s in found
            for c in self.channels.get(s.key.meter_id, [])
            if c.interval_seconds == s.key.lane_interval
        }
        if not pairs:
            return {}
        starts = {start for _, start in pairs}
        first, last = min(starts), max(starts)
        span: ColumnElement[bool] = and_(
            UsageBlock.channel_id.in_(sorted({channel for channel, _ in pairs})),
            UsageBlock.start >= first,
            UsageBlock.start <= last,
        )
        if last - first > timedelta(days=2 * len(starts) + 2):
            span = tuple_(UsageBlock.channel_id, UsageBlock.start).in_(sorted(pairs))
        rows = self.session.execute(
            select(
                UsageBlock.channel_id,
                UsageBlock.start,
                UsageBlock.values,
                UsageBlock.quality,
                UsageBlock.values_json,
            ).where(span)
        )
        return {
            (channel, start): Stored(values, quality, encoded)
            for channel, start, values, quality, encoded in rows
            if (channel, start) in pairs
        }


@dataclass(frozen=True, slots=True)
class Service:
    """A Service Contract as its segments' derived values see it: whether it is electric, the
    entity whose supply mix applies (supplier, else distributor) and its rate plan's tariff (None
    when it has none, or one that cannot price a single reading)."""

    electric: bool
    entity: str | None
    tariff: Tariff | None
    currency: str


@dataclass(frozen=True, slots=True)
class Extras:
    """A page's contracts, and each entity's supply mix by (attribution, supply_type): sorted
    (start, end, Value Object) periods, epoch seconds."""

    services: Mapping[str, Service]
    mixes: Mapping[str, Mapping[tuple[str, str], list[tuple[int, int, bytes]]]]


def _mix_object(
    share: Decimal, intensity: Decimal | None, eac_ids: Sequence[str], eacs: Reach | None
) -> bytes:
    """An Electric Supply Mix Value Object (§10.8.5.3.2): exact decimals, and the EACs the token
    reaches (the field left out when it reaches none)."""
    made: dict[str, Any] = {"sm": orjson.Fragment(format(share, "f").encode())}
    if intensity is not None:
        made["ci"] = orjson.Fragment(format(intensity, "f").encode())
    shown = sorted(e for e in eac_ids if eacs is not None and eacs.flags(e) is not None)
    if shown:
        made["eacs"] = shown
    return orjson.dumps(made)


def _mix_order(component: tuple[str, str]) -> tuple[int, int, str, str]:
    attribution, supply_type = component
    return (
        ATTRIBUTIONS.index(attribution) if attribution in ATTRIBUTIONS else len(ATTRIBUTIONS),
        SUPPLY_TYPES.index(supply_type) if supply_type in SUPPLY_TYPES else len(SUPPLY_TYPES),
        attribution,
        supply_type,
    )


@dataclass(frozen=True, slots=True)
class Stored:
    """A block as the page reads it: packed values and quality, and its stored `values` array
    (None for blocks written before migration 0006)."""

    values: bytes
    quality: bytes | None
    encoded: bytes | None


def _channel_order(channel: Channel) -> tuple[str, int, str, int]:
    return (channel.kind, DIRECTIONS.get(channel.direction or "", 3), channel.units, channel.id)


def _cursor(segment: Segment, forward: bool) -> Cursor:
    """Where a page ends: the segment's key, without its group's numbers (the token may not see
    them); `Listing.locate` finds the group again."""
    key = segment.key
    return Cursor(
        (key.start, key.modified, key.meter_id, str(key.lane_interval), str(segment.first)),
        forward,
    )


def _position(cursor: Cursor | None) -> Cursor | None:
    """The cursor if it has the shape of ours, else 400."""
    if cursor is None:
        return None
    values = cursor.values
    if (
        len(values) != 5
        or not all(isinstance(v, datetime) for v in values[:2])
        or not all(isinstance(v, str) for v in values[2:])
        or not str(values[3]).isdigit()
        or not str(values[4]).isdigit()
    ):
        raise _stale()
    return cursor


def _stale() -> Exception:
    return invalid_request(
        f"{CURSOR} is not a page position this server gave out for this listing; follow the "
        f"listing's next and previous links as they are, or leave {CURSOR} out"
    )
