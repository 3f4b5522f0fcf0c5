"""IntervalBlock (`espi.resources.interval_block`): a stored block's readings inside the windows,
exact integer values, qualities, costs in 10**-5 of the currency; the entry validates."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path

import numpy as np
import pytest
from lxml import etree

from gridshare.config import Settings
from gridshare.espi import atom
from gridshare.espi.resources import Paths, interval_block
from gridshare.espi.resources.interval_block import Block, Rates
from gridshare.grants.reach import Window
from gridshare.utility import codec
from tests.espi.xml_checks import NS, assert_valid

START = datetime(2025, 1, 10, 8, tzinfo=UTC)
HOUR = timedelta(hours=1)
ALWAYS = (Window(None, None),)


def _block(values: list[str | None], quality: list[int] | None = None) -> Block:
    packed = codec.pack_decimals([None if v is None else Decimal(v) for v in values])
    return Block(
        START,
        3600,
        len(values),
        packed,
        None if quality is None else codec.pack_quality(quality),
        START,
        START + HOUR,
    )


def test_values_are_exact_integers_and_missing_readings_are_left_out() -> None:
    block = _block(["1.250", None, "0.003", "12"])
    shown = interval_block.readings(block, ALWAYS, 3, None)  # kWh -> Wh
    assert shown is not None
    assert shown.values.tolist() == [1250, 3, 12000]
    start = int(START.timestamp())
    assert shown.starts.tolist() == [start, start + 7200, start + 10800]
    assert (shown.start, shown.end) == (START, START + 4 * HOUR)
    assert shown.costs is None


def test_readings_outside_the_windows_are_left_out() -> None:
    block = _block(["1", "2", "3", "4", "5"])
    windows = (
        Window(None, START + HOUR + timedelta(minutes=30)),  # the second reading is cut: out
        Window(START + 3 * HOUR, None),
    )
    shown = interval_block.readings(block, windows, 0, None)
    assert shown is not None and shown.values.tolist() == [1, 4, 5]
    assert interval_block.readings(block, (Window(START + 5 * HOUR, None),), 0, None) is None
    assert interval_block.readings(_block([None, None]), ALWAYS, 0, None) is None


def test_qualities_other_than_valid_are_espi_codes() -> None:
    names = ["valid", "raw", "manual", "revenue", "estimated", "calculated", "corrected", "website"]
    block = _block(["1"] * 8, [codec.QUALITY_CODE[n] for n in names])
    shown = interval_block.readings(block, ALWAYS, 0, None)
    assert shown is not None
    assert shown.qualities.tolist() == [0, 14, 7, 19, 8, 11, 17, 16]
    element = interval_block.element(shown)
    assert [q.text for q in element.iterfind(".//espi:ReadingQuality/espi:quality", NS)] == [
        "14",
        "7",
        "19",
        "8",
        "11",
        "17",
        "16",
    ]


def test_float_blocks_are_rounded_to_the_multiplier() -> None:
    packed = bytes((codec.FLOAT64, 0)) + np.array([0.1234, np.nan, 2.5], dtype="<f8").tobytes()
    block = Block(START, 3600, 3, packed, None, START, START)
    shown = interval_block.readings(block, ALWAYS, 3, None)
    assert shown is not None and shown.values.tolist() == [123, 2500]


@pytest.mark.parametrize(
    ("value", "rate", "cost"),
    [
        ("0.102", "0.305", 3111),  # 0.03111 exactly
        ("1.234", "0.19501", 24064),  # 0.2406423... rounds down
        ("0.5", "0.000011", 1),  # 0.0000055 rounds half away from zero
        ("-0.5", "0.000011", -1),
        ("2", "0.25", 50000),
    ],
)
def test_costs_are_value_times_rate_in_hundred_thousandths(
    value: str, rate: str, cost: int
) -> None:
    exponent = Decimal(rate).as_tuple().exponent
    assert isinstance(exponent, int)
    rates = Rates(np.array([int(Decimal(rate).scaleb(-exponent))], dtype=np.int64), exponent)
    shown = interval_block.readings(_block([value]), ALWAYS, 3, rates)
    assert shown is not None and shown.costs is not None
    assert shown.costs.tolist() == [cost]


def test_the_entry_validates_and_starts_with_its_first_reading(tmp_path: Path) -> None:
    paths = Paths(Settings(data_dir=tmp_path, base_url="https://utility.example"), "g1")
    block = _block([None, "1", "2", None], [0, 4, 0, 0])
    rates = Rates(np.full(4, 25, dtype=np.int64), -2)
    shown = interval_block.readings(block, ALWAYS, 3, rates)
    assert shown is not None
    entry = interval_block.entry(paths, "sp1", "mr1", block, shown)
    document = atom.entry_document(entry)
    assert_valid(document)
    content = etree.fromstring(document).find("atom:content/espi:IntervalBlock", NS)
    assert content is not None
    first = str(int(START.timestamp()) + 3600)
    assert content.findtext("espi:interval/espi:start", namespaces=NS) == first
    assert content.findtext("espi:interval/espi:duration", namespaces=NS) == "7200"
    readings = content.findall("espi:IntervalReading", NS)
    assert [r.findtext("espi:cost", namespaces=NS) for r in readings] == ["25000", "50000"]
    assert [etree.QName(c).localname for c in readings[0]] == [
        "cost",
        "ReadingQuality",
        "timePeriod",
        "value",
    ]
    links = {link.rel: link.href for link in entry.links}
    base = "https://utility.example/espi/1_1/resource/Subscription/g1/UsagePoint/sp1"
    assert links == {
        "self": f"{base}/MeterReading/mr1/IntervalBlock/{int(START.timestamp())}",
        "up": f"{base}/MeterReading/mr1/IntervalBlock",
    }
