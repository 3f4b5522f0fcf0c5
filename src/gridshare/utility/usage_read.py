"""Reading usage blocks for the CDS Usage Segments API (DESIGN rule 3): who measured what, when,
and the blocks' values written straight to JSON bytes.

- `spans`: the periods a meter measured a service point while a Service Contract was served
  there (meter installation x service point contract, local dates at local midnight), with the
  contract's Account: what a Usage Segment is related to.
- `value_sets`: the JSON `values` array of a Usage Segment (CDS-WG3-01 §10.8.3) from the packed
  blocks of its channels, without one Python object per reading: each block is decoded by numpy,
  formatted by orjson in one call, and the Value Objects are made by byte replacement. A value is
  exact: an integer block (`n * 10**e`, |n| < 10**15) goes through the float `n / 10**-e`, whose
  shortest representation is the decimal itself; larger integers take the exact Decimal path.
- `summed`: the value-by-value sum of several blocks (aggregated usage), packed as a block.
- `values_json`: the `values` array of one block alone (its channel's Value Object key, every
  value), written beside the block by every write path (`usage_blocks.values_json`), so that
  serving an untrimmed segment of one channel copies these bytes.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, time
from decimal import Decimal
from typing import Any, Final
from zoneinfo import ZoneInfo

import numpy as np
import numpy.typing as npt
import orjson
from sqlalchemy import select
from sqlalchemy.orm import Session

from gridshare.store.tables.accounts import Account
from gridshare.store.tables.contracts import ServiceContract
from gridshare.store.tables.meters import MeterInstallation
from gridshare.store.tables.servicepoints import ServicePointContract
from gridshare.utility import codec

EXACT_FLOAT_LIMIT: Final = 10**15
"""Integers below this (in magnitude) scaled by 10**-9..10**0 print exactly as floats."""
MAX_FLOAT_SCALE: Final = 22
"""Powers of ten up to 10**22 are exact floats, so `n / 10**k` (k <= 22, |n| below the limit)
rounds once to the float whose shortest representation is the decimal itself."""
_NUMPY: Final = orjson.OPT_SERIALIZE_NUMPY
VALUE_KEYS: Final[Mapping[str, bytes]] = {
    "electric_usage": b"eu",
    "electric_demand": b"ed",
    "water_usage": b"wu",
    "natural_gas_usage": b"gu",
    "fuel_oil_usage": b"fu",
}
"""The Value Object field of each channel kind served (CDS-WG3-01 §10.8.5.1-§10.8.5.6)."""


@dataclass(frozen=True, slots=True)
class Span:
    """`meter_id` measured `point_id` while `contract_id` (of `account_id`) was served there, from
    `start` to `end` (UTC; None is open)."""

    meter_id: str
    point_id: str
    contract_id: str
    account_id: str
    start: datetime | None
    end: datetime | None


def spans(session: Session, meter_ids: Collection[str] | None, tz: ZoneInfo) -> list[Span]:
    """Every span of these meters (of every meter when None)."""
    query = (
        select(
            MeterInstallation.meter_id,
            MeterInstallation.service_point_id,
            MeterInstallation.start,
            MeterInstallation.end,
            ServicePointContract.contract_id,
            ServicePointContract.start,
            ServicePointContract.end,
            ServiceContract.account_id,
        )
        .join(
            ServicePointContract,
            ServicePointContract.service_point_id == MeterInstallation.service_point_id,
        )
        .join(ServiceContract, ServiceContract.id == ServicePointContract.contract_id)
        .join(Account, Account.id == ServiceContract.account_id)
    )
    if meter_ids is not None:
        query = query.where(MeterInstallation.meter_id.in_(list(meter_ids)))
    found = []
    for meter, point, m_start, m_end, contract, c_start, c_end, account in session.execute(query):
        start = _later(_midnight(m_start, tz), _midnight(c_start, tz))
        end = _earlier(_midnight(m_end, tz), _midnight(c_end, tz))
        if start is None or end is None or start < end:
            found.append(Span(meter, point, contract, account, start, end))
    return found


@dataclass(frozen=True, slots=True)
class Column:
    """One channel's part of a Usage Segment: the Value Object key (`eu`, `gu`, ...), its packed
    block (None when the channel has no block for the segment) and the value range [lo, hi)."""

    key: bytes
    block: bytes | None
    quality: bytes | None
    lo: int
    hi: int


def value_sets(
    columns: Sequence[Column], length: int, extra: Sequence[Sequence[bytes]] = ()
) -> bytes:
    """The `values` array: `length` Value Sets, one Value Object (or null) per column, then one
    per `extra` list of made Value Objects (`cost_tokens`, `period_tokens`)."""
    if not (columns or extra) or length <= 0:
        return b"[]"
    floats = [_floats(c) for c in columns]
    plain = all(
        c.block is None or (f is not None and not _flagged(c))
        for c, f in zip(columns, floats, strict=True)
    )
    if plain and not extra and len({c.key for c in columns}) == 1:
        return _same_key(columns[0].key, floats, length)
    tokens = [_tokens(c, f, length) for c, f in zip(columns, floats, strict=True)]
    tokens += [list(made[:length]) + [b"null"] * (length - len(made)) for made in extra]
    return b"[[" + b"],[".join(map(b",".join, zip(*tokens, strict=True))) + b"]]"


def cost_tokens(
    column: Column, rates: npt.NDArray[np.int64], rate_exponent: int, key: bytes = b"c"
) -> list[bytes]:
    """Value Objects `{"c": value * rate}` for the column's values (null where missing), exact:
    integer products below `EXACT_FLOAT_LIMIT` print through the float path as `value_sets`
    does; others (and float blocks) take the exact Decimal path."""
    length = column.hi - column.lo
    if column.block is None:
        return [b"null"] * length
    encoding, exponent = codec.header(column.block)
    raw, _ = codec.unpack_array(column.block)
    missing = codec.missing_mask(column.block)[column.lo : column.hi]
    rates = rates[:length]
    scale = exponent + rate_exponent
    priced = Column(key, column.block, None, column.lo, column.hi)
    if encoding != codec.FLOAT64 and scale >= -MAX_FLOAT_SCALE:
        scaled = np.where(missing, 0, raw[column.lo : column.hi]).astype(np.int64)
        largest = int(np.abs(scaled).max(initial=0)) * int(np.abs(rates).max(initial=0))
        if largest < EXACT_FLOAT_LIMIT:
            product = (scaled * rates).astype(np.float64)
            floats = product / 10.0**-scale if scale < 0 else product * 10.0**scale
            floats[missing] = np.nan
            return _tokens(priced, floats, length)
    values = codec.unpack_decimals(column.block)[column.lo : column.hi]
    opening = b'{"' + key + b'":'
    return [
        b"null"
        if v is None
        else opening + format(v * Decimal(int(r)).scaleb(rate_exponent), "f").encode() + b"}"
        for v, r in zip(values, rates.tolist(), strict=True)
    ]


def period_tokens(
    starts: npt.NDArray[np.int64],
    interval: int,
    periods: Sequence[tuple[int, int, bytes]],
) -> list[bytes]:
    """For intervals starting at `starts` (epoch seconds) of `interval` seconds, the Value Object
    of the period (start, end, made object; sorted, not overlapping) that holds each interval
    whole, null where none does."""
    if not periods:
        return [b"null"] * len(starts)
    firsts = np.array([p[0] for p in periods], dtype=np.int64)
    lasts = np.array([p[1] for p in periods], dtype=np.int64)
    at = np.searchsorted(firsts, starts, side="right") - 1
    inside = (at >= 0) & (starts + interval <= lasts[np.maximum(at, 0)])
    made = np.array([p[2] for p in periods] + [b"null"], dtype=object)
    chosen: list[bytes] = made[np.where(inside, at, len(periods))].tolist()
    return chosen


def local_starts(start: datetime, interval: int, count: int, tz: ZoneInfo) -> npt.NDArray[Any]:
    """The local wall-clock times (numpy `datetime64[s]`, no timezone) of `count` intervals of
    `interval` seconds from the UTC instant `start`: the UTC offset changes at most once a day,
    so the change is found by bisection, not per interval."""
    utc = np.int64(int(start.timestamp())) + np.arange(count, dtype=np.int64) * interval
    offsets = np.full(count, _offset(start, tz), dtype=np.int64)
    if count:
        lo, hi = 0, count - 1
        last = _offset(_instant(int(utc[hi])), tz)
        if last != offsets[0]:
            while hi - lo > 1:
                middle = (lo + hi) // 2
                if _offset(_instant(int(utc[middle])), tz) == offsets[0]:
                    lo = middle
                else:
                    hi = middle
            offsets[hi:] = last
    return (utc + offsets).astype("datetime64[s]")


def _offset(moment: datetime, tz: ZoneInfo) -> int:
    offset = moment.astimezone(tz).utcoffset()
    return 0 if offset is None else int(offset.total_seconds())


def _instant(seconds: int) -> datetime:
    return datetime.fromtimestamp(seconds, UTC)


def values_json(kind: str, count: int, values: bytes, quality: bytes | None) -> bytes | None:
    """The `values` array of a block of a `kind` channel alone, its `count` values (None for a
    kind the Usage Segments API does not serve)."""
    key = VALUE_KEYS.get(kind)
    if key is None:
        return None
    return value_sets([Column(key, values, quality, 0, count)], count)


def summed(parts: Sequence[tuple[bytes | None, npt.NDArray[np.bool_]]], lo: int, hi: int) -> bytes:
    """A packed block of the value-by-value sum over [lo, hi) of the blocks, each counted where
    its mask (of length hi - lo) holds: aggregated usage (CDS-WG3-01 §4.11, §4.12). A value is
    missing where a counted block's value is missing or the block is None (no readings). Integer
    blocks are summed exactly at their finest exponent; float blocks (or sums too large for
    int64) are summed as floats rounded to the codec's finest decimal."""
    length = max(0, hi - lo)
    missing = np.zeros(length, dtype=np.bool_)
    counted = [(b, m) for b, m in parts if m.any()]
    present = [b for b, _ in counted if b is not None]
    exponents = [codec.header(b)[1] for b in present]
    exact = all(codec.header(b)[0] != codec.FLOAT64 for b in present)
    common = min(exponents, default=0)
    largest = 0
    for blob in present:
        raw, exponent = codec.unpack_array(blob)
        valid = raw[~codec.missing_mask(blob)]
        if exact and valid.size:
            largest += int(np.abs(valid).max()) * 10 ** (exponent - common)
    exact = exact and largest < 2**62
    total = np.zeros(length, dtype=np.int64 if exact else np.float64)
    for block, mask in counted:
        if block is None:
            missing |= mask
            continue
        raw, exponent = codec.unpack_array(block)
        gone = np.ones(length, dtype=np.bool_)
        part = np.zeros(length, dtype=total.dtype)
        available = max(0, min(hi, raw.size) - lo)
        gone[:available] = codec.missing_mask(block)[lo : lo + available]
        if exact:
            part[:available] = raw[lo : lo + available].astype(np.int64) * 10 ** (exponent - common)
        else:
            part[:available] = codec.unpack_floats(block)[lo : lo + available]
        missing |= mask & gone
        total += np.where(mask & ~gone, part, 0).astype(total.dtype)
    if exact:
        return codec.pack_scaled(total.astype(np.int64), missing, common)
    total[missing] = np.nan
    return codec.pack_floats(total, codec.MAX_EXPONENT_DIGITS)


def _flagged(column: Column) -> bool:
    """Whether a value of the column has a quality other than the default."""
    return column.quality is not None and any(column.quality[column.lo : column.hi])


def _floats(column: Column) -> npt.NDArray[np.float64] | None:
    """The column's values as floats that print exactly (NaN where missing); None when it has
    no block or its integers are too large to print exactly as floats."""
    if column.block is None:
        return None
    encoding, _ = codec.header(column.block)
    if encoding == codec.INT64:
        raw, _ = codec.unpack_array(column.block)
        present = raw[raw != np.iinfo(np.int64).min]
        if present.size and int(np.abs(present).max()) >= EXACT_FLOAT_LIMIT:
            return None
    return codec.unpack_floats(column.block)[column.lo : column.hi]


def _same_key(key: bytes, floats: Sequence[npt.NDArray[np.float64] | None], length: int) -> bytes:
    """Every column with the same key and default quality: one orjson call and byte replaces."""
    table = np.full((length, len(floats)), np.nan)
    for i, column in enumerate(floats):
        if column is not None:
            table[: min(length, column.size), i] = column[:length]
    body = orjson.dumps(table, option=_NUMPY)[2:-2]
    opening = b'{"' + key + b'":'
    body = body.replace(b"],[", b"\x00").replace(b",", b"}," + opening)
    body = body.replace(b"\x00", b"}],[" + opening)
    body = b"[[" + opening + body + b"}]]"
    return body.replace(opening + b"null}", b"null")


def _tokens(column: Column, floats: npt.NDArray[np.float64] | None, length: int) -> list[bytes]:
    """One Value Object (or `null`) per value of the column."""
    if column.block is None:
        return [b"null"] * length
    opening = b'{"' + column.key + b'":'
    tokens: list[bytes] = []
    if floats is not None and floats.size:
        body = orjson.dumps(floats, option=_NUMPY)[1:-1]
        tokens = body.replace(b",", b"}," + opening).split(b",")
        tokens[0] = opening + tokens[0]
        tokens[-1] = tokens[-1] + b"}"
        tokens = [b"null" if t == opening + b"null}" else t for t in tokens]
    elif floats is None:
        tokens = [
            b"null" if v is None else opening + str(v).encode() + b"}"
            for v in codec.unpack_decimals(column.block)[column.lo : column.hi]
        ]
    tokens += [b"null"] * (length - len(tokens))
    if column.quality is not None:
        codes = np.frombuffer(column.quality, dtype=np.uint8)[column.lo : column.hi]
        for index in np.flatnonzero(codes).tolist():
            if index < length and tokens[index] != b"null":
                named = codec.QUALITIES[int(codes[index])].encode()
                tokens[index] = tokens[index][:-1] + b',"quality":"' + named + b'"}'
    return tokens[:length]


def _midnight(day: date | None, tz: ZoneInfo) -> datetime | None:
    if day is None:
        return None
    return datetime.combine(day, time(), tz).astimezone(UTC)


def _later(a: datetime | None, b: datetime | None) -> datetime | None:
    return b if a is None else a if b is None else max(a, b)


def _earlier(a: datetime | None, b: datetime | None) -> datetime | None:
    return b if a is None else a if b is None else min(a, b)
