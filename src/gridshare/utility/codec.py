"""The usage-block codec: a day of readings packed into bytes, exactly (DESIGN rule 3).

Layout of `values`: a 2-byte header, then the payload, little-endian.

- byte 0: the encoding: `1` int32, `2` int64 (each value is `integer * 10**exponent`, exact),
  `3` float64 (for values no short decimal represents);
- byte 1: the decimal exponent as a signed byte (0 for float64);
- payload: one number per interval. A missing reading is `INT32_MIN`/`INT64_MIN`, or NaN.

`quality` is one byte per value holding an index into `QUALITIES` (CDS-WG3-01 §10.8.7.6 reading
quality types), or `None` when every value has the default quality `valid`.

At 15 minutes a day is 96 readings: 2 + 384 bytes for typical meter data.
"""

from __future__ import annotations

from collections.abc import Sequence
from decimal import Decimal
from typing import Any

import numpy as np
import numpy.typing as npt

INT32 = 1
INT64 = 2
FLOAT64 = 3
MAX_EXPONENT_DIGITS = 9
"""Values are kept to at most nine decimal places (a nano-unit); finer input is refused."""

QUALITIES: tuple[str, ...] = (
    "valid",
    "raw",
    "manual",
    "revenue",
    "estimated",
    "calculated",
    "corrected",
    "website",
)
QUALITY_CODE = {name: code for code, name in enumerate(QUALITIES)}

_MISSING = {INT32: np.iinfo(np.int32).min, INT64: np.iinfo(np.int64).min}
_DTYPE: dict[int, np.dtype[Any]] = {
    INT32: np.dtype("<i4"),
    INT64: np.dtype("<i8"),
    FLOAT64: np.dtype("<f8"),
}
_INT32_LIMIT = 2**31 - 1
_INT64_LIMIT = 2**63 - 1


class CodecError(ValueError):
    """A value cannot be stored exactly."""


def pack_decimals(values: Sequence[Decimal | None]) -> bytes:
    """Pack exact decimals (None for a missing reading), choosing the smallest exact encoding."""
    present = [v for v in values if v is not None]
    for value in present:
        if not value.is_finite():
            raise CodecError(f"reading {value} is not a finite number")
    exponent = min((_exponent(v) for v in present), default=0)
    exponent = min(exponent, 0)
    if exponent < -MAX_EXPONENT_DIGITS:
        raise CodecError(f"readings carry more than {MAX_EXPONENT_DIGITS} decimal places")
    scaled = [0 if v is None else int(v.scaleb(-exponent)) for v in values]
    if max(map(abs, scaled), default=0) >= _INT64_LIMIT:
        raise CodecError("a reading is too large to store exactly")
    missing = np.array([v is None for v in values], dtype=np.bool_)
    return pack_scaled(np.array(scaled, dtype=np.int64), missing, exponent)


def pack_floats(values: npt.ArrayLike, decimals: int) -> bytes:
    """Pack floats rounded to `decimals` places (NaN for a missing reading), exactly as rounded."""
    if not 0 <= decimals <= MAX_EXPONENT_DIGITS:
        raise CodecError(f"decimals must be between 0 and {MAX_EXPONENT_DIGITS}")
    array = np.asarray(values, dtype=np.float64)
    missing = np.isnan(array)
    if np.any(np.isinf(array)):
        raise CodecError("a reading is not a finite number")
    scaled = np.rint(np.where(missing, 0.0, array) * 10.0**decimals)
    if np.any(np.abs(scaled) >= 2.0**62):
        raise CodecError("a reading is too large to store exactly")
    return pack_scaled(scaled.astype(np.int64), missing, -decimals)


def pack_scaled(
    scaled: npt.NDArray[np.int64], missing: npt.NDArray[np.bool_], exponent: int
) -> bytes:
    """Pack `scaled * 10**exponent` (ignoring `scaled` where `missing`) in int32 if it fits."""
    if not -MAX_EXPONENT_DIGITS <= exponent <= 0:
        raise CodecError(f"exponent must be between -{MAX_EXPONENT_DIGITS} and 0")
    present = scaled[~missing]
    if present.size and (present.min() <= -_INT64_LIMIT or present.max() >= _INT64_LIMIT):
        raise CodecError("a reading is too large to store exactly")
    fits32 = not present.size or (present.min() > -_INT32_LIMIT and present.max() < _INT32_LIMIT)
    encoding = INT32 if fits32 else INT64
    ints = np.where(missing, _MISSING[encoding], scaled).astype(_DTYPE[encoding])
    return bytes((encoding, exponent & 0xFF)) + ints.tobytes()


def _exponent(value: Decimal) -> int:
    exponent = value.normalize().as_tuple().exponent
    assert isinstance(exponent, int)  # finite values only
    return exponent


def header(blob: bytes) -> tuple[int, int]:
    """The encoding and decimal exponent of a packed block."""
    if len(blob) < 2 or blob[0] not in _DTYPE or (len(blob) - 2) % _DTYPE[blob[0]].itemsize:
        raise CodecError("not a packed usage block")
    exponent = blob[1] - 256 if blob[1] > 127 else blob[1]
    return blob[0], exponent


def unpack_array(blob: bytes) -> tuple[npt.NDArray[np.int64] | npt.NDArray[np.float64], int]:
    """The raw numbers and exponent (value = number * 10**exponent); missing as the sentinel/NaN."""
    encoding, exponent = header(blob)
    return np.frombuffer(blob, dtype=_DTYPE[encoding], offset=2), exponent


def missing_mask(blob: bytes) -> npt.NDArray[np.bool_]:
    encoding, _ = header(blob)
    array, _ = unpack_array(blob)
    if encoding == FLOAT64:
        return np.isnan(array)
    return np.asarray(array == _MISSING[encoding])


def unpack_decimals(blob: bytes) -> list[Decimal | None]:
    """Exact values, None where a reading is missing."""
    encoding, exponent = header(blob)
    array, _ = unpack_array(blob)
    if encoding == FLOAT64:
        return [None if np.isnan(v) else Decimal(repr(float(v))) for v in array]
    sentinel = _MISSING[encoding]
    return [None if v == sentinel else Decimal(int(v)).scaleb(exponent) for v in array.tolist()]


def unpack_floats(blob: bytes) -> npt.NDArray[np.float64]:
    """Values as floats, NaN where a reading is missing (for arithmetic, never for output)."""
    encoding, exponent = header(blob)
    array, _ = unpack_array(blob)
    if encoding == FLOAT64:
        return np.asarray(array, dtype=np.float64)
    # Dividing by an exact power of ten rounds once, so 3 * 10**-1 becomes the float 0.3.
    result = array.astype(np.float64)
    result = result / 10.0**-exponent if exponent < 0 else result * 10.0**exponent
    result[array == _MISSING[encoding]] = np.nan
    return result


def count(blob: bytes) -> int:
    encoding, _ = header(blob)
    return (len(blob) - 2) // _DTYPE[encoding].itemsize


def pack_quality(codes: Sequence[int] | npt.NDArray[np.uint8]) -> bytes | None:
    """One byte per value, or None when every value is `valid` (code 0)."""
    array = np.asarray(codes)
    unknown = array[(array < 0) | (array >= len(QUALITIES))]
    if unknown.size:
        raise CodecError(f"unknown quality code {int(unknown[0])}")
    return None if not array.any() else array.astype(np.uint8).tobytes()


def unpack_quality(blob: bytes | None, length: int) -> npt.NDArray[np.uint8]:
    if blob is None:
        return np.zeros(length, dtype=np.uint8)
    if len(blob) != length:
        raise CodecError(f"quality holds {len(blob)} codes for {length} values")
    return np.frombuffer(blob, dtype=np.uint8)
