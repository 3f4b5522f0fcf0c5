"""Meter devices, where they are installed, and the apps on them (CDS-WG3-01 §10.4)."""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import ForeignKey, String
from sqlalchemy.orm import Mapped, mapped_column

from gridshare.store.tables.base import Base, Id, Timestamps


class MeterDevice(Timestamps, Base):
    __tablename__ = "meter_devices"

    id: Mapped[str] = mapped_column(Id, primary_key=True)
    meter_number: Mapped[str | None] = mapped_column(String(40), unique=True)
    types: Mapped[list[str]]


class MeterInstallation(Base):
    """A meter installed at a service point from `start` until `end` (open when null)."""

    __tablename__ = "meter_installations"

    meter_id: Mapped[str] = mapped_column(ForeignKey("meter_devices.id"), primary_key=True)
    service_point_id: Mapped[str] = mapped_column(
        ForeignKey("service_points.id"), primary_key=True, index=True
    )
    start: Mapped[date]
    end: Mapped[date | None]


class MeterApp(Base):
    __tablename__ = "meter_apps"

    id: Mapped[str] = mapped_column(Id, primary_key=True)
    meter_id: Mapped[str] = mapped_column(ForeignKey("meter_devices.id"), index=True)
    app_number: Mapped[str] = mapped_column(String(80))
    name: Mapped[str] = mapped_column(String(200))
    types: Mapped[list[str]]
    start: Mapped[datetime | None]
    end: Mapped[datetime | None]
