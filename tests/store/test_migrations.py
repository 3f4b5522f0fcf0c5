"""Migrations are the only way a schema is made: an empty database upgraded to head matches the
models exactly."""

from __future__ import annotations

from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import Engine, inspect

from gridshare.store.db import make_engine
from gridshare.store.migrate import is_current, upgrade
from gridshare.store.tables import Base


def test_upgrade_from_empty_matches_models(engine: Engine) -> None:
    with engine.connect() as connection:
        context = MigrationContext.configure(connection, opts={"compare_type": True})
        differences = compare_metadata(context, Base.metadata)
    assert differences == []
    assert set(inspect(engine).get_table_names()) >= set(Base.metadata.tables)


def test_is_current_tells_an_empty_database_from_a_migrated_one(database_url: str) -> None:
    engine = make_engine(database_url)
    assert not is_current(engine)
    upgrade(engine)
    assert is_current(engine)
    upgrade(engine)  # idempotent
    assert is_current(engine)
    engine.dispose()
