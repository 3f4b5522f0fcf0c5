"""CDS-WG1-01 §4 Coverage Endpoint over HTTP: the listing, its filter and pages, the entries and
their GeoJSON territories."""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine
from sqlalchemy.orm import Session

from gridshare.app import create_app
from gridshare.config import Settings
from gridshare.store.tables.coverage import CoverageEntry
from gridshare.utility.coverage import (
    COMMODITY_TYPES,
    COVERAGE_TYPES,
    INFRASTRUCTURE_TYPES,
    ROLES,
)
from tests.cds.coverage_samples import TERRITORY, save

COVERAGE = "/cds/coverage"
REQUIRED = {
    "id",
    "created",
    "updated",
    "entity_name",
    "entity_abbreviation",
    "country",
    "name",
    "type",
    "role",
    "infrastructure_types",
    "commodity_types",
    "capabilities",
}
OPTIONAL = {"description", "map_resource", "map_content_type", "geojson_resource"}
RFC3339_UTC = re.compile(r"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?Z")
LONG_AGO = datetime(2020, 1, 1, tzinfo=UTC)

ClientFactory = Callable[..., TestClient]


@pytest.fixture
def client_for(tmp_path: Path, database_url: str, engine: Engine) -> ClientFactory:
    """A client of an app on the test database, with any settings changed."""

    def make(**changes: Any) -> TestClient:
        settings = Settings(
            data_dir=tmp_path, database_url=database_url, base_url="http://testserver", **changes
        )
        return TestClient(create_app(settings, engine))

    return make


@pytest.fixture
def client(client_for: ClientFactory) -> TestClient:
    return client_for()


@pytest.fixture
def four_entries(engine: Engine) -> list[str]:
    """Four entries saved out of order; returns their ids newest `updated` first."""
    save(engine, "west", updated=LONG_AGO + timedelta(days=2))
    save(engine, "gas", updated=LONG_AGO + timedelta(days=9), commodity_types=["natural_gas"])
    save(
        engine,
        "big-customers",
        updated=LONG_AGO + timedelta(days=5),
        type="logical",
        role="official",
        geojson=None,
        entity_abbreviation=None,
        description=None,
        infrastructure_types=[],
        commodity_types=[],
        capabilities=[],
    )
    save(engine, "east", updated=LONG_AGO + timedelta(days=5), country="CA")
    return ["gas", "big-customers", "east", "west"]


def _walk(client: TestClient, url: str | None, link: str) -> list[dict[str, Any]]:
    """Every listing page from `url` on, following `link` ("next" or "previous")."""
    pages = []
    while url is not None:
        response = client.get(url)
        assert response.status_code == 200
        pages.append(response.json())
        url = pages[-1][link]
    return pages


def _ids(listing: dict[str, Any]) -> list[str]:
    return [entry["id"] for entry in listing["coverage_entries"]]


@pytest.mark.req("WG1-01-4-b", "WG1-01-4.1-a", "WG1-01-4.1-b")
def test_a_single_page_listing(client: TestClient, four_entries: list[str]) -> None:
    response = client.get(COVERAGE)
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("application/json")
    listing = response.json()
    assert listing.keys() == {"coverage_entries", "next", "previous"}
    assert listing["next"] is None and listing["previous"] is None
    assert _ids(listing) == four_entries


@pytest.mark.req("WG1-01-4.1-a", "WG1-01-4.1-b")
def test_pages_of_one_walk_newest_first_and_back(
    client_for: ClientFactory, four_entries: list[str]
) -> None:
    client = client_for(page_size=1)
    pages = _walk(client, COVERAGE, "next")
    assert [_ids(page) for page in pages] == [[entry_id] for entry_id in four_entries]
    assert pages[0]["previous"] is None and pages[-1]["next"] is None
    updated = [page["coverage_entries"][0]["updated"] for page in pages]
    assert updated == sorted(updated, reverse=True)
    for page in pages[1:]:
        assert urlsplit(page["previous"]).netloc == "testserver"

    backwards = _walk(client, pages[-1]["previous"], "previous")
    assert [_ids(page) for page in reversed(backwards)] == [_ids(page) for page in pages[:-1]]


@pytest.mark.req("WG1-01-4.2-a")
def test_ids_filter(client: TestClient, four_entries: list[str]) -> None:
    assert _ids(client.get(COVERAGE, params={"ids": "west gas"}).json()) == ["gas", "west"]
    assert _ids(client.get(COVERAGE, params={"ids": "  east\twest  "}).json()) == ["east", "west"]
    assert _ids(client.get(COVERAGE, params={"ids": "west west"}).json()) == ["west"]
    unknown = client.get(COVERAGE, params={"ids": "nowhere"})
    assert unknown.status_code == 200
    assert unknown.json() == {"coverage_entries": [], "next": None, "previous": None}
    assert _ids(client.get(COVERAGE, params={"ids": "nowhere east"}).json()) == ["east"]


@pytest.mark.req("WG1-01-4.2-a", "WG1-01-4.1-b")
def test_page_links_keep_the_ids_filter(client_for: ClientFactory, four_entries: list[str]) -> None:
    client = client_for(page_size=1)
    first = client.get(COVERAGE, params={"ids": "west east gas"}).json()
    assert parse_qs(urlsplit(first["next"]).query)["ids"] == ["west east gas"]
    pages = _walk(client, first["next"], "next")
    assert [_ids(first), *map(_ids, pages)] == [["gas"], ["east"], ["west"]]


@pytest.mark.req("WG1-01-4-c")
def test_a_malformed_cursor_is_a_400_naming_it(client: TestClient) -> None:
    for cursor in ("not-a-cursor", "", "WzEsMiwzXQ", "!!!"):
        response = client.get(COVERAGE, params={"cursor": cursor})
        assert response.status_code == 400, cursor
        body = response.json()
        assert body["error"] == "invalid_request"
        assert body["error_description"].startswith("cursor ")


@pytest.mark.req("WG1-01-4-c")
def test_an_empty_ids_filter_is_a_400_naming_it(client: TestClient) -> None:
    response = client.get(COVERAGE, params={"ids": " "})
    assert response.status_code == 400
    assert response.json()["error_description"].startswith("ids is empty")


@pytest.mark.req("WG1-01-4.3-a", "WG1-01-4.3-b", "WG1-01-4.3-c", "WG1-01-4.3-d", "WG1-01-2-a")
def test_every_entry_has_its_required_fields(client: TestClient, four_entries: list[str]) -> None:
    entries = client.get(COVERAGE).json()["coverage_entries"]
    assert len({entry["id"] for entry in entries}) == len(entries) == 4
    for entry in entries:
        assert entry.keys() >= REQUIRED
        assert entry.keys() <= REQUIRED | OPTIONAL
        for field in ("id", "entity_name", "name", "type", "role"):
            assert isinstance(entry[field], str) and entry[field], field
        assert entry["entity_abbreviation"] is None or isinstance(entry["entity_abbreviation"], str)
        for field in ("created", "updated"):
            assert RFC3339_UTC.fullmatch(entry[field]), entry[field]
            assert entry["created"] <= entry["updated"]
        assert re.fullmatch(r"[A-Z]{2}", entry["country"])
        for field in ("infrastructure_types", "commodity_types", "capabilities"):
            assert isinstance(entry[field], list), field
        assert "coverage" not in entry["capabilities"]

    logical = next(entry for entry in entries if entry["id"] == "big-customers")
    assert logical["entity_abbreviation"] is None
    assert logical["infrastructure_types"] == logical["commodity_types"] == []
    assert logical["capabilities"] == []
    assert "description" not in logical and "geojson_resource" not in logical
    west = next(entry for entry in entries if entry["id"] == "west")
    assert west["updated"] == "2020-01-03T00:00:00Z"
    assert west["description"] == "Electric service in the western half of the region"
    assert west["entity_abbreviation"] == "DG&E"


@pytest.mark.req("WG1-01-4.4-a", "WG1-01-4.5-a", "WG1-01-4.6-a", "WG1-01-4.7-a")
def test_enumerated_values_come_from_their_lists(
    client: TestClient, four_entries: list[str]
) -> None:
    entries = client.get(COVERAGE).json()["coverage_entries"]
    assert {entry["type"] for entry in entries} == set(COVERAGE_TYPES)
    assert {entry["role"] for entry in entries} <= set(ROLES)
    for entry in entries:
        assert set(entry["infrastructure_types"]) <= set(INFRASTRUCTURE_TYPES)
        assert set(entry["commodity_types"]) <= set(COMMODITY_TYPES)
    assert set(COVERAGE_TYPES) == {"geographic", "logical"}
    assert set(ROLES) == {"authoritative", "official", "aggregator"}
    assert (
        len(INFRASTRUCTURE_TYPES) == 8 and "transmission_service_operator" in INFRASTRUCTURE_TYPES
    )
    assert len(COMMODITY_TYPES) == 7 and "distributed_energy" in COMMODITY_TYPES


@pytest.mark.req("WG1-01-4.3-f", "WG1-01-4.3-g", "WG1-01-8.1-c")
def test_geographic_entries_link_their_public_wgs84_territory(
    client: TestClient, four_entries: list[str]
) -> None:
    entries = client.get(COVERAGE).json()["coverage_entries"]
    geographic = [entry for entry in entries if entry["type"] == "geographic"]
    assert len(geographic) == 3
    for entry in geographic:
        url = entry["geojson_resource"]
        assert url == f"http://testserver/cds/coverage/{entry['id']}/territory.geojson"
        for headers in ({}, {"Authorization": "Bearer not-a-token"}):
            response = client.get(url, headers=headers)
            assert response.status_code == 200
            assert response.headers["content-type"] == "application/geo+json"
            territory = response.json()
            assert territory == TERRITORY
            assert "crs" not in territory
            for longitude, latitude in territory["coordinates"][0]:
                assert -180 <= longitude <= 180 and -90 <= latitude <= 90


def test_a_territory_answers_304_to_its_etag(client: TestClient, engine: Engine) -> None:
    save(engine, "west")
    url = "/cds/coverage/west/territory.geojson"
    tag = client.get(url).headers["etag"]
    assert client.get(url, headers={"If-None-Match": tag}).status_code == 304


@pytest.mark.req("WG1-01-4-c")
def test_no_territory_is_a_json_404(client: TestClient, four_entries: list[str]) -> None:
    for entry_id in ("nowhere", "big-customers"):
        response = client.get(f"/cds/coverage/{entry_id}/territory.geojson")
        assert response.status_code == 404
        assert response.json()["error"] == "not_found"
        assert entry_id in response.json()["error_description"]


@pytest.mark.req("WG1-01-4-b")
def test_if_none_match_answers_304_until_the_listing_changes(
    client: TestClient, engine: Engine, four_entries: list[str]
) -> None:
    response = client.get(COVERAGE)
    tag = response.headers["etag"]
    assert "public" in response.headers["cache-control"]
    cached = client.get(COVERAGE, headers={"If-None-Match": f'W/"x", {tag}'})
    assert cached.status_code == 304 and cached.content == b""
    filtered = client.get(COVERAGE, params={"ids": "west"}, headers={"If-None-Match": tag})
    assert filtered.status_code == 200

    save(engine, "west", name="Western territory, renamed")
    changed = client.get(COVERAGE, headers={"If-None-Match": tag})
    assert changed.status_code == 200
    assert _ids(changed.json())[0] == "west"
    assert changed.headers["etag"] != tag


@pytest.mark.req("WG1-01-8.1-c")
def test_the_listing_needs_no_credentials(client: TestClient, four_entries: list[str]) -> None:
    plain = client.get(COVERAGE)
    forged = client.get(COVERAGE, headers={"Authorization": "Bearer not-a-token"})
    assert plain.status_code == forged.status_code == 200
    assert forged.content == plain.content


def test_rows_written_directly_are_served(client: TestClient, engine: Engine) -> None:
    """Another writer (the demo generator) adds rows through the ORM, defaults and all."""
    with Session(engine) as session, session.begin():
        session.add(
            CoverageEntry(
                id="demo_water",
                entity_name="Demo Water",
                entity_abbreviation=None,
                country="US",
                name="Water service",
                type="geographic",
                role="authoritative",
                infrastructure_types=["distribution_utility"],
                commodity_types=["water", "wastewater"],
                capabilities=[],
                geojson={"type": "Feature", "geometry": TERRITORY, "properties": {}},
            )
        )
    (entry,) = client.get(COVERAGE).json()["coverage_entries"]
    assert entry["commodity_types"] == ["water", "wastewater"]
    assert RFC3339_UTC.fullmatch(entry["created"])
    territory = client.get(entry["geojson_resource"]).json()
    assert territory["geometry"] == TERRITORY
