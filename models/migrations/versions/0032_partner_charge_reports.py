"""partner_charges.report_error_code / report_error: a decision the provider refused (CHARGE_NOT_FOUND,
CUSTOMER_MISMATCH…) kept on the charge, visible in the API, and not reported again

Revision ID: 0032
Revises: 0031
Create Date: 2026-11-30 18:00:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0032"
down_revision = "0031"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column(
        "partner_charges",
        sa.Column(
            "report_error_code",
            sa.String(length=40),
            nullable=True,
            comment="the provider refused our decision: its code (CHARGE_NOT_FOUND, …)",
        ),
    )
    op.add_column(
        "partner_charges",
        sa.Column("report_error", sa.Text(), nullable=True, comment="the provider's description of it"),
    )


def downgrade() -> None:
    op.drop_column("partner_charges", "report_error")
    op.drop_column("partner_charges", "report_error_code")
