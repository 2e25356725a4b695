"""the operator's maximum of one self-service wallet top-up, per currency

Revision ID: 0043
Revises: 0041
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision = "0043"
down_revision = "0042"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column(
        "organisations",
        sa.Column(
            "top_up_max_minor",
            postgresql.JSONB(astext_type=sa.Text()),
            nullable=True,
            comment="the operator's maximum of one wallet top-up by a subscriber, in minor units per currency",
        ),
    )


def downgrade() -> None:
    op.drop_column("organisations", "top_up_max_minor")
