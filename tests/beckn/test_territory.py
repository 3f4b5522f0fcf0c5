"""The electric service territory a Beckn search or order location must fall in: GPS strings
(core 1.1.0 `Gps`) and points against the electricity coverage entries (CDS-WG1-01 §4.3)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from sqlalchemy import Engine
from sqlalchemy.orm import Session

from gridshare.beckn.territory import in_territory, parse_gps
from gridshare.demo.territory import ELECTRIC_TERRITORY, GAS_TERRITORY, TOWN, contains, polygon
from gridshare.utility.coverage import save_entry

SAN_FRANCISCO = (37.7749, -122.4194)


def save(session: Session, entry_id: str, geojson: dict[str, Any] | None, **changes: Any) -> None:
    fields: dict[str, Any] = {
        "entry_id": entry_id,
        "entity_name": "Demo Gas & Electric",
        "entity_abbreviation": "DG&E",
        "country": "US",
        "name": f"Territory {entry_id}",
        "type": "geographic",
        "role": "authoritative",
        "infrastructure_types": ["distribution_utility"],
        "commodity_types": ["electricity"],
        "capabilities": [],
        "geojson": geojson,
    }
    save_entry(session, **(fields | changes))
    session.commit()


@pytest.fixture
def session(engine: Engine) -> Iterator[Session]:
    with Session(engine) as session:
        yield session


@pytest.fixture
def demo(session: Session) -> Session:
    """The demo utility's electric and gas territories."""
    save(session, "electric", polygon(ELECTRIC_TERRITORY, "electric"))
    save(session, "gas", polygon(GAS_TERRITORY, "gas"), commodity_types=["natural_gas"])
    return session


@pytest.mark.parametrize(
    ("text", "point"),
    [
        ("38.5449,-121.7405", (38.5449, -121.7405)),
        ("38.5449, -121.7405", (38.5449, -121.7405)),
        ("+38,-121", (38.0, -121.0)),
        ("-90,180", (-90.0, 180.0)),
        ("37.774921,122.419424", (37.774921, 122.419424)),
    ],
)
def test_gps_is_latitude_then_longitude(text: str, point: tuple[float, float]) -> None:
    """Core 1.1.0 `Gps` pattern: "lat,lon" in decimal degrees."""
    assert parse_gps(text) == point


@pytest.mark.parametrize(
    "text", ["", "38.5449", "38.5449;-121.7405", "north", "91,0", "0,181", "38.5 -121.7", "1e1,2"]
)
def test_what_is_not_a_gps_position(text: str) -> None:
    with pytest.raises(ValueError, match="latitude,longitude"):
        parse_gps(text)


def test_towns_are_inside_and_san_francisco_is_not(demo: Session) -> None:
    for town in TOWN.values():
        assert in_territory(demo, town.latitude, town.longitude), town.name
    assert not in_territory(demo, *SAN_FRANCISCO)
    assert not in_territory(demo, 37.774921, 122.419424)  # the Connections example's site


def test_agrees_with_the_demo_ray_casting(demo: Session) -> None:
    """An independent check: a 30 x 30 grid over the territory's bounding box gives the same
    answers as the demo generator's even-odd ray casting, on both sides of the border."""
    lons = [lon for lon, _ in ELECTRIC_TERRITORY]
    lats = [lat for _, lat in ELECTRIC_TERRITORY]
    inside = outside = 0
    for i in range(30):
        for j in range(30):
            lon = min(lons) - 0.05 + (max(lons) - min(lons) + 0.1) * (i + 0.5) / 30
            lat = min(lats) - 0.05 + (max(lats) - min(lats) + 0.1) * (j + 0.5) / 30
            expected = contains(ELECTRIC_TERRITORY, lon, lat)
            assert in_territory(demo, lat, lon) == expected, (lat, lon)
            inside, outside = inside + expected, outside + (not expected)
    assert inside > 100 and outside > 100


def test_the_border_is_inside(session: Session) -> None:
    square = [[0, 0], [4, 0], [4, 4], [0, 4], [0, 0]]
    save(session, "square", {"type": "Polygon", "coordinates": [square]})
    assert in_territory(session, 0, 0)  # a corner
    assert in_territory(session, 0, 2)  # an edge
    assert not in_territory(session, -0.001, 2)


def test_only_electricity_territories_count(session: Session) -> None:
    """A point only in the gas territory, or only in a water entry, is outside."""
    save(session, "gas", polygon(GAS_TERRITORY, "gas"), commodity_types=["natural_gas"])
    davis = TOWN["Davis"]
    assert not in_territory(session, davis.latitude, davis.longitude)
    save(
        session,
        "both",
        polygon(GAS_TERRITORY, "both"),
        commodity_types=["natural_gas", "electricity"],
    )
    assert in_territory(session, davis.latitude, davis.longitude)


def test_without_any_electric_territory_nothing_is_inside(
    session: Session, caplog: pytest.LogCaptureFixture
) -> None:
    save(session, "water", None, type="logical", commodity_types=["water", "electricity"])
    davis = TOWN["Davis"]
    assert not in_territory(session, davis.latitude, davis.longitude)
    assert "no geographic coverage entry for electricity" in caplog.text


def test_multipolygons_holes_and_other_geometries(session: Session) -> None:
    """RFC 7946: a MultiPolygon's parts each count, a hole is outside, and points, lines and
    features without a geometry enclose nothing."""
    square = [[0, 0], [4, 0], [4, 4], [0, 4], [0, 0]]
    hole = [[1, 1], [1, 3], [3, 3], [3, 1], [1, 1]]
    far = [[10, 10], [11, 10], [11, 11], [10, 11], [10, 10]]
    save(
        session,
        "pieces",
        {
            "type": "FeatureCollection",
            "features": [
                {
                    "type": "Feature",
                    "properties": {},
                    "geometry": {"type": "MultiPolygon", "coordinates": [[square, hole], [far]]},
                },
                {"type": "Feature", "properties": None, "geometry": None},
                {
                    "type": "Feature",
                    "properties": {},
                    "geometry": {
                        "type": "GeometryCollection",
                        "geometries": [
                            {"type": "Point", "coordinates": [20, 20]},
                            {"type": "LineString", "coordinates": [[30, 30], [31, 31]]},
                        ],
                    },
                },
            ],
        },
    )
    assert in_territory(session, 0.5, 0.5)
    assert in_territory(session, 10.5, 10.5)
    assert not in_territory(session, 2, 2)  # in the hole
    assert not in_territory(session, 20, 20)
    assert not in_territory(session, 30.5, 30.5)
    assert not in_territory(session, 5, 5)


def test_a_self_intersecting_ring_is_repaired(session: Session) -> None:
    """A bow tie (its ring crosses itself) covers its two lobes, not the gaps between them."""
    bow_tie = [[0, 0], [2, 2], [2, 0], [0, 2], [0, 0]]
    save(session, "bow-tie", {"type": "Polygon", "coordinates": [bow_tie]})
    assert in_territory(session, 1.0, 0.2)  # left lobe
    assert in_territory(session, 1.0, 1.8)  # right lobe
    assert not in_territory(session, 0.2, 1.0)  # below the crossing
    assert not in_territory(session, 1.8, 1.0)  # above it
