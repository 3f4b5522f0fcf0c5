"""Beckn: our subscriber keys and the audit trail of messages.

Our subscriber keys (BECKN-006 signing keys, registry Subscription `key_id`,
`signing_public_key`, `encr_public_key`, `valid_from`, `valid_until`).

One key is `active` (a partial unique index allows no second); rotating retires it, shortening
its `valid_until` to the end of a grace period during which receivers may still verify what it
signed. Private keys are stored only sealed with the server key (`grants.secrets.Sealer`).
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Index, Integer, LargeBinary, String, Text, text
from sqlalchemy.orm import Mapped, mapped_column

from gridshare.store.db import utcnow
from gridshare.store.tables.base import Base

ACTIVE = "active"
RETIRED = "retired"


class BecknKey(Base):
    __tablename__ = "beckn_keys"
    __table_args__ = (
        Index(
            "uq_beckn_keys_one_active",
            "status",
            unique=True,
            sqlite_where=text("status = 'active'"),
            postgresql_where=text("status = 'active'"),
        ),
    )

    unique_key_id: Mapped[str] = mapped_column(
        String(36), primary_key=True, comment="the keyId's unique_key_id (a UUID)"
    )
    signing_public_key: Mapped[str] = mapped_column(
        String(60), comment="Ed25519 public key, base64 of its 32 raw bytes"
    )
    signing_private_sealed: Mapped[bytes] = mapped_column(
        LargeBinary, comment="the Ed25519 seed (base64), sealed with the server key"
    )
    encr_public_key: Mapped[str] = mapped_column(
        String(60), comment="X25519 public key, base64 of its 32 raw bytes"
    )
    encr_private_sealed: Mapped[bytes] = mapped_column(
        LargeBinary, comment="the X25519 private key (base64), sealed with the server key"
    )
    created: Mapped[datetime] = mapped_column(default=utcnow)
    valid_from: Mapped[datetime]
    valid_until: Mapped[datetime]
    status: Mapped[str] = mapped_column(String(10), comment="active or retired")


class BecknMessage(Base):
    """Every Beckn message received or sent, as the exact bytes that were signed, with the
    signature headers and the answer: the audit trail.

    `dedupe_key` is set on requests we acknowledged (a digest of action, sender and
    `message_id`): a repeat finds the first one and gets its answer again.
    """

    __tablename__ = "beckn_messages"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    created: Mapped[datetime] = mapped_column(default=utcnow, index=True)
    direction: Mapped[str] = mapped_column(String(3), comment="in or out")
    action: Mapped[str] = mapped_column(String(40))
    transaction_id: Mapped[str | None] = mapped_column(String(200), index=True)
    message_id: Mapped[str | None] = mapped_column(String(200))
    bap_id: Mapped[str | None] = mapped_column(String(255))
    peer_url: Mapped[str | None] = mapped_column(
        String(2000), comment="where an outgoing message went"
    )
    body: Mapped[bytes] = mapped_column(LargeBinary, comment="the bytes signed and sent")
    authorization: Mapped[str | None] = mapped_column(Text)
    gateway_authorization: Mapped[str | None] = mapped_column(Text)
    http_status: Mapped[int | None] = mapped_column(
        Integer, comment="our answer's status, or the receiver's"
    )
    answer: Mapped[str | None] = mapped_column(Text, comment="the ACK/NACK body")
    dedupe_key: Mapped[str | None] = mapped_column(String(64), unique=True)


class BecknForm(Base):
    """A form we offered in an `XInput` (BECKN-007): its nonce (in its URL), whom and which item
    of which transaction it is for, until when it may be submitted, and the submission's id."""

    __tablename__ = "beckn_forms"
    __table_args__ = (Index("ix_beckn_forms_transaction", "requester", "transaction_id"),)

    nonce: Mapped[str] = mapped_column(String(43), primary_key=True)
    requester: Mapped[str] = mapped_column(String(255))
    transaction_id: Mapped[str] = mapped_column(String(200))
    item_id: Mapped[str] = mapped_column(String(100))
    created: Mapped[datetime] = mapped_column(default=utcnow)
    expires_at: Mapped[datetime]
    submission_id: Mapped[str | None] = mapped_column(String(36), unique=True)
    submitted_at: Mapped[datetime | None]
