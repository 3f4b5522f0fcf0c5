"""The usage-block codec keeps every value exact: property-based round trips and refusals."""

from __future__ import annotations

import math
from decimal import Decimal

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from gridshare.utility import codec

INT64_LIMIT = 2**63 - 1
INT32_LIMIT = 2**31 - 1


@st.composite
def decimal_blocks(draw: st.DrawFn, limit: int = INT64_LIMIT) -> list[Decimal | None]:
    """A day of readings sharing at most `places` decimal places, some missing."""
    places = draw(st.integers(0, codec.MAX_EXPONENT_DIGITS))
    mantissas = st.integers(-(limit - 1), limit - 1)
    reading = st.one_of(st.none(), mantissas.map(lambda m: Decimal(m).scaleb(-places)))
    return draw(st.lists(reading, max_size=100))


def _scaled(values: list[Decimal | None], exponent: int) -> list[Decimal]:
    return [v.scaleb(-exponent) for v in values if v is not None]


@given(decimal_blocks())
def test_decimals_round_trip_exactly(values: list[Decimal | None]) -> None:
    blob = codec.pack_decimals(values)
    assert codec.unpack_decimals(blob) == values
    assert codec.count(blob) == len(values)
    assert codec.missing_mask(blob).tolist() == [v is None for v in values]


@given(decimal_blocks())
def test_decimals_use_the_coarsest_exact_exponent_and_the_smallest_integer(
    values: list[Decimal | None],
) -> None:
    encoding, exponent = codec.header(codec.pack_decimals(values))
    scaled = _scaled(values, exponent)
    assert all(s == s.to_integral_value() for s in scaled)
    if exponent < 0:
        coarser = _scaled(values, exponent + 1)
        assert any(s != s.to_integral_value() for s in coarser)
    fits32 = all(abs(s) < INT32_LIMIT for s in scaled)
    assert encoding == (codec.INT32 if fits32 else codec.INT64)


@given(decimal_blocks(limit=2**53))
def test_floats_of_packed_decimals_are_the_nearest_floats(values: list[Decimal | None]) -> None:
    floats = codec.unpack_floats(codec.pack_decimals(values)).tolist()
    for value, number in zip(values, floats, strict=True):
        if value is None:
            assert math.isnan(number)
        else:
            assert number == float(value)


@given(
    st.lists(
        st.one_of(st.just(math.nan), st.floats(-1e6, 1e6, allow_nan=False)),
        max_size=100,
    ),
    st.integers(0, codec.MAX_EXPONENT_DIGITS),
)
def test_floats_round_to_the_given_places(values: list[float], decimals: int) -> None:
    blob = codec.pack_floats(values, decimals)
    _, exponent = codec.header(blob)
    assert exponent == -decimals
    exact = codec.unpack_decimals(blob)
    for value, stored in zip(values, exact, strict=True):
        if math.isnan(value):
            assert stored is None
        else:
            assert stored is not None
            assert stored.as_tuple().exponent == -decimals
            assert (
                abs(Decimal(value) - stored)
                <= Decimal(5).scaleb(-decimals - 1) + Decimal(abs(value)) * Decimal(2) ** -50
            )


def test_decimals_keep_sign_and_the_int64_extremes() -> None:
    extremes: list[Decimal | None] = [Decimal(INT64_LIMIT - 1), Decimal(-(INT64_LIMIT - 1)), None]
    blob = codec.pack_decimals(extremes)
    assert codec.header(blob) == (codec.INT64, 0)
    assert codec.unpack_decimals(blob) == extremes
    small: list[Decimal | None] = [Decimal("-0.000000001"), Decimal("-1.5"), Decimal("2")]
    assert codec.unpack_decimals(codec.pack_decimals(small)) == small


def test_trailing_zeros_do_not_count_as_decimal_places() -> None:
    blob = codec.pack_decimals([Decimal("1.5000000000000"), Decimal("2E+3")])
    assert codec.header(blob) == (codec.INT32, -1)
    assert codec.unpack_decimals(blob) == [Decimal("1.5"), Decimal(2000)]


def test_an_all_missing_or_empty_block_round_trips() -> None:
    assert codec.unpack_decimals(codec.pack_decimals([None, None])) == [None, None]
    assert codec.unpack_decimals(codec.pack_decimals([])) == []
    assert codec.unpack_floats(codec.pack_floats([], 3)).size == 0


@pytest.mark.parametrize(
    "values",
    [
        [Decimal("0.0000000001")],
        [Decimal("1"), Decimal("1.1234567891")],
        [Decimal("Infinity")],
        [Decimal("-Infinity")],
        [Decimal("NaN")],
        [Decimal(INT64_LIMIT)],
        [Decimal(-INT64_LIMIT)],
        [Decimal(2**62), Decimal("0.5")],
    ],
    ids=[
        "ten-places",
        "ten-places-among-others",
        "infinity",
        "minus-infinity",
        "nan",
        "int64-max",
        "int64-min",
        "too-large-once-scaled",
    ],
)
def test_decimals_that_cannot_be_stored_exactly_are_refused(values: list[Decimal | None]) -> None:
    with pytest.raises(codec.CodecError):
        codec.pack_decimals(values)


@pytest.mark.parametrize(
    ("values", "decimals"),
    [([math.inf], 2), ([-math.inf], 0), ([1e19], 0), ([1e12], 9), ([1.0], 10), ([1.0], -1)],
)
def test_floats_that_cannot_be_stored_exactly_are_refused(
    values: list[float], decimals: int
) -> None:
    with pytest.raises(codec.CodecError):
        codec.pack_floats(values, decimals)


@given(st.lists(st.integers(0, len(codec.QUALITIES) - 1), max_size=100))
def test_quality_codes_round_trip(codes: list[int]) -> None:
    blob = codec.pack_quality(codes)
    assert (blob is None) == (not any(codes))
    assert codec.unpack_quality(blob, len(codes)).tolist() == codes


def test_quality_names_are_the_cds_reading_quality_types() -> None:
    assert set(codec.QUALITIES) == {
        "raw",
        "manual",
        "valid",
        "revenue",
        "estimated",
        "calculated",
        "corrected",
        "website",
    }
    assert codec.QUALITIES[0] == "valid"
    assert all(codec.QUALITIES[code] == name for name, code in codec.QUALITY_CODE.items())


@pytest.mark.parametrize("code", [len(codec.QUALITIES), 255, 256, -1])
def test_an_unknown_quality_code_is_refused(code: int) -> None:
    with pytest.raises(codec.CodecError, match="unknown quality code"):
        codec.pack_quality([0, code])


def test_a_quality_array_of_the_wrong_length_is_refused() -> None:
    with pytest.raises(codec.CodecError, match="3 codes for 4 values"):
        codec.unpack_quality(b"\x01\x02\x03", 4)


@given(
    st.sampled_from([codec.INT32, codec.INT64, codec.FLOAT64]),
    st.integers(-128, 127),
    st.integers(0, 20),
)
def test_header_reads_encoding_and_signed_exponent(encoding: int, exponent: int, n: int) -> None:
    width = {codec.INT32: 4, codec.INT64: 8, codec.FLOAT64: 8}[encoding]
    blob = bytes((encoding, exponent & 0xFF)) + bytes(width * n)
    assert codec.header(blob) == (encoding, exponent)
    assert codec.count(blob) == n


@pytest.mark.parametrize(
    "blob",
    [
        b"",
        b"\x01",
        b"\x00\x00",
        b"\x04\x00\x00\x00\x00\x00",
        b"\x01\x00\x00\x00\x00",
        b"\x02\xfd" + bytes(12),
    ],
    ids=["empty", "one-byte", "encoding-0", "encoding-4", "int32-ragged", "int64-ragged"],
)
def test_header_refuses_what_is_not_a_packed_block(blob: bytes) -> None:
    with pytest.raises(codec.CodecError, match="not a packed usage block"):
        codec.unpack_array(blob)


def test_float64_blocks_unpack_exactly_as_their_shortest_repr() -> None:
    blob = bytes((codec.FLOAT64, 0)) + np.array([0.1, np.nan, -2.5e-7], dtype="<f8").tobytes()
    assert codec.unpack_decimals(blob) == [Decimal("0.1"), None, Decimal("-2.5E-7")]
    assert codec.missing_mask(blob).tolist() == [False, True, False]


@given(
    st.lists(st.tuples(st.booleans(), st.integers(-(INT64_LIMIT - 1), INT64_LIMIT - 1))),
    st.integers(-codec.MAX_EXPONENT_DIGITS, 0),
)
def test_scaled_integers_pack_as_given(items: list[tuple[bool, int]], exponent: int) -> None:
    missing = np.array([m for m, _ in items], dtype=np.bool_)
    scaled = np.array([v for _, v in items], dtype=np.int64)
    blob = codec.pack_scaled(scaled, missing, exponent)
    expected = [None if m else Decimal(v).scaleb(exponent) for m, v in items]
    assert codec.unpack_decimals(blob) == expected


@pytest.mark.parametrize("exponent", [1, -10])
def test_scaled_integers_need_an_exponent_the_codec_allows(exponent: int) -> None:
    with pytest.raises(codec.CodecError, match="exponent"):
        codec.pack_scaled(np.zeros(1, np.int64), np.zeros(1, np.bool_), exponent)
