"""Paging of the CDS-WG1-02 listings: `next` and `previous` (§5.3, §6.8, §7.3, §8.4, §9.2).

Every listing is newest first by one timestamp (`cds_modified`, `modified`, ...), ties broken by
id, and a page holds `settings.page_size` objects (the spec lets a Server cut lists longer than
100). Paging is by keyset, not offset: a link carries an opaque cursor naming the object it
continues after, so objects added while a client pages do not shift or repeat what it sees.

A `next` or `previous` link is an absolute URL (`settings.url`) to the same path with every other
query parameter of the request kept as it was (the filters stay the same page after page) and the
cursor parameter set: `cursor`, unless the listing names its own (the Messages API pages its three
lists with one parameter each). A cursor this server did not give out is refused with 400
`invalid_request` naming the parameter.

The listings' filters are read the same way everywhere: `space_list` for the space-separated id
lists (a blank list is 400; `where_listed` applies them), `datetime_param` for the RFC 3339
`after`/`before` bounds (`created_between` applies them).
"""

from __future__ import annotations

import base64
import binascii
import re
from collections.abc import Collection, Iterable
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Annotated, Any, Generic, TypeVar
from urllib.parse import quote, urlencode

import orjson
from fastapi import Query, Request
from sqlalchemy import ColumnElement, Select, and_, or_, select
from sqlalchemy.orm import QueryableAttribute, Session

from gridshare.api.errors import invalid_request
from gridshare.config import Settings

T = TypeVar("T")

_SPACE_OFFSET = re.compile(r"(.*T\d\d:\d\d:\d\d(?:\.\d+)?) (\d\d:\d\d)$")

CURSOR = "cursor"
"""The query parameter carrying the page position, unless a listing names its own."""

CursorQuery = Annotated[
    str | None, Query(description="Page position, as given in a next or previous link.")
]
"""The `cursor` query parameter of a listing."""


Value = datetime | date | str
"""A sort key's value: the sort columns are never null (coalesce a nullable one)."""


@dataclass(frozen=True, slots=True)
class Cursor:
    """The objects after (`forward`) or before the object at `values` in listing order,
    `inclusive` of that object or not."""

    values: tuple[Value, ...]
    forward: bool
    inclusive: bool = False

    def other_side(self) -> Cursor:
        """The objects on the other side of the same gap."""
        return Cursor(self.values, not self.forward, not self.inclusive)


@dataclass(frozen=True, slots=True)
class Page(Generic[T]):
    """One page of a listing and the absolute URLs of its neighbours (None at an end)."""

    items: list[T]
    next: str | None
    previous: str | None


@dataclass(frozen=True, slots=True)
class SortKey:
    """One column of a listing order; `name` is the attribute of a listed item holding its value."""

    column: ColumnElement[Any] | QueryableAttribute[Any]
    name: str
    descending: bool = False


class Order:
    """A listing order by `keys`, the last one unique. `Order(moment, key)` is the CDS-WG1-02
    order: newest `moment` first, then by `key` ascending."""

    def __init__(
        self,
        moment: QueryableAttribute[datetime] | None = None,
        key: QueryableAttribute[str] | None = None,
        *,
        keys: tuple[SortKey, ...] = (),
    ) -> None:
        if moment is not None and key is not None:
            keys = (SortKey(moment, moment.key, True), SortKey(key, key.key))
        if not keys:
            raise ValueError("an Order needs sort keys")
        self.keys = keys

    def position(self, item: object) -> tuple[Value, ...]:
        """Where `item` sits in this order."""
        return tuple(getattr(item, k.name) for k in self.keys)

    def clauses(self, forward: bool) -> list[Any]:
        """ORDER BY clauses for reading forward (listing order) or backward."""
        return [k.column.desc() if k.descending == forward else k.column.asc() for k in self.keys]

    def beyond(self, cursor: Cursor) -> ColumnElement[bool]:
        """The rows on the cursor's side of its position."""
        alternatives = []
        for i, key in enumerate(self.keys):
            equal = [k.column == v for k, v in zip(self.keys[:i], cursor.values, strict=False)]
            value = cursor.values[i]
            after = (key.column < value) if key.descending == cursor.forward else key.column > value
            alternatives.append(and_(*equal, after))
        if cursor.inclusive:
            alternatives.append(
                and_(*(k.column == v for k, v in zip(self.keys, cursor.values, strict=True)))
            )
        return or_(*alternatives)


def paginate(
    session: Session,
    settings: Settings,
    request: Request,
    query: Select[T],
    order: Order,
    *,
    cursor: str | None,
    parameter: str = CURSOR,
    drop: Collection[str] = (),
) -> Page[T]:
    """The page of `query` (rows of one mapped class) in `order` at `cursor`, the raw value of
    `parameter` (None for the first page). The links keep the request's other query parameters
    except those in `drop`.
    """
    position = decode_cursor(cursor, parameter)
    forward = position is None or position.forward
    window = query if position is None else query.where(order.beyond(position))
    window = window.order_by(*order.clauses(forward))
    limit = settings.page_size
    items = list(session.scalars(window.limit(limit + 1)))
    more = len(items) > limit
    items = items[:limit]
    if not forward:
        items.reverse()
    if items:
        before = Cursor(order.position(items[0]), forward=False)
        after = Cursor(order.position(items[-1]), forward=True)
    elif position is not None:
        # An empty page (its objects since changed or gone) still links to both sides of it.
        before = position if not forward else position.other_side()
        after = position if forward else position.other_side()
    else:
        return Page(items, None, None)
    if forward:
        has_next = more
        has_previous = position is not None and _any(session, query, order.beyond(before))
    else:
        has_next = _any(session, query, order.beyond(after))
        has_previous = more

    def link(at: Cursor) -> str:
        return page_url(settings, request, parameter, encode_cursor(at), drop)

    return Page(
        items,
        link(after) if has_next else None,
        link(before) if has_previous else None,
    )


def page_url(
    settings: Settings,
    request: Request,
    parameter: str,
    value: str,
    drop: Collection[str] = (),
) -> str:
    """This request's URL, absolute, with `parameter` set to `value` and `drop` left out."""
    kept = [
        (name, item)
        for name, item in request.query_params.multi_items()
        if name != parameter and name not in drop
    ]
    kept.append((parameter, value))
    return settings.url(request.url.path) + "?" + urlencode(kept, quote_via=quote)


def encode_cursor(cursor: Cursor) -> str:
    raw = orjson.dumps([cursor.forward, cursor.inclusive, [_tagged(v) for v in cursor.values]])
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def decode_cursor(value: str | None, parameter: str = CURSOR) -> Cursor | None:
    """The cursor in `value`, None for None; 400 `invalid_request` naming `parameter` otherwise."""
    if value is None:
        return None
    try:
        raw = base64.urlsafe_b64decode(value + "=" * (-len(value) % 4))
        forward, inclusive, tagged = orjson.loads(raw)
        if not (isinstance(forward, bool) and isinstance(inclusive, bool)):
            raise TypeError(forward, inclusive)
        if not isinstance(tagged, list) or not tagged:
            raise TypeError(tagged)
        values = tuple(_untagged(v) for v in tagged)
    except (binascii.Error, ValueError, TypeError) as error:
        raise invalid_request(
            f"{parameter} is not a page position this server gave out; follow the listing's "
            f"next and previous links as they are, or leave {parameter} out"
        ) from error
    return Cursor(values, forward, inclusive)


def _tagged(value: Value) -> list[str]:
    if isinstance(value, datetime):
        return ["t", value.isoformat()]
    if isinstance(value, date):
        return ["d", value.isoformat()]
    return ["s", value]


def _untagged(tagged: Any) -> Value:
    kind, text = tagged
    if not isinstance(text, str):
        raise TypeError(text)
    if kind == "t":
        moment = datetime.fromisoformat(text)
        if moment.tzinfo is None:
            raise ValueError(text)
        return moment
    if kind == "d":
        return date.fromisoformat(text)
    if kind == "s":
        return text
    raise ValueError(kind)


def space_list(name: str, raw: str | None) -> list[str] | None:
    """A space-separated filter value (None when absent); a blank value is 400."""
    if raw is None:
        return None
    values = raw.split()
    if not values:
        raise invalid_request(f"{name} is empty: give space-separated values, or leave it out")
    return values


def datetime_param(name: str, raw: str | None) -> datetime | None:
    """An RFC 3339 date-time filter value with its offset (None when absent), else 400.

    A `+hh:mm` offset sent unencoded arrives as a space; that is forgiven.
    """
    if raw is None:
        return None
    text = _SPACE_OFFSET.sub(r"\1+\2", raw.strip())
    try:
        moment: datetime | None = datetime.fromisoformat(text.upper())
    except ValueError:
        moment = None
    if moment is None or moment.tzinfo is None or "T" not in text.upper():
        raise invalid_request(
            f"{name} must be an RFC 3339 date-time with an offset, e.g. 2024-01-01T00:00:00Z"
        )
    return moment


def where_listed(
    query: Select[T], filters: Iterable[tuple[str, str | None, QueryableAttribute[Any]]]
) -> Select[T]:
    """`query` narrowed to the values of each space-separated filter (name, raw value, column)
    given; a filter left out narrows nothing."""
    for name, raw, column in filters:
        values = space_list(name, raw)
        if values is not None:
            query = query.where(column.in_(values))
    return query


def created_between(
    query: Select[T],
    column: QueryableAttribute[datetime],
    after: str | None,
    before: str | None,
    *,
    whole_second: bool = False,
) -> Select[T]:
    """`query` narrowed to `after <= column <= before` (RFC 3339 bounds, each optional). With
    `whole_second`, a `before` without fractional seconds includes its whole second (for objects
    whose time is shown to the second)."""
    start = datetime_param("after", after)
    if start is not None:
        query = query.where(column >= start)
    end = datetime_param("before", before)
    if end is not None:
        if whole_second and end.microsecond == 0:
            query = query.where(column < end + timedelta(seconds=1))
        else:
            query = query.where(column <= end)
    return query


def _any(session: Session, query: Select[T], condition: ColumnElement[bool]) -> bool:
    return bool(session.scalar(select(query.where(condition).exists())))
