"""Messages between the Server and a registration's Clients (CDS-WG1-02 §6) and server-provided
files (§9)."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import ForeignKey, Integer, LargeBinary, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from gridshare.store.db import utcnow
from gridshare.store.tables.base import Base, DecimalText, Id


class Message(Base):
    __tablename__ = "messages"

    message_id: Mapped[str] = mapped_column(Id, primary_key=True)
    registration_id: Mapped[str] = mapped_column(ForeignKey("registrations.id"), index=True)
    previous_id: Mapped[str | None] = mapped_column(ForeignKey("messages.message_id"))
    type: Mapped[str] = mapped_column(String(24))
    read: Mapped[bool] = mapped_column(default=False)
    creator: Mapped[str | None] = mapped_column(String(40), comment="client_id; null = server")
    created: Mapped[datetime] = mapped_column(default=utcnow)
    modified: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)
    status: Mapped[str] = mapped_column(String(12))
    name: Mapped[str] = mapped_column(String(500))
    description: Mapped[str] = mapped_column(Text)
    updates_requested: Mapped[list[Any] | None]
    grants_requested: Mapped[list[Any] | None]
    related_uri: Mapped[str | None] = mapped_column(String(1000))
    related_type: Mapped[str | None] = mapped_column(String(24))
    amount: Mapped[Decimal | None] = mapped_column(DecimalText())
    currency: Mapped[str | None] = mapped_column(String(3))


class MessageAttachment(Base):
    __tablename__ = "message_attachments"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    message_id: Mapped[str] = mapped_column(ForeignKey("messages.message_id"), index=True)
    position: Mapped[int] = mapped_column(Integer)
    filename: Mapped[str] = mapped_column(String(255))
    mime_type: Mapped[str] = mapped_column(String(120))
    data: Mapped[bytes] = mapped_column(LargeBinary)


class ServerFile(Base):
    __tablename__ = "server_files"

    file_id: Mapped[str] = mapped_column(Id, primary_key=True)
    created: Mapped[datetime] = mapped_column(default=utcnow)
    modified: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)
    mime_type: Mapped[str] = mapped_column(String(120))
    name: Mapped[str] = mapped_column(String(255))
    description: Mapped[str] = mapped_column(Text, default="")
    data: Mapped[bytes] = mapped_column(LargeBinary)
