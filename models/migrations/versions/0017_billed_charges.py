"""billed_charges: the once-per-period guard of bill runs' device rentals and bundle discounts

Revision ID: 0017
Revises: 0016
Create Date: 2026-11-30 12:00:00

A rental is guarded per line (a plan change between renting plans keeps the line's periods billed), a
bundle discount per service; each apart from billed_periods, which guards the recurring charges.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0017"
down_revision = "0016"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "billed_charges",
        sa.Column("id", sa.BigInteger(), autoincrement=True, nullable=False),
        sa.Column("subscription_id", sa.String(length=32), nullable=False),
        sa.Column("charge", sa.String(length=32), nullable=False),
        sa.Column(
            "key",
            sa.String(length=32),
            nullable=False,
            comment="the line (rental) or the service (discount)",
        ),
        sa.Column("period_start", sa.Date(), nullable=False),
        sa.Column("period_end", sa.Date(), nullable=False),
        sa.Column("invoice_id", sa.String(length=32), nullable=False),
        sa.CheckConstraint("charge in ('device_rental','discount')", name=op.f("ck_billed_charges_charge")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_billed_charges")),
        sa.UniqueConstraint("charge", "key", "period_start", name="uq_billed_charges_charge_key_period"),
    )
    op.create_index(
        op.f("ix_billed_charges_subscription_id"), "billed_charges", ["subscription_id"], unique=False
    )


def downgrade() -> None:
    op.drop_index(op.f("ix_billed_charges_subscription_id"), table_name="billed_charges")
    op.drop_table("billed_charges")
