"""CDS-WG1-01 §3 Metadata Endpoint and §5 Server Migration, over HTTP."""

from __future__ import annotations

import re
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine
from sqlalchemy.orm import Session

from gridshare.app import create_app
from gridshare.config import Settings
from gridshare.store.tables.coverage import PublishedDocument
from tests.cds.coverage_samples import save
from tests.object_keys import SERVER_METADATA_KEYS

METADATA = "/.well-known/cds-server-metadata.json"
RFC3339_UTC = re.compile(r"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?Z")
LONG_AGO = datetime(2020, 1, 1, tzinfo=UTC)


@pytest.fixture
def client(settings: Settings, engine: Engine) -> TestClient:
    return TestClient(create_app(settings, engine))


def _is_url(value: Any) -> bool:
    parts = urlsplit(value) if isinstance(value, str) else None
    return parts is not None and parts.scheme in ("http", "https") and bool(parts.netloc)


def _metadata(client: TestClient) -> dict[str, Any]:
    response = client.get(METADATA)
    assert response.status_code == 200
    body: dict[str, Any] = response.json()
    return body


def _backdate_metadata(engine: Engine) -> None:
    with Session(engine) as session, session.begin():
        document = session.get_one(PublishedDocument, "cds-server-metadata")
        document.created = document.updated = LONG_AGO


@pytest.mark.req(
    "WG1-01-3-b",
    "WG1-01-3.1-a",
    "WG1-01-3.2-a",
    "WG1-01-3.2-b",
    "WG1-01-3.2-c",
    "WG1-01-2-a",
    "WG1-01-8.1-b",
)
def test_metadata_has_every_required_field_with_its_type(client: TestClient) -> None:
    response = client.get(METADATA)
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("application/json")
    metadata = response.json()
    assert metadata.keys() >= SERVER_METADATA_KEYS
    assert metadata["cds_metadata_version"] == "v1"
    for field in ("cds_metadata_url", "website", "documentation", "support", "coverage"):
        assert _is_url(metadata[field]), field
    for field in ("created", "updated"):
        assert RFC3339_UTC.fullmatch(metadata[field]), metadata[field]
        assert datetime.fromisoformat(metadata[field]).tzinfo == UTC
    assert metadata["created"] <= metadata["updated"]
    for field in ("name", "description"):
        assert isinstance(metadata[field], str) and metadata[field]
    assert isinstance(metadata["capabilities"], list)
    assert all(isinstance(c, str) for c in metadata["capabilities"])


def test_metadata_describes_the_configured_utility(client: TestClient) -> None:
    metadata = _metadata(client)
    assert metadata["cds_metadata_url"] == "http://testserver/.well-known/cds-server-metadata.json"
    assert metadata["name"] == "Demo Gas & Electric"
    assert metadata["description"].startswith("A fictional electric, gas and water utility")
    assert metadata["website"] == "http://testserver/"
    assert metadata["documentation"] == "http://testserver/docs"
    assert metadata["support"] == "http://testserver/support"
    assert client.get(urlsplit(metadata["cds_metadata_url"]).path).json() == metadata


@pytest.mark.req("WG1-01-3.2-d", "WG1-01-3.4-a", "WG1-01-4-a")
def test_coverage_capability_comes_with_a_working_coverage_url(client: TestClient) -> None:
    metadata = _metadata(client)
    assert "coverage" in metadata["capabilities"]
    assert metadata["coverage"] == "http://testserver/cds/coverage"
    response = client.get(urlsplit(metadata["coverage"]).path)
    assert response.status_code == 200
    assert response.json()["coverage_entries"] == []


@pytest.mark.req("WG1-01-3.2-e")
def test_capabilities_include_the_union_of_the_coverage_entries(
    tmp_path: Path, database_url: str, engine: Engine
) -> None:
    save(engine, "west", capabilities=["oauth"])
    save(engine, "east", capabilities=["oauth", "cds_customer_data"])
    save(engine, "info", capabilities=[])
    paged = Settings(
        data_dir=tmp_path, database_url=database_url, base_url="http://testserver", page_size=1
    )
    client = TestClient(create_app(paged, engine))
    metadata = _metadata(client)

    listed: set[str] = set()
    url: str | None = metadata["coverage"]
    while url is not None:
        listing = client.get(url).json()
        for entry in listing["coverage_entries"]:
            listed.update(entry["capabilities"])
        url = listing["next"]
    assert listed == {"oauth", "cds_customer_data"}
    assert set(metadata["capabilities"]) == listed | {"coverage"}
    assert len(metadata["capabilities"]) == len(set(metadata["capabilities"]))


@pytest.mark.req("WG1-01-5-a")
def test_updated_moves_when_the_content_changes_and_only_then(
    settings: Settings, engine: Engine
) -> None:
    first = _metadata(TestClient(create_app(settings, engine)))
    assert first["created"] == first["updated"]
    _backdate_metadata(engine)

    client = TestClient(create_app(settings, engine))
    again = _metadata(client)
    assert (again["created"], again["updated"]) == ("2020-01-01T00:00:00Z", "2020-01-01T00:00:00Z")

    renamed = settings.model_copy(update={"utility_name": "Demo Power & Light"})
    changed = _metadata(TestClient(create_app(renamed, engine)))
    assert changed["name"] == "Demo Power & Light"
    assert changed["created"] == "2020-01-01T00:00:00Z"
    assert changed["updated"] > "2020-01-01T00:00:00Z"

    _backdate_metadata(engine)
    save(engine, "west", capabilities=["oauth"])
    with_entry = _metadata(client)
    assert "oauth" in with_entry["capabilities"]
    assert with_entry["updated"] > with_entry["created"] == "2020-01-01T00:00:00Z"


@pytest.mark.req("WG1-01-3-b")
def test_if_none_match_answers_304(client: TestClient) -> None:
    response = client.get(METADATA)
    tag = response.headers["etag"]
    assert re.fullmatch(r'"[0-9a-f]+"', tag)
    assert "public" in response.headers["cache-control"]
    for header in (tag, f"W/{tag}", "*", f'"stale", {tag}', f'W/"stale",W/{tag}'):
        cached = client.get(METADATA, headers={"If-None-Match": header})
        assert cached.status_code == 304, header
        assert cached.content == b""
        assert cached.headers["etag"] == tag
        assert cached.headers["cache-control"] == response.headers["cache-control"]
    for header in ('"stale"', 'W/"stale", "other"', "garbage"):
        fresh = client.get(METADATA, headers={"If-None-Match": header})
        assert fresh.status_code == 200, header
        assert fresh.content == response.content


@pytest.mark.req("WG1-01-8.1-b")
def test_credentials_are_neither_needed_nor_checked(client: TestClient) -> None:
    plain = client.get(METADATA)
    for headers in (
        {"Authorization": "Bearer not-a-token"},
        {"Authorization": "Basic Zm9vOmJhcg=="},
        {"Cookie": "session=forged"},
    ):
        response = client.get(METADATA, headers=headers)
        assert response.status_code == 200
        assert response.content == plain.content
        assert "www-authenticate" not in response.headers


@pytest.mark.req("WG1-01-5-c")
def test_the_seed_era_path_redirects_permanently(client: TestClient) -> None:
    response = client.get("/.well-known/carbon-data-spec.json", follow_redirects=False)
    assert response.status_code == 301
    assert response.headers["location"] == "http://testserver/.well-known/cds-server-metadata.json"
    followed = client.get("/.well-known/carbon-data-spec.json")
    assert followed.status_code == 200
    assert followed.json()["cds_metadata_version"] == "v1"


@pytest.mark.req("WG1-01-3-c")
def test_other_methods_get_an_error_status(client: TestClient) -> None:
    response = client.post(METADATA, json={})
    assert response.status_code == 405
    assert response.json()["error"] == "method_not_allowed"
