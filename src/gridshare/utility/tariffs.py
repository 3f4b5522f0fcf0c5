"""A rate plan's tariff applied to a bill period's usage: the pieces of one bill section.

CDS-WG3-01 §10.6: usage details (§10.6.3, types §10.6.4), cost details (§10.6.5, §10.6.6) and
line items (§10.6.7, §10.6.8). Pure functions over exact numbers: every line item's `cost` is
`value * rate` rounded half-up to the cent, and the `overall_total` cost detail is the exact sum of
the line items (DESIGN rule 7).

A tariff is data (`RatePlan.tariff`), decimals as strings:

```
{
  "commodity": "electric",                  # electric, natural_gas or water
  "units": "kWh",                           # CDS unit type of the usage
  "structure": "tou",                       # tou, tiered or flat
  "seasons": {"summer": [6, 7, 8, 9], "winter": [1, 2, 3, 4, 5, 10, 11, 12]},
  "tou_periods": [                          # tou: first match wins, otherwise "off_peak"
    {"tou": "peak", "days": "weekdays", "from_hour": 16, "to_hour": 21}
  ],
  "baseline_per_day": {"summer": "12.5", "winter": "10.8"},   # tiered: allowance per day
  "energy_rates": {                         # season -> bucket -> component -> rate per unit
    "summer": {"peak": {"distribution": "0.215", "supply": "0.248"}, "off_peak": {...}}
  },                                        # buckets: TOU names; baseline/overage; or "flat"
  "demand_rates": {"summer": {"distribution": "8.75"}},       # optional: per kW of peak demand
  "fixed_charges": [{"name": "Base services charge", "component": "distribution",
                     "per_day": "0.39425"}],
  "tax": {"name": "Utility users tax", "rate": "0.05"}
}
```

Components are `distribution` and `supply` (§10.6.8 line item types), so a bill whose supply
comes from another entity (a community choice aggregator) splits into a distribution section and
a supply section by asking for one component each. Usage may be negative (net-metered solar):
energy charges then become credits, and tax applies only to a positive subtotal.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation
from typing import Any, Final, Protocol, TypeVar

import numpy as np
import numpy.typing as npt

CENT = Decimal("0.01")
COMMODITIES = {
    "electric": "electric_usage",
    "natural_gas": "natural_gas_usage",
    "water": "water_usage",
}
STRUCTURES = ("tou", "tiered", "flat")
COMPONENTS = ("distribution", "supply")
TOU_TYPES = ("super_peak", "peak", "partial_peak", "off_peak", "super_off_peak")
DEFAULT_TOU = "off_peak"
DAY_SETS = ("all", "weekdays", "weekends")
SEASONS = ("spring", "summer", "fall", "winter")
FLAT = "flat"
BASELINE, OVERAGE = "baseline", "overage"

_COMPONENT_LABEL = {"distribution": "delivery", "supply": "generation"}
_BUCKET_LABEL = {
    "super_peak": "super peak",
    "peak": "peak",
    "partial_peak": "partial peak",
    "off_peak": "off-peak",
    "super_off_peak": "super off-peak",
    BASELINE: "baseline",
    OVERAGE: "over baseline",
    FLAT: "",
}
_NOUN = {"electric": "electric usage", "natural_gas": "gas usage", "water": "water usage"}
_ENERGY = {"electric": "energy", "natural_gas": "gas", "water": "water"}


class TariffError(ValueError):
    """A tariff that cannot be applied; the message names the offending field."""


@dataclass(frozen=True, slots=True)
class TouPeriod:
    tou: str
    days: str
    from_hour: int
    to_hour: int


@dataclass(frozen=True, slots=True)
class FixedCharge:
    name: str
    component: str
    per_day: Decimal


@dataclass(frozen=True, slots=True)
class Tariff:
    """A parsed, validated tariff (see the module docstring for the data it comes from)."""

    commodity: str
    units: str
    structure: str
    seasons: Mapping[str, frozenset[int]]
    tou_periods: tuple[TouPeriod, ...]
    baseline_per_day: Mapping[str, Decimal]
    energy_rates: Mapping[str, Mapping[str, Mapping[str, Decimal]]]
    demand_rates: Mapping[str, Mapping[str, Decimal]]
    fixed_charges: tuple[FixedCharge, ...]
    tax_name: str
    tax_rate: Decimal

    @property
    def usage_type(self) -> str:
        return COMMODITIES[self.commodity]

    def season_of(self, month: int) -> str:
        for season, months in self.seasons.items():
            if month in months:
                return season
        raise TariffError(f"no season covers month {month}")  # parse_tariff rules this out

    def buckets(self) -> tuple[str, ...]:
        return _buckets(self.structure, self.tou_periods)


def _buckets(structure: str, tou_periods: Sequence[TouPeriod]) -> tuple[str, ...]:
    """The usage buckets a tariff prices: its TOU periods, its tiers, or everything at once."""
    if structure == "tou":
        named = {p.tou for p in tou_periods}
        return tuple(t for t in TOU_TYPES if t in named or t == DEFAULT_TOU)
    if structure == "tiered":
        return (BASELINE, OVERAGE)
    return (FLAT,)


@dataclass(frozen=True, slots=True)
class IntervalUsage:
    """Readings of one quantity: reading i is `scaled[i] * 10**exponent` units, starting at the
    local wall-clock time `starts[i]` (numpy `datetime64[s]`, no timezone). Missing readings are
    left out by the caller."""

    starts: npt.NDArray[np.datetime64]
    scaled: npt.NDArray[np.int64]
    exponent: int

    def __post_init__(self) -> None:
        if self.starts.shape != self.scaled.shape:
            raise ValueError("starts and values must have the same length")

    @classmethod
    def from_decimals(cls, starts: Sequence[datetime], values: Sequence[Decimal]) -> IntervalUsage:
        """From local start times and exact values (small inputs, tests)."""
        exponent = min((_exponent(v) for v in values), default=0)
        exponent = min(exponent, 0)
        scaled = np.array([int(v.scaleb(-exponent)) for v in values], dtype=np.int64)
        stamps = np.array([s.replace(tzinfo=None) for s in starts], dtype="datetime64[s]")
        return cls(stamps, scaled, exponent)

    @classmethod
    def join(cls, parts: Sequence[IntervalUsage]) -> IntervalUsage:
        """Several channels' readings as one (e.g. the old and new meter around a meter swap)."""
        if not parts:
            return cls(np.array([], dtype="datetime64[s]"), np.array([], dtype=np.int64), 0)
        exponent = min(p.exponent for p in parts)
        scaled = [p.scaled * 10 ** (p.exponent - exponent) for p in parts]
        return cls(
            np.concatenate([p.starts for p in parts]),
            np.concatenate(scaled).astype(np.int64),
            exponent,
        )

    def between(self, start: date, end: date) -> IntervalUsage:
        """The readings starting on local days `start` to `end` inclusive."""
        first = np.datetime64(start, "s")
        after = np.datetime64(end + timedelta(days=1), "s")
        keep = (self.starts >= first) & (self.starts < after)
        return IntervalUsage(self.starts[keep], self.scaled[keep], self.exponent)

    def total(self) -> Decimal:
        return self.value_of(int(self.scaled.sum(dtype=np.int64)))

    def peak(self) -> Decimal:
        if not self.scaled.size:
            return Decimal(0)
        return self.value_of(int(self.scaled.max()))

    def value_of(self, scaled: int) -> Decimal:
        """The exact value of a scaled integer in these readings' units."""
        return Decimal(scaled).scaleb(self.exponent)


@dataclass(frozen=True, slots=True)
class UsageDetail:
    """§10.6.3; `details` holds the fields its types call for (tou, tier, season, direction,
    demand_type, start_read, end_read, multiplier)."""

    name: str
    types: tuple[str, ...]
    value: Decimal
    units: str
    start_date: date
    end_date: date
    details: Mapping[str, str | Decimal] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class CostDetail:
    """§10.6.5."""

    name: str
    types: tuple[str, ...]
    cost: Decimal


@dataclass(frozen=True, slots=True)
class LineItem:
    """§10.6.7; `usage_details` and `cost_details` are positions in the section's lists."""

    name: str
    types: tuple[str, ...]
    start_date: date
    end_date: date
    cost: Decimal
    value: Decimal | None
    units: str | None
    rate: Decimal | None
    usage_details: tuple[int, ...]
    cost_details: tuple[int, ...]


@dataclass(frozen=True, slots=True)
class SectionCharges:
    """Everything one bill section shows; `total` is its `overall_total` cost detail."""

    usage_details: tuple[UsageDetail, ...]
    line_items: tuple[LineItem, ...]
    cost_details: tuple[CostDetail, ...]

    @property
    def total(self) -> Decimal:
        for detail in self.cost_details:
            if "overall_total" in detail.types:
                return detail.cost
        raise LookupError("a section always has an overall total")


def money(amount: Decimal) -> Decimal:
    """Rounded half-up to the cent."""
    return amount.quantize(CENT, rounding=ROUND_HALF_UP)


def parse_tariff(data: Mapping[str, Any]) -> Tariff:
    """Validate a tariff's data; a `TariffError` names the field to fix."""
    commodity = _choice(data, "commodity", tuple(COMMODITIES))
    structure = _choice(data, "structure", STRUCTURES)
    units = data.get("units")
    if not isinstance(units, str) or not units:
        raise TariffError("tariff 'units' must name the CDS unit type of the usage, e.g. 'kWh'")
    seasons = _seasons(data.get("seasons"))
    tou_periods = tuple(_tou_period(p, i) for i, p in enumerate(data.get("tou_periods") or ()))
    if structure == "tou" and not tou_periods:
        raise TariffError("a 'tou' tariff needs 'tou_periods'")
    baseline: dict[str, Decimal] = {}
    if structure == "tiered":
        raw = data.get("baseline_per_day")
        if not isinstance(raw, Mapping) or set(raw) != set(seasons):
            raise TariffError("a 'tiered' tariff needs 'baseline_per_day' for every season")
        baseline = {s: _decimal(raw[s], f"baseline_per_day.{s}") for s in seasons}
    fixed = tuple(_fixed_charge(c, i) for i, c in enumerate(data.get("fixed_charges") or ()))
    tax = data.get("tax")
    if not isinstance(tax, Mapping) or not isinstance(tax.get("name"), str):
        raise TariffError("tariff 'tax' must be {'name': ..., 'rate': ...} (rate '0' for none)")
    return Tariff(
        commodity=commodity,
        units=units,
        structure=structure,
        seasons=seasons,
        tou_periods=tou_periods,
        baseline_per_day=baseline,
        energy_rates=_energy_rates(
            data.get("energy_rates"), seasons, _buckets(structure, tou_periods)
        ),
        demand_rates=_demand_rates(data.get("demand_rates"), seasons),
        fixed_charges=fixed,
        tax_name=tax["name"],
        tax_rate=_decimal(tax.get("rate"), "tax.rate"),
    )


def bill_section(
    tariff: Tariff,
    start: date,
    end: date,
    usage: IntervalUsage,
    *,
    components: Collection[str] = COMPONENTS,
    flows: Mapping[str, IntervalUsage] | None = None,
    demand: IntervalUsage | None = None,
    meter_reads: tuple[Decimal, Decimal] | None = None,
) -> SectionCharges:
    """The usage details, line items and cost details of one bill section.

    `usage` is what is billed (for net metering: the net readings); only readings starting on the
    local days `start` to `end` (inclusive) count. `components` selects the charges this section
    carries. `flows` adds informational totals by direction (`forward`, `reverse`), `demand` (kW)
    adds the demand charge, and `meter_reads` (start, end register reads) marks the usage as an
    AMR reading (§10.6.4 `amr_reading`) instead of an AMI one.
    """
    unknown = set(components) - set(COMPONENTS)
    if unknown:
        raise TariffError(f"unknown components {sorted(unknown)}; use {COMPONENTS}")
    if end < start:
        raise TariffError(f"bill period ends ({end}) before it starts ({start})")
    builder = _SectionBuilder(tariff, start, end, tuple(c for c in COMPONENTS if c in components))
    usage = usage.between(start, end)
    builder.add_total(usage, meter_reads)
    for direction, flow in sorted((flows or {}).items()):
        builder.add_flow(direction, flow.between(start, end))
    builder.add_energy(usage)
    if demand is not None and tariff.demand_rates:
        builder.add_demand(demand.between(start, end))
    builder.add_fixed()
    return builder.finish()


@dataclass(frozen=True, slots=True)
class _Charge:
    name: str
    types: tuple[str, ...]
    value: Decimal
    units: str
    rate: Decimal
    usage_details: tuple[int, ...]

    @property
    def cost(self) -> Decimal:
        return money(self.value * self.rate)


class _SectionBuilder:
    """Collects one section's usage details and charges, then prices them, adds the tax and the
    cost details (subtotals by component and by kind, then the overall total)."""

    def __init__(self, tariff: Tariff, start: date, end: date, components: tuple[str, ...]):
        self.tariff = tariff
        self.start = start
        self.end = end
        self.components = components
        self.seasonal = len(tariff.seasons) > 1
        self.usage_details: list[UsageDetail] = []
        self.charges: list[_Charge] = []
        self.total_position = 0

    def _usage(
        self, name: str, types: tuple[str, ...], value: Decimal, details: Mapping[str, Any]
    ) -> int:
        units = "kW" if "electric_demand" in types else self.tariff.units
        detail = UsageDetail(name, types, value, units, self.start, self.end, dict(details))
        self.usage_details.append(detail)
        return len(self.usage_details) - 1

    def add_total(self, usage: IntervalUsage, meter_reads: tuple[Decimal, Decimal] | None) -> None:
        name = f"Total {_NOUN[self.tariff.commodity]}"
        if meter_reads is None:
            types, details = (self.tariff.usage_type, "ami_reading"), {}
        else:
            types = (self.tariff.usage_type, "amr_reading")
            details = {
                "start_read": meter_reads[0],
                "end_read": meter_reads[1],
                "multiplier": Decimal(1),
            }
        self.total_position = self._usage(name, types, usage.total(), details)

    def add_flow(self, direction: str, flow: IntervalUsage) -> None:
        label = {"forward": "delivered from the grid", "reverse": "sent to the grid"}[direction]
        types = (self.tariff.usage_type, "directional")
        self._usage(f"Energy {label}", types, flow.total(), {"direction": direction})

    def add_energy(self, usage: IntervalUsage) -> None:
        tariff = self.tariff
        seasons = _seasons_of(tariff, usage.starts)
        days = _days_by_season(tariff, self.start, self.end)
        tou = _tou_of(tariff, usage.starts) if tariff.structure == "tou" else None
        for season in tariff.seasons:
            in_season = seasons == season
            if days[season] == 0:
                continue
            for bucket, value in self._buckets(usage, in_season, tou, days[season], season):
                self._energy_charges(season, bucket, value)

    def _buckets(
        self,
        usage: IntervalUsage,
        in_season: npt.NDArray[np.bool_],
        tou: npt.NDArray[np.str_] | None,
        days: int,
        season: str,
    ) -> list[tuple[str, Decimal]]:
        """(bucket, usage) pairs of one season: by TOU period, by tier, or the season's total."""

        def total(mask: npt.NDArray[np.bool_]) -> Decimal:
            return usage.value_of(int(usage.scaled[mask].sum(dtype=np.int64)))

        if tou is not None:
            masks = [(bucket, in_season & (tou == bucket)) for bucket in self.tariff.buckets()]
            return [(bucket, total(mask)) for bucket, mask in masks if mask.any()]
        season_total = total(in_season)
        if self.tariff.structure == FLAT:
            return [(FLAT, season_total)]
        baseline = min(season_total, self.tariff.baseline_per_day[season] * days)
        overage = season_total - baseline
        return [(BASELINE, baseline)] + ([(OVERAGE, overage)] if overage else [])

    def _energy_charges(self, season: str, bucket: str, value: Decimal) -> None:
        tariff = self.tariff
        types: tuple[str, ...] = (tariff.usage_type,)
        details: dict[str, str] = {}
        if tariff.structure == "tou":
            types, details["tou"] = (*types, "time_of_use"), bucket
        elif tariff.structure == "tiered":
            types, details["tier"] = (*types, "tiered"), bucket
        if self.seasonal:
            types, details["season"] = (*types, "seasonal"), season
        label = " ".join(w for w in (season if self.seasonal else "", _BUCKET_LABEL[bucket]) if w)
        if details:
            name = _capitalised(f"{label} {_NOUN[tariff.commodity]}")
            position = self._usage(name, types, value, details)
        else:  # a flat, single-season tariff bills the total itself
            position = self.total_position
        rates = tariff.energy_rates[season][bucket]
        for component in self.components:
            if component in rates:
                name = _capitalised(f"{label} {_ENERGY[tariff.commodity]}".strip())
                name = f"{name} - {_COMPONENT_LABEL[component]}"
                types = ("usage_charge", component)
                charge = _Charge(name, types, value, tariff.units, rates[component], (position,))
                self.charges.append(charge)

    def add_demand(self, demand: IntervalUsage) -> None:
        peak = demand.peak()
        position = self._usage(
            "Maximum demand", ("electric_demand",), peak, {"demand_type": "peak"}
        )
        rates = self.tariff.demand_rates[self.tariff.season_of(self.end.month)]
        for component in self.components:
            if component in rates:
                name = f"Maximum demand - {_COMPONENT_LABEL[component]}"
                types = ("usage_charge", component)
                self.charges.append(_Charge(name, types, peak, "kW", rates[component], (position,)))

    def add_fixed(self) -> None:
        days = Decimal((self.end - self.start).days + 1)
        for fixed in self.tariff.fixed_charges:
            if fixed.component in self.components:
                types = ("fixed_charge", fixed.component)
                self.charges.append(_Charge(fixed.name, types, days, "days", fixed.per_day, ()))

    def finish(self) -> SectionCharges:
        groups = self._subtotal_groups()
        taxed = bool(self.tariff.tax_rate) and bool(self.charges)
        overall = len(groups) + (1 if taxed else 0)
        line_items = [
            LineItem(
                name=c.name,
                types=c.types,
                start_date=self.start,
                end_date=self.end,
                cost=c.cost,
                value=c.value,
                units=c.units,
                rate=c.rate,
                usage_details=c.usage_details,
                cost_details=(
                    *(g for g, (*_, members) in enumerate(groups) if i in members),
                    overall,
                ),
            )
            for i, c in enumerate(self.charges)
        ]
        cost_details = [
            CostDetail(name, types, sum((line_items[i].cost for i in members), Decimal(0)))
            for name, types, members in groups
        ]
        if taxed:
            subtotal = sum((item.cost for item in line_items), Decimal(0))
            tax = money(max(subtotal, Decimal(0)) * self.tariff.tax_rate)
            percent = f"{(self.tariff.tax_rate * 100).normalize():f}%"
            line_items.append(
                LineItem(
                    name=f"{self.tariff.tax_name} ({percent})",
                    types=("tax",),
                    start_date=self.start,
                    end_date=self.end,
                    cost=tax,
                    value=None,
                    units=None,
                    rate=None,
                    usage_details=(),
                    cost_details=(len(groups), overall),
                )
            )
            cost_details.append(CostDetail("Taxes", ("subtotal", "taxes"), tax))
        total = sum((item.cost for item in line_items), Decimal(0))
        cost_details.append(CostDetail("Total charges", ("overall_total",), total))
        return SectionCharges(tuple(self.usage_details), tuple(line_items), tuple(cost_details))

    def _subtotal_groups(self) -> list[tuple[str, tuple[str, ...], frozenset[int]]]:
        """Overlapping subtotals (§10.6.5.1): by component, then fixed vs usage charges."""
        wanted = [
            ("Total delivery charges", ("subtotal", "distribution"), "distribution"),
            ("Total generation charges", ("subtotal", "supply"), "supply"),
            ("Total fixed charges", ("subtotal", "fixed_charges"), "fixed_charge"),
            ("Total usage charges", ("subtotal", "usage_charges"), "usage_charge"),
        ]
        groups: list[tuple[str, tuple[str, ...], frozenset[int]]] = []
        for name, types, line_type in wanted:
            members = frozenset(i for i, c in enumerate(self.charges) if line_type in c.types)
            if members:
                groups.append((name, types, members))
        return groups


def interval_rates(
    tariff: Tariff, starts: npt.NDArray[np.datetime64], components: Collection[str] = COMPONENTS
) -> tuple[npt.NDArray[np.int64], int]:
    """The energy rate per unit of the readings starting at the local wall-clock times `starts`
    (the sum of `components`' rates for the reading's season and TOU bucket, as `add_energy`
    prices them): rate i is `scaled[i] * 10**exponent`. Only a `tou` or `flat` tariff prices a
    reading by its time alone; a `tiered` one prices the period's total (TariffError)."""
    if tariff.structure == "tiered":
        raise TariffError("a tiered tariff prices a period's total, not each reading")
    seasons = _seasons_of(tariff, starts)
    buckets = _tou_of(tariff, starts) if tariff.structure == "tou" else None
    table = {
        (season, bucket): sum((rate for c, rate in rates.items() if c in components), Decimal(0))
        for season, by_bucket in tariff.energy_rates.items()
        for bucket, rates in by_bucket.items()
    }
    exponent = min(0, *(_exponent(rate) for rate in table.values()))
    scaled = np.zeros(starts.shape, dtype=np.int64)
    for (season, bucket), rate in table.items():
        mask = seasons == season
        if buckets is not None:
            mask &= buckets == bucket
        scaled[mask] = int(rate.scaleb(-exponent))
    return scaled, exponent


def _seasons_of(tariff: Tariff, starts: npt.NDArray[np.datetime64]) -> npt.NDArray[np.str_]:
    """The season of each local start time."""
    months = starts.astype("datetime64[M]").astype(np.int64) % 12 + 1
    season_of_month = np.array([""] + [tariff.season_of(m) for m in range(1, 13)])
    return season_of_month[months]


def _capitalised(text: str) -> str:
    return text[:1].upper() + text[1:]


def _days_by_season(tariff: Tariff, start: date, end: date) -> dict[str, int]:
    days = dict.fromkeys(tariff.seasons, 0)
    day = start
    while day <= end:
        days[tariff.season_of(day.month)] += 1
        day += timedelta(days=1)
    return days


def _tou_of(tariff: Tariff, starts: npt.NDArray[np.datetime64]) -> npt.NDArray[np.str_]:
    seconds = starts.astype("datetime64[s]").astype(np.int64)
    hours = (seconds // 3600) % 24
    weekday = (seconds // 86400 + 3) % 7  # 1970-01-01 was a Thursday; Monday is 0
    result = np.full(starts.shape, DEFAULT_TOU, dtype="<U16")
    assigned = np.zeros(starts.shape, dtype=bool)
    for period in tariff.tou_periods:
        days = {"all": weekday >= 0, "weekdays": weekday < 5, "weekends": weekday >= 5}
        mask = days[period.days] & (hours >= period.from_hour) & (hours < period.to_hour)
        mask &= ~assigned
        result[mask] = period.tou
        assigned |= mask
    return result


def _choice(data: Mapping[str, Any], key: str, allowed: Sequence[str]) -> str:
    value = data.get(key)
    if value not in allowed:
        raise TariffError(f"tariff {key!r} is {value!r}; expected one of {list(allowed)}")
    assert isinstance(value, str)
    return value


def _decimal(raw: object, where: str) -> Decimal:
    if not isinstance(raw, str):
        raise TariffError(f"tariff {where} must be a decimal string such as '0.215', got {raw!r}")
    try:
        value = Decimal(raw)
    except InvalidOperation as error:
        raise TariffError(f"tariff {where} is not a decimal: {raw!r}") from error
    if not value.is_finite():
        raise TariffError(f"tariff {where} must be finite, got {raw!r}")
    return value


def _seasons(raw: object) -> dict[str, frozenset[int]]:
    if not isinstance(raw, Mapping) or not raw:
        raise TariffError("tariff 'seasons' must map season names to lists of months (1-12)")
    seasons: dict[str, frozenset[int]] = {}
    for name, months in raw.items():
        if name not in SEASONS:
            raise TariffError(f"tariff season {name!r} is not one of {list(SEASONS)}")
        if not isinstance(months, list) or not all(
            isinstance(m, int) and 1 <= m <= 12 for m in months
        ):
            raise TariffError(f"tariff season {name!r} must list months 1-12")
        seasons[name] = frozenset(months)
    covered = sorted(m for months in seasons.values() for m in months)
    if covered != list(range(1, 13)):
        raise TariffError("tariff 'seasons' must cover every month exactly once")
    return seasons


def _tou_period(raw: object, index: int) -> TouPeriod:
    where = f"tou_periods[{index}]"
    if not isinstance(raw, Mapping):
        raise TariffError(f"tariff {where} must be an object")
    tou, days = raw.get("tou"), raw.get("days", "all")
    start, stop = raw.get("from_hour"), raw.get("to_hour")
    if tou not in TOU_TYPES or days not in DAY_SETS:
        raise TariffError(f"tariff {where} needs 'tou' in {TOU_TYPES} and 'days' in {DAY_SETS}")
    if not (isinstance(start, int) and isinstance(stop, int) and 0 <= start < stop <= 24):
        raise TariffError(f"tariff {where} needs hours with 0 <= from_hour < to_hour <= 24")
    return TouPeriod(tou, days, start, stop)


def _fixed_charge(raw: object, index: int) -> FixedCharge:
    where = f"fixed_charges[{index}]"
    if not isinstance(raw, Mapping) or not isinstance(raw.get("name"), str):
        raise TariffError(f"tariff {where} needs a 'name'")
    component = raw.get("component")
    if component not in COMPONENTS:
        raise TariffError(f"tariff {where}.component must be one of {COMPONENTS}")
    return FixedCharge(raw["name"], component, _decimal(raw.get("per_day"), f"{where}.per_day"))


def _energy_rates(
    raw: object, seasons: Mapping[str, frozenset[int]], buckets: tuple[str, ...]
) -> dict[str, dict[str, dict[str, Decimal]]]:
    if not isinstance(raw, Mapping):
        raise TariffError("tariff 'energy_rates' must map season -> bucket -> component -> rate")
    rates: dict[str, dict[str, dict[str, Decimal]]] = {}
    for season in seasons:
        by_bucket = raw.get(season)
        if not isinstance(by_bucket, Mapping) or set(by_bucket) != set(buckets):
            raise TariffError(f"tariff energy_rates.{season} needs exactly the buckets {buckets}")
        rates[season] = {
            bucket: _component_rates(by_bucket[bucket], f"energy_rates.{season}.{bucket}")
            for bucket in buckets
        }
    return rates


def _demand_rates(
    raw: object, seasons: Mapping[str, frozenset[int]]
) -> dict[str, dict[str, Decimal]]:
    if raw is None:
        return {}
    if not isinstance(raw, Mapping) or set(raw) != set(seasons):
        raise TariffError("tariff 'demand_rates' must give rates for every season")
    return {s: _component_rates(raw[s], f"demand_rates.{s}") for s in seasons}


def _component_rates(raw: object, where: str) -> dict[str, Decimal]:
    if not isinstance(raw, Mapping) or not raw or not set(raw) <= set(COMPONENTS):
        raise TariffError(f"tariff {where} must map components {COMPONENTS} to rates")
    return {c: _decimal(raw[c], f"{where}.{c}") for c in COMPONENTS if c in raw}


def _exponent(value: Decimal) -> int:
    exponent = value.normalize().as_tuple().exponent
    if not isinstance(exponent, int):
        raise ValueError(f"reading {value} is not a finite number")
    return exponent


BILLED_DIRECTIONS: Final[Mapping[str | None, int]] = {"net": 0, "forward": 1, None: 2}
"""Which of a meter's channels a rate plan bills, best first: net metering bills the net channel,
other meters their forward or only usage channel."""


class MeasuredChannel(Protocol):
    @property
    def kind(self) -> str: ...
    @property
    def direction(self) -> str | None: ...
    @property
    def units(self) -> str: ...
    @property
    def interval_seconds(self) -> int: ...


ChannelT = TypeVar("ChannelT", bound=MeasuredChannel)


def billed_channel(
    channels: Collection[ChannelT], tariff: Tariff, interval: int
) -> ChannelT | None:
    """The channel among one meter's `channels` of `interval` seconds that `tariff` bills."""
    candidates = [
        c
        for c in channels
        if c.interval_seconds == interval
        and c.kind == tariff.usage_type
        and c.units == tariff.units
    ]
    last = len(BILLED_DIRECTIONS)
    return min(candidates, key=lambda c: BILLED_DIRECTIONS.get(c.direction, last), default=None)


def per_reading_tariff(data: Mapping[str, Any]) -> Tariff | None:
    """The tariff when it prices each reading by its time (time-of-use, flat), else None (a
    tiered plan needs its whole period; a plan that does not parse prices nothing)."""
    try:
        tariff = parse_tariff(data)
    except TariffError:
        return None
    return None if tariff.structure == "tiered" else tariff
