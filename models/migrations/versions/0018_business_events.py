"""business_events: the transactional outbox of business events

Revision ID: 0018
Revises: 0017
Create Date: 2026-11-30 13:00:00

Every business change appends its event in the same transaction; integrators read them at /v1/events
and receive them at their webhook endpoints.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision = "0018"
down_revision = "0017"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "business_events",
        sa.Column("id", sa.String(length=32), nullable=False, comment="evt_…, sortable by time"),
        sa.Column("type", sa.String(length=64), nullable=False),
        sa.Column("organisation_id", sa.String(length=32), nullable=False),
        sa.Column("object_type", sa.String(length=32), nullable=False),
        sa.Column("object_id", sa.String(length=64), nullable=False),
        sa.Column(
            "data",
            postgresql.JSONB(astext_type=sa.Text()),
            nullable=False,
            comment="the object's snapshot",
        ),
        sa.Column("api_version", sa.String(length=16), nullable=False),
        sa.Column("occurred_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["organisation_id"],
            ["organisations.id"],
            name=op.f("fk_business_events_organisation_id_organisations"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_business_events")),
    )
    op.create_index(
        "ix_business_events_organisation_id_id", "business_events", ["organisation_id", "id"], unique=False
    )
    op.create_index("ix_business_events_object_id_id", "business_events", ["object_id", "id"], unique=False)


def downgrade() -> None:
    op.drop_index("ix_business_events_object_id_id", table_name="business_events")
    op.drop_index("ix_business_events_organisation_id_id", table_name="business_events")
    op.drop_table("business_events")
