"""Pending charges by subscription: ``GET /v1/subscriptions/{id}`` lists a subscription's pending charges
(``where subscription_id = … order by created_at``), which had no index but the account's: a sequential
scan of the whole table per read once it holds an operator's one-off fees and change charges.

Revision ID: 0049
Revises: 0048
Create Date: 2026-12-01 07:55:00
"""

from __future__ import annotations

from alembic import op

revision = "0049"
down_revision = "0048"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_index(
        "ix_pending_charges_subscription", "pending_charges", ["subscription_id", "created_at"], unique=False
    )


def downgrade() -> None:
    op.drop_index("ix_pending_charges_subscription", table_name="pending_charges")
