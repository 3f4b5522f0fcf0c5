"""Shared fixtures: a fresh, migrated database per test on SQLite, or on PostgreSQL when
`GRIDSHARE_TEST_DATABASE_URL` names a server database (tests then create and drop their own)."""

from __future__ import annotations

import os
import shutil
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from sqlalchemy import Engine
from sqlalchemy.engine import make_url

from gridshare.config import Settings
from gridshare.store.db import make_engine, normalise_url
from gridshare.store.migrate import upgrade

PG_URL = os.environ.get("GRIDSHARE_TEST_DATABASE_URL")
PG_SKIP = "PostgreSQL tests skipped: set GRIDSHARE_TEST_DATABASE_URL to run them"


def pytest_report_header() -> str:
    if PG_URL:
        shown = make_url(normalise_url(PG_URL)).render_as_string(hide_password=True)
        return f"gridshare: database tests run on PostgreSQL ({shown})"
    return f"gridshare: database tests run on SQLite; {PG_SKIP}"


def _admin_execute(sql: str) -> None:
    import psycopg

    assert PG_URL is not None
    url = make_url(normalise_url(PG_URL)).set(drivername="postgresql")
    dsn = url.render_as_string(hide_password=False)
    with psycopg.connect(dsn, autocommit=True) as connection:
        connection.execute(sql)  # type: ignore[arg-type]


@pytest.fixture
def new_database_url(tmp_path: Path) -> Iterator[Callable[[], str]]:
    """Make empty databases: SQLite files, or PostgreSQL databases dropped after the test."""
    made: list[str] = []

    def make() -> str:
        name = f"gridshare_t_{uuid.uuid4().hex[:12]}"
        made.append(name)
        if not PG_URL:
            return f"sqlite:///{tmp_path / f'{name}.sqlite3'}"
        _admin_execute(f'CREATE DATABASE "{name}"')
        return make_url(normalise_url(PG_URL)).set(database=name).render_as_string(False)

    yield make
    if PG_URL:
        for name in made:
            _admin_execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@pytest.fixture
def database_url(new_database_url: Callable[[], str]) -> str:
    return new_database_url()


@pytest.fixture(scope="session")
def migrated_template(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """A database migrated to head once per run, copied for each test that needs a schema."""
    name = f"gridshare_tpl_{uuid.uuid4().hex[:12]}"
    if PG_URL:
        _admin_execute(f'CREATE DATABASE "{name}"')
        url = make_url(normalise_url(PG_URL)).set(database=name).render_as_string(False)
    else:
        url = f"sqlite:///{tmp_path_factory.mktemp('template') / f'{name}.sqlite3'}"
    engine = make_engine(url)
    upgrade(engine)
    engine.dispose()
    yield name if PG_URL else url.removeprefix("sqlite:///")
    if PG_URL:
        _admin_execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@pytest.fixture
def engine(database_url: str, migrated_template: str) -> Iterator[Engine]:
    """The test's fresh database at the newest schema revision (a copy of the migrated template)."""
    target = make_url(database_url)
    if PG_URL:
        _admin_execute(f'DROP DATABASE "{target.database}"')
        _admin_execute(f'CREATE DATABASE "{target.database}" TEMPLATE "{migrated_template}"')
    else:
        shutil.copyfile(migrated_template, str(target.database))
    engine = make_engine(database_url)
    yield engine
    engine.dispose()


@pytest.fixture
def settings(tmp_path: Path, database_url: str) -> Settings:
    return Settings(
        data_dir=tmp_path / "data",
        database_url=database_url,
        base_url="http://testserver",
    )


@pytest.fixture
def postgres_url() -> str:
    """The PostgreSQL server for PostgreSQL-only tests; skipped with a notice when unset."""
    if not PG_URL:
        pytest.skip(PG_SKIP)
    return PG_URL
