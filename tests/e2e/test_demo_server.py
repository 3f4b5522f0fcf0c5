"""The README's first command, run as a newcomer would: `gridshare demo` serves the demo utility
over HTTP, and a third party discovers it from the CDS Server Metadata (CDS-WG1-01)."""

from __future__ import annotations

import sys
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tests.e2e.servers import free_port, running, server_env
from tests.object_keys import SERVER_METADATA_KEYS

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def demo_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """`gridshare demo --port N` at its default size, in its own process."""
    data_dir: Path = tmp_path_factory.mktemp("demo")
    port = free_port()
    command = [sys.executable, "-m", "gridshare", "demo", "--port", str(port)]
    with (
        server_env(f"gridshare_demo_{port}") as env,
        running(
            [*command, "--data-dir", str(data_dir)], env, data_dir, f"http://127.0.0.1:{port}"
        ) as base,
    ):
        yield base


@pytest.mark.req("WG1-01-3.1-a", "WG1-01-3.2-a", "WG1-01-3.2-b", "WG1-01-4-a")
def test_metadata_has_every_required_field_and_a_working_coverage_url(demo_server: str) -> None:
    response = httpx.get(f"{demo_server}/.well-known/cds-server-metadata.json")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("application/json")
    metadata = response.json()
    assert metadata.keys() >= SERVER_METADATA_KEYS
    assert metadata["cds_metadata_version"] == "v1"
    assert metadata["cds_metadata_url"] == f"{demo_server}/.well-known/cds-server-metadata.json"
    assert "coverage" in metadata["capabilities"]

    coverage = httpx.get(metadata["coverage"])
    assert coverage.status_code == 200
    listing = coverage.json()
    assert listing["coverage_entries"], "the demo utility publishes its territories"
    geographic = [e for e in listing["coverage_entries"] if e["type"] == "geographic"]
    territory = httpx.get(geographic[0]["geojson_resource"])
    assert territory.status_code == 200
    assert territory.json()["type"] in {"FeatureCollection", "Feature", "Polygon", "MultiPolygon"}


@pytest.mark.req("WG1-01-5-c")
def test_seed_era_path_redirects_permanently(demo_server: str) -> None:
    response = httpx.get(f"{demo_server}/.well-known/carbon-data-spec.json")
    assert response.status_code == 301
    assert response.headers["location"] == f"{demo_server}/.well-known/cds-server-metadata.json"
