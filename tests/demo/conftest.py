"""A small demo utility built once per test module: 8 customers (every archetype), October 2024
to March 2025 (both DST changes, six monthly bills), on SQLite or on PostgreSQL when
`GRIDSHARE_TEST_DATABASE_URL` is set."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date
from pathlib import Path

import pytest
from sqlalchemy import Engine
from sqlalchemy.engine import make_url

from gridshare.config import Settings
from gridshare.demo.generator import build
from gridshare.store.db import make_engine, normalise_url
from gridshare.store.migrate import upgrade
from tests.conftest import PG_URL, _admin_execute

CUSTOMERS = 8
SEED = 7
SINCE = date(2024, 10, 1)
UNTIL = date(2025, 3, 31)


@dataclass(frozen=True)
class SmallDemo:
    engine: Engine
    settings: Settings
    summary: str


def build_small(url: str, data_dir: Path, seed: int = SEED) -> SmallDemo:
    settings = Settings(data_dir=data_dir, database_url=url, base_url="http://testserver")
    engine = make_engine(url)
    upgrade(engine)
    summary = build(
        engine, settings, customers=CUSTOMERS, years=1, until=UNTIL, seed=seed, since=SINCE
    )
    return SmallDemo(engine, settings, summary)


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory) -> Iterator[SmallDemo]:
    data_dir = tmp_path_factory.mktemp("demo")
    name = None
    if PG_URL:
        name = f"gridshare_t_demo_{uuid.uuid4().hex[:12]}"
        _admin_execute(f'CREATE DATABASE "{name}"')
        url = make_url(normalise_url(PG_URL)).set(database=name).render_as_string(False)
    else:
        url = f"sqlite:///{data_dir / 'demo.sqlite3'}"
    small = build_small(url, data_dir)
    yield small
    small.engine.dispose()
    if name:
        _admin_execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
