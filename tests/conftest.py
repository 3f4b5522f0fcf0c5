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
for _frozen in ("COLUMNS", "LINES"):
    # Rich fixes a console's size at creation when these are set (pytest-xdist workers set them),
    # and the CLI's consoles are made at import: unset, each command reads the size it runs with.
    os.environ.pop(_frozen, None)
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


@pytest.fixture(scope="session")
def migrated_template(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """A database migrated to head once per run.

    On SQLite each test that needs a schema gets a copy of this file. On PostgreSQL it is the
    database those tests share, emptied before each one (creating a database per test costs
    about half a second on PostgreSQL; emptying 40 tables costs a few milliseconds).
    """
    name = f"gridshare_tpl_{uuid.uuid4().hex[:12]}"
    if PG_URL:
        _admin_execute(f'CREATE DATABASE "{name}"')
        url = make_url(normalise_url(PG_URL)).set(database=name).render_as_string(False)
    else:
        url = f"sqlite:///{tmp_path_factory.mktemp('template') / f'{name}.sqlite3'}"
    engine = make_engine(url)
    upgrade(engine)
    engine.dispose()
    yield url if PG_URL else url.removeprefix("sqlite:///")
    if PG_URL:
        _admin_execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@pytest.fixture
def database_url(
    request: pytest.FixtureRequest, new_database_url: Callable[[], str], migrated_template: str
) -> str:
    """An empty database; for a test that also uses `engine` on PostgreSQL, the shared one."""
    if PG_URL and "engine" in request.fixturenames:
        return migrated_template
    return new_database_url()


@pytest.fixture
def engine(database_url: str, migrated_template: str) -> Iterator[Engine]:
    """The test's database at the newest schema revision, holding no rows."""
    if PG_URL:
        _empty(database_url)
    else:
        shutil.copyfile(migrated_template, str(make_url(database_url).database))
    engine = make_engine(database_url)
    yield engine
    engine.dispose()


def _empty(url: str) -> None:
    """End every other session on the shared database, then remove every row."""
    import psycopg

    from gridshare.store.tables import Base

    dsn = make_url(normalise_url(url)).set(drivername="postgresql").render_as_string(False)
    tables = ", ".join(f'"{t.name}"' for t in Base.metadata.sorted_tables)
    with psycopg.connect(dsn, autocommit=True) as connection:
        connection.execute(
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
            "WHERE datname = current_database() AND pid <> pg_backend_pid()"
        )
        connection.execute(f"TRUNCATE {tables} RESTART IDENTITY CASCADE")  # type: ignore[arg-type]


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
