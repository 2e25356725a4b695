"""merge the usage, provisioning, devices and billing branches; the operator's dunning ladder

Revision ID: 0009
Revises: 0005, 0006, 0007, 0008
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision = "0009"
down_revision = ("0005", "0006", "0007", "0008")
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column(
        "organisations",
        sa.Column(
            "dunning_ladder",
            postgresql.JSONB(astext_type=sa.Text()),
            nullable=True,
            comment="the operator's dunning ladder",
        ),
    )


def downgrade() -> None:
    op.drop_column("organisations", "dunning_ladder")
