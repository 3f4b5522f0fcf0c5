"""grant selections: the resources the Customer selected on the authorization form

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-22 15:40:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("grants") as batch:
        batch.add_column(
            sa.Column(
                "selections",
                sa.JSON(),
                nullable=False,
                server_default="[]",
                comment="per Selection Component: scopes, type, ids, include_future",
            )
        )


def downgrade() -> None:
    with op.batch_alter_table("grants") as batch:
        batch.drop_column("selections")
