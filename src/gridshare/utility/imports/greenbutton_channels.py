"""The channel a MeterReading's ReadingType describes (NAESB REQ.21 ESPI ReadingType; DIGEST §9).

The commodity comes from the ReadingType (else the UsagePoint's ServiceCategory, else a uom that
names it), the CDS kind and unit from commodity and uom (`espi_codes.UNITS`), the direction from
flowDirection (electricity only), the interval from intervalLength (else the readings' duration;
a day or more makes read periods). A reading's value is stored as `value * 10**exponent` with
`exponent = powerOfTenMultiplier + the unit's shift`, negated for reverse flow. A ReadingType of
something gridshare does not keep as usage (VArh, register reads, one tariff bucket, ...) gives no
channel, with a warning; one that cannot be read at all (no uom) is a fatal problem.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Final

from gridshare.utility.imports import espi_codes
from gridshare.utility.imports.greenbutton_feed import (
    NO_TIME,
    MeterReadingEntry,
    Problems,
    ReadingTypeEntry,
)

DAY: Final = 86400
"""An interval this long or longer is a read period (one block each), not a day's interval."""
LARGEST_MULTIPLIER: Final = 18
"""|powerOfTenMultiplier| beyond this cannot scale an int64 reading."""


@dataclass(frozen=True, slots=True)
class ChannelSpec:
    """A channel and how a reading's integer value becomes its exact value."""

    commodity: str
    kind: str
    units: str
    direction: str | None
    interval: int
    """Seconds; 0 for read periods."""
    exponent: int
    sign: int
    default_quality: int
    """The QualityOfReading of readings that give none."""


def channel_spec(
    reading: MeterReadingEntry,
    reading_type: ReadingTypeEntry,
    service_kind: int | None,
    durations: Sequence[int],
    problems: Problems,
) -> ChannelSpec | None:
    """The channel of `reading`'s readings, or None (skipped with a warning, or refused).

    `service_kind` is its UsagePoint's ServiceCategory kind; `durations` the timePeriod
    durations of its first IntervalBlock (NO_TIME where missing).
    """
    codes = reading_type.codes
    uom = codes.get("uom")
    if uom is None:
        problems.refuse(
            reading_type.line,
            "ReadingType/uom",
            f"{reading_type.named()} has no uom, so its readings' unit is unknown",
            "a uom code: 72 Wh, 38 W, 169 therm, 132 BTU, 119 ft3, 42 m3, 128 gal",
        )
        return None
    skip = _Skip(reading, reading_type, problems)
    commodity = _commodity(reading, reading_type, service_kind, uom, skip, problems)
    if commodity is None:
        return None
    unit = espi_codes.UNITS.get((commodity, uom))
    if unit is None:
        name = espi_codes.UOM_NAMES.get(uom, "unknown")
        return skip("uom", f"uom {uom} ({name}) is not a {commodity} unit")
    measured = codes.get("kind")
    if measured and measured not in espi_codes.MEASUREMENT_KINDS.get(uom, (measured,)):
        problems.warn(
            reading_type.line,
            "ReadingType/kind",
            f"kind {measured} does not go with uom {uom}; read as {unit.kind} in {unit.units}",
            f"kind {' or '.join(map(str, espi_codes.MEASUREMENT_KINDS[uom]))} with uom {uom}",
        )
    multiplier = codes.get("powerOfTenMultiplier", 0)
    allowed = f"one of {', '.join(map(str, sorted(espi_codes.MULTIPLIERS)))}"
    if abs(multiplier) > LARGEST_MULTIPLIER:
        problems.refuse(
            reading_type.line,
            "ReadingType/powerOfTenMultiplier",
            f"{multiplier} would scale readings beyond what can be stored exactly",
            allowed,
        )
        return None
    if multiplier not in espi_codes.MULTIPLIERS:
        problems.warn(
            reading_type.line,
            "ReadingType/powerOfTenMultiplier",
            f"{multiplier} is not a UnitMultiplierKind (applied as 10**{multiplier})",
            allowed,
        )
    accumulation = codes.get("accumulationBehaviour")
    if unit.kind != "electric_demand" and accumulation not in (None, espi_codes.DELTA_DATA):
        name = espi_codes.ACCUMULATIONS.get(accumulation or 0, "unknown")
        return skip(
            "accumulationBehaviour",
            f"accumulationBehaviour {accumulation} ({name}): its readings are totals or register "
            "values, not the usage in each interval",
        )
    buckets = [f"{k} {codes[k]}" for k in ("tou", "consumptionTier", "cpp") if codes.get(k)]
    if buckets:
        return skip(
            "tou", f"{', '.join(buckets)}: its readings are one bucket of the usage, not all of it"
        )
    direction = None
    flow = codes.get("flowDirection")
    if commodity == espi_codes.ELECTRIC and flow:
        direction = espi_codes.DIRECTIONS.get(flow)
        if direction is None:
            return skip(
                "flowDirection",
                f"flowDirection {flow} has no CDS direction (1 forward, 4 net, 19 reverse)",
            )
    length = codes.get("intervalLength") or next((d for d in durations if d != NO_TIME), None)
    if length is None or length <= 0:
        problems.refuse(
            reading_type.line,
            "ReadingType/intervalLength",
            f"{reading_type.named()} gives no interval length and its readings no duration",
            "intervalLength in seconds (900, 3600, ...)",
        )
        return None
    return ChannelSpec(
        commodity,
        unit.kind,
        unit.units,
        direction,
        0 if length >= DAY else length,
        multiplier + unit.shift,
        -1 if direction == "reverse" else 1,
        codes.get("defaultQuality", 0),
    )


class _Skip:
    """Warns that a MeterReading is not imported, and why."""

    def __init__(
        self, reading: MeterReadingEntry, reading_type: ReadingTypeEntry, problems: Problems
    ) -> None:
        self.reading = reading
        self.reading_type = reading_type
        self.problems = problems

    def __call__(self, field: str, why: str) -> ChannelSpec | None:
        """Warn; no channel."""
        self.problems.warn(
            self.reading_type.line,
            f"ReadingType/{field}",
            f"{self.reading.named()} and its readings not imported: {why}",
            "nothing to do if that MeterReading is not usage gridshare keeps",
        )
        return None


def _commodity(
    reading: MeterReadingEntry,
    reading_type: ReadingTypeEntry,
    service_kind: int | None,
    uom: int,
    skip: _Skip,
    problems: Problems,
) -> str | None:
    code = reading_type.codes.get("commodity")
    of_type = espi_codes.COMMODITIES.get(code) if code else None
    if code and of_type is None:
        name = espi_codes.COMMODITY_NAMES.get(code, "unknown")
        skip("commodity", f"commodity {code} ({name}) has no CDS usage kind")
        return None
    of_point = espi_codes.SERVICE_KINDS.get(service_kind) if service_kind is not None else None
    commodity = of_type or of_point or espi_codes.UOM_COMMODITY.get(uom)
    if commodity is None:
        problems.refuse(
            reading_type.line,
            "ReadingType/commodity",
            f"nothing says what {reading.named()} measures (no ReadingType commodity, no "
            f"UsagePoint ServiceCategory kind, and uom {uom} could be several)",
            "ReadingType commodity (1 electricity, 7 natural gas, 9 potable water)",
        )
    elif of_type and of_point and of_type != of_point:
        problems.warn(
            reading_type.line,
            "ReadingType/commodity",
            f"{of_type} differs from the UsagePoint's ServiceCategory kind ({of_point}); the "
            "ReadingType's was used",
            "a ReadingType commodity that matches its UsagePoint's service",
        )
    return commodity
