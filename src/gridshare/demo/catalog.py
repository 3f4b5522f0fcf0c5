"""DG&E's catalogue: entities (CDS-WG3-01 §10.1.4), rate plans with their tariffs as data (§10.2)
and programs (§10.1.8 account level, §10.2.5 service level)."""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from gridshare.config import Settings
from gridshare.demo.ids import Ids
from gridshare.store.tables.contracts import RatePlan
from gridshare.store.tables.programs import Entity, Program
from gridshare.utility.tariffs import parse_tariff

SUMMER = [6, 7, 8, 9]
WINTER = [1, 2, 3, 4, 5, 10, 11, 12]
SEASONS = {"summer": SUMMER, "winter": WINTER}
TAX = {"name": "Utility users tax", "rate": "0.05"}
LOW_INCOME_DISCOUNT = "0.20"

RESIDENTIAL_TOU = "DGE-E-TOU"
RESIDENTIAL_TIERED = "DGE-E-1"
BUSINESS_TOU = "DGE-B-TOU"
GAS_TIERED = "DGE-G-1"
GAS_BUSINESS = "DGE-G-NR1"
WATER = "DGE-W-1"


def _split(distribution: str, supply: str) -> dict[str, str]:
    return {"distribution": distribution, "supply": supply}


TARIFFS: dict[str, tuple[str, str, dict[str, Any]]] = {
    RESIDENTIAL_TOU: (
        "Residential Time-of-Use (Peak 4-9 p.m. weekdays)",
        "electric",
        {
            "commodity": "electric",
            "units": "kWh",
            "structure": "tou",
            "seasons": SEASONS,
            "tou_periods": [{"tou": "peak", "days": "weekdays", "from_hour": 16, "to_hour": 21}],
            "energy_rates": {
                "summer": {
                    "peak": _split("0.2150", "0.2480"),
                    "off_peak": _split("0.1750", "0.1480"),
                },
                "winter": {
                    "peak": _split("0.1950", "0.1560"),
                    "off_peak": _split("0.1810", "0.1240"),
                },
            },
            "fixed_charges": [
                {"name": "Base services charge", "component": "distribution", "per_day": "0.39425"}
            ],
            "tax": TAX,
        },
    ),
    RESIDENTIAL_TIERED: (
        "Residential Tiered (baseline allowance)",
        "electric",
        {
            "commodity": "electric",
            "units": "kWh",
            "structure": "tiered",
            "seasons": SEASONS,
            "baseline_per_day": {"summer": "12.5", "winter": "10.8"},
            "energy_rates": {
                season: {
                    "baseline": _split("0.1620", "0.1580"),
                    "overage": _split("0.2050", "0.1990"),
                }
                for season in SEASONS
            },
            "fixed_charges": [
                {"name": "Base services charge", "component": "distribution", "per_day": "0.32854"}
            ],
            "tax": TAX,
        },
    ),
    BUSINESS_TOU: (
        "Small Business Time-of-Use with Demand Charge",
        "electric",
        {
            "commodity": "electric",
            "units": "kWh",
            "structure": "tou",
            "seasons": SEASONS,
            "tou_periods": [
                {"tou": "peak", "days": "weekdays", "from_hour": 16, "to_hour": 21},
                {"tou": "partial_peak", "days": "weekdays", "from_hour": 12, "to_hour": 16},
            ],
            "energy_rates": {
                "summer": {
                    "peak": _split("0.1830", "0.2210"),
                    "partial_peak": _split("0.1620", "0.1690"),
                    "off_peak": _split("0.1410", "0.1180"),
                },
                "winter": {
                    "peak": _split("0.1690", "0.1520"),
                    "partial_peak": _split("0.1580", "0.1330"),
                    "off_peak": _split("0.1450", "0.1090"),
                },
            },
            "demand_rates": {
                "summer": {"distribution": "9.85"},
                "winter": {"distribution": "6.40"},
            },
            "fixed_charges": [
                {"name": "Customer charge", "component": "distribution", "per_day": "1.24312"}
            ],
            "tax": TAX,
        },
    ),
    GAS_TIERED: (
        "Residential Gas Service (baseline allowance)",
        "natural_gas",
        {
            "commodity": "natural_gas",
            "units": "therm",
            "structure": "tiered",
            "seasons": SEASONS,
            "baseline_per_day": {"summer": "0.49", "winter": "1.94"},
            "energy_rates": {
                season: {
                    "baseline": _split("1.10453", "0.74210"),
                    "overage": _split("1.51866", "0.74210"),
                }
                for season in SEASONS
            },
            "fixed_charges": [
                {
                    "name": "Gas minimum transportation charge",
                    "component": "distribution",
                    "per_day": "0.16427",
                }
            ],
            "tax": TAX,
        },
    ),
    GAS_BUSINESS: (
        "Small Business Gas Service",
        "natural_gas",
        {
            "commodity": "natural_gas",
            "units": "therm",
            "structure": "flat",
            "seasons": SEASONS,
            "energy_rates": {
                "summer": {"flat": _split("0.88211", "0.69540")},
                "winter": {"flat": _split("0.98764", "0.81120")},
            },
            "fixed_charges": [
                {"name": "Customer charge", "component": "distribution", "per_day": "0.49315"}
            ],
            "tax": TAX,
        },
    ),
    WATER: (
        "Residential Water Service",
        "water",
        {
            "commodity": "water",
            "units": "gal",
            "structure": "flat",
            "seasons": SEASONS,
            "energy_rates": {
                "summer": {"flat": {"distribution": "0.00712"}},
                "winter": {"flat": {"distribution": "0.00584"}},
            },
            "fixed_charges": [
                {
                    "name": "Water meter service charge",
                    "component": "distribution",
                    "per_day": "0.61644",
                }
            ],
            "tax": {"name": "Water system tax", "rate": "0.025"},
        },
    ),
}


@dataclass(frozen=True)
class Catalog:
    dge: Entity
    cca: Entity
    rate_plans: dict[str, RatePlan]
    low_income: Program
    demand_response: Program
    net_metering: Program

    def rows(self) -> list[object]:
        return [
            self.dge,
            self.cca,
            *self.rate_plans.values(),
            self.low_income,
            self.demand_response,
            self.net_metering,
        ]


def catalog(settings: Settings, ids: Ids) -> Catalog:
    abbreviation = settings.utility_abbreviation or "DG&E"
    dge = Entity(
        id=ids("ent", "dge"),
        types=["distributor", "supplier", "iou"],
        entity_number=f"US-CA-IOU-{abbreviation}",
        name=settings.utility_name,
        abbreviation=settings.utility_abbreviation,
    )
    cca = Entity(
        id=ids("ent", "cca"),
        types=["supplier", "cca"],
        entity_number="US-CA-CCA-VCP",
        name="Valley Community Power",
        abbreviation="VCP",
    )
    plans = {}
    for code, (name, commodity, tariff) in TARIFFS.items():
        parse_tariff(tariff)  # the demo's own plans must always be valid
        plans[code] = RatePlan(
            id=ids("rp", code), code=code, name=name, commodity=commodity, tariff=tariff
        )
    docs = settings.url("/docs/programs")
    low_income = Program(
        id=ids("prog", "low_income"),
        program_number="DGE-EAD",
        level="account",
        kinds=["low_income"],
        name="Energy Assistance Discount",
        description=(
            f"A {Decimal(LOW_INCOME_DISCOUNT) * 100:.0f}% discount on electric and gas charges "
            "for income-qualified households."
        ),
        documentation=f"{docs}#energy-assistance-discount",
        more_info=settings.url("/programs/energy-assistance"),
        signup=settings.url("/programs/energy-assistance/apply"),
        details={"gridshare_discount_rate": LOW_INCOME_DISCOUNT},
    )
    demand_response = Program(
        id=ids("prog", "demand_response"),
        program_number="DGE-PDR",
        level="service",
        kinds=["demand_response"],
        name="Peak Day Rewards",
        description="Bill credits for reducing demand during event hours on the hottest days.",
        documentation=f"{docs}#peak-day-rewards",
        more_info=settings.url("/programs/peak-day-rewards"),
        settings=settings.url("/programs/peak-day-rewards/settings"),
        details={
            "pnode": "DGE_YOLO_1_N004",
            "anode": "DLAP_DGE-APND",
            "aggregated": False,
            "automated": True,
        },
    )
    net_metering = Program(
        id=ids("prog", "net_metering"),
        program_number="DGE-NEM",
        level="service",
        kinds=["credit_bank"],
        name="Net Energy Metering",
        description=(
            "Credits for solar energy sent to the grid, banked in kWh and trued up every "
            "twelve months."
        ),
        documentation=f"{docs}#net-energy-metering",
        more_info=settings.url("/programs/solar"),
        details={},
    )
    return Catalog(dge, cca, plans, low_income, demand_response, net_metering)
