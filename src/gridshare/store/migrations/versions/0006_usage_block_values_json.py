"""usage block values json: each block's encoded CDS `values` array kept beside it (DESIGN rule 3)

Revision ID: 0006
Revises: 0005
Create Date: 2026-11-23 12:00:00

Blocks written before this revision keep a null `values_json`; the Usage Segments API decodes
them as before.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("usage_blocks") as batch:
        batch.add_column(
            sa.Column(
                "values_json",
                sa.LargeBinary(),
                nullable=True,
                comment="the block's CDS-WG3-01 §10.8.3 `values` array as JSON bytes (one Value "
                "Object per value, quality included), written with the block; null for channels "
                "the Usage Segments API does not serve and for blocks written before 0006",
            )
        )


def downgrade() -> None:
    with op.batch_alter_table("usage_blocks") as batch:
        batch.drop_column("values_json")
