"""Joining a Green Button file's entries by their Atom links and putting their readings into
channels (NAESB REQ.21 ESPI; DIGEST §3).

The link rules: a MeterReading's `up` is one of its UsagePoint's `related` links, an
IntervalBlock's `up` one of its MeterReading's, a MeterReading links `related` to exactly one
ReadingType's `self`. Entries may come in any order: a block is placed as soon as the strict rules
join it, else kept (as its flat arrays) until the end of the file, when weaker rules are tried
where the strict ones fail, each with a warning: a `related` link naming the child itself rather
than its collection, a child's `self` lying under its parent's, the only candidate in the file.
Readings go straight into the per-day arrays of `readings` (no Python object per reading): an
interval channel's by local day of the utility's timezone, a read period's as a block of its own.
Self links must be unique; a reading given twice must be the same reading.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Final, TypeVar
from zoneinfo import ZoneInfo

from gridshare.utility import codec
from gridshare.utility.imports import espi_codes
from gridshare.utility.imports.errors import UsageImportError
from gridshare.utility.imports.greenbutton_channels import ChannelSpec, channel_spec
from gridshare.utility.imports.greenbutton_feed import (
    NO_QUALITY,
    NO_TIME,
    BlockEntry,
    Entry,
    Links,
    LocalTimeEntry,
    MeterReadingEntry,
    Problems,
    ReadingTypeEntry,
    SummaryEntry,
    UsagePointEntry,
)
from gridshare.utility.imports.greenbutton_records import PointPlan, SummaryPlan, numbers_for
from gridshare.utility.imports.readings import MISSING, ChannelReadings, DayReadings

E = TypeVar("E", bound=Entry)

FIELD_ELEMENTS: Final = {
    "value": "IntervalReading/value",
    "units": "ReadingType/uom",
    "interval_start": "IntervalReading/timePeriod/start",
    "interval_seconds": "ReadingType/intervalLength",
    "meter_number": "UsagePoint",
}
"""The element a loader error's field stands for."""


@dataclass(slots=True, eq=False)
class Target:
    """Where one MeterReading's readings go, and how their values are scaled."""

    channel: ChannelReadings
    plan: PointPlan
    spec: ChannelSpec
    qualities: dict[int, int] = field(default_factory=dict)
    """Codec quality by ESPI code (NO_QUALITY: the reading has none), as met."""


class Joiner:
    """Joins a file's entries as they are read and puts their readings into channels."""

    def __init__(self, tz: ZoneInfo, existing: PointPlan | None) -> None:
        self.tz = tz
        self.existing = existing
        self.problems = Problems()
        self.points: list[UsagePointEntry] = []
        self.point_related: dict[str, list[UsagePointEntry]] = {}
        self.meter_readings: list[MeterReadingEntry] = []
        self.reading_related: dict[str, list[MeterReadingEntry]] = {}
        self.reading_types: dict[str, ReadingTypeEntry] = {}
        self.local_times: dict[str, LocalTimeEntry] = {}
        self.summaries: list[SummaryEntry] = []
        self.pending: list[BlockEntry] = []
        self.selfs: dict[str, Entry] = {}
        self.plans: dict[UsagePointEntry, PointPlan] = {}
        self.targets: dict[MeterReadingEntry, Target | None] = {}
        self.channels: dict[tuple[str, str, str | None, int], ChannelReadings] = {}
        self.summary_plans: list[SummaryPlan] = []
        self.rows = 0
        self.missing = 0

    # Reading ---------------------------------------------------------------------------------

    def handle(self, entry: Entry) -> None:
        self._own_self(entry)
        if isinstance(entry, BlockEntry):
            target = self._target_of(entry, final=False)
            if isinstance(target, _Pending):
                self.pending.append(entry)
            elif isinstance(target, Target):
                self._feed(entry, target)
        elif isinstance(entry, UsagePointEntry):
            if self.existing is not None and self.points:
                self.problems.refuse(
                    entry.line,
                    "UsagePoint",
                    f"is the file's second UsagePoint (the first is at line {self.points[0].line})",
                    "one UsagePoint per file with --service-point; import without it to create a "
                    "service point per UsagePoint",
                )
            self.points.append(entry)
            _index(self.point_related, entry.links.related, entry)
        elif isinstance(entry, MeterReadingEntry):
            self.meter_readings.append(entry)
            _index(self.reading_related, entry.links.related, entry)
        elif isinstance(entry, ReadingTypeEntry):
            if entry.links.self_href is None:
                self.problems.warn(
                    entry.line,
                    "ReadingType",
                    "has no self link, so no MeterReading can name it",
                    "a self link that MeterReadings link `related`",
                )
            else:
                self.reading_types[entry.links.self_href] = entry
        elif isinstance(entry, LocalTimeEntry):
            self._local_time(entry)
        elif isinstance(entry, SummaryEntry):
            self.summaries.append(entry)

    def _own_self(self, entry: Entry) -> None:
        href = entry.links.self_href
        if href is None:
            return
        first = self.selfs.setdefault(href, entry)
        if first is not entry:
            self.problems.refuse(
                entry.line,
                "link rel=self",
                f"{href} is also the self link of the entry at line {first.line}",
                "a self link that names its entry alone (entries are joined by their links)",
            )

    def _local_time(self, entry: LocalTimeEntry) -> None:
        if entry.links.self_href is not None:
            self.local_times[entry.links.self_href] = entry
        standard = _standard_offset(self.tz)
        if entry.tz_offset is not None and entry.tz_offset != standard:
            self.problems.warn(
                entry.line,
                "LocalTimeParameters/tzOffset",
                f"the file's local time is UTC{_offset(entry.tz_offset)}, GRIDSHARE_TIMEZONE "
                f"{self.tz.key} is UTC{_offset(standard)}: readings are stored by the utility's "
                "local days (their times are exact either way)",
                "nothing to do if the file is of another time zone than the utility's",
            )

    # Joining ---------------------------------------------------------------------------------

    def _target_of(self, block: BlockEntry, *, final: bool) -> Target | _Pending | None:
        """Where the block's readings go: a `Target`, None (skipped or refused), or `PENDING`
        (not joinable by the strict rules yet)."""
        reading = self._parent(
            block, self.reading_related, self.meter_readings, final=final, what="IntervalBlock"
        )
        if isinstance(reading, _Pending):
            return reading
        if reading is None:
            self.problems.refuse(
                block.line,
                "IntervalBlock",
                f"{block.named()} belongs to no MeterReading (up {block.links.up or 'missing'})",
                "an up link equal to a `related` link of its MeterReading (DIGEST §3)",
                key="orphan block",
            )
            return None
        if reading in self.targets:
            return self.targets[reading]
        point = self._parent(
            reading, self.point_related, self.points, final=final, what="MeterReading"
        )
        reading_type = self._reading_type(reading, final=final)
        if isinstance(point, _Pending) or isinstance(reading_type, _Pending):
            return PENDING
        target = None
        if point is None:
            self.problems.refuse(
                reading.line,
                "MeterReading",
                f"{reading.named()} belongs to no UsagePoint (up {reading.links.up or 'missing'})",
                "an up link equal to a `related` link of its UsagePoint (DIGEST §3)",
            )
        elif reading_type is not None:
            target = self._channel(reading, reading_type, point, block)
        self.targets[reading] = target
        return target

    def _parent(
        self, child: Entry, index: dict[str, list[E]], every: list[E], *, final: bool, what: str
    ) -> E | _Pending | None:
        """The entry `child` belongs to: by its up link, or (once `final`) by a weaker rule."""
        links = child.links
        if links.up is not None:
            found = index.get(links.up, [])
            if len(found) == 1:
                return found[0]
            if found:
                self.problems.refuse(
                    child.line,
                    what,
                    f"{child.named()} has up {links.up}, which entries at lines "
                    f"{', '.join(str(e.line) for e in found)} all link `related`",
                    "a collection link that one parent entry has",
                )
                return None
        if not final:
            return PENDING
        for rule, found in _weaker_rules(links, index, every):
            if len(found) == 1:
                self.problems.warn(
                    child.line,
                    what,
                    f"{child.named()} has no up link its parent links `related`; joined to "
                    f"{found[0].named()} by {rule}",
                    "an up link equal to a `related` link of its parent (DIGEST §3)",
                    key=("joined", what, rule),
                )
                return found[0]
        return None

    def _reading_type(
        self, reading: MeterReadingEntry, *, final: bool
    ) -> ReadingTypeEntry | _Pending | None:
        types = self.reading_types
        found = list(dict.fromkeys(types[h] for h in reading.links.related if h in types))
        if len(found) == 1:
            return found[0]
        if found:
            self.problems.refuse(
                reading.line,
                "MeterReading",
                f"{reading.named()} links {len(found)} ReadingTypes "
                f"({', '.join(t.named() for t in found)})",
                "exactly one ReadingType per MeterReading",
            )
            return None
        if reading.reading_type is not None:
            return reading.reading_type
        if not final:
            return PENDING
        if len(types) == 1:
            only = next(iter(types.values()))
            self.problems.warn(
                reading.line,
                "MeterReading",
                f"{reading.named()} links no ReadingType; the file's only one ({only.named()}) "
                "was used",
                "a `related` link equal to its ReadingType's self link",
            )
            return only
        self.problems.refuse(
            reading.line,
            "MeterReading",
            f"{reading.named()} links no ReadingType (related: "
            f"{', '.join(reading.links.related) or 'none'}), so its readings cannot be read",
            "a `related` link equal to the self link of a ReadingType entry in the file",
        )
        return None

    def _plan(self, point: UsagePointEntry) -> PointPlan:
        plan = self.plans.get(point)
        if plan is not None:
            return plan
        if self.existing is not None:
            plan = self.existing
            plan.line = point.line
        else:
            key = _identity(point)
            if key is None:
                self.problems.refuse(
                    point.line,
                    "UsagePoint",
                    "has neither an Atom id nor a self link, so nothing names it across imports",
                    "an <id> (urn:uuid:...) or a self link; or import it with --service-point",
                )
                key = f"line {point.line}"
            service_point, meter = numbers_for(key)
            kind = point.service_kind
            plan = PointPlan(
                point.line,
                service_point,
                meter,
                existing=False,
                commodity=None if kind is None else espi_codes.SERVICE_KINDS.get(kind),
                meter_types=set(),
            )
        self.plans[point] = plan
        return plan

    # Channels --------------------------------------------------------------------------------

    def _channel(
        self,
        reading: MeterReadingEntry,
        reading_type: ReadingTypeEntry,
        point: UsagePointEntry,
        block: BlockEntry,
    ) -> Target | None:
        """Where a MeterReading's readings go, or None (skipped with a warning, or refused)."""
        plan = self._plan(point)
        spec = channel_spec(
            reading, reading_type, point.service_kind, block.durations, self.problems
        )
        if spec is None:
            return None
        if plan.existing and plan.commodity and plan.commodity != spec.commodity:
            self.problems.refuse(
                reading_type.line,
                "ReadingType",
                f"{reading.named()} measures {spec.commodity} but --service-point "
                f"{plan.servicepoint_number} is a {plan.commodity} service point",
                "the service point this file's usage was measured at",
            )
            return None
        key = (plan.meter_number, spec.kind, spec.direction, spec.interval)
        channel = self.channels.get(key)
        if channel is None:
            channel = ChannelReadings(
                plan.meter_number,
                spec.kind,
                spec.direction,
                spec.units,
                spec.interval,
                reading_type.line,
            )
            self.channels[key] = channel
        elif channel.units != spec.units:
            self.problems.refuse(
                reading_type.line,
                "ReadingType/uom",
                f"{channel.describe()} is given in {channel.units} by the ReadingType at line "
                f"{channel.line} but in {spec.units} here",
                "one unit per channel (meter, kind, direction and interval)",
            )
            return None
        if plan.commodity is None and not plan.existing:
            plan.commodity = spec.commodity
        if plan.meter_types is not None:
            plan.meter_types.add(spec.kind)
        return Target(channel, plan, spec)

    # Readings --------------------------------------------------------------------------------

    def _feed(self, block: BlockEntry, target: Target) -> None:
        """Put the block's readings into the target channel's day arrays."""
        channel = target.channel
        interval = channel.interval
        tz = self.tz
        spec = target.spec
        sign, exponent = spec.sign, spec.exponent
        exact = exponent >= -codec.MAX_EXPONENT_DIGITS
        starts, durations, values = block.starts, block.durations, block.values
        given, qualities, lines = block.given, block.qualities, block.lines
        cache = target.qualities
        known = [start for start in starts if start != NO_TIME]
        if known:
            target.plan.note_reading(min(known))
        for i in range(len(starts)):
            start, line = starts[i], lines[i]
            duration = durations[i]
            if start == NO_TIME:
                self._no_start(line)
                continue
            if not interval:
                day = self._period(channel, start, duration, line)
                if day is None:
                    continue
                index = 0
            else:
                if duration != interval and duration != NO_TIME:
                    self._wrong_duration(channel, duration, line)
                    continue
                day = channel.current
                if not day.start <= start < day.end:
                    try:
                        day = channel.day_at(start, tz, line)
                    except UsageImportError as error:
                        self.problems.refuse(*loader_problem(error), key=("day", channel))
                        return
                index, rest = divmod(start - day.start, interval)
                if rest:
                    self._misaligned(channel, start, line)
                    continue
            has_value = given[i]
            mantissa, scale = sign * values[i], exponent
            if has_value and not exact:
                scaled = self._exact(mantissa, exponent, line)
                if scaled is None:
                    continue
                mantissa, scale = scaled
            quality = cache.get(qualities[i])
            if quality is None:
                quality = self._quality(qualities[i], target, line)
            if day.lines[index]:
                self._repeated(
                    channel, day, index, start, (mantissa, scale, has_value, quality), line
                )
                continue
            day.lines[index] = line
            if has_value:
                day.mantissas[index] = mantissa
                day.exponents[index] = scale
            else:
                day.exponents[index] = MISSING
                self.missing += 1
            if quality:
                day.qualities[index] = quality
            self.rows += 1

    def _period(
        self, channel: ChannelReadings, start: int, duration: int, line: int
    ) -> DayReadings | None:
        """The block of the read period starting at `start`, opened on first use."""
        if duration == NO_TIME or duration <= 0:
            self.problems.refuse(
                line,
                "IntervalReading/timePeriod/duration",
                "is missing or not positive in a read-period MeterReading",
                "the read period's length in seconds",
                key=("period duration", channel),
            )
            return None
        day = channel.days.get(start)
        if day is None:
            local = datetime.fromtimestamp(start, self.tz).date()
            day = DayReadings(local, start, start + duration, 1)
            channel.days[start] = day
        elif day.end != start + duration:
            self.problems.refuse(
                line,
                "IntervalReading/timePeriod/duration",
                f"the read period starting {_utc(start)} lasts {duration} s here but "
                f"{day.end - start} s at line {day.lines[0]}",
                "one length per read period",
                key=("period length", channel),
            )
            return None
        return day

    def _quality(self, code: int, target: Target, line: int) -> int:
        """The codec quality of an ESPI QualityOfReading code (the ReadingType's default when
        the reading has none)."""
        effective = target.spec.default_quality if code == NO_QUALITY else code
        name = espi_codes.QUALITIES.get(effective)
        if name is None:
            self.problems.warn(
                line,
                "ReadingQuality/quality",
                f"{effective} is not a QualityOfReading code; stored as "
                f"{espi_codes.UNKNOWN_QUALITY!r}",
                "0 or 7 to 19 (espi.xsd QualityOfReading)",
                key=("quality", effective),
            )
            name = espi_codes.UNKNOWN_QUALITY
        index = target.qualities[code] = codec.QUALITY_CODE[name]
        return index

    def _exact(self, mantissa: int, exponent: int, line: int) -> tuple[int, int] | None:
        """A value with more decimal places than the codec keeps, if trailing zeros allow."""
        while exponent < -codec.MAX_EXPONENT_DIGITS and mantissa % 10 == 0:
            mantissa //= 10
            exponent += 1
        if exponent < -codec.MAX_EXPONENT_DIGITS:
            self.problems.refuse(
                line,
                "IntervalReading/value",
                f"{mantissa}e{exponent} has more than {codec.MAX_EXPONENT_DIGITS} decimal "
                "places in the channel's unit",
                "readings to at most a billionth of a kWh, therm, ...",
                key="places",
            )
            return None
        return mantissa, exponent

    def _repeated(
        self,
        channel: ChannelReadings,
        day: DayReadings,
        index: int,
        start: int,
        reading: tuple[int, int, int, int],
        line: int,
    ) -> None:
        """A second reading (mantissa, exponent, has value, quality) for an interval: the same
        one again is dropped, another refused."""
        mantissa, exponent, has_value, quality = reading
        first = day.lines[index]
        stored_missing = day.exponents[index] == MISSING
        same = (
            stored_missing == (not has_value)
            and (
                stored_missing
                or (day.mantissas[index], day.exponents[index]) == (mantissa, exponent)
            )
            and day.qualities[index] == quality
        )
        if same:
            self.problems.warn(
                line,
                "IntervalReading",
                f"repeats the reading at line {first} ({_utc(start)}, same value and quality); "
                "kept once",
                "each interval once per MeterReading",
                key="repeated",
            )
            return
        self.problems.refuse(
            line,
            "IntervalReading",
            f"gives {channel.describe()} a second, different reading for {_utc(start)} (the "
            f"first is at line {first})",
            "one reading per interval: remove the block that is wrong",
            key=("conflict", channel),
        )

    def _no_start(self, line: int) -> None:
        self.problems.refuse(
            line,
            "IntervalReading/timePeriod",
            "has no start, so the reading's time is unknown",
            "a timePeriod with start and duration in epoch seconds",
            key="no start",
        )

    def _wrong_duration(self, channel: ChannelReadings, duration: int, line: int) -> None:
        self.problems.refuse(
            line,
            "IntervalReading/timePeriod/duration",
            f"is {duration} s but {channel.describe()} has {channel.interval}-second intervals",
            "readings as long as their ReadingType's intervalLength",
            key=("duration", channel),
        )

    def _misaligned(self, channel: ChannelReadings, start: int, line: int) -> None:
        self.problems.refuse(
            line,
            "IntervalReading/timePeriod/start",
            f"{_utc(start)} is not on a {channel.interval}-second boundary of the local day in "
            f"{self.tz.key} (GRIDSHARE_TIMEZONE)",
            "readings that start at the utility's local midnight plus whole intervals",
            key=("misaligned", channel),
        )

    # The end of the file ---------------------------------------------------------------------

    def finish(self) -> None:
        """Join what the strict rules could not, map every UsagePoint and UsageSummary."""
        pending, self.pending = self.pending, []
        for block in pending:
            target = self._target_of(block, final=True)
            if isinstance(target, Target):
                self._feed(block, target)
        if not self.points:
            self.problems.refuse(
                None,
                "the feed",
                "has no UsagePoint entry",
                "a Green Button file of usage: UsagePoint, MeterReading, ReadingType and "
                "IntervalBlock entries",
            )
        for point in self.points:
            self._before_installation(self._plan(point))
            if not any(href in self.local_times for href in point.links.related):
                self.problems.warn(
                    point.line,
                    "UsagePoint",
                    f"{point.named()} links no LocalTimeParameters (not needed: ESPI times are "
                    "UTC epoch seconds)",
                    "a `related` link to its LocalTimeParameters entry (DIGEST §3)",
                    key="no local time",
                )
        for summary in self.summaries:
            parent = self._parent(
                summary, self.point_related, self.points, final=True, what=summary.name
            )
            if not isinstance(parent, UsagePointEntry):
                self.problems.warn(
                    summary.line,
                    summary.name,
                    f"{summary.named()} skipped: it belongs to no UsagePoint",
                    "an up link equal to a `related` link of its UsagePoint (DIGEST §3)",
                )
                continue
            plan = self._plan(parent)
            commodity = espi_codes.COMMODITIES.get(summary.commodity or 0) or plan.commodity
            self.summary_plans.append(SummaryPlan(summary, plan.servicepoint_number, commodity))

    def _before_installation(self, plan: PointPlan) -> None:
        if plan.installed is None or plan.first_epoch is None:
            return
        first = datetime.fromtimestamp(plan.first_epoch, self.tz).date()
        if first < plan.installed:
            self.problems.warn(
                plan.line,
                "UsagePoint",
                f"its readings start on {first}, before meter {plan.meter_number} was installed "
                f"at service point {plan.servicepoint_number} on {plan.installed}; they are "
                "stored on that meter all the same",
                "a service point whose current meter measured the file's readings",
            )


class _Pending:
    """A join that may still succeed once later entries have been read."""


PENDING: Final = _Pending()


def _index(index: dict[str, list[E]], hrefs: Sequence[str], entry: E) -> None:
    for href in dict.fromkeys(hrefs):
        index.setdefault(href, []).append(entry)


def _weaker_rules(
    links: Links, index: dict[str, list[E]], every: list[E]
) -> list[tuple[str, list[E]]]:
    """The weaker join rules, strongest first, with the parents each finds."""
    rules: list[tuple[str, list[E]]] = []
    own = links.self_href
    if own is not None:
        rules.append(("a `related` link naming it rather than its collection", index.get(own, [])))
        under = [e for e in every if e.links.self_href and own.startswith(e.links.self_href + "/")]
        rules.append(("its self link lying under the parent's", under))
    rules.append(("being the only candidate in the file", every))
    return rules


def _identity(point: UsagePointEntry) -> str | None:
    """What names a UsagePoint across imports: its Atom id (a UUID, case-folded), else its self
    link."""
    if point.atom_id:
        return point.atom_id.lower()
    return point.links.self_href


def _standard_offset(tz: ZoneInfo) -> int:
    """The zone's standard (winter) offset from UTC in seconds, as tzOffset gives it."""
    moment = datetime(datetime.now(UTC).year, 1, 15, tzinfo=UTC).astimezone(tz)
    offset, dst = moment.utcoffset(), moment.dst()
    assert offset is not None and dst is not None
    return int((offset - dst).total_seconds())


def _offset(seconds: int) -> str:
    sign = "-" if seconds < 0 else "+"
    hours, minutes = divmod(abs(seconds) // 60, 60)
    return f"{sign}{hours:02d}:{minutes:02d}"


def _utc(epoch: int) -> str:
    return datetime.fromtimestamp(epoch, UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def loader_problem(error: UsageImportError) -> tuple[int, str, str, str]:
    """A loader error as (line, element, problem, expected)."""
    return error.line, FIELD_ELEMENTS.get(error.field or "", "IntervalReading"), error.problem, ""
