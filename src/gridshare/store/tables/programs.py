"""Entities (utilities, suppliers) and the programs customers take part in.

Entity: CDS-WG3-01 §10.1.4. Program catalogue and participation: §10.1.8 (account level) and
§10.2.5 (service level).
"""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from typing import Any

from sqlalchemy import ForeignKey, String
from sqlalchemy.orm import Mapped, mapped_column

from gridshare.store.tables.base import Base, DecimalText, Id, Timestamps


class Entity(Timestamps, Base):
    __tablename__ = "entities"

    id: Mapped[str] = mapped_column(Id, primary_key=True)
    types: Mapped[list[str]]
    entity_number: Mapped[str] = mapped_column(String(80), unique=True)
    name: Mapped[str] = mapped_column(String(200))
    abbreviation: Mapped[str | None] = mapped_column(String(40))


class Program(Timestamps, Base):
    """A program the utility offers; `level` is `account` or `service`."""

    __tablename__ = "programs"

    id: Mapped[str] = mapped_column(Id, primary_key=True)
    program_number: Mapped[str] = mapped_column(String(80), unique=True)
    level: Mapped[str] = mapped_column(String(10))
    kinds: Mapped[list[str]] = mapped_column(
        comment="program types such as low_income, demand_response"
    )
    name: Mapped[str] = mapped_column(String(200))
    description: Mapped[str] = mapped_column(String(1000))
    documentation: Mapped[str] = mapped_column(String(500))
    more_info: Mapped[str | None] = mapped_column(String(500))
    signup: Mapped[str | None] = mapped_column(String(500))
    settings: Mapped[str | None] = mapped_column(String(500))
    discontinue: Mapped[str | None] = mapped_column(String(500))
    details: Mapped[dict[str, Any]] = mapped_column(
        default=dict, comment="type-specific facts, e.g. pnode/anode for demand response"
    )


class Participation(Timestamps, Base):
    """An account's or a service contract's participation in (or eligibility for) a program."""

    __tablename__ = "participations"

    id: Mapped[str] = mapped_column(Id, primary_key=True)
    program_id: Mapped[str] = mapped_column(ForeignKey("programs.id"), index=True)
    account_id: Mapped[str | None] = mapped_column(ForeignKey("accounts.id"), index=True)
    contract_id: Mapped[str | None] = mapped_column(ForeignKey("service_contracts.id"), index=True)
    status: Mapped[str] = mapped_column(
        String(12), comment="active, inactive, eligible, ineligible"
    )
    participation_number: Mapped[str | None] = mapped_column(String(80))
    start: Mapped[date | None]
    end: Mapped[date | None]
    balance: Mapped[Decimal | None] = mapped_column(DecimalText())
    balance_units: Mapped[str | None] = mapped_column(String(10))
    currency: Mapped[str | None] = mapped_column(String(3))
