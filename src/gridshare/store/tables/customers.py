"""Customers: the people and organisations who log in, with their contact details.

A customer is the login identity; what they own hangs off accounts (CDS-WG3-01 §10.1).
"""

from __future__ import annotations

from sqlalchemy import String
from sqlalchemy.orm import Mapped, mapped_column

from gridshare.store.tables.base import Base, Id, Timestamps


class Customer(Timestamps, Base):
    __tablename__ = "customers"

    id: Mapped[str] = mapped_column(Id, primary_key=True)
    customer_number: Mapped[str | None] = mapped_column(String(40), unique=True)
    name: Mapped[str] = mapped_column(String(200))
    username: Mapped[str] = mapped_column(String(120), unique=True)
    password_hash: Mapped[str] = mapped_column(String(255))
    email: Mapped[str | None] = mapped_column(String(254))
    phone: Mapped[str | None] = mapped_column(String(20), comment="E.164")
    is_test: Mapped[bool] = mapped_column(default=False, comment="a sandbox test customer")
    description: Mapped[str | None] = mapped_column(String(500))
