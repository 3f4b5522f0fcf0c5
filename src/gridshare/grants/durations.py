"""CDS-WG1-02 §2 and §3.9: relative or absolute dates and datetimes.

A value is an absolute RFC 3339 `full-date` / `date-time`, a relative one (an RFC 3339 Appendix A
duration such as `P3Y`, `P13M`, `P0D`, or for datetimes `P30DT2H`, `PT0S`), or `"infinite"`.
Relative dates carry no hour, minute or second part (§2). We also accept the spec's own `P0S`
spelling (seconds without `T`) and the 2024 seed shorthand `3y`, `13m`, `30d`, `2w`.

A relative value is resolved against `now` in the server's `cds_timezone` (§3.9): forward for
ordinary fields (`sync_until`, `expires`), backward for fields that reach into history
(`segment_start`, CDS-WG3-01 §7.3). Years, months and days move the local calendar; hours, minutes
and seconds are elapsed time. Resolved datetimes are whole-second UTC (`2024-01-01T00:00:00Z`).

Limits follow §3.8: `maximum` is the furthest value allowed (furthest back for historical
fields), `minimum` the closest to now; `"infinite"` is further than anything.
"""

from __future__ import annotations

import calendar
import re
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Final, Literal
from zoneinfo import ZoneInfo

INFINITE: Final = "infinite"

Kind = Literal["date", "datetime"]

_DURATION = re.compile(
    r"P(?:(?P<weeks>\d{1,6})W"
    r"|(?:(?P<years>\d{1,6})Y)?(?:(?P<months>\d{1,6})M)?(?:(?P<days>\d{1,6})D)?"
    r"(?:T(?=\d)(?:(?P<hours>\d{1,9})H)?(?:(?P<minutes>\d{1,9})M)?(?:(?P<seconds>\d{1,9})S)?)?"
    r"|(?P<bare_seconds>\d{1,9})S)"
)
_SHORTHAND = re.compile(r"(?P<count>\d{1,6})(?P<unit>[ymwd])")
_DATE = re.compile(r"\d{4}-\d{2}-\d{2}")
_DATETIME = re.compile(
    r"\d{4}-\d{2}-\d{2}[Tt]\d{2}:\d{2}:\d{2}(?:\.\d{1,9})?(?:[Zz]|[+-]\d{2}:\d{2})"
)


class DurationError(ValueError):
    """A value that is not a valid relative or absolute date or datetime."""


@dataclass(frozen=True)
class Duration:
    """An RFC 3339 duration, kept as its parts (calendar parts are not fixed lengths)."""

    years: int = 0
    months: int = 0
    weeks: int = 0
    days: int = 0
    hours: int = 0
    minutes: int = 0
    seconds: int = 0
    has_time: bool = False
    """Whether it was written with a time part (`T...`, or the bare `P0S`), even of zero."""


@dataclass(frozen=True)
class Point:
    """A resolved value: `text` is absolute or `"infinite"`; `at` is None when infinite."""

    text: str
    at: date | datetime | None


def parse_duration(text: str) -> Duration | None:
    """The duration `text` spells (RFC 3339 Appendix A or seed shorthand), or None."""
    short = _SHORTHAND.fullmatch(text)
    if short:
        count = int(short["count"])
        return {
            "y": Duration(years=count),
            "m": Duration(months=count),
            "w": Duration(weeks=count),
            "d": Duration(days=count),
        }[short["unit"]]
    match = _DURATION.fullmatch(text)
    if not match:
        return None
    parts = {k: int(v) for k, v in match.groupdict().items() if v is not None}
    if "bare_seconds" in parts:
        parts["seconds"] = parts.pop("bare_seconds")
    if not parts:  # "P" alone
        return None
    return Duration(
        years=parts.get("years", 0),
        months=parts.get("months", 0),
        weeks=parts.get("weeks", 0),
        days=parts.get("days", 0),
        hours=parts.get("hours", 0),
        minutes=parts.get("minutes", 0),
        seconds=parts.get("seconds", 0),
        has_time=any(k in parts for k in ("hours", "minutes", "seconds")),
    )


def resolve(text: str, kind: Kind, *, tz: ZoneInfo, now: datetime, past: bool = False) -> Point:
    """`text` as an absolute date (kind "date") or datetime, or infinite; raises DurationError.

    Relative values count from `now` in `tz`, backward when `past` (a historical field).
    """
    if text == INFINITE:
        return Point(INFINITE, None)
    if kind == "date":
        if _DATE.fullmatch(text):
            return _date_point(_absolute_date(text))
        duration = parse_duration(text)
        if duration is None:
            raise DurationError(f"{text!r} is not a date, a relative date (e.g. P3Y) or infinite")
        if duration.has_time:
            raise DurationError(f"relative dates have no hours, minutes or seconds: {text!r}")
        today = now.astimezone(tz).date()
        try:
            return _date_point(_shift_date(today, duration, -1 if past else 1))
        except (OverflowError, ValueError) as error:
            raise DurationError(f"{text!r} reaches beyond the calendar") from error
    if _DATETIME.fullmatch(text):
        try:
            value = datetime.fromisoformat(text.upper())
        except ValueError as error:
            raise DurationError(f"{text!r} is not a valid RFC 3339 datetime") from error
        return _datetime_point(value.astimezone(UTC))
    duration = parse_duration(text)
    if duration is None:
        raise DurationError(
            f"{text!r} is not a datetime, a relative datetime (e.g. P30DT2H) or infinite"
        )
    try:
        return _datetime_point(_shift_datetime(now, duration, tz, -1 if past else 1))
    except (OverflowError, ValueError) as error:
        raise DurationError(f"{text!r} reaches beyond the calendar") from error


def further(a: Point, b: Point, *, past: bool = False) -> bool:
    """Whether `a` lies further from now than `b` (back in time when `past`)."""
    if a.at is None:
        return b.at is not None
    if b.at is None:
        return False
    return bool(a.at < b.at) if past else bool(a.at > b.at)


def within(value: Point, minimum: Point, maximum: Point, *, past: bool = False) -> bool:
    """Whether `value` lies between the §3.8 limits: no closer than minimum, no further than max."""
    return not further(value, maximum, past=past) and not further(minimum, value, past=past)


def _absolute_date(text: str) -> date:
    try:
        return date.fromisoformat(text)
    except ValueError as error:
        raise DurationError(f"{text!r} is not a valid date") from error


def _date_point(value: date) -> Point:
    return Point(value.isoformat(), value)


def _datetime_point(value: datetime) -> Point:
    value = value.astimezone(UTC)
    text = value.strftime("%Y-%m-%dT%H:%M:%S")
    if value.microsecond:
        text += f".{value.microsecond:06d}".rstrip("0")
    return Point(text + "Z", value)


def _shift_date(start: date, duration: Duration, sign: int) -> date:
    months = start.year * 12 + (start.month - 1) + sign * (duration.years * 12 + duration.months)
    year, month = divmod(months, 12)
    month += 1
    day = min(start.day, calendar.monthrange(year, month)[1])
    shifted = date(year, month, day)
    return shifted + sign * timedelta(weeks=duration.weeks, days=duration.days)


def _shift_datetime(now: datetime, duration: Duration, tz: ZoneInfo, sign: int) -> datetime:
    local = now.astimezone(tz).replace(microsecond=0)
    day = _shift_date(local.date(), duration, sign)
    moved = datetime.combine(day, local.timetz()).astimezone(UTC)
    elapsed = timedelta(hours=duration.hours, minutes=duration.minutes, seconds=duration.seconds)
    return moved + sign * elapsed
