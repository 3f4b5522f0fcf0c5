"""Connection orders: a request for a new electricity connection, taken on a sales channel (today
Beckn / DEG Connections), and moved along by the utility's connection desk.

`status` is the Connections guide's connection-status (PENDING, IN_PROGRESS, COMPLETED, FAILED,
CANCELLED). `document` is the order as agreed on its channel and `reply_to` what that channel
needs to tell the requester of a change; both are opaque here. Every change of status is an
`OrderEvent`.
"""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import ForeignKey, Integer, LargeBinary, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from gridshare.store.db import utcnow
from gridshare.store.tables.base import Base, DecimalText, Id


class ConnectionOrder(Base):
    __tablename__ = "connection_orders"
    __table_args__ = (UniqueConstraint("channel", "requester", "transaction_id"),)

    id: Mapped[str] = mapped_column(Id, primary_key=True)
    created: Mapped[datetime] = mapped_column(default=utcnow, index=True)
    updated: Mapped[datetime] = mapped_column(default=utcnow)
    status: Mapped[str] = mapped_column(String(12), index=True, comment="connection-status")
    channel: Mapped[str] = mapped_column(String(20), comment="where the order came from: beckn")
    requester: Mapped[str] = mapped_column(String(255), comment="who ordered: the BAP's id")
    transaction_id: Mapped[str] = mapped_column(
        String(200), comment="the requester's transaction; one order per transaction"
    )
    item_id: Mapped[str] = mapped_column(String(100))
    item_name: Mapped[str] = mapped_column(String(200))
    customer_name: Mapped[str] = mapped_column(String(200))
    email: Mapped[str | None] = mapped_column(String(320))
    phone: Mapped[str | None] = mapped_column(String(40))
    address: Mapped[str] = mapped_column(String(500))
    gps: Mapped[str | None] = mapped_column(String(60), comment="lat,lon of the site")
    total: Mapped[Decimal] = mapped_column(DecimalText)
    currency: Mapped[str] = mapped_column(String(3))
    document: Mapped[dict[str, Any]] = mapped_column(comment="the order as agreed, channel format")
    reply_to: Mapped[dict[str, Any]] = mapped_column(
        comment="how the channel reaches the requester"
    )
    details: Mapped[dict[str, Any]] = mapped_column(
        default=dict, comment="connection details the desk recorded (meter id, consumer number)"
    )
    cancellation: Mapped[dict[str, Any] | None] = mapped_column(
        comment="who cancelled, when, why and the fee"
    )
    submission_id: Mapped[str | None] = mapped_column(
        String(36), comment="the documents the requester submitted with the order"
    )


class OrderEvent(Base):
    """One change of an order's status (or of its terms, when `from_status == to_status`)."""

    __tablename__ = "connection_order_events"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    order_id: Mapped[str] = mapped_column(ForeignKey("connection_orders.id"), index=True)
    at: Mapped[datetime] = mapped_column(default=utcnow)
    from_status: Mapped[str | None] = mapped_column(String(12))
    to_status: Mapped[str] = mapped_column(String(12))
    actor: Mapped[str] = mapped_column(String(300), comment="staff:<name>, or the requester")
    reason: Mapped[str | None] = mapped_column(String(1000))
    details: Mapped[dict[str, Any]] = mapped_column(
        default=dict, comment="the connection details this change recorded"
    )


class OrderRating(Base):
    """A rating the requester gave (core 1.1.0 `Rating`)."""

    __tablename__ = "connection_order_ratings"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    order_id: Mapped[str] = mapped_column(ForeignKey("connection_orders.id"), index=True)
    at: Mapped[datetime] = mapped_column(default=utcnow)
    category: Mapped[str] = mapped_column(String(20), comment="Order, Fulfillment, Provider, ...")
    target_id: Mapped[str] = mapped_column(String(200))
    value: Mapped[str] = mapped_column(String(40))


class OrderDocument(Base):
    """A document submitted for an order (ID proof, ownership, wiring diagram, ...): one file of a
    submission, found by its `submission_id` (the order's, once confirmed)."""

    __tablename__ = "connection_order_documents"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    submission_id: Mapped[str] = mapped_column(String(36), index=True)
    created: Mapped[datetime] = mapped_column(default=utcnow)
    label: Mapped[str] = mapped_column(String(200), comment="the document asked for")
    filename: Mapped[str] = mapped_column(String(255))
    content_type: Mapped[str] = mapped_column(String(100))
    size: Mapped[int] = mapped_column(Integer)
    data: Mapped[bytes] = mapped_column(LargeBinary)
