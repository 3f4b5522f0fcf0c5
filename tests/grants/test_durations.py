"""CDS-WG1-02 §2 and §3.9: relative or absolute dates and datetimes, resolved in cds_timezone."""

from __future__ import annotations

from datetime import UTC, date, datetime
from zoneinfo import ZoneInfo

import pytest

from gridshare.grants.durations import (
    INFINITE,
    Duration,
    DurationError,
    Point,
    further,
    parse_duration,
    resolve,
    within,
)

LA = ZoneInfo("America/Los_Angeles")


@pytest.mark.req("WG1-02-2-b")
@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("P3Y", Duration(years=3)),
        ("P13M", Duration(months=13)),
        ("P0D", Duration()),
        ("P1Y2M3D", Duration(years=1, months=2, days=3)),
        ("P30DT2H", Duration(days=30, hours=2, has_time=True)),
        ("PT0S", Duration(has_time=True)),
        ("P0S", Duration(has_time=True)),
        ("PT1H30M", Duration(hours=1, minutes=30, has_time=True)),
        ("P2W", Duration(weeks=2)),
        ("3y", Duration(years=3)),
        ("13m", Duration(months=13)),
        ("30d", Duration(days=30)),
    ],
)
def test_durations_parse(text: str, expected: Duration) -> None:
    assert parse_duration(text) == expected


@pytest.mark.req("WG1-02-2-b")
@pytest.mark.parametrize(
    "text", ["P", "PT", "P1H", "P-1D", "1Y", "P1.5Y", "P1YT", "P1W2D", "3x", "p3y", " P3Y", ""]
)
def test_non_durations_are_refused(text: str) -> None:
    assert parse_duration(text) is None


@pytest.mark.req("WG1-02-2-b", "WG1-02-3.9-c")
def test_a_relative_date_counts_from_the_local_date_in_cds_timezone() -> None:
    # 05:00 UTC on New Year's Day is still New Year's Eve in Los Angeles.
    now = datetime(2024, 1, 1, 5, 0, tzinfo=UTC)
    assert resolve("P0D", "date", tz=LA, now=now) == Point("2023-12-31", date(2023, 12, 31))
    assert resolve("P0D", "date", tz=ZoneInfo("UTC"), now=now).text == "2024-01-01"
    assert resolve("P1Y", "date", tz=LA, now=now).text == "2024-12-31"
    assert resolve("P1Y", "date", tz=LA, now=now, past=True).text == "2022-12-31"


@pytest.mark.req("WG1-02-2-b")
@pytest.mark.parametrize("text", ["P1DT1H", "PT0S", "P0S", "PT5M"])
def test_relative_dates_have_no_time_part(text: str) -> None:
    with pytest.raises(DurationError, match="no hours"):
        resolve(text, "date", tz=LA, now=datetime(2024, 1, 1, tzinfo=UTC))


@pytest.mark.req("WG1-02-3.9-c")
def test_relative_datetimes_move_the_local_calendar_then_elapsed_time() -> None:
    # Noon PST on 1 March; 30 local days later it is noon PDT (DST began on 10 March).
    now = datetime(2024, 3, 1, 20, 0, 12, 345, tzinfo=UTC)
    assert resolve("P30D", "datetime", tz=LA, now=now).text == "2024-03-31T19:00:12Z"
    assert resolve("P30DT2H", "datetime", tz=LA, now=now).text == "2024-03-31T21:00:12Z"
    assert resolve("PT0S", "datetime", tz=LA, now=now).text == "2024-03-01T20:00:12Z"
    assert resolve("P0S", "datetime", tz=LA, now=now).text == "2024-03-01T20:00:12Z"
    assert resolve("13m", "datetime", tz=LA, now=now, past=True).text == "2023-02-01T20:00:12Z"


def test_month_arithmetic_keeps_to_the_end_of_short_months() -> None:
    now = datetime(2024, 1, 31, 20, 0, tzinfo=UTC)
    assert resolve("P1M", "date", tz=LA, now=now).text == "2024-02-29"
    assert resolve("P13M", "date", tz=LA, now=now).text == "2025-02-28"


@pytest.mark.req("WG1-02-2-a")
def test_absolute_values_are_rfc3339_and_datetimes_leave_in_utc() -> None:
    now = datetime(2024, 1, 1, tzinfo=UTC)
    assert resolve("2024-02-29", "date", tz=LA, now=now).text == "2024-02-29"
    assert (
        resolve("2024-01-01T00:00:00+02:00", "datetime", tz=LA, now=now).text
        == "2023-12-31T22:00:00Z"
    )
    assert resolve("2024-01-01t00:00:00.5z", "datetime", tz=LA, now=now).text == (
        "2024-01-01T00:00:00.5Z"
    )
    assert resolve(INFINITE, "date", tz=LA, now=now) == Point(INFINITE, None)
    for text, kind in [
        ("2023-02-29", "date"),
        ("2024-1-01", "date"),
        ("2024-01-01T00:00:00", "datetime"),  # no offset
        ("2024-01-01 00:00:00Z", "datetime"),
        ("2024-13-01T00:00:00Z", "datetime"),
        ("2024-01-01T00:00:00Z", "date"),
        ("forever", "datetime"),
        ("P99999Y", "date"),
    ]:
        with pytest.raises(DurationError):
            resolve(text, kind, tz=LA, now=now)  # type: ignore[arg-type]


@pytest.mark.req("WG1-02-3.8-e")
def test_limits_measure_distance_from_now_forward_or_back() -> None:
    now = datetime(2024, 6, 1, 19, 0, tzinfo=UTC)

    def point(text: str, past: bool) -> Point:
        return resolve(text, "datetime", tz=LA, now=now, past=past)

    # Forward (sync_until): minimum PT0S, maximum P1Y.
    low, high = point("PT0S", False), point("P1Y", False)
    assert within(point("P6M", False), low, high)
    assert not within(point("P2Y", False), low, high)
    assert not within(point("2024-01-01T00:00:00Z", False), low, high)
    assert not within(point(INFINITE, False), low, high)
    assert within(point(INFINITE, False), low, point(INFINITE, False))
    # Back (segment_start): maximum P13M is the furthest back, minimum PT0S the closest.
    low, high = point("PT0S", True), point("P13M", True)
    assert within(point("P12M", True), low, high, past=True)
    assert within(point("2024-01-01T00:00:00Z", True), low, high, past=True)
    assert not within(point("P14M", True), low, high, past=True)
    assert not within(point("2020-01-01T00:00:00Z", True), low, high, past=True)
    assert not within(point("2024-07-01T00:00:00Z", True), low, high, past=True)
    assert not within(point(INFINITE, True), low, high, past=True)
    assert further(point(INFINITE, True), high, past=True)
