"""A terminated subscription a bill run found fully billed: ``subscriptions.fully_billed_to``.

``terminated`` stays a billable status (a final period in arrears, a late charge or late usage still
fall due), so every subscription an operator ever lost was loaded and drafted by every run, for ever
(as many lost as live subscriptions made a run ~40% slower). A run now records the end date of a
terminated subscription when nothing more can fall due for it, and later runs pass it by unless a
pending charge or open rated usage appears for it (``activities.billing.page_data.billable``).

Revision ID: 0050
Revises: 0049
Create Date: 2026-12-01 17:00:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0050"
down_revision = "0049"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column(
        "subscriptions",
        sa.Column(
            "fully_billed_to",
            sa.Date(),
            nullable=True,
            comment="the end_date of this terminated subscription when a bill run found nothing more could "
            "fall due (bill runs pass it by until a pending charge or open rated usage appears for it)",
        ),
    )


def downgrade() -> None:
    op.drop_column("subscriptions", "fully_billed_to")
