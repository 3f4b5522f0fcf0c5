"""Fixtures the OAuth and CDS-WG1-02 API tests share.

`make_http`, `http` and `admin`: an app on the test database with the test scope catalogue
(`admin_setup`) and a registration made over HTTP with its `cds_client_admin` token, for the
Clients, Credentials and Messages API tests. `client` and `db`: an app with the default settings
(lifespan started) and a session, for the Grants and Server-Provided Files API tests, which make
their registrations in the database (`grant_setup`). A module may define its own `client`.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine
from sqlalchemy.orm import Session

from gridshare.app import create_app
from gridshare.config import Settings
from tests.oauth.admin_setup import Admin, HttpFactory, http_factory, register


@pytest.fixture
def make_http(tmp_path: Path, database_url: str, engine: Engine) -> HttpFactory:
    return http_factory(tmp_path, database_url, engine)


@pytest.fixture
def http(make_http: HttpFactory) -> TestClient:
    return make_http()


@pytest.fixture
def admin(http: TestClient) -> Admin:
    return register(http)


@pytest.fixture
def client(settings: Settings, engine: Engine) -> Iterator[TestClient]:
    with TestClient(create_app(settings, engine)) as test_client:
        yield test_client


@pytest.fixture
def db(engine: Engine) -> Iterator[Session]:
    with Session(engine, expire_on_commit=False) as session:
        yield session
