"""Self-service care: ticket categories open to subscribers; failed voucher redemptions (for the limit).

Revision ID: 0044
Revises: 0041
Create Date: 2026-12-01 01:00:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0044"
down_revision = "0043"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column(
        "ticket_categories",
        sa.Column(
            "open_to_subscribers",
            sa.Boolean(),
            server_default=sa.false(),
            nullable=False,
            comment="subscribers may raise tickets in it",
        ),
    )
    op.create_table(
        "voucher_redemption_failures",
        sa.Column("id", sa.BigInteger(), primary_key=True, autoincrement=True),
        sa.Column("account_id", sa.String(32), sa.ForeignKey("accounts.id"), nullable=False),
        sa.Column(
            "code", sa.String(64), nullable=False, comment="why it failed (the error code), never the code"
        ),
        sa.Column("failed_at", sa.DateTime(timezone=True), nullable=False),
    )
    op.create_index(
        "ix_voucher_redemption_failures_account", "voucher_redemption_failures", ["account_id", "failed_at"]
    )


def downgrade() -> None:
    op.drop_table("voucher_redemption_failures")
    op.drop_column("ticket_categories", "open_to_subscribers")
