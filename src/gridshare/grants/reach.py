"""What a token reaches, as data (DESIGN rule 2): the kinds of Customer Data objects
(CDS-WG3-01 §10.1-§10.9), the §7.2 field that includes each kind, time windows, and per kind the
reachable ids with their include flags (`Reach`) or, for usage, the reachable meters and windows
(`UsageReach`). Built by `grants.access`; read by the Customer Data APIs.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time
from typing import Final
from zoneinfo import ZoneInfo

ACCOUNTS: Final[str] = "accounts"

CONTRACTS: Final[str] = "servicecontracts"

POINTS: Final[str] = "servicepoints"

METERS: Final[str] = "meterdevices"

STATEMENTS: Final[str] = "billstatements"

SECTIONS: Final[str] = "billsections"

AGGREGATIONS: Final[str] = "aggregations"

USAGE: Final[str] = "usagesegments"

EACS: Final[str] = "eacs"
KINDS: Final = (
    ACCOUNTS,
    CONTRACTS,
    POINTS,
    METERS,
    STATEMENTS,
    SECTIONS,
    AGGREGATIONS,
    USAGE,
    EACS,
)

INCLUDE: Final[Mapping[str, str]] = {
    ACCOUNTS: "include_accounts",
    CONTRACTS: "include_service_contracts",
    POINTS: "include_service_points",
    METERS: "include_meter_devices",
    STATEMENTS: "include_bill_statements",
    SECTIONS: "include_bill_sections",
    AGGREGATIONS: "include_aggregations",
    USAGE: "include_usage_segments",
    EACS: "include_eacs",
}
"""The §7.2 field that makes each kind of object reachable."""


@dataclass(frozen=True, slots=True)
class Window:
    """[start, end) in UTC; None is unbounded."""

    start: datetime | None
    end: datetime | None

    def clip(self, other: Window) -> Window | None:
        start = later(self.start, other.start)
        end = earlier(self.end, other.end)
        if start is not None and end is not None and start >= end:
            return None
        return Window(start, end)


ALWAYS: Final = Window(None, None)


@dataclass(frozen=True)
class Reach:
    """The objects of one kind a token reaches and, per object, the `include_*` flags that apply.

    `every` is set when every object of the kind is reachable (a direct-access scope without
    preselections): the flags that apply to all of them. An object's flags are the union of
    `every` and its own entry in `ids`.
    """

    ids: Mapping[str, frozenset[str]] = field(default_factory=dict)
    every: frozenset[str] | None = None

    @property
    def bounded(self) -> bool:
        return self.every is None

    def flags(self, object_id: str) -> frozenset[str] | None:
        """The flags that apply to this object, or None when it is out of reach."""
        own = self.ids.get(object_id)
        if self.every is None:
            return own
        return self.every | (own or frozenset())


@dataclass(frozen=True)
class UsageReach:
    """Which meters' usage a token reaches, and when (merged, sorted, non-overlapping windows),
    and which Aggregations' aggregated usage."""

    meters: Mapping[str, tuple[Window, ...]] = field(default_factory=dict)
    every: tuple[Window, ...] | None = None
    formats: frozenset[str] | None = None
    """The `include_usage_segment_value_types` choices allowed; None: every value type."""
    aggregations: Mapping[str, tuple[Window, ...]] = field(default_factory=dict)
    """Aggregation id -> windows of its aggregated usage (§4.11, §4.12): the sums over its
    members, never the members' own usage."""

    @property
    def bounded(self) -> bool:
        return self.every is None

    def windows(self, meter_id: str) -> tuple[Window, ...]:
        own = self.meters.get(meter_id, ())
        return merge_windows((*own, *(self.every or ())))


def merge_windows(windows: Iterable[Window]) -> tuple[Window, ...]:
    """Sorted, with overlapping or touching windows joined."""
    ordered = sorted(windows, key=lambda w: (w.start is not None, w.start or datetime.min))
    merged: list[Window] = []
    for window in ordered:
        if merged and (
            merged[-1].end is None or window.start is None or window.start <= merged[-1].end
        ):
            last = merged[-1]
            end = None if last.end is None or window.end is None else max(last.end, window.end)
            merged[-1] = Window(last.start, end)
        else:
            merged.append(window)
    return tuple(merged)


def midnight(day: date | None, tz: ZoneInfo) -> datetime | None:
    if day is None:
        return None
    return datetime.combine(day, time(), tz).astimezone(UTC)


def later(a: datetime | None, b: datetime | None) -> datetime | None:
    return b if a is None else a if b is None else max(a, b)


def earlier(a: datetime | None, b: datetime | None) -> datetime | None:
    return b if a is None else a if b is None else min(a, b)
