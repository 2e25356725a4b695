"""segment snapshots: segment_refreshes (one row per refresh, its key) and segment_membership_changes (who
joined and who left, dated, by refresh)

Revision ID: 0029
Revises: 0026
Create Date: 2026-11-30 18:00:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0029"
down_revision = "0026"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "segment_refreshes",
        sa.Column("segment_id", sa.String(length=32), nullable=False),
        sa.Column("id", sa.String(length=200), nullable=False),
        sa.Column("as_of", sa.Date(), nullable=False, comment="the day the rule's periods are read at"),
        sa.Column("joined", sa.Integer(), nullable=False),
        sa.Column("left", sa.Integer(), nullable=False),
        sa.Column("member_count", sa.Integer(), nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["segment_id"],
            ["segments.id"],
            name=op.f("fk_segment_refreshes_segment_id_segments"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("segment_id", "id", name=op.f("pk_segment_refreshes")),
    )
    op.create_index("ix_segment_refreshes_segment", "segment_refreshes", ["segment_id", "at"])
    op.create_table(
        "segment_membership_changes",
        sa.Column("id", sa.BigInteger(), autoincrement=True, nullable=False),
        sa.Column("segment_id", sa.String(length=32), nullable=False),
        sa.Column("account_id", sa.String(length=32), nullable=False),
        sa.Column("change", sa.String(length=8), nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("refresh_id", sa.String(length=200), nullable=False),
        sa.CheckConstraint("change in ('joined','left')", name=op.f("ck_segment_membership_changes_change")),
        sa.ForeignKeyConstraint(
            ["account_id"], ["accounts.id"], name=op.f("fk_segment_membership_changes_account_id_accounts")
        ),
        sa.ForeignKeyConstraint(
            ["segment_id"],
            ["segments.id"],
            name=op.f("fk_segment_membership_changes_segment_id_segments"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_segment_membership_changes")),
    )
    op.create_index(
        "ix_segment_membership_changes_segment", "segment_membership_changes", ["segment_id", "id"]
    )
    op.create_index("ix_segment_membership_changes_account", "segment_membership_changes", ["account_id"])


def downgrade() -> None:
    op.drop_table("segment_membership_changes")
    op.drop_table("segment_refreshes")
