"""Interval usage from CSV (docs/operator-guide.md, "Importing usage from CSV").

One reading per row under a header naming the eight columns of `COLUMNS`, in any order. Kinds,
directions and units are those of CDS-WG3-01 §10.8.5 (usage segment formats) and quality names
those of §10.8.7.6. The file is streamed and every row checked; readings go straight into
per-channel, per-local-day arrays (`readings`), and `loader` stores them all or nothing.
"""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Callable
from datetime import datetime
from operator import itemgetter
from pathlib import Path
from typing import TYPE_CHECKING
from zoneinfo import ZoneInfo

from sqlalchemy import Engine

from gridshare.config import Settings
from gridshare.utility import codec
from gridshare.utility.imports.errors import UsageImportError
from gridshare.utility.imports.loader import UsageImportReport, store_readings
from gridshare.utility.imports.readings import MISSING, VALUE_LIMIT, ChannelReadings

if TYPE_CHECKING:
    from _csv import Reader

__all__ = ["COLUMNS", "UNITS", "UsageImportError", "UsageImportReport", "import_usage_csv"]

COLUMNS = (
    "meter_number",
    "kind",
    "direction",
    "units",
    "interval_start",
    "interval_seconds",
    "value",
    "quality",
)
UNITS: dict[str, tuple[str, ...]] = {
    "electric_usage": ("Wh", "kWh", "MWh"),
    "electric_demand": ("W", "kW", "MW"),
    "natural_gas_usage": ("Btu", "therm", "Sm3", "scf"),
    "water_usage": ("m3", "L", "gal", "ft3", "CCF", "MCF", "MMCF"),
    "fuel_oil_usage": ("L", "gal"),
}
"""The usage kinds and the units each may be given in (CDS-WG3-01 §10.8.5.1-6)."""
DIRECTED = ("electric_usage", "electric_demand")
DIRECTIONS = ("net", "forward", "reverse")
MAX_INTERVAL = 86400
FIRST_YEAR = 1900
LAST_YEAR = 2199
PROGRESS_ROWS = 1 << 16
TIMESTAMP_CACHE = 1 << 20

_RFC3339 = re.compile(
    r"[0-9]{4}-[0-9]{2}-[0-9]{2}[Tt ][0-9]{2}:[0-9]{2}:[0-9]{2}(\.[0-9]+)?"
    r"([Zz]|[+-][0-9]{2}:[0-9]{2})"
).fullmatch
_DECIMAL_CHARACTERS = "0123456789.+-"
_PLAIN_DECIMAL = re.compile(r"[-+]?([0-9]+\.?[0-9]*|\.[0-9]+)").fullmatch
_QUALITY = {"": 0} | codec.QUALITY_CODE
_EXAMPLE_START = "2024-03-10T00:00:00-08:00"


def import_usage_csv(
    engine: Engine,
    settings: Settings,
    path: Path,
    progress: Callable[[int], None] | None = None,
) -> UsageImportReport:
    """Import the usage in the CSV file at `path`, all or nothing.

    `progress` is called now and then with the number of bytes read so far. Raises
    `UsageImportError` naming the first line and field that cannot be imported.
    """
    reader = _UsageReader(settings.tz)
    try:
        with path.open("rb") as binary, io.TextIOWrapper(binary, "utf-8-sig", newline="") as text:

            def tick() -> None:
                if progress is not None:
                    progress(binary.tell())

            rows, missing = reader.read(text, tick)
    except UnicodeDecodeError as error:
        raise UsageImportError(
            _first_undecodable_line(path),
            None,
            f"is not UTF-8 text ({error.reason}); save the file as UTF-8",
        ) from error
    if progress is not None:
        progress(path.stat().st_size)
    return store_readings(engine, list(reader.by_identity.values()), rows, missing)


class _UsageReader:
    """Reads rows into `ChannelReadings`, checking each one."""

    def __init__(self, tz: ZoneInfo) -> None:
        self.tz = tz
        self.by_identity: dict[tuple[str, str, str | None, int], ChannelReadings] = {}
        self.by_fields: dict[tuple[str, ...], ChannelReadings] = {}
        self.epochs: dict[str, int] = {}

    def read(self, text: io.TextIOWrapper, tick: Callable[[], None]) -> tuple[int, int]:
        """Read every row; returns how many rows there were and how many had no value."""
        rows = csv.reader(text, strict=True)
        try:
            return self._read_rows(rows, tick)
        except csv.Error as error:
            raise UsageImportError(
                rows.line_num, None, f"is not well-formed CSV ({error}); check its quoting"
            ) from error

    def _read_rows(self, rows: Reader, tick: Callable[[], None]) -> tuple[int, int]:
        header = next(rows, None)
        if header is None:
            raise UsageImportError(1, None, f"the file is empty; it needs the header {_header()}")
        column = _columns(header)
        width = len(COLUMNS)
        fields_of = itemgetter(*(column[name] for name in COLUMNS[:4]), column["interval_seconds"])
        at_start = column["interval_start"]
        at_value = column["value"]
        at_quality = column["quality"]
        by_fields = self.by_fields
        epochs = self.epochs
        tz = self.tz
        count = missing = 0
        for row in rows:
            line = rows.line_num
            if len(row) != width:
                if not row:
                    continue
                raise UsageImportError(
                    line,
                    None,
                    f"has {len(row)} fields but the header names {width}; every row needs all "
                    "eight (leave direction, value or quality empty rather than out)",
                )
            channel = by_fields.get(fields_of(row))
            if channel is None:
                channel = self._channel(fields_of(row), line)
            stamp = row[at_start]
            epoch = epochs.get(stamp)
            if epoch is None:
                epoch = self._epoch(stamp, line)
            day = channel.current
            if not day.start <= epoch < day.end:
                day = channel.day_at(epoch, tz, line)
            index, rest = divmod(epoch - day.start, channel.interval)
            if rest:
                raise _misaligned(channel, stamp, line)
            if day.lines[index]:
                raise UsageImportError(
                    line,
                    "interval_start",
                    f"{channel.describe()} already has a reading at {stamp} on line "
                    f"{day.lines[index]}; keep one of the two rows",
                )
            day.lines[index] = line
            value = row[at_value]
            if value:
                # Inline, as it runs for every row: "-1.250" -> mantissa -125, exponent -2.
                whole, _, places = value.partition(".")
                if places:
                    places = places.rstrip("0")
                if value.strip(_DECIMAL_CHARACTERS):
                    raise _bad_value(value, line)
                try:
                    mantissa = int(whole + places)
                except ValueError:
                    if not _PLAIN_DECIMAL(value):
                        raise _bad_value(value, line) from None
                    mantissa = 0  # a zero with no digit left after the dot, such as "+.00"
                if (
                    len(places) > codec.MAX_EXPONENT_DIGITS
                    or not -VALUE_LIMIT < mantissa < VALUE_LIMIT
                ):
                    raise _bad_value(value, line)
                day.mantissas[index] = mantissa
                day.exponents[index] = -len(places)
            else:
                day.exponents[index] = MISSING
                missing += 1
            quality = _QUALITY.get(row[at_quality])
            if quality:
                day.qualities[index] = quality
            elif quality is None:
                raise UsageImportError(
                    line,
                    "quality",
                    f"{row[at_quality]!r} is not a reading quality; use one of "
                    f"{', '.join(codec.QUALITIES)}, or leave it empty for valid",
                )
            count += 1
            if not count % PROGRESS_ROWS:
                tick()
        return count, missing

    def _channel(self, fields: tuple[str, ...], line: int) -> ChannelReadings:
        """The channel these fields name, checked once per distinct spelling."""
        meter_number, kind, direction, units, interval_text = fields
        if not meter_number:
            raise UsageImportError(
                line, "meter_number", "is empty; give the meter's number as gridshare records it"
            )
        if kind not in UNITS:
            raise UsageImportError(
                line, "kind", f"{kind!r} is not a usage kind; use one of {', '.join(UNITS)}"
            )
        if direction and kind not in DIRECTED:
            raise UsageImportError(
                line, "direction", f"{kind} has no direction; leave direction empty"
            )
        if direction and direction not in DIRECTIONS:
            raise UsageImportError(
                line,
                "direction",
                f"{direction!r} is not a direction; use {', '.join(DIRECTIONS)} or leave it empty",
            )
        if units not in UNITS[kind]:
            raise UsageImportError(
                line,
                "units",
                f"{units!r} is not a unit of {kind}; use one of {', '.join(UNITS[kind])}",
            )
        interval = int(interval_text) if interval_text.isascii() and interval_text.isdigit() else 0
        if not 0 < interval <= MAX_INTERVAL:
            raise UsageImportError(
                line,
                "interval_seconds",
                f"{interval_text!r} is not a whole number of seconds from 1 to {MAX_INTERVAL}; "
                "write 900 for 15 minutes or 3600 for an hour",
            )
        identity = (meter_number, kind, direction or None, interval)
        channel = self.by_identity.get(identity)
        if channel is None:
            channel = ChannelReadings(meter_number, kind, direction or None, units, interval, line)
            self.by_identity[identity] = channel
        elif channel.units != units:
            raise UsageImportError(
                line,
                "units",
                f"{channel.describe()} is given in {channel.units} on line {channel.line} but in "
                f"{units} here; give one channel's readings in one unit",
            )
        self.by_fields[fields] = channel
        return channel

    def _epoch(self, stamp: str, line: int) -> int:
        """Seconds since the epoch of an RFC 3339 timestamp, remembered for the rows to come."""
        if not _RFC3339(stamp):
            raise UsageImportError(
                line,
                "interval_start",
                f"{stamp!r} is not an RFC 3339 timestamp with a UTC offset; write it like "
                f"{_EXAMPLE_START} or 2024-03-10T08:00:00Z",
            )
        try:
            moment = datetime.fromisoformat(stamp.upper())
        except ValueError as error:
            raise UsageImportError(
                line, "interval_start", f"{stamp!r} is not a valid date and time ({error})"
            ) from error
        if not FIRST_YEAR <= moment.year <= LAST_YEAR:
            raise UsageImportError(
                line,
                "interval_start",
                f"{stamp!r} is outside the years {FIRST_YEAR} to {LAST_YEAR}; check the date",
            )
        if moment.microsecond:
            raise UsageImportError(
                line,
                "interval_start",
                f"{stamp!r} has a fraction of a second; intervals start on whole seconds",
            )
        if len(self.epochs) >= TIMESTAMP_CACHE:
            self.epochs.clear()
        epoch = self.epochs[stamp] = int(moment.timestamp())
        return epoch


def _columns(header: list[str]) -> dict[str, int]:
    names = [name.strip() for name in header]
    unknown = [name for name in names if name not in COLUMNS]
    lacking = [name for name in COLUMNS if name not in names]
    twice = sorted({name for name in names if names.count(name) > 1})
    for problem, listed in (("unknown", unknown), ("missing", lacking), ("repeated", twice)):
        if listed:
            raise UsageImportError(
                1,
                None,
                f"the header has {problem} columns {', '.join(map(repr, listed))}; "
                f"it must name exactly {_header()} (in any order)",
            )
    return {name: index for index, name in enumerate(names)}


def _header() -> str:
    return ",".join(COLUMNS)


def _bad_value(text: str, line: int) -> UsageImportError:
    """Why `text` is not a value we can store exactly."""
    places = text.partition(".")[2].rstrip("0")
    if not _PLAIN_DECIMAL(text):
        problem = f"{text!r} is not a decimal number; write it like 12.345 or -0.5"
    elif len(places) > codec.MAX_EXPONENT_DIGITS:
        problem = f"{text} has more than {codec.MAX_EXPONENT_DIGITS} decimal places; round it"
    else:
        problem = f"{text} is too large to store exactly"
    return UsageImportError(line, "value", problem)


def _misaligned(channel: ChannelReadings, stamp: str, line: int) -> UsageImportError:
    return UsageImportError(
        line,
        "interval_start",
        f"{stamp} is not on a {channel.interval}-second boundary of {channel.describe()}; "
        "intervals start at local midnight and every interval after it",
    )


def _first_undecodable_line(path: Path) -> int:
    with path.open("rb") as binary:
        for number, raw in enumerate(binary, start=1):
            try:
                raw.decode("utf-8")
            except UnicodeDecodeError:
                return number
    return 1
