"""Provisioning callbacks: the MVNO host's order outcomes received on /v1/provisioning/callbacks/mvno, each
recorded once (unique per adapter and event: the host order id and its final status).

Revision ID: 0037
Revises: 0035
Create Date: 2026-11-30 21:30:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision = "0037"
down_revision = "0035"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "provisioning_callbacks",
        sa.Column("id", sa.BigInteger(), autoincrement=True, nullable=False),
        sa.Column("adapter", sa.String(length=64), nullable=False),
        sa.Column(
            "event_id",
            sa.String(length=255),
            nullable=False,
            comment="the platform's order id and final status",
        ),
        sa.Column(
            "order_ref",
            sa.String(length=300),
            nullable=False,
            comment="our idempotency key as the platform has it",
        ),
        sa.Column("provisioning_order_id", sa.String(length=32), nullable=True),
        sa.Column("payload", postgresql.JSONB(astext_type=sa.Text()), nullable=False),
        sa.Column("outcome", sa.String(length=64), nullable=False),
        sa.Column("copies", sa.Integer(), nullable=False, comment="how many times it was delivered"),
        sa.Column("received_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_provisioning_callbacks")),
    )
    op.create_index(
        "uq_provisioning_callbacks_event", "provisioning_callbacks", ["adapter", "event_id"], unique=True
    )
    op.create_index(
        "ix_provisioning_callbacks_order", "provisioning_callbacks", ["provisioning_order_id"], unique=False
    )


def downgrade() -> None:
    op.drop_index("ix_provisioning_callbacks_order", table_name="provisioning_callbacks")
    op.drop_index("uq_provisioning_callbacks_event", table_name="provisioning_callbacks")
    op.drop_table("provisioning_callbacks")
