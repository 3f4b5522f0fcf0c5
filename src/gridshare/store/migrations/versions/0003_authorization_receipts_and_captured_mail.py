"""authorization receipts and captured mail

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-22 13:54:37.762569
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import gridshare.store.types

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "captured_mail",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("message_id", sa.String(length=250), nullable=False),
        sa.Column("sender", sa.String(length=254), nullable=False),
        sa.Column("recipient", sa.String(length=254), nullable=False),
        sa.Column("subject", sa.String(length=500), nullable=False),
        sa.Column("body", sa.Text(), nullable=False),
        sa.Column("created", gridshare.store.types.UTCDateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_captured_mail")),
        sa.UniqueConstraint("message_id", name=op.f("uq_captured_mail_message_id")),
    )
    op.create_table(
        "receipts",
        sa.Column("key_hash", sa.String(length=64), nullable=False),
        sa.Column("key_sealed", sa.LargeBinary(), nullable=False, comment="the URL key, sealed"),
        sa.Column("confirmation", sa.String(length=16), nullable=False),
        sa.Column("grant_id", sa.String(length=40), nullable=False),
        sa.Column("customer_id", sa.String(length=40), nullable=False),
        sa.Column("created", gridshare.store.types.UTCDateTime(timezone=True), nullable=False),
        sa.Column("snapshot", sa.JSON(), nullable=False, comment="what the Customer approved"),
        sa.Column(
            "superseded_by",
            sa.String(length=64),
            nullable=True,
            comment="key_hash of the newer receipt for the same Grant",
        ),
        sa.ForeignKeyConstraint(
            ["customer_id"], ["customers.id"], name=op.f("fk_receipts_customer_id_customers")
        ),
        sa.ForeignKeyConstraint(
            ["grant_id"], ["grants.grant_id"], name=op.f("fk_receipts_grant_id_grants")
        ),
        sa.PrimaryKeyConstraint("key_hash", name=op.f("pk_receipts")),
        sa.UniqueConstraint("confirmation", name=op.f("uq_receipts_confirmation")),
    )
    with op.batch_alter_table("receipts", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_receipts_customer_id"), ["customer_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_receipts_grant_id"), ["grant_id"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("receipts", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_receipts_grant_id"))
        batch_op.drop_index(batch_op.f("ix_receipts_customer_id"))

    op.drop_table("receipts")
    op.drop_table("captured_mail")
