"""A file's readings gathered per channel and local day, then packed into blocks (DESIGN rule 3).

A reader fills one `DayReadings` per channel and local day of the utility's timezone: flat arrays
indexed by interval (decimal mantissa, decimal exponent, quality code, and the file line that gave
the reading, 0 where the file gave none), so no Python object is kept per reading.
`pack_day` overlays those readings on the block already stored for that day (readings the file
does not give are kept) and packs the result with `gridshare.utility.codec`.
"""

from __future__ import annotations

from array import array
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

import numpy as np
import numpy.typing as npt

from gridshare.utility import codec
from gridshare.utility.imports.errors import UsageImportError
from gridshare.utility.usage import day_start

MISSING = 127
"""The exponent recorded for a reading the file gives as missing (an empty value)."""

VALUE_LIMIT = 2**63 - 1
"""Mantissas must stay below this in magnitude (the codec's int64)."""

_POWERS = np.array([10**k for k in range(19)] + [0], dtype=np.int64)
"""10**shift for a value scaled to the day's exponent; the last entry stands for "too far"."""
_LIMITS = np.array([VALUE_LIMIT // 10**k for k in range(19)] + [0], dtype=np.int64)
"""The largest mantissa that can be scaled by each entry of `_POWERS` and still fit."""


class DayReadings:
    """One channel's readings for one local day, [start, end) in epoch seconds."""

    __slots__ = ("day", "end", "exponents", "lines", "mantissas", "qualities", "start")

    def __init__(self, day: date, start: int, end: int, size: int) -> None:
        self.day = day
        self.start = start
        self.end = end
        self.mantissas = array("q", bytes(8 * size))
        self.exponents = array("b", bytes(size))
        self.qualities = array("B", bytes(size))
        self.lines = array("I", bytes(4 * size))


_NO_DAY = DayReadings(date.min, 0, 0, 0)


@dataclass(slots=True, eq=False)
class ChannelReadings:
    """One measured quantity of one meter, as the file names it, with its readings by day."""

    meter_number: str
    kind: str
    direction: str | None
    units: str
    interval: int
    line: int
    """The first line that names this channel."""
    days: dict[int, DayReadings] = field(default_factory=dict)
    current: DayReadings = _NO_DAY
    """The day the last reading fell in (files are usually in time order)."""

    def day_at(self, epoch: int, tz: ZoneInfo, line: int) -> DayReadings:
        """The local day holding the instant `epoch`, opened on first use."""
        local = datetime.fromtimestamp(epoch, tz).date()
        start = int(day_start(local, tz).timestamp())
        found = self.days.get(start)
        if found is None:
            end = int(day_start(local + timedelta(days=1), tz).timestamp())
            if (end - start) % self.interval:
                raise UsageImportError(
                    line,
                    "interval_seconds",
                    f"{self.interval} seconds do not divide the local day {local} "
                    f"({(end - start) // 3600} hours in {tz.key}); use an interval that divides "
                    "one hour, such as 900 or 3600",
                )
            found = DayReadings(local, start, end, (end - start) // self.interval)
            self.days[start] = found
        self.current = found
        return found

    def describe(self) -> str:
        direction = f" {self.direction}" if self.direction else ""
        every = f"every {self.interval} s" if self.interval else "per read period"
        return f"meter {self.meter_number} {self.kind}{direction} {every}"


@dataclass(frozen=True, slots=True)
class StoredBlock:
    """A block as the database holds it."""

    count: int
    values: bytes
    quality: bytes | None


def pack_day(
    channel: ChannelReadings, readings: DayReadings, stored: StoredBlock | None
) -> tuple[int, bytes, bytes | None]:
    """The day's block (count, values, quality): the file's readings over the stored ones.

    The block runs from local midnight to the last interval with a reading (given or missing).
    """
    lines = np.frombuffer(readings.lines, dtype=np.uint32)
    mantissas = np.frombuffer(readings.mantissas, dtype=np.int64).copy()
    exponents = np.frombuffer(readings.exponents, dtype=np.int8).astype(np.int64)
    qualities = np.frombuffer(readings.qualities, dtype=np.uint8).copy()
    known = lines > 0
    if stored is not None:
        _overlay(channel, readings, stored, known, mantissas, exponents, qualities)
        known[: stored.count] = True
    count = len(known) if known[-1] else int(np.flatnonzero(known)[-1]) + 1
    if count < len(known):
        lines, known, mantissas = lines[:count], known[:count], mantissas[:count]
        exponents, qualities = exponents[:count], qualities[:count]
    present = known & (exponents != MISSING)
    exponent = int(np.min(exponents, where=present, initial=0))
    shifts = np.minimum(np.where(present, exponents - exponent, 0), len(_POWERS) - 1)
    too_large = present & (np.abs(mantissas) > _LIMITS[shifts])
    if too_large.any():
        raise _too_large(channel, readings, lines, exponents, too_large, exponent)
    values = codec.pack_scaled(mantissas * _POWERS[shifts], ~present, exponent)
    return count, values, codec.pack_quality(qualities)


def _overlay(
    channel: ChannelReadings,
    readings: DayReadings,
    stored: StoredBlock,
    given: npt.NDArray[np.bool_],
    mantissas: npt.NDArray[np.int64],
    exponents: npt.NDArray[np.int64],
    qualities: npt.NDArray[np.uint8],
) -> None:
    """Copy the stored readings the file does not give into the day's arrays."""
    first_line = int(np.frombuffer(readings.lines, dtype=np.uint32)[given][0])
    encoding, exponent = codec.header(stored.values)
    if encoding == codec.FLOAT64:
        raise UsageImportError(
            first_line,
            "value",
            f"the stored block of {channel.describe()} for {readings.day} holds floating-point "
            "numbers, which cannot be merged exactly; import the whole day from the source data",
        )
    if stored.count > len(mantissas):
        raise UsageImportError(
            first_line,
            "interval_start",
            f"the stored block of {channel.describe()} for {readings.day} holds {stored.count} "
            f"values but the local day has {len(mantissas)} intervals; the stored data was "
            "written for another timezone (check GRIDSHARE_TIMEZONE)",
        )
    old, _ = codec.unpack_array(stored.values)
    old_mantissas = old.astype(np.int64)
    old_exponents = np.full(stored.count, exponent, dtype=np.int64)
    old_exponents[codec.missing_mask(stored.values)] = MISSING
    _strip_trailing_zeros(old_mantissas, old_exponents)
    keep = ~given[: stored.count]
    mantissas[: stored.count][keep] = old_mantissas[keep]
    exponents[: stored.count][keep] = old_exponents[keep]
    qualities[: stored.count][keep] = codec.unpack_quality(stored.quality, stored.count)[keep]


def _strip_trailing_zeros(
    mantissas: npt.NDArray[np.int64], exponents: npt.NDArray[np.int64]
) -> None:
    """Write each value with its fewest decimal places (1.50 as 15e-1), as the file's are."""
    for _ in range(codec.MAX_EXPONENT_DIGITS):
        zeros = (exponents < 0) & (mantissas % 10 == 0)
        if not zeros.any():
            return
        mantissas[zeros] //= 10
        exponents[zeros] += 1


def _too_large(
    channel: ChannelReadings,
    readings: DayReadings,
    lines: npt.NDArray[np.uint32],
    exponents: npt.NDArray[np.int64],
    too_large: npt.NDArray[np.bool_],
    exponent: int,
) -> UsageImportError:
    """Name the line of the reading that does not fit, or else of the one that forced the scale."""
    finest = lines[(lines > 0) & (exponents == exponent)]
    beside = f"line {int(finest[0])}" if finest.size else "already stored"
    line = int(lines[int(np.flatnonzero(too_large)[0])]) or int(finest[0])
    return UsageImportError(
        line,
        "value",
        f"a reading of {channel.describe()} on {readings.day} is too large to store beside "
        f"readings with {-exponent} decimal places on the same day ({beside}); "
        "round that day's readings to fewer decimal places",
    )
