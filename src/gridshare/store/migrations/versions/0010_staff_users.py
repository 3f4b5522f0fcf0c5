"""staff users and their desk login sessions

Revision ID: 0010
Revises: 0009
Create Date: 2026-11-26 12:00:00

The utility's staff, who move connection orders along at the desk (`/desk`), with scrypt
password hashes; their login sessions are stored as customers' are (a hash of the cookie).
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from gridshare.store.types import UTCDateTime

revision = "0010"
down_revision = "0009"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "staff_users",
        sa.Column("name", sa.String(length=80), nullable=False),
        sa.Column(
            "password_hash",
            sa.String(length=255),
            nullable=False,
            comment="scrypt, as customers' (utility.customers.hash_password)",
        ),
        sa.Column("created", UTCDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("name", name=op.f("pk_staff_users")),
    )
    op.create_table(
        "staff_sessions",
        sa.Column("session_hash", sa.String(length=64), nullable=False),
        sa.Column("staff_name", sa.String(length=80), nullable=False),
        sa.Column("csrf_token", sa.String(length=64), nullable=False),
        sa.Column("created", UTCDateTime(), nullable=False),
        sa.Column("expires_at", UTCDateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["staff_name"],
            ["staff_users.name"],
            name=op.f("fk_staff_sessions_staff_name_staff_users"),
        ),
        sa.PrimaryKeyConstraint("session_hash", name=op.f("pk_staff_sessions")),
    )
    op.create_index(
        op.f("ix_staff_sessions_staff_name"), "staff_sessions", ["staff_name"], unique=False
    )


def downgrade() -> None:
    op.drop_index(op.f("ix_staff_sessions_staff_name"), table_name="staff_sessions")
    op.drop_table("staff_sessions")
    op.drop_table("staff_users")
