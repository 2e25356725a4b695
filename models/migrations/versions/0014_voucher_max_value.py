"""the operator's maximum value per voucher, per currency

Revision ID: 0014
Revises: 0013
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision = "0014"
down_revision = "0013"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column(
        "organisations",
        sa.Column(
            "voucher_max_value_minor",
            postgresql.JSONB(astext_type=sa.Text()),
            nullable=True,
            comment="the operator's maximum value of one voucher, in minor units per currency",
        ),
    )


def downgrade() -> None:
    op.drop_column("organisations", "voucher_max_value_minor")
