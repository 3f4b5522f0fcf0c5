"""ESPI query parameters (NAESB REQ.21 ESPI FB_37; DIGEST §6; GBA openapi-starter
`components/parameters`).

Seven parameters narrow a feed: `published-min`, `published-max`, `updated-min`, `updated-max`
(xs:dateTime, `2024-10-01T07:00:00Z`, or epoch seconds as PG&E's clients send them) and
`max-results`, `start-index` (one-based), `depth` (non-negative integers). A malformed value is a
`QueryError` naming the parameter and the form expected (a 400 at the route, Green Button test
QRY002); other parameters are not ours to judge and are ignored.

How they apply (`Query.keeps`, `Query.keeps_interval`, `Query.page`):
- an IntervalBlock is kept by the time of its readings, not its Atom `published`: its interval
  starts at or after `published-min` and ends at or before `published-max` (OpenESPI ExportFilter;
  QRY001: min = start of block 2, max = end of block N-1 keeps N-2 blocks);
- every other entry by its Atom `published` and `updated`, bounds inclusive;
- `updated-min`/`updated-max` by Atom `updated` for every entry, blocks included;
- then `start-index` skips the entries before it, and at most `max-results` entries (and at most
  `depth`, the most entries a response transfers) are written.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from itertools import islice
from typing import Final, TypeVar

PUBLISHED_MIN: Final = "published-min"
PUBLISHED_MAX: Final = "published-max"
UPDATED_MIN: Final = "updated-min"
UPDATED_MAX: Final = "updated-max"
MAX_RESULTS: Final = "max-results"
START_INDEX: Final = "start-index"
DEPTH: Final = "depth"
LARGEST: Final = 2**31 - 1
"""The largest count accepted (ESPI counts are 32-bit)."""
_DATETIME: Final = re.compile(
    r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d{1,9})?(Z|[+-]\d{2}:\d{2})$"
)
_EPOCH: Final = re.compile(r"^\d{1,12}$")
_COUNT: Final = re.compile(r"^\d{1,10}$")
DATETIME_FORM: Final = "an xs:dateTime in UTC such as 2024-10-01T07:00:00Z, or epoch seconds"
COUNT_FORM: Final = f"a non-negative integer (at most {LARGEST})"

T = TypeVar("T")


class QueryError(ValueError):
    """A query parameter whose value is not of its form."""

    def __init__(self, parameter: str, value: str, expected: str) -> None:
        super().__init__(f"{parameter}={value!r} is not valid: give {expected}")
        self.parameter = parameter


@dataclass(frozen=True)
class Query:
    published_min: datetime | None = None
    published_max: datetime | None = None
    updated_min: datetime | None = None
    updated_max: datetime | None = None
    max_results: int | None = None
    start_index: int | None = None
    depth: int | None = None

    @classmethod
    def parse(cls, params: Mapping[str, str]) -> Query:
        """The seven parameters from a request's query strings (module docstring)."""
        return cls(
            published_min=_moment(params, PUBLISHED_MIN),
            published_max=_moment(params, PUBLISHED_MAX),
            updated_min=_moment(params, UPDATED_MIN),
            updated_max=_moment(params, UPDATED_MAX),
            max_results=_count(params, MAX_RESULTS),
            start_index=_count(params, START_INDEX),
            depth=_count(params, DEPTH),
        )

    def keeps(self, published: datetime, updated: datetime) -> bool:
        """Whether an entry (not an IntervalBlock) passes the time filters."""
        return _within(published, self.published_min, self.published_max) and self.keeps_updated(
            updated
        )

    def keeps_interval(self, start: datetime, end: datetime, updated: datetime) -> bool:
        """Whether an IntervalBlock whose readings cover [start, end) passes the time filters."""
        if self.published_min is not None and start < self.published_min:
            return False
        if self.published_max is not None and end > self.published_max:
            return False
        return self.keeps_updated(updated)

    def keeps_updated(self, updated: datetime) -> bool:
        return _within(updated, self.updated_min, self.updated_max)

    def page(self, entries: Iterable[T]) -> Iterator[T]:
        """The entries from `start-index`, at most `max-results` and `depth` of them, lazily."""
        skip = max((self.start_index or 1) - 1, 0)
        limits = [n for n in (self.max_results, self.depth) if n is not None]
        stop = skip + min(limits) if limits else None
        return islice(entries, skip, stop)


def _within(moment: datetime, low: datetime | None, high: datetime | None) -> bool:
    return (low is None or moment >= low) and (high is None or moment <= high)


def _moment(params: Mapping[str, str], name: str) -> datetime | None:
    value = params.get(name)
    if value is None:
        return None
    text = value.strip()
    if _EPOCH.match(text):
        return datetime.fromtimestamp(int(text), UTC)
    if _DATETIME.match(text):
        try:
            return datetime.fromisoformat(text).astimezone(UTC)
        except ValueError:
            pass
    raise QueryError(name, value, DATETIME_FORM)


def _count(params: Mapping[str, str], name: str) -> int | None:
    value = params.get(name)
    if value is None:
        return None
    text = value.strip()
    if not _COUNT.match(text) or int(text) > LARGEST:
        raise QueryError(name, value, COUNT_FORM)
    return int(text)
