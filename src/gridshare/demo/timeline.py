"""Every interval of the demo's history on the utility's local clock, as numpy arrays.

Load shapes need local hours, weekdays and days of the year; blocks need each local day's UTC
start and how many intervals it holds (92 or 100 at 15 minutes on DST change days).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from functools import cached_property
from zoneinfo import ZoneInfo

import numpy as np
import numpy.typing as npt

from gridshare.utility.usage import day_start

Ints = npt.NDArray[np.int64]
Floats = npt.NDArray[np.float64]


@dataclass(frozen=True)
class Timeline:
    """The intervals of the local days `days[0]`..`days[-1]` at `interval` seconds.

    Flat arrays hold one entry per interval; day `d`'s intervals are `offsets[d]:offsets[d+1]`.
    `local` is the local wall-clock time as naive epoch seconds (what a bill's TOU hours use).
    """

    days: tuple[date, ...]
    interval: int
    day_utc: Ints
    offsets: Ints
    utc: Ints
    local: Ints
    day_index: Ints

    @classmethod
    def build(cls, first: date, last: date, tz: ZoneInfo, interval: int) -> Timeline:
        days = tuple(first + timedelta(days=n) for n in range((last - first).days + 1))
        bounds = [day_start(d, tz) for d in (*days, last + timedelta(days=1))]
        day_utc = np.array([int(b.timestamp()) for b in bounds], dtype=np.int64)
        counts = np.diff(day_utc) // interval
        offsets = np.concatenate(([0], np.cumsum(counts))).astype(np.int64)
        day_index = np.repeat(np.arange(len(days), dtype=np.int64), counts)
        position = np.arange(int(offsets[-1]), dtype=np.int64) - offsets[day_index]
        utc = day_utc[day_index] + position * interval
        shift = np.array([_offset(b, tz) for b in bounds], dtype=np.int64)
        local = utc + shift[day_index]
        for d in np.flatnonzero(shift[:-1] != shift[1:]):  # DST change days
            span = slice(int(offsets[d]), int(offsets[d + 1]))
            local[span] = [t + _offset(datetime.fromtimestamp(t, UTC), tz) for t in utc[span]]
        return cls(days, interval, day_utc, offsets, utc, local, day_index)

    @property
    def size(self) -> int:
        return int(self.offsets[-1])

    def span(self, first: date, after: date) -> slice:
        """The intervals of local days `first` <= day < `after` (clipped to the timeline)."""
        start = min(max((first - self.days[0]).days, 0), len(self.days))
        stop = min(max((after - self.days[0]).days, 0), len(self.days))
        return slice(int(self.offsets[start]), int(self.offsets[max(start, stop)]))

    def hours(self) -> Floats:
        """Local hour of day at each interval's middle (0 to 24)."""
        return np.asarray(((self.local % 86400) + self.interval / 2) / 3600.0, dtype=np.float64)

    def weekdays(self) -> Ints:
        """Local weekday of each interval, Monday 0."""
        return np.asarray((self.local // 86400 + 3) % 7)

    def day_of_year(self) -> Ints:
        """Local day of the year (1-366) of each day of the timeline."""
        return np.array([d.timetuple().tm_yday for d in self.days], dtype=np.int64)

    @cached_property
    def local_starts(self) -> npt.NDArray[np.datetime64]:
        """Each interval's local wall-clock start (shared by every channel on this timeline)."""
        return self.local.astype("datetime64[s]")


def next_month(day: date) -> date:
    """The first day of the month after `day`'s."""
    return date(day.year + day.month // 12, day.month % 12 + 1, 1)


def months(first: date, last: date) -> list[tuple[date, date]]:
    """The calendar months wholly inside `first`..`last`, as (first day, last day)."""
    found = []
    month = first if first.day == 1 else next_month(first)
    while next_month(month) - timedelta(days=1) <= last:
        found.append((month, next_month(month) - timedelta(days=1)))
        month = next_month(month)
    return found


def _offset(instant: datetime, tz: ZoneInfo) -> int:
    offset = instant.astimezone(tz).utcoffset()
    assert offset is not None  # ZoneInfo always knows its offset
    return int(offset.total_seconds())
