"""Bill statements, their new charges, and bill sections with usage, cost and line items.

CDS-WG3-01 §10.5 (statements, new charges) and §10.6 (sections, usage details, cost details, line
items). Amounts are exact decimals (DESIGN rule 7).
"""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from typing import Any

from sqlalchemy import ForeignKey, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from gridshare.store.tables.base import Base, DecimalText, Id, Timestamps


class BillStatement(Timestamps, Base):
    __tablename__ = "bill_statements"

    id: Mapped[str] = mapped_column(Id, primary_key=True)
    account_id: Mapped[str] = mapped_column(ForeignKey("accounts.id"), index=True)
    account_number: Mapped[str] = mapped_column(String(40), comment="as at the statement date")
    statement_date: Mapped[date]
    currency: Mapped[str] = mapped_column(String(3))
    file_uri: Mapped[str | None] = mapped_column(String(500))
    file_mimetype: Mapped[str | None] = mapped_column(String(80))
    previous_balance_amount: Mapped[Decimal | None] = mapped_column(DecimalText())
    previous_balance_paid: Mapped[Decimal | None] = mapped_column(DecimalText())
    previous_balance_unpaid: Mapped[Decimal | None] = mapped_column(DecimalText())
    new_charges_amount: Mapped[Decimal | None] = mapped_column(DecimalText())
    new_balance_amount: Mapped[Decimal | None] = mapped_column(DecimalText())
    amount_due: Mapped[Decimal] = mapped_column(DecimalText())
    amount_due_date: Mapped[date]
    shutoff_prevention_minimum_due: Mapped[Decimal | None] = mapped_column(DecimalText())
    shutoff_prevention_date: Mapped[date | None]


class NewCharge(Base):
    __tablename__ = "bill_new_charges"

    id: Mapped[str] = mapped_column(Id, primary_key=True)
    statement_id: Mapped[str] = mapped_column(ForeignKey("bill_statements.id"), index=True)
    position: Mapped[int] = mapped_column(Integer)
    name: Mapped[str] = mapped_column(String(200))
    types: Mapped[list[str]]
    amount: Mapped[Decimal] = mapped_column(DecimalText())
    included_in_amount_due: Mapped[bool]
    related_section_ids: Mapped[list[str]]


class BillSection(Timestamps, Base):
    __tablename__ = "bill_sections"

    id: Mapped[str] = mapped_column(Id, primary_key=True)
    statement_id: Mapped[str | None] = mapped_column(ForeignKey("bill_statements.id"), index=True)
    account_id: Mapped[str] = mapped_column(ForeignKey("accounts.id"), index=True)
    account_number: Mapped[str] = mapped_column(String(40))
    contract_id: Mapped[str | None] = mapped_column(ForeignKey("service_contracts.id"), index=True)
    section_types: Mapped[list[str]]
    start_date: Mapped[date]
    end_date: Mapped[date]
    currency: Mapped[str] = mapped_column(String(3))
    distribution_entity_id: Mapped[str | None] = mapped_column(ForeignKey("entities.id"))
    supply_entity_id: Mapped[str | None] = mapped_column(ForeignKey("entities.id"))
    related_section_ids: Mapped[list[str]] = mapped_column(default=list)


class BillUsageDetail(Base):
    __tablename__ = "bill_usage_details"

    id: Mapped[str] = mapped_column(Id, primary_key=True)
    section_id: Mapped[str] = mapped_column(ForeignKey("bill_sections.id"), index=True)
    position: Mapped[int] = mapped_column(Integer)
    name: Mapped[str] = mapped_column(String(200))
    types: Mapped[list[str]]
    value: Mapped[Decimal] = mapped_column(DecimalText())
    units: Mapped[str | None] = mapped_column(String(8))
    start_date: Mapped[date | None]
    end_date: Mapped[date | None]
    details: Mapped[dict[str, Any]] = mapped_column(
        default=dict, comment="type-specific fields (tou, tier, season, direction, reads; §10.6.4)"
    )


class BillCostDetail(Base):
    __tablename__ = "bill_cost_details"

    id: Mapped[str] = mapped_column(Id, primary_key=True)
    section_id: Mapped[str] = mapped_column(ForeignKey("bill_sections.id"), index=True)
    position: Mapped[int] = mapped_column(Integer)
    name: Mapped[str] = mapped_column(String(200))
    types: Mapped[list[str]]
    cost: Mapped[Decimal] = mapped_column(DecimalText())


class BillLineItem(Base):
    __tablename__ = "bill_line_items"

    id: Mapped[str] = mapped_column(Id, primary_key=True)
    section_id: Mapped[str] = mapped_column(ForeignKey("bill_sections.id"), index=True)
    position: Mapped[int] = mapped_column(Integer)
    name: Mapped[str] = mapped_column(String(200))
    types: Mapped[list[str]]
    start_date: Mapped[date]
    end_date: Mapped[date]
    cost: Mapped[Decimal] = mapped_column(DecimalText())
    value: Mapped[Decimal | None] = mapped_column(DecimalText())
    units: Mapped[str | None] = mapped_column(String(8))
    rate: Mapped[Decimal | None] = mapped_column(DecimalText())
    related_usage_detail_ids: Mapped[list[str]]
    related_cost_detail_ids: Mapped[list[str]]
