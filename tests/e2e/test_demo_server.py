"""The README's first command, run as a newcomer would: `gridshare demo` serves the demo utility
over HTTP, and a third party discovers it from the CDS Server Metadata (CDS-WG1-01)."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tests.conftest import PG_URL

pytestmark = pytest.mark.slow

REQUIRED = {
    "cds_metadata_version",
    "cds_metadata_url",
    "created",
    "updated",
    "name",
    "description",
    "website",
    "documentation",
    "support",
    "capabilities",
}


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


@pytest.fixture(scope="module")
def demo_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """`gridshare demo --port N` at its default size, in its own process."""
    data_dir: Path = tmp_path_factory.mktemp("demo")
    port = _free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("GRIDSHARE_")}
    if PG_URL:
        from tests.conftest import _admin_execute

        name = f"gridshare_demo_{port}"
        _admin_execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        _admin_execute(f'CREATE DATABASE "{name}"')
        env["GRIDSHARE_DATABASE_URL"] = PG_URL.rsplit("/", 1)[0] + f"/{name}"
    log = (data_dir / "server.log").open("w")
    command = [sys.executable, "-m", "gridshare", "demo", "--port", str(port)]
    process = subprocess.Popen(
        [*command, "--data-dir", str(data_dir)],
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    base = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 60
    try:
        while True:
            if process.poll() is not None:
                pytest.fail(f"gridshare demo exited: {(data_dir / 'server.log').read_text()}")
            try:
                if httpx.get(f"{base}/.well-known/cds-server-metadata.json").status_code == 200:
                    break
            except httpx.TransportError:
                pass
            if time.monotonic() > deadline:
                pytest.fail("gridshare demo did not serve the metadata within 60 s")
            time.sleep(0.5)
        yield base
    finally:
        process.terminate()
        process.wait(timeout=30)
        log.close()
        if PG_URL:
            _admin_execute(f'DROP DATABASE IF EXISTS "gridshare_demo_{port}" WITH (FORCE)')


@pytest.mark.req("WG1-01-3.1-a", "WG1-01-3.2-a", "WG1-01-3.2-b", "WG1-01-4-a")
def test_metadata_has_every_required_field_and_a_working_coverage_url(demo_server: str) -> None:
    response = httpx.get(f"{demo_server}/.well-known/cds-server-metadata.json")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("application/json")
    metadata = response.json()
    assert metadata.keys() >= REQUIRED
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
