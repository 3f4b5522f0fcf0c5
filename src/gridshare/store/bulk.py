"""Bulk writes, with the dialect-specific parts kept here (DESIGN: "Scale beyond one machine").

`upsert` is INSERT ... ON CONFLICT DO UPDATE on both SQLite and PostgreSQL.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy import Table
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
