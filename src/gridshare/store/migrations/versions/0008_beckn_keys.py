"""beckn keys: our Beckn subscriber keys (BECKN-006 signing, registry Subscription)

Revision ID: 0008
Revises: 0007
Create Date: 2026-11-25 12:00:00

Private keys are stored sealed with the server key; at most one key is active at a time.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from gridshare.store.types import UTCDateTime

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "beckn_keys",
        sa.Column(
            "unique_key_id",
            sa.String(36),
            nullable=False,
            comment="the keyId's unique_key_id (a UUID)",
        ),
        sa.Column(
            "signing_public_key",
            sa.String(60),
            nullable=False,
            comment="Ed25519 public key, base64 of its 32 raw bytes",
        ),
        sa.Column(
            "signing_private_sealed",
            sa.LargeBinary(),
            nullable=False,
            comment="the Ed25519 seed (base64), sealed with the server key",
        ),
        sa.Column(
            "encr_public_key",
            sa.String(60),
            nullable=False,
            comment="X25519 public key, base64 of its 32 raw bytes",
        ),
        sa.Column(
            "encr_private_sealed",
            sa.LargeBinary(),
            nullable=False,
            comment="the X25519 private key (base64), sealed with the server key",
        ),
        sa.Column("created", UTCDateTime(), nullable=False),
        sa.Column("valid_from", UTCDateTime(), nullable=False),
        sa.Column("valid_until", UTCDateTime(), nullable=False),
        sa.Column("status", sa.String(10), nullable=False, comment="active or retired"),
        sa.PrimaryKeyConstraint("unique_key_id", name=op.f("pk_beckn_keys")),
    )
    op.create_index(
        "uq_beckn_keys_one_active",
        "beckn_keys",
        ["status"],
        unique=True,
        sqlite_where=sa.text("status = 'active'"),
        postgresql_where=sa.text("status = 'active'"),
    )


def downgrade() -> None:
    op.drop_index("uq_beckn_keys_one_active", table_name="beckn_keys")
    op.drop_table("beckn_keys")
