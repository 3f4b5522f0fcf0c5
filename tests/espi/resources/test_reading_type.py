"""ReadingType (`espi.resources.reading_type`): codes of our channels, the multiplier keeping every
stored value an integer, a stable id from the attributes; the entry validates."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest

from gridshare.config import Settings
from gridshare.espi import atom
from gridshare.espi.resources import Paths, reading_type
from tests.espi.xml_checks import assert_valid, schema_errors

DATES = (datetime(2025, 1, 1, tzinfo=UTC), datetime(2025, 2, 1, tzinfo=UTC))


@pytest.mark.parametrize(
    ("units", "exponents", "expected"),
    [
        ("kWh", [-3], 0),  # Wh
        ("kWh", [-3, -4], -1),
        ("kWh", [-6, -3], -3),
        ("kWh", [-7], -6),  # -4 is not a UnitMultiplierKind: the next finer one
        ("kWh", [0], 0),  # whole kWh are whole Wh; never a positive multiplier
        ("kWh", [], 0),
        ("therm", [-3], -3),
        ("gal", [-1], -1),
        ("MWh", [-9], -3),
        ("CCF", [-2], 0),
    ],
)
def test_the_multiplier_keeps_every_value_an_integer(
    units: str, exponents: list[int], expected: int
) -> None:
    assert reading_type.multiplier(units, exponents) == expected


@pytest.mark.parametrize(
    ("kind", "direction", "units", "interval", "codes"),
    [
        ("electric_usage", "forward", "kWh", 900, (1, 1, 12, 72, 2)),
        ("electric_usage", "reverse", "kWh", 900, (1, 19, 12, 72, 2)),
        ("electric_usage", "net", "kWh", 3600, (1, 4, 12, 72, 7)),
        ("electric_demand", "forward", "kW", 900, (1, 1, 8, 38, 2)),
        ("natural_gas_usage", None, "therm", 3600, (7, 1, 12, 169, 7)),
        ("water_usage", None, "gal", 3600, (9, 1, 58, 128, 7)),
        ("water_usage", None, "m3", 0, (9, 1, 58, 42, 0)),
    ],
)
def test_channel_codes(
    kind: str, direction: str | None, units: str, interval: int, codes: tuple[int, ...]
) -> None:
    made = reading_type.of_channel(kind, direction, units, interval, 0, None)
    assert (made.commodity, made.flowDirection, made.kind, made.uom, made.measuringPeriod) == codes
    assert (made.accumulationBehaviour, made.dataQualifier, made.intervalLength) == (
        4,
        12,
        interval,
    )
    assert made.currency is None


def test_fuel_oil_and_unknown_units_are_not_published() -> None:
    assert reading_type.publishable("electric_usage", "kWh")
    assert not reading_type.publishable("fuel_oil_usage", "gal")
    assert not reading_type.publishable("electric_usage", "BTU/h")


def test_the_id_follows_the_attributes() -> None:
    made = reading_type.of_channel("electric_usage", "forward", "kWh", 900, 0, "USD")
    assert made.currency == 840
    again = reading_type.of_channel("electric_usage", None, "kWh", 900, 0, "USD")
    assert made.id == again.id and len(made.id) == 16
    assert made.id != reading_type.of_channel("electric_usage", "forward", "kWh", 900, -3, "USD").id
    assert made.id != reading_type.of_channel("electric_usage", "forward", "kWh", 900, 0, None).id
    assert reading_type.of_channel("electric_usage", None, "kWh", 900, 0, "XTS").currency == 0


def test_the_entry_validates_with_elements_in_the_xsd_order(tmp_path: Path) -> None:
    paths = Paths(Settings(data_dir=tmp_path, base_url="https://utility.example"), "g1")
    made = reading_type.of_channel("natural_gas_usage", None, "therm", 3600, -3, "USD")
    entry = reading_type.entry(paths, made, *DATES)
    document = atom.entry_document(entry)
    assert_valid(document)
    assert {link.rel: link.href for link in entry.links} == {
        "self": f"https://utility.example/espi/1_1/resource/ReadingType/{made.id}",
        "up": "https://utility.example/espi/1_1/resource/ReadingType",
    }
    shuffled = reading_type.element(made)
    shuffled.append(shuffled[0])
    broken = atom.entry_document(
        atom.Entry(entry.atom_id, entry.title, entry.links, shuffled, *DATES)
    )
    assert schema_errors(broken)
