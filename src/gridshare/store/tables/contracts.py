"""Rate plans and service contracts (CDS-WG3-01 §10.2).

A rate plan's tariff is data (`tariff`): the demo's bills are computed from it (see
`gridshare.utility.tariffs`).
"""

from __future__ import annotations

from datetime import date
from typing import Any

from sqlalchemy import ForeignKey, String
from sqlalchemy.orm import Mapped, mapped_column

from gridshare.store.tables.base import Base, Id, Timestamps


class RatePlan(Timestamps, Base):
    __tablename__ = "rate_plans"

    id: Mapped[str] = mapped_column(Id, primary_key=True)
    code: Mapped[str] = mapped_column(String(40), unique=True)
    name: Mapped[str] = mapped_column(String(200))
    commodity: Mapped[str] = mapped_column(String(20), comment="electric, natural_gas, water")
    currency: Mapped[str] = mapped_column(String(3), default="USD")
    tariff: Mapped[dict[str, Any]] = mapped_column(
        comment="charges, rates (decimal strings), periods"
    )


class ServiceContract(Timestamps, Base):
    __tablename__ = "service_contracts"

    id: Mapped[str] = mapped_column(Id, primary_key=True)
    account_id: Mapped[str] = mapped_column(ForeignKey("accounts.id"), index=True)
    contract_number: Mapped[str | None] = mapped_column(String(40), unique=True)
    address: Mapped[str | None] = mapped_column(String(500))
    types: Mapped[list[str]]
    status: Mapped[str] = mapped_column(
        String(12), comment="active, paused, stopped, closed, unknown"
    )
    start: Mapped[date | None]
    end: Mapped[date | None]
    service_types: Mapped[list[str]]
    rate_plan_id: Mapped[str | None] = mapped_column(ForeignKey("rate_plans.id"))
    distribution_entity_id: Mapped[str | None] = mapped_column(ForeignKey("entities.id"))
    supply_entity_id: Mapped[str | None] = mapped_column(ForeignKey("entities.id"))
