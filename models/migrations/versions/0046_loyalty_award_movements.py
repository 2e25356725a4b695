"""A points award names its earn movement; one movement per account and run (issue #17, benchmark).

LoyaltyAward now credits a run's points awards with ONE earn movement per account (the sum of the
account's new awards), and each award names that movement in ``loyalty_awards.movement_id``
(activities/loyalty/run_points.py). Existing data is converted: every applied points award gets the
movement that credited it, the one keyed ``award:<its id>`` (one movement per award until now).

No index on the column (a movement's awards are found through the account's awards) and no foreign
key (a per-row check on the run's largest statement; the movement is written from the very rows that
name it, in the same statement).

Revision ID: 0046
Revises: 0045
Create Date: 2026-12-01 00:40:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0046"
down_revision = "0045"
branch_labels = None
depends_on = None

BACKFILL = """
UPDATE loyalty_awards a SET movement_id = m.id
FROM loyalty_point_movements m
WHERE m.idempotency_key = 'award:' || a.id AND a.kind = 'points' AND a.movement_id IS NULL
"""


def upgrade() -> None:
    op.add_column(
        "loyalty_awards",
        sa.Column(
            "movement_id",
            sa.String(32),
            nullable=True,
            comment="points: the earn movement that credited them (one per account and run)",
        ),
    )
    op.execute(BACKFILL)


def downgrade() -> None:
    op.drop_column("loyalty_awards", "movement_id")
