"""`grants.reach`: time windows and what one kind of object a token reaches."""

from __future__ import annotations

from datetime import UTC, date, datetime
from zoneinfo import ZoneInfo

from gridshare.grants.reach import Reach, UsageReach, Window, merge_windows, midnight

A = datetime(2025, 1, 1, tzinfo=UTC)
B = datetime(2025, 1, 2, tzinfo=UTC)
C = datetime(2025, 1, 3, tzinfo=UTC)


def test_windows_clip_and_merge() -> None:
    assert Window(A, C).clip(Window(B, None)) == Window(B, C)
    assert Window(A, B).clip(Window(B, C)) is None
    assert merge_windows([Window(B, C), Window(A, B)]) == (Window(A, C),)
    assert merge_windows([Window(None, A), Window(B, None)]) == (
        Window(None, A),
        Window(B, None),
    )


def test_local_midnight_in_utc() -> None:
    los_angeles = ZoneInfo("America/Los_Angeles")
    assert midnight(date(2025, 3, 9), los_angeles) == datetime(2025, 3, 9, 8, tzinfo=UTC)
    assert midnight(date(2025, 3, 10), los_angeles) == datetime(2025, 3, 10, 7, tzinfo=UTC)
    assert midnight(None, los_angeles) is None


def test_an_objects_flags_are_its_own_and_every_objects() -> None:
    bounded = Reach({"a": frozenset({"include_x"})})
    assert bounded.bounded and bounded.flags("a") == {"include_x"} and bounded.flags("b") is None
    every = Reach({"a": frozenset({"include_x"})}, frozenset({"include_y"}))
    assert not every.bounded
    assert every.flags("a") == {"include_x", "include_y"} and every.flags("b") == {"include_y"}


def test_usage_windows_of_a_meter_join_its_own_and_every_meters() -> None:
    usage = UsageReach({"m": (Window(A, B),)}, (Window(B, C),))
    assert usage.windows("m") == (Window(A, C),)
    assert usage.windows("other") == (Window(B, C),)
