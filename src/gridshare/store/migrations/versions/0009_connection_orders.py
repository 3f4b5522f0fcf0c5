"""connection orders and the Beckn message audit trail

Revision ID: 0009
Revises: 0008
Create Date: 2026-11-22 21:00:00

Orders for new electricity connections (taken on Beckn / DEG Connections), their status events,
ratings and submitted documents; the forms (BECKN-007 XInput) documents are submitted on; every
Beckn message received or sent, with its signature, for audit and for answering a repeated
message_id once.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from gridshare.store.types import DecimalText, UTCDateTime

revision = "0009"
down_revision = "0008"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "beckn_messages",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("created", UTCDateTime(), nullable=False),
        sa.Column("direction", sa.String(length=3), nullable=False, comment="in or out"),
        sa.Column("action", sa.String(length=40), nullable=False),
        sa.Column("transaction_id", sa.String(length=200), nullable=True),
        sa.Column("message_id", sa.String(length=200), nullable=True),
        sa.Column("bap_id", sa.String(length=255), nullable=True),
        sa.Column(
            "peer_url",
            sa.String(length=2000),
            nullable=True,
            comment="where an outgoing message went",
        ),
        sa.Column("body", sa.LargeBinary(), nullable=False, comment="the bytes signed and sent"),
        sa.Column("authorization", sa.Text(), nullable=True),
        sa.Column("gateway_authorization", sa.Text(), nullable=True),
        sa.Column(
            "http_status",
            sa.Integer(),
            nullable=True,
            comment="our answer's status, or the receiver's",
        ),
        sa.Column("answer", sa.Text(), nullable=True, comment="the ACK/NACK body"),
        sa.Column("dedupe_key", sa.String(length=64), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_beckn_messages")),
        sa.UniqueConstraint("dedupe_key", name=op.f("uq_beckn_messages_dedupe_key")),
    )
    op.create_index(op.f("ix_beckn_messages_created"), "beckn_messages", ["created"], unique=False)
    op.create_index(
        op.f("ix_beckn_messages_transaction_id"), "beckn_messages", ["transaction_id"], unique=False
    )
    op.create_table(
        "connection_orders",
        sa.Column("id", sa.String(length=40), nullable=False),
        sa.Column("created", UTCDateTime(), nullable=False),
        sa.Column("updated", UTCDateTime(), nullable=False),
        sa.Column("status", sa.String(length=12), nullable=False, comment="connection-status"),
        sa.Column(
            "channel",
            sa.String(length=20),
            nullable=False,
            comment="where the order came from: beckn",
        ),
        sa.Column(
            "requester", sa.String(length=255), nullable=False, comment="who ordered: the BAP's id"
        ),
        sa.Column(
            "transaction_id",
            sa.String(length=200),
            nullable=False,
            comment="the requester's transaction; one order per transaction",
        ),
        sa.Column("item_id", sa.String(length=100), nullable=False),
        sa.Column("item_name", sa.String(length=200), nullable=False),
        sa.Column("customer_name", sa.String(length=200), nullable=False),
        sa.Column("email", sa.String(length=320), nullable=True),
        sa.Column("phone", sa.String(length=40), nullable=True),
        sa.Column("address", sa.String(length=500), nullable=False),
        sa.Column("gps", sa.String(length=60), nullable=True, comment="lat,lon of the site"),
        sa.Column("total", DecimalText(), nullable=False),
        sa.Column("currency", sa.String(length=3), nullable=False),
        sa.Column(
            "document", sa.JSON(), nullable=False, comment="the order as agreed, channel format"
        ),
        sa.Column(
            "reply_to", sa.JSON(), nullable=False, comment="how the channel reaches the requester"
        ),
        sa.Column(
            "details",
            sa.JSON(),
            nullable=False,
            comment="connection details the desk recorded (meter id, consumer number)",
        ),
        sa.Column(
            "cancellation", sa.JSON(), nullable=True, comment="who cancelled, when, why and the fee"
        ),
        sa.Column(
            "submission_id",
            sa.String(length=36),
            nullable=True,
            comment="the documents the requester submitted with the order",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_connection_orders")),
        sa.UniqueConstraint(
            "channel", "requester", "transaction_id", name=op.f("uq_connection_orders_channel")
        ),
    )
    op.create_index(
        op.f("ix_connection_orders_created"), "connection_orders", ["created"], unique=False
    )
    op.create_index(
        op.f("ix_connection_orders_status"), "connection_orders", ["status"], unique=False
    )
    op.create_table(
        "connection_order_events",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("order_id", sa.String(length=40), nullable=False),
        sa.Column("at", UTCDateTime(), nullable=False),
        sa.Column("from_status", sa.String(length=12), nullable=True),
        sa.Column("to_status", sa.String(length=12), nullable=False),
        sa.Column(
            "actor", sa.String(length=300), nullable=False, comment="staff:<name>, or the requester"
        ),
        sa.Column("reason", sa.String(length=1000), nullable=True),
        sa.Column(
            "details",
            sa.JSON(),
            nullable=False,
            comment="the connection details this change recorded",
        ),
        sa.ForeignKeyConstraint(
            ["order_id"],
            ["connection_orders.id"],
            name=op.f("fk_connection_order_events_order_id_connection_orders"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_connection_order_events")),
    )
    op.create_index(
        op.f("ix_connection_order_events_order_id"),
        "connection_order_events",
        ["order_id"],
        unique=False,
    )
    op.create_table(
        "connection_order_ratings",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("order_id", sa.String(length=40), nullable=False),
        sa.Column("at", UTCDateTime(), nullable=False),
        sa.Column(
            "category",
            sa.String(length=20),
            nullable=False,
            comment="Order, Fulfillment, Provider, ...",
        ),
        sa.Column("target_id", sa.String(length=200), nullable=False),
        sa.Column("value", sa.String(length=40), nullable=False),
        sa.ForeignKeyConstraint(
            ["order_id"],
            ["connection_orders.id"],
            name=op.f("fk_connection_order_ratings_order_id_connection_orders"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_connection_order_ratings")),
    )
    op.create_index(
        op.f("ix_connection_order_ratings_order_id"),
        "connection_order_ratings",
        ["order_id"],
        unique=False,
    )

    op.create_table(
        "beckn_forms",
        sa.Column("nonce", sa.String(length=43), nullable=False),
        sa.Column("requester", sa.String(length=255), nullable=False),
        sa.Column("transaction_id", sa.String(length=200), nullable=False),
        sa.Column("item_id", sa.String(length=100), nullable=False),
        sa.Column("created", UTCDateTime(), nullable=False),
        sa.Column("expires_at", UTCDateTime(), nullable=False),
        sa.Column("submission_id", sa.String(length=36), nullable=True),
        sa.Column("submitted_at", UTCDateTime(), nullable=True),
        sa.PrimaryKeyConstraint("nonce", name=op.f("pk_beckn_forms")),
        sa.UniqueConstraint("submission_id", name=op.f("uq_beckn_forms_submission_id")),
    )
    op.create_index(
        "ix_beckn_forms_transaction", "beckn_forms", ["requester", "transaction_id"], unique=False
    )
    op.create_table(
        "connection_order_documents",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("submission_id", sa.String(length=36), nullable=False),
        sa.Column("created", UTCDateTime(), nullable=False),
        sa.Column("label", sa.String(length=200), nullable=False, comment="the document asked for"),
        sa.Column("filename", sa.String(length=255), nullable=False),
        sa.Column("content_type", sa.String(length=100), nullable=False),
        sa.Column("size", sa.Integer(), nullable=False),
        sa.Column("data", sa.LargeBinary(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_connection_order_documents")),
    )
    op.create_index(
        op.f("ix_connection_order_documents_submission_id"),
        "connection_order_documents",
        ["submission_id"],
        unique=False,
    )


def downgrade() -> None:
    op.drop_index(
        op.f("ix_connection_order_documents_submission_id"),
        table_name="connection_order_documents",
    )
    op.drop_table("connection_order_documents")
    op.drop_index("ix_beckn_forms_transaction", table_name="beckn_forms")
    op.drop_table("beckn_forms")
    op.drop_index(
        op.f("ix_connection_order_ratings_order_id"), table_name="connection_order_ratings"
    )
    op.drop_table("connection_order_ratings")
    op.drop_index(op.f("ix_connection_order_events_order_id"), table_name="connection_order_events")
    op.drop_table("connection_order_events")
    op.drop_index(op.f("ix_connection_orders_status"), table_name="connection_orders")
    op.drop_index(op.f("ix_connection_orders_created"), table_name="connection_orders")
    op.drop_table("connection_orders")
    op.drop_index(op.f("ix_beckn_messages_transaction_id"), table_name="beckn_messages")
    op.drop_index(op.f("ix_beckn_messages_created"), table_name="beckn_messages")
    op.drop_table("beckn_messages")
