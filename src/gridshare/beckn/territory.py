"""Where the utility connects electricity: is a Beckn GPS point inside its electric service
territory?

The territory is the union of the geographic coverage entries (CDS-WG1-01 §4.3, `utility.coverage`)
whose `commodity_types` include `electricity`: their `geojson` (RFC 7946, WGS 84 longitude and
latitude). Only the polygonal geometries (Polygon, MultiPolygon, found inside Features,
FeatureCollections and GeometryCollections) enclose an area; points and lines are ignored. A point
on a territory's boundary is inside it. Polygons that are not valid (self-intersecting rings) are
repaired with `shapely.make_valid` first, so the answer never depends on GEOS's handling of
invalid input.

A Beckn `Gps` (core 1.1.0 `schema/Gps.yaml`) is "latitude,longitude" in decimal degrees, latitude
first; GeoJSON positions are longitude first (RFC 7946 §3.1.1).
"""

from __future__ import annotations

import logging
import re
from collections.abc import Iterator
from typing import Any, Final

import shapely
from shapely.geometry import shape
from shapely.geometry.base import BaseGeometry
from sqlalchemy import select
from sqlalchemy.orm import Session

from gridshare.store.tables.coverage import CoverageEntry

log = logging.getLogger(__name__)

ELECTRICITY: Final = "electricity"
"""The CDS-WG1-01 §4.7 commodity type of the territory where connections are sold."""

GPS: Final = re.compile(
    r"[-+]?(?:[1-8]?\d(?:\.\d+)?|90(?:\.0+)?),\s*"
    r"[-+]?(?:180(?:\.0+)?|(?:1[0-7]\d|[1-9]?\d)(?:\.\d+)?)",
    re.ASCII,
)
"""Core 1.1.0 `Gps`: latitude in [-90, 90], a comma, longitude in [-180, 180]."""

_POLYGONAL: Final = frozenset({"Polygon", "MultiPolygon"})


def parse_gps(value: str) -> tuple[float, float]:
    """(latitude, longitude) of a Beckn `Gps` string such as "38.5449,-121.7405"; ValueError
    when it is not one."""
    if not GPS.fullmatch(value.strip()):
        raise ValueError(
            f'{value!r} is not a GPS position "latitude,longitude" in decimal degrees, '
            'such as "38.5449,-121.7405"'
        )
    latitude, longitude = value.split(",")
    return float(latitude), float(longitude)


def in_territory(session: Session, lat: float, lon: float) -> bool:
    """Whether (lat, lon) lies in the electric service territory (boundary included). With no
    electric geographic coverage entry at all, nothing is in the territory."""
    point = shapely.Point(lon, lat)
    found = False
    rows = session.execute(
        select(CoverageEntry.commodity_types, CoverageEntry.geojson).where(
            CoverageEntry.type == "geographic"
        )
    )
    for commodity_types, geojson in rows:
        if ELECTRICITY not in commodity_types or geojson is None:
            continue
        found = True
        if any(area.covers(point) for area in _areas(geojson)):
            return True
    if not found:
        log.warning(
            "no geographic coverage entry for electricity: every location is outside the "
            "territory (add one with `utility.coverage.save_entry`)"
        )
    return False


def _areas(geojson: dict[str, Any]) -> Iterator[BaseGeometry]:
    for geometry in _polygonal(geojson):
        area = shape(geometry)
        yield area if area.is_valid else shapely.make_valid(area)


def _polygonal(value: dict[str, Any]) -> Iterator[dict[str, Any]]:
    """The Polygon and MultiPolygon geometries inside a GeoJSON object."""
    kind = value.get("type")
    if kind == "FeatureCollection":
        for feature in value["features"]:
            yield from _polygonal(feature)
    elif kind == "Feature":
        if value.get("geometry") is not None:
            yield from _polygonal(value["geometry"])
    elif kind == "GeometryCollection":
        for geometry in value["geometries"]:
            yield from _polygonal(geometry)
    elif kind in _POLYGONAL:
        yield value
