"""Coverage entries: the §4.3-4.7 rules `save_entry` enforces, listing order and pages, the
capability union, and published-document dates (CDS-WG1-01)."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import Engine, delete
from sqlalchemy.orm import Session

from gridshare.store import jsontext
from gridshare.store.tables.coverage import CoverageEntry, PublishedDocument
from gridshare.utility.coverage import (
    COMMODITY_TYPES,
    COVERAGE_TYPES,
    INFRASTRUCTURE_TYPES,
    ROLES,
    InvalidCoverageEntry,
    Page,
    entry_capabilities,
    list_entries,
    publish_document,
    save_entry,
    territory,
    validate_geojson,
)
from tests.cds.coverage_samples import TERRITORY, entry_fields

LONG_AGO = datetime(2020, 1, 1, tzinfo=UTC)
RING = TERRITORY["coordinates"][0]


@pytest.fixture
def session(engine: Engine) -> Iterator[Session]:
    with Session(engine) as session:
        yield session


def _ids(page: Page) -> list[str]:
    return [entry.id for entry in page.entries]


def test_save_entry_stores_every_field(session: Session) -> None:
    save_entry(session, **entry_fields("west", entity_abbreviation=None, description=None))
    session.commit()
    session.expunge_all()
    entry = session.get_one(CoverageEntry, "west")
    assert (entry.entity_name, entry.entity_abbreviation, entry.country) == (
        "Demo Gas & Electric",
        None,
        "US",
    )
    assert (entry.name, entry.description, entry.type, entry.role) == (
        "Territory west",
        None,
        "geographic",
        "authoritative",
    )
    assert entry.infrastructure_types == ["distribution_utility", "metering_provider"]
    assert entry.commodity_types == ["electricity"]
    assert entry.capabilities == ["oauth"]
    assert entry.geojson == jsontext.loads(jsontext.dumps(TERRITORY))
    assert entry.created == entry.updated
    assert entry.created.tzinfo is not None


def test_updated_moves_only_when_the_content_changes(session: Session) -> None:
    entry = save_entry(session, **entry_fields("west"))
    entry.created = entry.updated = LONG_AGO
    session.commit()

    save_entry(session, **entry_fields("west"))
    session.commit()
    assert session.get_one(CoverageEntry, "west", populate_existing=True).updated == LONG_AGO

    save_entry(session, **entry_fields("west", commodity_types=["electricity", "natural_gas"]))
    session.commit()
    entry = session.get_one(CoverageEntry, "west", populate_existing=True)
    assert entry.commodity_types == ["electricity", "natural_gas"]
    assert entry.created == LONG_AGO
    assert entry.updated > LONG_AGO


REFUSALS: list[tuple[dict[str, Any], str]] = [
    ({"type": "regional"}, "type 'regional' is not one of geographic, logical"),
    ({"role": "direct"}, "role 'direct' is not one of authoritative"),
    ({"infrastructure_types": ["utility"]}, "infrastructure_types 'utility'"),
    ({"infrastructure_types": "supplier"}, "must be a list of strings"),
    ({"commodity_types": ["gas"]}, "commodity_types 'gas'"),
    ({"commodity_types": ["water", "water"]}, "lists water more than once"),
    ({"country": "us"}, "two-letter code in capitals"),
    ({"country": "USA"}, "two-letter code in capitals"),
    ({"capabilities": ["coverage"]}, "must not include 'coverage'"),
    ({"capabilities": ["OAuth 2"]}, "lower-case letters"),
    ({"entry_id": "west east"}, "no spaces"),
    ({"entry_id": ""}, "1 to 40 letters"),
    ({"entity_name": "  "}, "entity_name must not be blank"),
    ({"name": "x" * 201}, "at most 200 fit"),
    ({"entity_abbreviation": "x" * 41}, "at most 40 fit"),
    ({"geojson": None}, "needs a territory"),
    (
        {"geojson": TERRITORY | {"crs": {"type": "name", "properties": {"name": "EPSG:3857"}}}},
        "must be in WGS 84",
    ),
    (
        {"geojson": {"type": "Point", "coordinates": [-13627361.0, 4544761.0]}},
        "outside WGS 84",
    ),
    ({"geojson": {"type": "Point", "coordinates": [37.8, -122.4]}}, "latitude first"),
    ({"geojson": {"type": "Polygon", "coordinates": [[*RING[:2], RING[0]]]}}, "has 3 positions"),
    ({"geojson": {"type": "Polygon", "coordinates": [[*RING[:-1], RING[1]]]}}, "not a closed"),
    ({"geojson": {"type": "Polygon", "coordinates": [[["a", "b"]] * 4]}}, "must be a position"),
    ({"geojson": {"type": "Circle", "coordinates": [0, 0]}}, "geojson.type is 'Circle'"),
    ({"geojson": {"type": "Feature", "properties": {}}}, "without a geometry"),
    (
        {"geojson": {"type": "Feature", "geometry": TERRITORY, "properties": []}},
        "properties must be an object or null",
    ),
    (
        {"geojson": {"type": "FeatureCollection", "features": [TERRITORY]}},
        "geojson.features[0].type is 'Polygon'",
    ),
    ({"geojson": TERRITORY | {"bbox": [0, 0]}}, "4 or 6 numbers"),
    ({"geojson": [TERRITORY]}, "must be a GeoJSON object, not list"),
]


@pytest.mark.req(
    "WG1-01-4.3-c",
    "WG1-01-4.3-d",
    "WG1-01-4.3-f",
    "WG1-01-4.3-g",
    "WG1-01-4.4-a",
    "WG1-01-4.5-a",
    "WG1-01-4.6-a",
    "WG1-01-4.7-a",
)
@pytest.mark.parametrize(("overrides", "message"), REFUSALS)
def test_save_entry_refuses_what_breaks_a_rule(
    session: Session, overrides: dict[str, Any], message: str
) -> None:
    fields = entry_fields("west") | overrides
    with pytest.raises(InvalidCoverageEntry) as refused:
        save_entry(session, **fields)
    assert message in str(refused.value)
    assert session.get(CoverageEntry, fields["entry_id"]) is None


def test_a_refused_change_leaves_the_stored_entry_alone(session: Session) -> None:
    save_entry(session, **entry_fields("west"))
    session.commit()
    with pytest.raises(InvalidCoverageEntry):
        save_entry(session, **entry_fields("west", name="Renamed", role="owner"))
    session.commit()
    assert session.get_one(CoverageEntry, "west", populate_existing=True).name == "Territory west"


@pytest.mark.req("WG1-01-4.4-a", "WG1-01-4.5-a", "WG1-01-4.6-a", "WG1-01-4.7-a")
def test_every_enumerated_value_is_accepted(session: Session) -> None:
    for index, (kind, role) in enumerate(zip(COVERAGE_TYPES, ROLES, strict=False)):
        save_entry(
            session,
            **entry_fields(
                f"e{index}",
                type=kind,
                role=role,
                infrastructure_types=list(INFRASTRUCTURE_TYPES),
                commodity_types=list(COMMODITY_TYPES),
            ),
        )
    save_entry(session, **entry_fields("aggregated", role="aggregator"))
    save_entry(
        session,
        **entry_fields(
            "empty", infrastructure_types=[], commodity_types=[], capabilities=[], type="logical"
        ),
    )
    session.commit()
    assert session.get_one(CoverageEntry, "e1").type == "logical"
    assert session.get_one(CoverageEntry, "aggregated").role == "aggregator"
    assert session.get_one(CoverageEntry, "empty").capabilities == []


POLYGON_FEATURE = {"type": "Feature", "geometry": TERRITORY, "properties": {"name": "West"}}


@pytest.mark.req("WG1-01-4.3-f")
@pytest.mark.parametrize(
    "geojson",
    [
        TERRITORY,
        POLYGON_FEATURE,
        {"type": "Feature", "geometry": None, "properties": None},
        {"type": "FeatureCollection", "features": [POLYGON_FEATURE], "bbox": [-123, 37, -122, 38]},
        {"type": "MultiPolygon", "coordinates": [[RING], [RING]]},
        {
            "type": "GeometryCollection",
            "geometries": [TERRITORY, {"type": "Point", "coordinates": [-180, 90, 12.5]}],
        },
        {"type": "MultiLineString", "coordinates": [RING[:2]]},
        {"type": "MultiPoint", "coordinates": []},
        TERRITORY
        | {"crs": {"type": "name", "properties": {"name": "urn:ogc:def:crs:OGC:1.3:CRS84"}}},
    ],
)
def test_wgs84_geojson_is_accepted(geojson: dict[str, Any]) -> None:
    validate_geojson(geojson)


def test_a_logical_entry_needs_no_territory(session: Session) -> None:
    save_entry(session, **entry_fields("big", type="logical", geojson=None))
    assert territory(session, "big") is None
    save_entry(session, **entry_fields("west"))
    assert territory(session, "west") == jsontext.loads(jsontext.dumps(TERRITORY))
    assert territory(session, "nowhere") is None


@pytest.mark.req("WG1-01-4.1-b", "WG1-01-4.2-a")
def test_listing_is_newest_updated_first_with_ties_by_id(session: Session) -> None:
    times = {"a": 2, "b": 3, "c": 3, "d": 1}
    for entry_id, days in times.items():
        entry = save_entry(session, **entry_fields(entry_id))
        entry.updated = LONG_AGO + timedelta(days=days)
    session.commit()
    page = list_entries(session, limit=10)
    assert _ids(page) == ["b", "c", "a", "d"]
    assert page.next is None and page.previous is None
    assert _ids(list_entries(session, limit=10, ids=["d", "b", "zz"])) == ["b", "d"]
    assert _ids(list_entries(session, limit=10, ids=["zz"])) == []


@pytest.mark.req("WG1-01-4.1-a", "WG1-01-4.1-b", "WG1-01-4.2-a")
@settings(
    max_examples=30, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    days=st.lists(st.integers(0, 4), max_size=9),
    limit=st.integers(1, 4),
    wanted=st.none() | st.sets(st.integers(0, 10)),
)
def test_pages_walked_either_way_list_each_entry_once_in_order(
    session: Session, days: list[int], limit: int, wanted: set[int] | None
) -> None:
    session.execute(delete(CoverageEntry))
    for index, day in enumerate(days):
        entry = save_entry(session, **entry_fields(f"e{index}"))
        entry.updated = LONG_AGO + timedelta(days=day)
    session.flush()
    ids = None if wanted is None else [f"e{i}" for i in wanted]
    expected = sorted(
        (f"e{i}" for i in range(len(days)) if ids is None or f"e{i}" in ids),
        key=lambda entry_id: (-days[int(entry_id[1:])], entry_id),
    )

    pages = [list_entries(session, limit=limit, ids=ids)]
    assert pages[0].previous is None
    while pages[-1].next is not None:
        pages.append(list_entries(session, limit=limit, ids=ids, cursor=pages[-1].next))
    assert [entry_id for page in pages for entry_id in _ids(page)] == expected
    assert all(len(page.entries) == limit for page in pages[:-1])

    backwards = [pages[-1]]
    while backwards[-1].previous is not None:
        previous = backwards[-1].previous
        backwards.append(list_entries(session, limit=limit, ids=ids, cursor=previous))
    assert [_ids(page) for page in reversed(backwards)] == [_ids(page) for page in pages]
    session.rollback()


def test_an_emptied_page_still_links_to_the_entries_beside_it(session: Session) -> None:
    def three_entries() -> None:
        for index in range(3):
            entry = save_entry(session, **entry_fields(f"e{index}"))
            entry.updated = LONG_AGO + timedelta(days=index)
        session.flush()

    three_entries()
    first = list_entries(session, limit=2)
    last = list_entries(session, limit=2, cursor=first.next)
    assert (_ids(first), _ids(last)) == (["e2", "e1"], ["e0"])

    session.execute(delete(CoverageEntry).where(CoverageEntry.id != "e0"))
    emptied = list_entries(session, limit=2, cursor=last.previous)
    assert _ids(emptied) == [] and emptied.previous is None and emptied.next is not None
    assert _ids(list_entries(session, limit=2, cursor=emptied.next)) == ["e0"]
    alone = list_entries(session, limit=2, cursor=first.next)
    assert _ids(alone) == ["e0"] and alone.previous is None and alone.next is None

    three_entries()
    session.execute(delete(CoverageEntry).where(CoverageEntry.id == "e0"))
    emptied = list_entries(session, limit=2, cursor=first.next)
    assert _ids(emptied) == [] and emptied.next is None and emptied.previous is not None
    back = list_entries(session, limit=2, cursor=emptied.previous)
    assert _ids(back) == ["e2", "e1"] and back.next is None and back.previous is None


def test_entry_capabilities_is_the_union_of_the_entries(session: Session) -> None:
    assert entry_capabilities(session) == []
    save_entry(session, **entry_fields("a", capabilities=["oauth"]))
    save_entry(session, **entry_fields("b", capabilities=["oauth", "cds_customer_data"]))
    save_entry(session, **entry_fields("c", capabilities=[]))
    assert entry_capabilities(session) == ["cds_customer_data", "oauth"]


def test_publish_document_dates_move_only_when_the_content_does(session: Session) -> None:
    created, updated = publish_document(session, "doc", b"one")
    assert created == updated
    document = session.get_one(PublishedDocument, "doc")
    document.created = document.updated = LONG_AGO
    session.commit()

    assert publish_document(session, "doc", b"one") == (LONG_AGO, LONG_AGO)
    created, updated = publish_document(session, "doc", b"two")
    assert created == LONG_AGO
    assert updated > LONG_AGO
    session.commit()
    assert publish_document(session, "doc", b"two") == (LONG_AGO, updated)
    assert publish_document(session, "other", b"two")[0] > LONG_AGO
