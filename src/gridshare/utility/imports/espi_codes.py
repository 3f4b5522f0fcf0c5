"""ESPI code lists in gridshare's terms (NAESB REQ.21 ESPI; DIGEST §2, §9; espi.xsd enumerations).

What a Green Button import needs to turn codes into records: the commodity of a ServiceCategory or
ReadingType, the CDS usage kind and unit (CDS-WG3-01 §10.8.5) of a unit of measure, the direction
of a flowDirection, the CDS reading quality (§10.8.7.6) of a QualityOfReading, the ISO 4217 letters
of a numeric currency, and the line item types (§10.6.8) of a LineItem's itemKind.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Final

ELECTRIC: Final = "electric"
NATURAL_GAS: Final = "natural_gas"
WATER: Final = "water"

SERVICE_KINDS: Final = {0: ELECTRIC, 1: NATURAL_GAS, 2: WATER}
"""UsagePoint ServiceCategory/kind (ServiceKind) -> commodity; other services are not usage."""

COMMODITIES: Final = {1: ELECTRIC, 2: ELECTRIC, 7: NATURAL_GAS, 9: WATER}
"""ReadingType/commodity (CommodityKind) -> commodity: electricity secondary and primary metered,
natural gas, potable water. Propane, steam, waste and reclaimed water have no CDS usage kind."""

COMMODITY_NAMES: Final = {
    0: "none",
    1: "electricity (secondary metered)",
    2: "electricity (primary metered)",
    3: "communication",
    4: "air",
    5: "insulative gas",
    6: "insulative oil",
    7: "natural gas",
    8: "propane",
    9: "potable water",
    10: "steam",
    11: "waste water",
    12: "heating fluid",
    13: "cooling fluid",
    14: "reclaimed water",
}


@dataclass(frozen=True, slots=True)
class Unit:
    """A CDS usage kind and unit, and the power of ten from the ESPI unit to it."""

    kind: str
    units: str
    shift: int
    """A reading `value` with `powerOfTenMultiplier` m is `value * 10**(m + shift)` `units`."""


UNITS: Final = {
    (ELECTRIC, 72): Unit("electric_usage", "kWh", -3),
    (ELECTRIC, 38): Unit("electric_demand", "kW", -3),
    (NATURAL_GAS, 169): Unit("natural_gas_usage", "therm", 0),
    (NATURAL_GAS, 132): Unit("natural_gas_usage", "Btu", 0),
    (NATURAL_GAS, 119): Unit("natural_gas_usage", "scf", 0),
    (NATURAL_GAS, 42): Unit("natural_gas_usage", "Sm3", 0),
    (WATER, 42): Unit("water_usage", "m3", 0),
    (WATER, 119): Unit("water_usage", "ft3", 0),
    (WATER, 128): Unit("water_usage", "gal", 0),
}
"""(commodity, uom) -> the channel's kind and unit (CDS-WG3-01 §10.8.5.1-6)."""

UOM_COMMODITY: Final = {72: ELECTRIC, 38: ELECTRIC, 169: NATURAL_GAS, 132: NATURAL_GAS}
"""Units that name their commodity when neither the ReadingType nor the UsagePoint does."""

UOM_NAMES: Final = {
    0: "none",
    5: "A",
    6: "K",
    29: "V",
    31: "J",
    33: "Hz",
    38: "W",
    42: "m3",
    61: "VA",
    63: "VAr",
    71: "VAh",
    72: "Wh",
    73: "VArh",
    119: "ft3",
    128: "US gal",
    132: "BTU",
    169: "therm",
}

MEASUREMENT_KINDS: Final = {
    72: (12,),
    169: (12,),
    132: (12,),
    38: (8, 37),
    119: (58,),
    42: (58,),
    128: (58,),
}
"""uom -> the ReadingType kinds (MeasurementKind: 8 demand, 12 energy, 37 power, 58 volume) that
agree with it; the uom decides what a channel holds."""

MULTIPLIERS: Final = frozenset({-12, -9, -6, -3, -2, -1, 0, 1, 2, 3, 6, 9, 12})
"""UnitMultiplierKind: the powers of ten espi.xsd allows."""

DIRECTIONS: Final = {1: "forward", 4: "net", 19: "reverse"}
"""flowDirection -> CDS direction; 20 (total) has none. ESPI counts received energy (reverse) as a
positive quantity, CDS signs it negative (§10.8.5.1.2), so reverse readings are negated."""

DELTA_DATA: Final = 4
"""accumulationBehaviour of interval usage (the amount in each interval)."""
ACCUMULATIONS: Final = {
    1: "bulkQuantity",
    2: "continuousCumulative",
    3: "cumulative",
    4: "deltaData",
    6: "indicating",
    9: "summation",
    10: "timeDelay",
    12: "instantaneous",
    13: "latching",
    14: "boundedQuantity",
}

QUALITIES: Final = {
    0: "valid",
    7: "manual",
    8: "estimated",
    9: "estimated",
    10: "raw",
    11: "calculated",
    12: "estimated",
    13: "website",
    14: "raw",
    15: "calculated",
    16: "website",
    17: "valid",
    18: "valid",
    19: "revenue",
}
"""QualityOfReading -> CDS reading quality: 0 valid, 7 manually edited -> manual, 8 and 9
estimated, 10 questionable -> raw (not fit for billing), 11 derived -> calculated, 12 projected ->
estimated, 13 mixed -> website (nothing more specific), 14 raw, 15 weather-normalized ->
calculated, 16 other -> website, 17 validated and 18 verified -> valid, 19 revenue."""
UNKNOWN_QUALITY: Final = "website"

CURRENCIES: Final = {
    36: "AUD",
    124: "CAD",
    356: "INR",
    392: "JPY",
    484: "MXN",
    554: "NZD",
    756: "CHF",
    826: "GBP",
    840: "USD",
    978: "EUR",
}
"""ISO 4217 numeric -> letters, for the currencies Green Button files are known to use."""

ITEM_KINDS: Final[dict[int, tuple[str, ...] | None]] = {
    1: ("supply",),
    2: ("distribution",),
    3: ("usage_charge",),
    4: ("fixed_charge",),
    5: ("tax",),
    6: ("supply",),
    7: ("distribution",),
    8: ("fixed_charge",),
    9: None,
    10: None,
}
"""LineItem itemKind -> CDS line item types; None for payments (9) and information (10), which
are not charges of the billing period."""
