"""`usage_read.summed`: the value-by-value sum of blocks behind aggregated usage (CDS-WG3-01
§4.11, §4.12), exact across exponents, counted only where each block's mask holds."""

from __future__ import annotations

from decimal import Decimal

import numpy as np

from gridshare.utility import codec
from gridshare.utility.usage_read import summed


def _block(*values: str | None) -> bytes:
    return codec.pack_decimals([None if v is None else Decimal(v) for v in values])


def _all(length: int) -> np.ndarray:
    return np.ones(length, dtype=np.bool_)


def test_exact_sum_across_exponents() -> None:
    total = summed(
        [(_block("0.1", "2", "3.25"), _all(3)), (_block("0.2", "0.001", "7"), _all(3))], 0, 3
    )
    assert codec.unpack_decimals(total) == [Decimal("0.3"), Decimal("2.001"), Decimal("10.25")]


def test_masks_missing_values_and_range() -> None:
    first = _block("1", None, "3", "4")
    second = _block("10", "20", "30", "40")
    counted = np.array([True, True, False])
    total = summed([(first, _all(3)), (second, counted)], 1, 4)
    # value 1: first is missing -> null; value 3: second not a member -> first only.
    assert codec.unpack_decimals(total) == [None, Decimal("33"), Decimal("4")]
    # A member without a block has no readings: null where it counts.
    absent = summed([(first, _all(2)), (None, np.array([False, True]))], 2, 4)
    assert codec.unpack_decimals(absent) == [Decimal("3"), None]
    # A block no mask counts is left out altogether.
    assert codec.unpack_decimals(summed([(None, np.zeros(2, dtype=np.bool_))], 0, 2)) == [
        Decimal(0),
        Decimal(0),
    ]


def test_float_blocks_sum_as_floats() -> None:
    floats = np.array([0.5, np.nan, 1.25]).astype("<f8").tobytes()
    block = bytes((codec.FLOAT64, 0)) + floats
    total = summed([(block, _all(3)), (_block("1", "1", "1"), _all(3))], 0, 3)
    assert codec.unpack_decimals(total) == [Decimal("1.5"), None, Decimal("2.25")]
