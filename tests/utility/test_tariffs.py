"""Tariffs price a bill period's usage exactly: line item cost = value x rate rounded half-up to
the cent, and the overall total is the exact sum of the line items (CDS-WG3-01 §10.6)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from typing import Any

import pytest

from gridshare.utility.tariffs import (
    IntervalUsage,
    SectionCharges,
    TariffError,
    bill_section,
    billed_channel,
    money,
    parse_tariff,
    per_reading_tariff,
)

D = Decimal
SEASONS = {"summer": [6, 7, 8, 9], "winter": [1, 2, 3, 4, 5, 10, 11, 12]}


def tou_tariff(**changes: Any) -> dict[str, Any]:
    tariff: dict[str, Any] = {
        "commodity": "electric",
        "units": "kWh",
        "structure": "tou",
        "seasons": SEASONS,
        "tou_periods": [{"tou": "peak", "days": "weekdays", "from_hour": 16, "to_hour": 21}],
        "energy_rates": {
            "summer": {
                "peak": {"distribution": "0.20", "supply": "0.30"},
                "off_peak": {"distribution": "0.10", "supply": "0.05"},
            },
            "winter": {
                "peak": {"distribution": "0.18", "supply": "0.22"},
                "off_peak": {"distribution": "0.12", "supply": "0.07"},
            },
        },
        "fixed_charges": [{"name": "Base charge", "component": "distribution", "per_day": "0.5"}],
        "tax": {"name": "Utility tax", "rate": "0.05"},
    }
    return tariff | changes


def tiered_tariff() -> dict[str, Any]:
    return {
        "commodity": "electric",
        "units": "kWh",
        "structure": "tiered",
        "seasons": SEASONS,
        "baseline_per_day": {"summer": "10", "winter": "8"},
        "energy_rates": {
            season: {"baseline": {"distribution": "0.15"}, "overage": {"distribution": "0.25"}}
            for season in SEASONS
        },
        "fixed_charges": [],
        "tax": {"name": "Utility tax", "rate": "0"},
    }


def usage(*readings: tuple[str, str]) -> IntervalUsage:
    """Readings as (local start 'YYYY-MM-DD HH:MM', value)."""
    return IntervalUsage.from_decimals(
        [datetime.fromisoformat(start) for start, _ in readings], [D(v) for _, v in readings]
    )


def items(section: SectionCharges) -> dict[str, tuple[Decimal | None, Decimal | None, Decimal]]:
    return {i.name: (i.value, i.rate, i.cost) for i in section.line_items}


def costs(section: SectionCharges) -> dict[str, Decimal]:
    return {c.name: c.cost for c in section.cost_details}


def assert_total_is_exact_sum(section: SectionCharges) -> None:
    assert section.total == sum((i.cost for i in section.line_items), D(0))


def test_time_of_use_prices_each_interval_by_its_local_hour_and_weekday() -> None:
    # Wednesday 2 July 2025 and Saturday 5 July 2025 (summer).
    readings = usage(
        ("2025-07-02 15:45", "1.000"),  # off-peak: before 16:00
        ("2025-07-02 16:00", "2.000"),  # peak
        ("2025-07-02 20:45", "0.500"),  # peak: the last quarter hour before 21:00
        ("2025-07-02 21:00", "1.250"),  # off-peak
        ("2025-07-05 17:00", "3.000"),  # off-peak: weekends have no peak
        ("2025-08-01 17:00", "9.000"),  # outside the bill period: ignored
    )
    section = bill_section(
        parse_tariff(tou_tariff()), date(2025, 7, 1), date(2025, 7, 31), readings
    )
    details = {d.name: (d.value, d.types, dict(d.details)) for d in section.usage_details}
    assert details["Total electric usage"][0] == D("7.750")
    assert details["Summer peak electric usage"] == (
        D("2.500"),
        ("electric_usage", "time_of_use", "seasonal"),
        {"tou": "peak", "season": "summer"},
    )
    assert details["Summer off-peak electric usage"][0] == D("5.250")
    assert items(section) == {
        "Summer peak energy - delivery": (D("2.500"), D("0.20"), D("0.50")),
        "Summer peak energy - generation": (D("2.500"), D("0.30"), D("0.75")),
        "Summer off-peak energy - delivery": (D("5.250"), D("0.10"), D("0.53")),  # 0.525
        "Summer off-peak energy - generation": (D("5.250"), D("0.05"), D("0.26")),  # 0.2625
        "Base charge": (D(31), D("0.5"), D("15.50")),
        "Utility tax (5%)": (None, None, D("0.88")),  # 5% of 17.54 = 0.877
    }
    assert costs(section) == {
        "Total delivery charges": D("16.53"),
        "Total generation charges": D("1.01"),
        "Total fixed charges": D("15.50"),
        "Total usage charges": D("2.04"),
        "Taxes": D("0.88"),
        "Total charges": D("18.42"),
    }
    assert_total_is_exact_sum(section)


def test_line_items_name_their_usage_and_cost_details() -> None:
    readings = usage(("2025-07-02 16:00", "2"), ("2025-07-02 10:00", "3"))
    section = bill_section(
        parse_tariff(tou_tariff()), date(2025, 7, 1), date(2025, 7, 31), readings
    )
    for item in section.line_items:
        for position in item.usage_details:
            detail = section.usage_details[position]
            assert detail.value == item.value
        included = {section.cost_details[p].name for p in item.cost_details}
        assert "Total charges" in included
    for position, cost in enumerate(section.cost_details):
        members = [i for i in section.line_items if position in i.cost_details]
        assert cost.cost == sum((i.cost for i in members), D(0))


def test_tiers_split_each_season_at_its_baseline_allowance() -> None:
    # 20 May - 10 June: 12 winter days (8 kWh/day = 96) and 10 summer days (10 kWh/day = 100).
    readings = usage(
        ("2025-05-20 08:00", "100"), ("2025-05-31 23:45", "50"), ("2025-06-05 12:00", "60")
    )
    section = bill_section(
        parse_tariff(tiered_tariff()), date(2025, 5, 20), date(2025, 6, 10), readings
    )
    assert items(section) == {
        "Summer baseline energy - delivery": (D(60), D("0.15"), D("9.00")),
        "Winter baseline energy - delivery": (D(96), D("0.15"), D("14.40")),
        "Winter over baseline energy - delivery": (D(54), D("0.25"), D("13.50")),
    }
    tiers = {
        (d.details.get("season"), d.details.get("tier")): d.value for d in section.usage_details
    }
    assert tiers == {
        (None, None): D(210),
        ("summer", "baseline"): D(60),
        ("winter", "baseline"): D(96),
        ("winter", "overage"): D(54),
    }
    assert section.total == D("36.90")
    assert_total_is_exact_sum(section)


def test_rounding_is_half_up_to_the_cent_and_totals_stay_exact() -> None:
    assert money(D("1.005")) == D("1.01")
    assert money(D("2.675")) == D("2.68")
    assert money(D("-0.125")) == D("-0.13")
    readings = usage(*((f"2025-01-{day:02d} 03:00", "0.125") for day in range(1, 32)))
    tariff = tou_tariff(fixed_charges=[], tax={"name": "Utility tax", "rate": "0.0725"})
    section = bill_section(parse_tariff(tariff), date(2025, 1, 1), date(2025, 1, 31), readings)
    # 31 x 0.125 = 3.875 kWh off-peak: 0.465 -> 0.47 delivery, 0.27125 -> 0.27 generation.
    assert [i.cost for i in section.line_items] == [D("0.47"), D("0.27"), D("0.05")]
    assert section.total == D("0.79")
    assert_total_is_exact_sum(section)


def test_net_metered_exports_become_credits_and_are_not_taxed() -> None:
    readings = usage(("2025-07-02 12:00", "-10.000"), ("2025-07-02 18:00", "1.000"))
    flows = {
        "forward": usage(("2025-07-02 18:00", "1.000")),
        "reverse": usage(("2025-07-02 12:00", "-10.000")),
    }
    tariff = tou_tariff(fixed_charges=[])
    section = bill_section(
        parse_tariff(tariff), date(2025, 7, 1), date(2025, 7, 31), readings, flows=flows
    )
    assert items(section)["Summer off-peak energy - delivery"] == (
        D("-10.000"),
        D("0.10"),
        D("-1.00"),
    )
    assert items(section)["Utility tax (5%)"][2] == D("0.00")
    directions = {d.details.get("direction"): d.value for d in section.usage_details}
    assert directions["forward"] == D("1.000") and directions["reverse"] == D("-10.000")
    assert section.total == D("-1.00") + D("-0.50") + D("0.20") + D("0.30")
    assert_total_is_exact_sum(section)


def test_components_split_delivery_from_generation() -> None:
    readings = usage(("2025-07-02 16:00", "2.000"))
    tariff = parse_tariff(tou_tariff())
    period = (date(2025, 7, 1), date(2025, 7, 31))
    delivery = bill_section(tariff, *period, readings, components=("distribution",))
    generation = bill_section(tariff, *period, readings, components=("supply",))
    assert {i.types for i in delivery.line_items} == {
        ("usage_charge", "distribution"),
        ("fixed_charge", "distribution"),
        ("tax",),
    }
    assert {i.types for i in generation.line_items} == {("usage_charge", "supply"), ("tax",)}
    assert "Total generation charges" not in costs(delivery)
    both = bill_section(tariff, *period, readings)
    assert abs(delivery.total + generation.total - both.total) <= D("0.01")  # taxes round apart


def test_demand_charge_uses_the_period_peak() -> None:
    tariff = tou_tariff(
        demand_rates={"summer": {"distribution": "9.85"}, "winter": {"distribution": "6.40"}}
    )
    demand = usage(("2025-07-02 16:00", "8.000"), ("2025-07-03 17:15", "12.500"))
    section = bill_section(
        parse_tariff(tariff), date(2025, 7, 1), date(2025, 7, 31), usage(), demand=demand
    )
    assert items(section)["Maximum demand - delivery"] == (D("12.500"), D("9.85"), D("123.13"))
    peak = next(d for d in section.usage_details if "electric_demand" in d.types)
    assert (peak.value, peak.units, peak.details["demand_type"]) == (D("12.500"), "kW", "peak")


def test_monthly_reads_are_marked_as_amr_with_their_register() -> None:
    section = bill_section(
        parse_tariff(tiered_tariff()),
        date(2025, 1, 1),
        date(2025, 1, 31),
        usage(("2025-01-01 00:00", "412")),
        meter_reads=(D(30512), D(30924)),
    )
    total = section.usage_details[0]
    assert total.types == ("electric_usage", "amr_reading")
    assert dict(total.details) == {"start_read": D(30512), "end_read": D(30924), "multiplier": 1}
    assert total.value == D(412)


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"structure": "banded"}, "structure"),
        ({"seasons": {"summer": [6, 7, 8]}}, "every month"),
        ({"tax": {"name": "Tax", "rate": 0.05}}, "tax.rate"),
        ({"tou_periods": [{"tou": "peak", "from_hour": 21, "to_hour": 16}]}, "tou_periods"),
        ({"energy_rates": {"summer": {}, "winter": {}}}, "energy_rates.summer"),
        ({"fixed_charges": [{"name": "Fee", "component": "other", "per_day": "1"}]}, "component"),
    ],
)
def test_invalid_tariffs_name_the_field_to_fix(change: dict[str, Any], message: str) -> None:
    with pytest.raises(TariffError, match=message):
        parse_tariff(tou_tariff(**change))


def test_a_period_that_ends_before_it_starts_is_refused() -> None:
    with pytest.raises(TariffError, match="ends"):
        bill_section(parse_tariff(tou_tariff()), date(2025, 7, 2), date(2025, 7, 1), usage())


@dataclass(frozen=True)
class _Channel:
    kind: str
    direction: str | None
    units: str
    interval_seconds: int


def test_the_billed_channel_is_net_then_forward_then_the_only_one() -> None:
    tariff = parse_tariff(tou_tariff())
    kind, units = tariff.usage_type, tariff.units
    net = _Channel(kind, "net", units, 900)
    forward = _Channel(kind, "forward", units, 900)
    reverse = _Channel(kind, "reverse", units, 900)
    hourly = _Channel(kind, "net", units, 3600)
    assert billed_channel([reverse, forward, net, hourly], tariff, 900) == net
    assert billed_channel([reverse, forward], tariff, 900) == forward
    assert billed_channel([hourly], tariff, 900) is None
    assert billed_channel([_Channel("water_usage", None, "gal", 900)], tariff, 900) is None


def test_only_plans_that_price_each_reading_are_per_reading() -> None:
    assert per_reading_tariff(tou_tariff()) is not None
    assert per_reading_tariff(tiered_tariff()) is None
    assert per_reading_tariff({"structure": "nonsense"}) is None
