"""usage events keep the dialled number as sent; destination holds it in E.164

Revision ID: 0015
Revises: 0014
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0015"
down_revision = "0014"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column(
        "usage_events",
        sa.Column(
            "destination_raw",
            sa.String(length=32),
            nullable=True,
            comment="the dialled number as sent (destination holds it in E.164)",
        ),
    )
    op.execute("UPDATE usage_events SET destination_raw = destination WHERE destination IS NOT NULL")


def downgrade() -> None:
    op.drop_column("usage_events", "destination_raw")
