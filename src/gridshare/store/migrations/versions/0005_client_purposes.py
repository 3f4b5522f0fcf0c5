"""client purposes: the Client's own Purpose objects (CDS-WG3-01 §8)

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-23 10:00:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("clients") as batch:
        batch.add_column(
            sa.Column(
                "purposes",
                sa.JSON(),
                nullable=False,
                server_default="{}",
                comment="the Client's own Purposes by id (CDS-WG3-01 §8): name, content, "
                "related_uri, related_name; server defaults and scopes_supported are not stored",
            )
        )


def downgrade() -> None:
    with op.batch_alter_table("clients") as batch:
        batch.drop_column("purposes")
