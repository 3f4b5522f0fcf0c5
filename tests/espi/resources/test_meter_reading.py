"""MeterReading (`espi.resources.meter_reading`): an opaque, stable id of at least 48 bits per
channel; the entry's links; it validates."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

from gridshare.config import Settings
from gridshare.espi import atom
from gridshare.espi.resources import Paths, meter_reading
from tests.espi.xml_checks import assert_valid


def test_the_id_is_a_stable_opaque_hash_of_the_channel() -> None:
    made = meter_reading.meter_reading_id("mtr_1", "electric_usage", "forward", 900)
    assert made == meter_reading.meter_reading_id("mtr_1", "electric_usage", "forward", 900)
    assert len(made) == 16 and int(made, 16) >= 0
    assert "mtr" not in made
    others = {
        meter_reading.meter_reading_id("mtr_2", "electric_usage", "forward", 900),
        meter_reading.meter_reading_id("mtr_1", "electric_usage", "reverse", 900),
        meter_reading.meter_reading_id("mtr_1", "electric_usage", None, 900),
        meter_reading.meter_reading_id("mtr_1", "electric_usage", "forward", 3600),
    }
    assert made not in others and len(others) == 4


def test_the_entry_links_its_blocks_and_reading_type(tmp_path: Path) -> None:
    paths = Paths(Settings(data_dir=tmp_path, base_url="https://utility.example"), "g1")
    when = datetime(2025, 1, 1, tzinfo=UTC)
    entry = meter_reading.entry(paths, "sp1", "mr1", "rt1", "Electricity", when, when)
    assert_valid(atom.entry_document(entry))
    base = "https://utility.example/espi/1_1/resource"
    point = f"{base}/Subscription/g1/UsagePoint/sp1"
    assert [(link.rel, link.href, link.type) for link in entry.links] == [
        ("up", f"{point}/MeterReading", "espi-feed/MeterReading"),
        ("self", f"{point}/MeterReading/mr1", "espi-entry/MeterReading"),
        ("related", f"{point}/MeterReading/mr1/IntervalBlock", "espi-feed/IntervalBlock"),
        ("related", f"{base}/ReadingType/rt1", "espi-entry/ReadingType"),
    ]
    assert entry.atom_id == paths.atom_id(("UsagePoint", "sp1", "MeterReading", "mr1"))
    assert entry.atom_id == Paths(paths.settings, "g2").atom_id(
        ("UsagePoint", "sp1", "MeterReading", "mr1")
    )
