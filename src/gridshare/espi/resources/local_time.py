"""ESPI LocalTimeParameters (espi.xsd `TimeConfiguration`; DIGEST §2, §9): the server's one
timezone (`GRIDSHARE_TIMEZONE`), the only local time in ESPI (DESIGN rule 6).

`tzOffset` is the zone's standard offset from UTC (its smallest offset in the reference year, so
the "negative DST" tzdata gives Irish winter time reads as GMT plus one hour of summer time) and
`dstOffset` what daylight saving time adds, in seconds. `dstStartRule` and `dstEndRule` are the
DstRuleType bitmaps (bits 0-11 seconds, 12-16 hour, 17-19 weekday with Monday 1, 20-24 day of
month, 25-27 operator, 28-31 month) of the zone's actual transitions, read from zoneinfo over
seven years from the reference year (so every weekday position occurs): a transition always on the
last such weekday of its month is operator 7; always on the n-th is operator n + 1; on a fixed
date, operator 0 with that day; otherwise operator 1 (that weekday on or after the earliest day
seen). The hour and seconds are local wall-clock time before the change (standard time for the
start, daylight time for the end), as the North American `360E2000` (second Sunday of March,
02:00) and `B40E2000` (first Sunday of November, 02:00) read. A zone without daylight saving time
has `FFFFFFFF` for both rules and a `dstOffset` of 0.

The id is a hash of the zone's name (`LocalTimeParameters/{id}`); the entry is published and
updated at the start of the reference year, whose rules it gives.
"""

from __future__ import annotations

import calendar
import hashlib
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from functools import lru_cache
from typing import Final
from zoneinfo import ZoneInfo

from lxml import etree

from gridshare.config import Settings
from gridshare.espi import atom, hrefs

NAME: Final = "LocalTimeParameters"
COLLECTION: Final = (NAME,)
NO_DST: Final = "FFFFFFFF"
YEARS: Final = 7
ON_DAY, ON_OR_AFTER, LAST = 0, 1, 7


@dataclass(frozen=True)
class LocalTime:
    zone: str
    year: int
    dst_start_rule: str
    dst_end_rule: str
    dst_offset: int
    tz_offset: int

    @property
    def id(self) -> str:
        return hashlib.blake2b(self.zone.encode(), digest_size=8).hexdigest()

    @property
    def since(self) -> datetime:
        """The start of the reference year in the zone (the entry's published and updated)."""
        return datetime(self.year, 1, 1, tzinfo=ZoneInfo(self.zone)).astimezone(UTC)


@dataclass(frozen=True)
class _Change:
    """A transition as the local wall clock before it shows it."""

    year: int
    month: int
    day: int
    weekday: int
    hour: int
    seconds: int


@lru_cache(maxsize=16)
def local_time(zone: str, year: int) -> LocalTime:
    """The zone's parameters as of `year` (module docstring)."""
    tz = ZoneInfo(zone)
    changes = [_transitions(tz, y) for y in range(year, year + YEARS)]
    standard, saving = _offsets(tz, year)
    found = [c for c in changes if c is not None]
    if not found or saving == 0:
        return LocalTime(zone, year, NO_DST, NO_DST, 0, standard)
    starts = [start for start, _ in found]
    ends = [end for _, end in found]
    return LocalTime(zone, year, _rule(starts), _rule(ends), saving, standard)


def _offsets(tz: ZoneInfo, year: int) -> tuple[int, int]:
    """The standard (smallest) offset of the year, and what daylight saving time adds to it
    (seconds)."""
    weeks = [
        _offset(tz, datetime(year, 1, 1, tzinfo=UTC) + timedelta(days=7 * w)) for w in range(53)
    ]
    return int(min(weeks).total_seconds()), int((max(weeks) - min(weeks)).total_seconds())


def _transitions(tz: ZoneInfo, year: int) -> tuple[_Change, _Change] | None:
    """Where daylight saving time starts and ends in `year`, or None without both."""
    start = end = None
    day = datetime(year, 1, 1, tzinfo=UTC)
    while day.year == year:
        following = day + timedelta(days=1)
        before, after = _offset(tz, day), _offset(tz, following)
        if before != after:
            instant = _instant_of_change(tz, day, following)
            change = _wall_clock(tz, instant)
            if after > before:
                start = start or change
            else:
                end = end or change
        day = following
    return None if start is None or end is None else (start, end)


def _offset(tz: ZoneInfo, moment: datetime) -> timedelta:
    return moment.astimezone(tz).utcoffset() or timedelta()


def _instant_of_change(tz: ZoneInfo, low: datetime, high: datetime) -> datetime:
    """The first second in (low, high] whose UTC offset differs from low's."""
    first = _offset(tz, low)
    while high - low > timedelta(seconds=1):
        middle = (low + (high - low) / 2).replace(microsecond=0)
        if _offset(tz, middle) == first:
            low = middle
        else:
            high = middle
    return high


def _wall_clock(tz: ZoneInfo, instant: datetime) -> _Change:
    """The change at `instant` as the wall clock just before it reads it."""
    offset = (instant - timedelta(seconds=1)).astimezone(tz).utcoffset() or timedelta()
    wall = (instant + offset).replace(tzinfo=None)
    return _Change(
        wall.year,
        wall.month,
        wall.day,
        wall.isoweekday(),
        wall.hour,
        wall.minute * 60 + wall.second,
    )


def _rule(changes: list[_Change]) -> str:
    """The DstRuleType of one transition over the years (module docstring)."""
    first = changes[0]
    days = {c.day for c in changes}
    if len({(c.month, c.hour, c.seconds, c.weekday) for c in changes}) > 1 or len(days) == 1:
        return _encode(first, ON_DAY, first.day, 0)
    if all(c.day > calendar.monthrange(c.year, c.month)[1] - 7 for c in changes):
        return _encode(first, LAST, 0, first.weekday)
    nths = {(c.day - 1) // 7 + 1 for c in changes}
    if len(nths) == 1:
        return _encode(first, nths.pop() + 1, 0, first.weekday)
    return _encode(first, ON_OR_AFTER, min(days), first.weekday)


def _encode(change: _Change, operator: int, day: int, weekday: int) -> str:
    bits = (
        change.seconds
        | change.hour << 12
        | weekday << 17
        | day << 20
        | operator << 25
        | change.month << 28
    )
    return f"{bits:08X}"


def path(local_time_id: str) -> tuple[str, str]:
    return (NAME, local_time_id)


def href(settings: Settings, parameters: LocalTime) -> str:
    return hrefs.resource(settings, *path(parameters.id))


def entry(settings: Settings, parameters: LocalTime) -> atom.Entry:
    at = path(parameters.id)
    return atom.Entry(
        atom_id=hrefs.atom_id(settings, "/".join(at)),
        title=parameters.zone,
        links=(
            atom.Link("up", hrefs.resource(settings, *COLLECTION), atom.FEED_TYPE.format(NAME)),
            atom.Link("self", href(settings, parameters), atom.ENTRY_TYPE.format(NAME)),
        ),
        content=element(parameters),
        published=parameters.since,
        updated=parameters.since,
    )


def element(parameters: LocalTime) -> etree._Element:
    """`espi:LocalTimeParameters` in the XSD sequence order."""
    made = etree.Element(atom.espi(NAME))
    for tag, value in (
        ("dstEndRule", parameters.dst_end_rule),
        ("dstOffset", parameters.dst_offset),
        ("dstStartRule", parameters.dst_start_rule),
        ("tzOffset", parameters.tz_offset),
    ):
        etree.SubElement(made, atom.espi(tag)).text = str(value)
    return made
