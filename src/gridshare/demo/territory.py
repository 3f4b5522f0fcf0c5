"""Where DG&E serves: its towns, streets, territories (GeoJSON, WGS 84) and coverage entries.

The territory is a fictional utility's slice of California's Sacramento Valley (around Davis,
Woodland, Dixon, Winters and Esparto). Coverage entries follow CDS-WG1-01 §4.3: an electric and a
gas territory (geographic, with GeoJSON polygons) and the water service (logical).
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from decimal import Decimal
from itertools import pairwise
from typing import Any

from gridshare.config import Settings
from gridshare.demo.ids import Ids
from gridshare.store.tables.coverage import CoverageEntry

Ring = tuple[tuple[float, float], ...]
"""A closed polygon ring of (longitude, latitude) points, counterclockwise (RFC 7946 §3.1.6)."""

ELECTRIC_TERRITORY: Ring = (
    (-122.10, 38.40),
    (-121.70, 38.36),
    (-121.62, 38.45),
    (-121.60, 38.62),
    (-121.68, 38.76),
    (-121.95, 38.78),
    (-122.10, 38.72),
    (-122.14, 38.55),
    (-122.10, 38.40),
)
GAS_TERRITORY: Ring = (
    (-121.90, 38.40),
    (-121.66, 38.40),
    (-121.64, 38.72),
    (-121.86, 38.73),
    (-121.90, 38.40),
)


@dataclass(frozen=True)
class Town:
    name: str
    latitude: float
    longitude: float
    postal_codes: tuple[str, ...]
    area_code: str
    gas: bool
    water: bool
    weight: float


TOWNS: tuple[Town, ...] = (
    Town("Davis", 38.5449, -121.7405, ("95616", "95618"), "530", True, False, 0.40),
    Town("Woodland", 38.6785, -121.7733, ("95695", "95776"), "530", True, False, 0.28),
    Town("Dixon", 38.4455, -121.8233, ("95620",), "707", True, False, 0.15),
    Town("Winters", 38.5249, -121.9708, ("95694",), "530", False, True, 0.12),
    Town("Esparto", 38.6921, -122.0172, ("95627",), "530", False, False, 0.05),
)
TOWN = {town.name: town for town in TOWNS}

STREETS = (
    "Oak Ave",
    "Cedar St",
    "Olive Dr",
    "Walnut Ln",
    "Sycamore Ln",
    "Almond Way",
    "Orchard Rd",
    "Vineyard Ct",
    "Poplar St",
    "Magnolia Ave",
    "Pioneer Ave",
    "Mesa Ct",
    "Pine St",
    "Elm Pl",
    "Willow Way",
    "Tomato Row",
    "Harvest Ln",
    "Cottonwood St",
    "Putah Creek Rd",
    "Grange Ave",
)


@dataclass(frozen=True)
class Location:
    street: str
    town: Town
    postal_code: str
    latitude: Decimal
    longitude: Decimal

    @property
    def address(self) -> str:
        return f"{self.street}\n{self.town.name}, CA {self.postal_code}"


def locate(rng: random.Random, town: Town, street: str | None = None) -> Location:
    """A street address near `town`'s centre, inside the territories that serve the town."""
    rings = (ELECTRIC_TERRITORY, GAS_TERRITORY) if town.gas else (ELECTRIC_TERRITORY,)
    while True:
        latitude = town.latitude + rng.uniform(-0.018, 0.018)
        longitude = town.longitude + rng.uniform(-0.022, 0.022)
        if all(contains(ring, longitude, latitude) for ring in rings):
            break
    street = street or f"{rng.randint(100, 4999)} {rng.choice(STREETS)}"
    return Location(
        street=street,
        town=town,
        postal_code=rng.choice(town.postal_codes),
        latitude=Decimal(f"{latitude:.6f}"),
        longitude=Decimal(f"{longitude:.6f}"),
    )


def pick_town(rng: random.Random) -> Town:
    return rng.choices(TOWNS, weights=[t.weight for t in TOWNS])[0]


def contains(ring: Ring, longitude: float, latitude: float) -> bool:
    """Whether the point lies inside the ring (even-odd ray casting)."""
    inside = False
    for (x1, y1), (x2, y2) in pairwise(ring):
        if (y1 > latitude) != (y2 > latitude):
            crossing = x1 + (latitude - y1) * (x2 - x1) / (y2 - y1)
            if longitude < crossing:
                inside = not inside
    return inside


def polygon(ring: Ring, name: str) -> dict[str, Any]:
    """A GeoJSON FeatureCollection holding the ring as one polygon (WGS 84)."""
    return {
        "type": "FeatureCollection",
        "features": [
            {
                "type": "Feature",
                "properties": {"name": name},
                "geometry": {"type": "Polygon", "coordinates": [[list(p) for p in ring]]},
            }
        ],
    }


def coverage_entries(settings: Settings, ids: Ids) -> list[CoverageEntry]:
    """DG&E's coverage (CDS-WG1-01 §4.3): electric and gas territories, and the water service."""
    common: dict[str, Any] = {
        "entity_name": settings.utility_name,
        "entity_abbreviation": settings.utility_abbreviation,
        "country": settings.utility_country,
        "role": "authoritative",
        "capabilities": [],
    }
    towns = ", ".join(t.name for t in TOWNS)
    gas_towns = ", ".join(t.name for t in TOWNS if t.gas)
    water_towns = ", ".join(t.name for t in TOWNS if t.water)
    return [
        CoverageEntry(
            id=ids("cov", "electric"),
            name="DG&E electric service territory",
            description=f"Electric distribution, supply and metering in {towns}",
            type="geographic",
            infrastructure_types=["distribution_utility", "supplier", "metering_provider"],
            commodity_types=["electricity"],
            geojson=polygon(ELECTRIC_TERRITORY, "DG&E electric service territory"),
            **common,
        ),
        CoverageEntry(
            id=ids("cov", "natural_gas"),
            name="DG&E gas service territory",
            description=f"Natural gas distribution, supply and metering in {gas_towns}",
            type="geographic",
            infrastructure_types=["distribution_utility", "supplier", "metering_provider"],
            commodity_types=["natural_gas"],
            geojson=polygon(GAS_TERRITORY, "DG&E gas service territory"),
            **common,
        ),
        CoverageEntry(
            id=ids("cov", "water"),
            name="DG&E water service customers",
            description=f"Customers of DG&E's municipal water system in {water_towns}",
            type="logical",
            infrastructure_types=["distribution_utility", "metering_provider"],
            commodity_types=["water"],
            geojson=None,
            **common,
        ),
    ]
