"""grant espi scope: the Green Button scope string a Customer authorized (NAESB REQ.21 ESPI)

Revision ID: 0007
Revises: 0006
Create Date: 2026-11-24 12:00:00

An ESPI authorization is an ordinary Grant (`grants.espi_scope`); this column keeps the scope
string the third party asked for (`FB=...;IntervalDuration=...`), which its token responses and
Authorization resource repeat. Null for CDS Grants.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("grants") as batch:
        batch.add_column(
            sa.Column(
                "espi_scope",
                sa.String(2000),
                nullable=True,
                comment="the Green Button scope string authorized; null for CDS Grants",
            )
        )


def downgrade() -> None:
    with op.batch_alter_table("grants") as batch:
        batch.drop_column("espi_scope")
