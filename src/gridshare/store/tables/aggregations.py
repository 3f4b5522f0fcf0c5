"""Aggregations: groups of accounts, contracts, points or meters, their regions and consent rules.

CDS-WG3-01 §10.7.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import ForeignKey, String
from sqlalchemy.orm import Mapped, mapped_column

from gridshare.store.tables.base import Base, Id, Timestamps


class Aggregation(Timestamps, Base):
    __tablename__ = "aggregations"

    id: Mapped[str] = mapped_column(Id, primary_key=True)
    aggregation_number: Mapped[str | None] = mapped_column(String(40), unique=True)
    name: Mapped[str] = mapped_column(String(200))
    types: Mapped[list[str]]
    details: Mapped[dict[str, Any]] = mapped_column(
        default=dict, comment="type-specific lists (countries, provinces, account_types, ...)"
    )
    addresses: Mapped[list[str]] = mapped_column(default=list)


class AggregationMember(Base):
    """One grouped object; exactly one of the target columns is set."""

    __tablename__ = "aggregation_members"

    id: Mapped[int] = mapped_column(primary_key=True, autoincrement=True)
    aggregation_id: Mapped[str] = mapped_column(ForeignKey("aggregations.id"), index=True)
    account_id: Mapped[str | None] = mapped_column(ForeignKey("accounts.id"), index=True)
    contract_id: Mapped[str | None] = mapped_column(ForeignKey("service_contracts.id"), index=True)
    service_point_id: Mapped[str | None] = mapped_column(
        ForeignKey("service_points.id"), index=True
    )
    meter_id: Mapped[str | None] = mapped_column(ForeignKey("meter_devices.id"), index=True)
    member_aggregation_id: Mapped[str | None] = mapped_column(ForeignKey("aggregations.id"))


class AggregationRegion(Base):
    __tablename__ = "aggregation_regions"

    id: Mapped[str] = mapped_column(Id, primary_key=True)
    aggregation_id: Mapped[str] = mapped_column(ForeignKey("aggregations.id"), index=True)
    name: Mapped[str] = mapped_column(String(200))
    types: Mapped[list[str]]
    details: Mapped[dict[str, Any]] = mapped_column(default=dict)


class ConsentRequirement(Base):
    __tablename__ = "consent_requirements"

    id: Mapped[str] = mapped_column(Id, primary_key=True)
    aggregation_id: Mapped[str] = mapped_column(ForeignKey("aggregations.id"), index=True)
    name: Mapped[str] = mapped_column(String(200))
    types: Mapped[list[str]]
    documentation: Mapped[str] = mapped_column(String(500))
