"""ESPI ReadingType (espi.xsd `ReadingType`; DIGEST §2, §9): what the readings of one channel
are, shared by every MeterReading whose channel has the same attributes.

A channel (meter + kind + direction + units + interval) becomes:
- `uom` and `kind` from its units: energy (12) in Wh (72), therm (169) or BTU (132); demand (8) in
  W (38); volume (58) in m³ (42), litres (134), US gallons (128), ft³ (119), compensated m³ (166)
  and ft³ (120). kWh, MWh, kW, MW, CCF, MCF and MMCF are Wh, W and ft³ scaled by a power of ten;
- `powerOfTenMultiplier`: the largest of the schema's multipliers (at most 0) that keeps every
  stored value of the channel an integer: a block packs `n * 10**e` of our units (`utility.codec`),
  which is `n * 10**(e + shift - multiplier)` in `uom * 10**multiplier` (kWh with three decimals:
  Wh, multiplier 0). Blocks stored as floats are rounded to it;
- `commodity` 1 electricity, 7 natural gas, 9 potable water (fuel oil has no ESPI commodity or
  service kind: such channels are not published); `flowDirection` 1 forward (also for channels
  without a direction), 19 reverse, 4 net; `accumulationBehaviour` 4 (deltaData: each reading is
  the quantity of its interval); `dataQualifier` 12 (normal); `defaultQuality` 0 (valid, our
  codec's default); `phase` 0 and `timeAttribute` 0 (not recorded); `intervalLength` the channel's
  interval in seconds (0 for read-period channels, whose readings each carry their period);
  `measuringPeriod` the TimeAttributeKind of that interval (2 = 15 min, 7 = 60 min; 0 otherwise);
- `currency` (ISO 4217 numeric, 0 for currencies the schema does not list) only when the channel's
  readings carry a cost.

The id is a hash of those attributes (`ReadingType/{id}`, a global resource).
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Mapping
from dataclasses import astuple, dataclass, fields
from datetime import datetime
from typing import Final

from lxml import etree

from gridshare.espi import atom
from gridshare.espi.resources import Paths

NAME: Final = "ReadingType"
COLLECTION: Final = (NAME,)
ENERGY, DEMAND, VOLUME = 12, 8, 58
DELTA_DATA: Final = 4
NORMAL: Final = 12
VALID: Final = 0
NOT_APPLICABLE: Final = 0
FORWARD, REVERSE, NET = 1, 19, 4
MULTIPLIERS: Final = (0, -1, -2, -3, -6, -9, -12)
"""The schema's UnitMultiplierKind values not above 0, largest first."""


@dataclass(frozen=True)
class Unit:
    """A unit of ours in ESPI terms: a value of ours is `value * 10**shift` of `uom`."""

    uom: int
    shift: int
    kind: int


UNITS: Final[Mapping[str, Unit]] = {
    "Wh": Unit(72, 0, ENERGY),
    "kWh": Unit(72, 3, ENERGY),
    "MWh": Unit(72, 6, ENERGY),
    "W": Unit(38, 0, DEMAND),
    "kW": Unit(38, 3, DEMAND),
    "MW": Unit(38, 6, DEMAND),
    "Btu": Unit(132, 0, ENERGY),
    "therm": Unit(169, 0, ENERGY),
    "Sm3": Unit(166, 0, VOLUME),
    "scf": Unit(120, 0, VOLUME),
    "m3": Unit(42, 0, VOLUME),
    "L": Unit(134, 0, VOLUME),
    "gal": Unit(128, 0, VOLUME),
    "ft3": Unit(119, 0, VOLUME),
    "CCF": Unit(119, 2, VOLUME),
    "MCF": Unit(119, 3, VOLUME),
    "MMCF": Unit(119, 6, VOLUME),
}
COMMODITIES: Final[Mapping[str, int]] = {
    "electric_usage": 1,
    "electric_demand": 1,
    "natural_gas_usage": 7,
    "water_usage": 9,
}
"""CommodityKind of each channel kind we publish."""
FLOWS: Final[Mapping[str | None, int]] = {None: FORWARD, "forward": FORWARD, "reverse": REVERSE}
FLOWS_NET: Final = "net"
MEASURING_PERIODS: Final[Mapping[int, int]] = {
    60: 3,
    120: 10,
    180: 14,
    300: 6,
    600: 1,
    900: 2,
    1200: 31,
    1800: 5,
    3600: 7,
    86400: 4,
}
"""TimeAttributeKind of an interval length in seconds."""
CURRENCIES: Final[Mapping[str, int]] = {
    "USD": 840,
    "EUR": 978,
    "AUD": 36,
    "CAD": 124,
    "CHF": 756,
    "CNY": 156,
    "DKK": 208,
    "GBP": 826,
    "JPY": 392,
    "NOK": 578,
    "RUB": 643,
    "SEK": 752,
    "INR": 356,
}
"""The ISO 4217 numeric codes espi.xsd's and customer.xsd's `Currency` list; any other currency is 0
("another")."""
_KIND_WORDS: Final = {ENERGY: "Energy", DEMAND: "Demand", VOLUME: "Volume"}
_FLOW_WORDS: Final = {FORWARD: "delivered", REVERSE: "received", NET: "net"}


@dataclass(frozen=True)
class ReadingType:
    """The attributes of one kind of reading (module docstring), named and ordered as the XSD
    sequence."""

    accumulationBehaviour: int
    commodity: int
    currency: int | None
    dataQualifier: int
    defaultQuality: int
    flowDirection: int
    intervalLength: int
    kind: int
    phase: int
    powerOfTenMultiplier: int
    timeAttribute: int
    uom: int
    measuringPeriod: int

    @property
    def id(self) -> str:
        made = "|".join(str(v) for v in astuple(self)).encode()
        return hashlib.blake2b(made, digest_size=8).hexdigest()


def publishable(kind: str, units: str) -> bool:
    """Whether a channel of this kind and units has ESPI codes (module docstring)."""
    return kind in COMMODITIES and units in UNITS


def multiplier(units: str, exponents: Iterable[int]) -> int:
    """The powerOfTenMultiplier that keeps every value packed with these decimal exponents an
    integer in the unit's `uom` (module docstring)."""
    shift = UNITS[units].shift
    finest = min((e + shift for e in exponents), default=0)
    return next(m for m in MULTIPLIERS if m <= min(finest, 0))


def of_channel(
    kind: str,
    direction: str | None,
    units: str,
    interval_seconds: int,
    power_of_ten: int,
    currency: str | None,
) -> ReadingType:
    """The ReadingType of a publishable channel (`publishable`), with `currency` (alphabetic)
    when its readings carry a cost."""
    unit = UNITS[units]
    return ReadingType(
        accumulationBehaviour=DELTA_DATA,
        commodity=COMMODITIES[kind],
        currency=None if currency is None else CURRENCIES.get(currency, 0),
        dataQualifier=NORMAL,
        defaultQuality=VALID,
        flowDirection=NET if direction == FLOWS_NET else FLOWS.get(direction, FORWARD),
        intervalLength=interval_seconds,
        kind=unit.kind,
        phase=NOT_APPLICABLE,
        powerOfTenMultiplier=power_of_ten,
        timeAttribute=NOT_APPLICABLE,
        uom=unit.uom,
        measuringPeriod=MEASURING_PERIODS.get(interval_seconds, NOT_APPLICABLE),
    )


def path(reading_type_id: str) -> tuple[str, str]:
    return (NAME, reading_type_id)


def title(reading_type: ReadingType) -> str:
    r = reading_type
    length = f"{r.intervalLength} s intervals" if r.intervalLength else "read periods"
    return f"{_KIND_WORDS[r.kind]} {_FLOW_WORDS[r.flowDirection]}, {length}"


def entry(
    paths: Paths, reading_type: ReadingType, published: datetime, updated: datetime
) -> atom.Entry:
    """The entry of `ReadingType/{id}` (up: the `ReadingType` collection)."""
    at = path(reading_type.id)
    return atom.Entry(
        atom_id=paths.atom_id(at),
        title=title(reading_type),
        links=(
            paths.global_collection("up", COLLECTION),
            paths.global_member("self", at),
        ),
        content=element(reading_type),
        published=published,
        updated=updated,
    )


def element(reading_type: ReadingType) -> etree._Element:
    """`espi:ReadingType`, the attributes in the XSD sequence order."""
    made = etree.Element(atom.espi(NAME))
    for field in fields(reading_type):
        value = getattr(reading_type, field.name)
        if value is not None:
            etree.SubElement(made, atom.espi(field.name)).text = str(value)
    return made
