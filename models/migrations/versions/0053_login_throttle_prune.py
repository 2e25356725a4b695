"""Login throttles are pruned: an index on the time a throttle row was last touched.

``subscriber_login_throttles`` keeps a row per e-mail and per client address a login was tried with,
registered or not, so an attacker inventing addresses grew it without end. The daily
PartitionMaintenance now deletes rows no attempt touched for two days (activities/maintenance/
retention.py): this index finds them.

Revision ID: 0053
Revises: 0052
Create Date: 2026-12-02 04:30:00
"""

from __future__ import annotations

from alembic import op

revision = "0053"
down_revision = "0052"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_index(
        "ix_subscriber_login_throttles_updated_at", "subscriber_login_throttles", ["updated_at"]
    )


def downgrade() -> None:
    op.drop_index("ix_subscriber_login_throttles_updated_at", table_name="subscriber_login_throttles")
