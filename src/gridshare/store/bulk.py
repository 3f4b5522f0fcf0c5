"""Bulk writes, with the dialect-specific parts kept here (DESIGN: "Scale beyond one machine").

`upsert` is INSERT ... ON CONFLICT DO UPDATE on both SQLite and PostgreSQL. For many rows given
as tuples, `insert_many` (new rows) and `upsert_many` (rows that may exist) use binary COPY on
PostgreSQL: `copy_rows` straight into the table, or `copy_upsert` into a temporary table followed
by one INSERT ... SELECT ... ON CONFLICT DO UPDATE.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence
from typing import Any

from psycopg import sql
from sqlalchemy import Column, MetaData, Table, select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

BATCH = 2000


def upsert(
    session: Session,
    table: Table,
    rows: Sequence[dict[str, Any]],
    key: Sequence[str],
    preserve: Sequence[str] = (),
) -> None:
    """Insert `rows`; where `key` exists, replace its columns except the key and `preserve`."""
    if not rows:
        return
    dialect = session.get_bind().dialect.name
    insert = postgresql.insert if dialect == "postgresql" else sqlite.insert
    columns = [c for c in rows[0] if c not in key and c not in preserve]
    for offset in range(0, len(rows), BATCH):
        statement = insert(table)
        statement = statement.on_conflict_do_update(
            index_elements=list(key),
            set_={c: statement.excluded[c] for c in columns},
        )
        session.execute(statement, list(rows[offset : offset + BATCH]))


def insert_many(
    session: Session, table: Table, columns: Sequence[str], rows: Iterable[Sequence[Any]]
) -> None:
    """Insert many new rows given as tuples of `columns`: binary COPY on PostgreSQL.

    A row whose key exists already fails the whole statement (and so the transaction).
    """
    if session.get_bind().dialect.name == "postgresql":
        copy_rows(session, table, columns, rows)
        return
    for batch in _batches(columns, rows):
        session.execute(table.insert(), batch)


def upsert_many(
    session: Session,
    table: Table,
    columns: Sequence[str],
    rows: Iterable[Sequence[Any]],
    key: Sequence[str],
    preserve: Sequence[str] = (),
) -> None:
    """Like `upsert`, for many rows given as tuples of `columns`, as fast as the engine allows."""
    if session.get_bind().dialect.name == "postgresql":
        copy_upsert(session, table, columns, rows, key, preserve)
        return
    for batch in _batches(columns, rows):
        upsert(session, table, batch, key, preserve)


def _batches(
    columns: Sequence[str], rows: Iterable[Sequence[Any]]
) -> Iterator[list[dict[str, Any]]]:
    batch: list[dict[str, Any]] = []
    for row in rows:
        batch.append(dict(zip(columns, row, strict=True)))
        if len(batch) == BATCH:
            yield batch
            batch = []
    if batch:
        yield batch


def copy_rows(
    session: Session, table: Table, columns: Sequence[str], rows: Iterable[Sequence[Any]]
) -> None:
    """PostgreSQL only: binary COPY `rows` into `table`, in the session's transaction."""
    connection = session.connection()
    types = [table.c[name].type.compile(dialect=connection.dialect).lower() for name in columns]
    copy = sql.SQL("COPY {} ({}) FROM STDIN (FORMAT BINARY)").format(
        sql.Identifier(table.name), sql.SQL(", ").join(map(sql.Identifier, columns))
    )
    driver = connection.connection.driver_connection
    assert driver is not None  # a live connection of the session's transaction
    with driver.cursor() as cursor, cursor.copy(copy) as copying:
        copying.set_types(types)
        for row in rows:
            copying.write_row(row)


def copy_upsert(
    session: Session,
    table: Table,
    columns: Sequence[str],
    rows: Iterable[Sequence[Any]],
    key: Sequence[str],
    preserve: Sequence[str] = (),
) -> None:
    """PostgreSQL only: binary COPY `rows` into a temporary table, then upsert them into `table`.

    Runs in the session's transaction; the temporary table is dropped before returning.
    """
    connection = session.connection()
    temporary = Table(
        f"_copy_{table.name}",
        MetaData(),
        *(Column(name, table.c[name].type) for name in columns),
        prefixes=["TEMPORARY"],
    )
    temporary.create(connection)
    copy_rows(session, temporary, columns, rows)
    statement = postgresql.insert(table).from_select(list(columns), select(temporary))
    updated = [name for name in columns if name not in key and name not in preserve]
    statement = statement.on_conflict_do_update(
        index_elements=list(key), set_={name: statement.excluded[name] for name in updated}
    )
    connection.execute(statement)
    temporary.drop(connection)
