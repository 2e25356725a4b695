"""operator rounding mode

Revision ID: 0003
Revises: 0002
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column(
        "organisations",
        sa.Column("rounding_mode", sa.String(length=16), server_default="half_up", nullable=False),
    )
    op.create_check_constraint(
        op.f("ck_organisations_rounding_mode"),
        "organisations",
        "rounding_mode in ('half_up','half_even','up','down')",
    )


def downgrade() -> None:
    op.drop_constraint(op.f("ck_organisations_rounding_mode"), "organisations", type_="check")
    op.drop_column("organisations", "rounding_mode")
