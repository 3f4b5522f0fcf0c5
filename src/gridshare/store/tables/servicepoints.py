"""Premises and service points, and which contracts serve through which point (CDS-WG3-01 §10.3)."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

from sqlalchemy import ForeignKey, String
from sqlalchemy.orm import Mapped, mapped_column

from gridshare.store.tables.base import Base, DecimalText, Id, Timestamps


class Premise(Timestamps, Base):
    __tablename__ = "premises"

    id: Mapped[str] = mapped_column(Id, primary_key=True)
    premise_number: Mapped[str] = mapped_column(String(40), unique=True)
    types: Mapped[list[str]]


class ServicePoint(Timestamps, Base):
    __tablename__ = "service_points"

    id: Mapped[str] = mapped_column(Id, primary_key=True)
    servicepoint_number: Mapped[str | None] = mapped_column(String(40), unique=True)
    types: Mapped[list[str]]
    address: Mapped[str | None] = mapped_column(String(500))
    postal_code: Mapped[str | None] = mapped_column(String(12))
    latitude: Mapped[Decimal | None] = mapped_column(DecimalText())
    longitude: Mapped[Decimal | None] = mapped_column(DecimalText())


class ServicePointPremise(Base):
    __tablename__ = "service_point_premises"

    service_point_id: Mapped[str] = mapped_column(ForeignKey("service_points.id"), primary_key=True)
    premise_id: Mapped[str] = mapped_column(ForeignKey("premises.id"), primary_key=True, index=True)


class ServicePointContract(Base):
    """A contract serving through a service point from `start` until `end` (open when null)."""

    __tablename__ = "service_point_contracts"

    service_point_id: Mapped[str] = mapped_column(ForeignKey("service_points.id"), primary_key=True)
    contract_id: Mapped[str] = mapped_column(
        ForeignKey("service_contracts.id"), primary_key=True, index=True
    )
    start: Mapped[date]
    end: Mapped[date | None]
