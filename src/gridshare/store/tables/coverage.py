"""Coverage entries published by the coverage endpoint (CDS-WG1-01 §4.3).

`geojson` holds the territory (WGS 84) served at the entry's `geojson_resource` URL.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import String
from sqlalchemy.orm import Mapped, mapped_column

from gridshare.store.db import utcnow
from gridshare.store.tables.base import Base, Id


class CoverageEntry(Base):
    __tablename__ = "coverage_entries"

    id: Mapped[str] = mapped_column(Id, primary_key=True)
    created: Mapped[datetime] = mapped_column(default=utcnow)
    updated: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow, index=True)
    entity_name: Mapped[str] = mapped_column(String(200))
    entity_abbreviation: Mapped[str | None] = mapped_column(String(40))
    country: Mapped[str] = mapped_column(String(2))
    name: Mapped[str] = mapped_column(String(200))
    description: Mapped[str | None] = mapped_column(String(1000))
    type: Mapped[str] = mapped_column(String(12), comment="geographic or logical")
    role: Mapped[str] = mapped_column(String(16), comment="authoritative, official, aggregator")
    infrastructure_types: Mapped[list[str]]
    commodity_types: Mapped[list[str]]
    capabilities: Mapped[list[str]]
    geojson: Mapped[dict[str, Any] | None] = mapped_column(comment="GeoJSON in WGS 84")


class PublishedDocument(Base):
    """When a public document (e.g. the server metadata) first appeared and last changed."""

    __tablename__ = "published_documents"

    name: Mapped[str] = mapped_column(String(80), primary_key=True)
    digest: Mapped[str] = mapped_column(String(64))
    created: Mapped[datetime] = mapped_column(default=utcnow)
    updated: Mapped[datetime] = mapped_column(default=utcnow)
