"""Declarative base, naming convention and the created/modified timestamps every record carries.

`modified` changes on every UPDATE of the row (CDS-WG3-01 §10: `cds_modified`).
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, MetaData, String
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from gridshare.store.db import utcnow
from gridshare.store.types import DecimalText, UTCDateTime

NAMING = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}

Id = String(40)
"""Our identifiers are short strings (exposed as `cds_*_id`)."""


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING)
    type_annotation_map = {  # noqa: RUF012
        datetime: UTCDateTime(),
        dict[str, Any]: JSON(),
        list[str]: JSON(),
        list[Any]: JSON(),
    }


class Timestamps:
    """When the utility created the record, last changed it, and last confirmed it.

    `synced` is when the record was last confirmed against the utility's source of truth
    (CDS-WG3-01 `cds_synced`); a sync that only confirms sets `synced` and leaves `modified`.
    """

    created: Mapped[datetime] = mapped_column(default=utcnow)
    modified: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)
    synced: Mapped[datetime] = mapped_column(default=utcnow)


__all__ = ["Base", "DecimalText", "Id", "Timestamps"]
