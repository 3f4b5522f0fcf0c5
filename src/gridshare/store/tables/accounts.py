"""Accounts and their contacts (CDS-WG3-01 §10.1)."""

from __future__ import annotations

from sqlalchemy import ForeignKey, String
from sqlalchemy.orm import Mapped, mapped_column

from gridshare.store.tables.base import Base, Id, Timestamps


class Account(Timestamps, Base):
    __tablename__ = "accounts"

    id: Mapped[str] = mapped_column(Id, primary_key=True)
    customer_id: Mapped[str] = mapped_column(ForeignKey("customers.id"), index=True)
    parent_id: Mapped[str | None] = mapped_column(ForeignKey("accounts.id"), index=True)
    entity_id: Mapped[str | None] = mapped_column(ForeignKey("entities.id"))
    account_number: Mapped[str] = mapped_column(String(40), unique=True)
    name: Mapped[str] = mapped_column(String(200))
    address: Mapped[str | None] = mapped_column(String(500))
    types: Mapped[list[str]]
    status: Mapped[str] = mapped_column(String(12), comment="active, suspended, closed, unknown")


class AccountContact(Base):
    __tablename__ = "account_contacts"

    id: Mapped[str] = mapped_column(Id, primary_key=True)
    account_id: Mapped[str] = mapped_column(ForeignKey("accounts.id"), index=True)
    types: Mapped[list[str]]
    value: Mapped[str] = mapped_column(String(254))
    name: Mapped[str | None] = mapped_column(String(200))
