"""CDS-WG1-01 §4.3-4.7 Coverage Entries: the rules an entry obeys, and the queries over them.

`save_entry` is the one way our own code writes an entry, so the §4.3-4.7 rules hold for every
entry we publish: enumerated `type`, `role`, `infrastructure_types` and `commodity_types`; a
two-letter country code; no `coverage` among an entry's capabilities; a territory in WGS 84 for
every geographic entry (served as its `geojson_resource`).

`list_entries` reads a page of the Coverage Listing (§4.1-4.2) newest `updated` first, with keyset
cursors; `entry_capabilities` is the union the server metadata must list (§3.2). `publish_document`
remembers when a public document first appeared and when its content last changed (§3.2 `created`
and `updated`).
"""

from __future__ import annotations

import hashlib
import logging
import math
import re
from collections.abc import Collection, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Final

from sqlalchemy import ColumnElement, and_, exists, or_, select
from sqlalchemy.orm import Session

from gridshare.store import jsontext
from gridshare.store.bulk import upsert
from gridshare.store.db import utcnow
from gridshare.store.tables.coverage import CoverageEntry, PublishedDocument

log = logging.getLogger(__name__)

COVERAGE_TYPES: Final = ("geographic", "logical")
"""§4.4 Coverage Entry Types."""
ROLES: Final = ("authoritative", "official", "aggregator")
"""§4.5 Capability Roles."""
INFRASTRUCTURE_TYPES: Final = (
    "distribution_utility",
    "metering_provider",
    "supplier",
    "generator",
    "market_operator",
    "distribution_service_operator",
    "transmission_service_operator",
    "service_provider",
)
"""§4.6 Infrastructure Types."""
COMMODITY_TYPES: Final = (
    "electricity",
    "natural_gas",
    "fuel_oil",
    "water",
    "wastewater",
    "trash",
    "distributed_energy",
)
"""§4.7 Commodity Types."""
COVERAGE_CAPABILITY: Final = "coverage"
"""§3.4: the server capability an entry's own `capabilities` must never contain (§4.3)."""

_ID = re.compile(r"[A-Za-z0-9._~-]{1,40}")
_CAPABILITY = re.compile(r"[a-z0-9_]+")
_COUNTRY = re.compile(r"[A-Z]{2}")
_WGS84_CRS_NAMES: Final = frozenset(
    {
        "urn:ogc:def:crs:OGC:1.3:CRS84",
        "urn:ogc:def:crs:OGC::CRS84",
        "http://www.opengis.net/def/crs/OGC/1.3/CRS84",
    }
)
_GEOMETRY_TYPES: Final = frozenset(
    {
        "Point",
        "MultiPoint",
        "LineString",
        "MultiLineString",
        "Polygon",
        "MultiPolygon",
        "GeometryCollection",
    }
)
_GEOJSON_TYPES: Final = _GEOMETRY_TYPES | {"Feature", "FeatureCollection"}


class InvalidCoverageEntry(ValueError):
    """A coverage entry (or its territory) breaks a CDS-WG1-01 §4.3-4.7 rule."""


def save_entry(
    session: Session,
    *,
    entry_id: str,
    entity_name: str,
    entity_abbreviation: str | None,
    country: str,
    name: str,
    type: str,
    role: str,
    infrastructure_types: Sequence[str],
    commodity_types: Sequence[str],
    capabilities: Sequence[str],
    description: str | None = None,
    geojson: dict[str, Any] | None = None,
) -> CoverageEntry:
    """Create the entry `entry_id`, or replace its content; raises `InvalidCoverageEntry`.

    `updated` moves only when some value actually changes, so saving the same entry twice leaves
    its place in the listing (§4.1) alone.
    """
    if not _ID.fullmatch(entry_id):
        raise InvalidCoverageEntry(
            f"entry id {entry_id!r} must be 1 to 40 letters, digits or '.', '_', '~', '-' "
            "(no spaces: the `ids` filter separates ids with spaces)"
        )
    values: dict[str, Any] = {
        "entity_name": _text("entity_name", entity_name, 200),
        "entity_abbreviation": _optional_text("entity_abbreviation", entity_abbreviation, 40),
        "country": _country(country),
        "name": _text("name", name, 200),
        "description": _optional_text("description", description, 1000),
        "type": _choice("type", type, COVERAGE_TYPES, "§4.4"),
        "role": _choice("role", role, ROLES, "§4.5"),
        "infrastructure_types": _choices(
            "infrastructure_types", infrastructure_types, INFRASTRUCTURE_TYPES, "§4.6"
        ),
        "commodity_types": _choices("commodity_types", commodity_types, COMMODITY_TYPES, "§4.7"),
        "capabilities": _capabilities(capabilities),
        "geojson": geojson,
    }
    if geojson is not None:
        validate_geojson(geojson)
        # Stored as it will be read back (numbers as exact decimals), so comparisons hold.
        values["geojson"] = jsontext.loads(jsontext.dumps(geojson))
    elif type == "geographic":
        raise InvalidCoverageEntry(
            f"entry {entry_id!r} is geographic, so it needs a territory: give `geojson` "
            "(a GeoJSON object in WGS 84, served as the entry's geojson_resource; §4.3)"
        )
    entry = session.get(CoverageEntry, entry_id)
    if entry is None:
        now = utcnow()
        entry = CoverageEntry(id=entry_id, created=now, updated=now, **values)
        session.add(entry)
    else:
        for field, value in values.items():
            if getattr(entry, field) != value:
                setattr(entry, field, value)
    session.flush()
    return entry


def validate_geojson(value: Any) -> None:
    """Refuse anything that is not an RFC 7946 GeoJSON object in WGS 84 longitude/latitude.

    A `crs` member is accepted only when it names the default (CRS84); every position must be a
    longitude in [-180, 180] and a latitude in [-90, 90] (§4.3 `geojson_resource`).
    """
    _geojson_object(value, "geojson", _GEOJSON_TYPES)


@dataclass(frozen=True, slots=True)
class Position:
    """Where an entry sits in the listing order: newest `updated` first, then by id."""

    updated: datetime
    id: str


@dataclass(frozen=True, slots=True)
class Cursor:
    """The entries after (`forward`, older) or before (newer) `position` in listing order,
    `inclusive` of the entry at `position` itself or not."""

    position: Position
    forward: bool
    inclusive: bool = False

    def other_side(self) -> Cursor:
        """The entries on the other side of the same gap between entries."""
        return Cursor(self.position, forward=not self.forward, inclusive=not self.inclusive)


@dataclass(frozen=True, slots=True)
class Page:
    """One page of the listing, with the cursors of the neighbouring pages (None at an end)."""

    entries: list[CoverageEntry]
    next: Cursor | None
    previous: Cursor | None


def list_entries(
    session: Session,
    *,
    limit: int,
    ids: Collection[str] | None = None,
    cursor: Cursor | None = None,
) -> Page:
    """A page of at most `limit` entries, newest `updated` first (§4.1), only `ids` if given.

    An empty page reached by a cursor (its entries were since deleted or moved) still links to
    the entries on the other side of it.
    """
    filters: list[ColumnElement[bool]] = []
    if ids is not None:
        filters.append(CoverageEntry.id.in_(sorted(set(ids))))
    forward = cursor is None or cursor.forward
    query = select(CoverageEntry).where(*filters)
    if cursor is not None:
        query = query.where(_beyond(cursor))
    if forward:
        query = query.order_by(CoverageEntry.updated.desc(), CoverageEntry.id.asc())
    else:
        query = query.order_by(CoverageEntry.updated.asc(), CoverageEntry.id.desc())
    entries = list(session.scalars(query.limit(limit + 1)))
    more = len(entries) > limit
    entries = entries[:limit]
    if not forward:
        entries.reverse()
    if entries:
        before = Cursor(_position(entries[0]), forward=False)
        after = Cursor(_position(entries[-1]), forward=True)
    elif cursor is not None:
        before = cursor if not forward else cursor.other_side()
        after = cursor if forward else cursor.other_side()
    else:
        return Page(entries, next=None, previous=None)
    if forward:
        has_next = more
        has_previous = cursor is not None and _any_beyond(session, filters, before)
    else:
        has_next = _any_beyond(session, filters, after)
        has_previous = more
    return Page(
        entries,
        next=after if has_next else None,
        previous=before if has_previous else None,
    )


def territory(session: Session, entry_id: str) -> dict[str, Any] | None:
    """The GeoJSON territory of entry `entry_id`, or None when there is no such territory."""
    return session.scalar(select(CoverageEntry.geojson).where(CoverageEntry.id == entry_id))


def entry_capabilities(session: Session) -> list[str]:
    """The union of every coverage entry's `capabilities`, sorted (§3.2)."""
    union: set[str] = set()
    for capabilities in session.scalars(select(CoverageEntry.capabilities)):
        union.update(capabilities)
    return sorted(union)


def publish_document(session: Session, name: str, content: bytes) -> tuple[datetime, datetime]:
    """Record `content` as the current form of public document `name`: (created, updated).

    `created` is when the document was first published; `updated` is when its content (by
    SHA-256 digest) last changed. The first publication is an upsert, so two requests publishing
    at once do not collide.
    """
    digest = hashlib.sha256(content).hexdigest()
    document = session.get(PublishedDocument, name)
    now = utcnow()
    if document is None:
        row = {"name": name, "digest": digest, "created": now, "updated": now}
        upsert(
            session,
            PublishedDocument.__table__,  # type: ignore[arg-type]
            [row],
            key=("name",),
            preserve=("created", "updated"),
        )
        document = session.get_one(PublishedDocument, name, populate_existing=True)
        log.info("published %s for the first time", name)
    elif document.digest != digest:
        document.digest = digest
        document.updated = now
        session.flush()
        log.info("published a changed %s", name)
    return document.created, document.updated


def _position(entry: CoverageEntry) -> Position:
    return Position(entry.updated, entry.id)


def _beyond(cursor: Cursor) -> ColumnElement[bool]:
    """The entries on the cursor's side of its position."""
    at = cursor.position
    if cursor.forward:
        same_time = CoverageEntry.id >= at.id if cursor.inclusive else CoverageEntry.id > at.id
        return or_(
            CoverageEntry.updated < at.updated,
            and_(CoverageEntry.updated == at.updated, same_time),
        )
    same_time = CoverageEntry.id <= at.id if cursor.inclusive else CoverageEntry.id < at.id
    return or_(
        CoverageEntry.updated > at.updated,
        and_(CoverageEntry.updated == at.updated, same_time),
    )


def _any_beyond(session: Session, filters: list[ColumnElement[bool]], cursor: Cursor) -> bool:
    return bool(session.scalar(select(exists().where(*filters, _beyond(cursor)))))


def _text(field: str, value: str, longest: int) -> str:
    if not value.strip():
        raise InvalidCoverageEntry(f"{field} must not be blank")
    if len(value) > longest:
        raise InvalidCoverageEntry(f"{field} is {len(value)} characters; at most {longest} fit")
    return value


def _optional_text(field: str, value: str | None, longest: int) -> str | None:
    return None if value is None else _text(field, value, longest)


def _country(value: str) -> str:
    if not _COUNTRY.fullmatch(value):
        raise InvalidCoverageEntry(
            f"country {value!r} must be an ISO 3166 two-letter code in capitals, such as 'US'; "
            "coverage under several countries needs one entry per country (§4.3)"
        )
    return value


def _choice(field: str, value: str, allowed: Sequence[str], section: str) -> str:
    if value not in allowed:
        raise InvalidCoverageEntry(
            f"{field} {value!r} is not one of {', '.join(allowed)} ({section})"
        )
    return value


def _choices(field: str, values: Sequence[str], allowed: Sequence[str], section: str) -> list[str]:
    if isinstance(values, str):
        raise InvalidCoverageEntry(f"{field} must be a list of strings, not the string {values!r}")
    for value in values:
        _choice(field, value, allowed, section)
    _unique(field, values)
    return list(values)


def _capabilities(values: Sequence[str]) -> list[str]:
    if isinstance(values, str):
        raise InvalidCoverageEntry(
            f"capabilities must be a list of strings, not the string {values!r}"
        )
    for value in values:
        if value == COVERAGE_CAPABILITY:
            raise InvalidCoverageEntry(
                "an entry's capabilities must not include 'coverage': that capability belongs "
                "to the server metadata only (§4.3)"
            )
        if not _CAPABILITY.fullmatch(value):
            raise InvalidCoverageEntry(
                f"capability {value!r} must be a server capability name such as 'oauth' "
                "(lower-case letters, digits and '_')"
            )
    _unique("capabilities", values)
    return list(values)


def _unique(field: str, values: Sequence[str]) -> None:
    repeated = sorted({v for v in values if values.count(v) > 1})
    if repeated:
        raise InvalidCoverageEntry(f"{field} lists {', '.join(repeated)} more than once")


def _geojson_object(value: Any, where: str, allowed: frozenset[str]) -> None:
    if not isinstance(value, dict):
        raise InvalidCoverageEntry(f"{where} must be a GeoJSON object, not {_kind(value)}")
    kind = value.get("type")
    if kind not in allowed:
        raise InvalidCoverageEntry(
            f"{where}.type is {kind!r}; here a GeoJSON type is one of {', '.join(sorted(allowed))}"
        )
    _default_crs(value.get("crs"), where)
    if "bbox" in value:
        _bbox(value["bbox"], f"{where}.bbox")
    if kind == "FeatureCollection":
        for index, feature in enumerate(_array(value.get("features"), f"{where}.features")):
            _geojson_object(feature, f"{where}.features[{index}]", frozenset({"Feature"}))
    elif kind == "Feature":
        if "geometry" not in value:
            raise InvalidCoverageEntry(f"{where} is a Feature without a geometry member")
        if value["geometry"] is not None:
            _geojson_object(value["geometry"], f"{where}.geometry", _GEOMETRY_TYPES)
        if not isinstance(value.get("properties"), dict | None):
            raise InvalidCoverageEntry(f"{where}.properties must be an object or null")
    elif kind == "GeometryCollection":
        for index, geometry in enumerate(_array(value.get("geometries"), f"{where}.geometries")):
            _geojson_object(geometry, f"{where}.geometries[{index}]", _GEOMETRY_TYPES)
    else:
        _coordinates(kind, value.get("coordinates"), f"{where}.coordinates")


def _default_crs(crs: Any, where: str) -> None:
    """RFC 7946 §4 dropped `crs`; an old-style one is accepted only if it names CRS84."""
    if crs is None:
        return
    properties = crs.get("properties") if isinstance(crs, dict) else None
    name = properties.get("name") if isinstance(properties, dict) else None
    if name not in _WGS84_CRS_NAMES:
        raise InvalidCoverageEntry(
            f"{where}.crs names {name!r}; coverage territories must be in WGS 84 longitude/"
            "latitude (RFC 7946 §4): reproject the data and drop the crs member (§4.3)"
        )


def _coordinates(kind: str, value: Any, where: str) -> None:
    if kind == "Point":
        _point(value, where)
    elif kind == "MultiPoint":
        _points(value, where, fewest=0)
    elif kind == "LineString":
        _points(value, where, fewest=2)
    elif kind == "MultiLineString":
        for index, line in enumerate(_array(value, where)):
            _points(line, f"{where}[{index}]", fewest=2)
    elif kind == "Polygon":
        _rings(value, where)
    else:  # MultiPolygon
        for index, polygon in enumerate(_array(value, where)):
            _rings(polygon, f"{where}[{index}]")


def _rings(value: Any, where: str) -> None:
    for index, ring in enumerate(_array(value, where)):
        points = _points(ring, f"{where}[{index}]", fewest=4)
        if points[0] != points[-1]:
            raise InvalidCoverageEntry(
                f"{where}[{index}] is not a closed ring: its last position must equal its first"
            )


def _points(value: Any, where: str, *, fewest: int) -> list[Any]:
    points = _array(value, where)
    if len(points) < fewest:
        raise InvalidCoverageEntry(f"{where} has {len(points)} positions; it needs {fewest}")
    for index, point in enumerate(points):
        _point(point, f"{where}[{index}]")
    return points


def _point(value: Any, where: str) -> None:
    numbers = _array(value, where)
    if len(numbers) not in (2, 3) or not all(_is_number(n) for n in numbers):
        raise InvalidCoverageEntry(
            f"{where} must be a position [longitude, latitude] or [longitude, latitude, altitude]"
        )
    longitude, latitude = numbers[0], numbers[1]
    if not (-180 <= longitude <= 180 and -90 <= latitude <= 90):
        raise InvalidCoverageEntry(
            f"{where} is [{longitude}, {latitude}], outside WGS 84 longitude [-180, 180] and "
            "latitude [-90, 90]: is it projected, or latitude first? (§4.3, RFC 7946 §4)"
        )


def _bbox(value: Any, where: str) -> None:
    numbers = _array(value, where)
    if len(numbers) not in (4, 6) or not all(_is_number(n) for n in numbers):
        raise InvalidCoverageEntry(f"{where} must be 4 or 6 numbers (RFC 7946 §5)")


def _array(value: Any, where: str) -> list[Any]:
    if not isinstance(value, list):
        raise InvalidCoverageEntry(f"{where} must be an array, not {_kind(value)}")
    return value


def _is_number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool) and math.isfinite(value)


def _kind(value: Any) -> str:
    return "null" if value is None else type(value).__name__
