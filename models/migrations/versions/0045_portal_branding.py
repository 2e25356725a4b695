"""Operators' portal branding and the portal hosts that answer for each operator.

Revision ID: 0045
Revises: 0041
Create Date: 2026-12-01 01:00:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision = "0045"
down_revision = "0044"
branch_labels = None
depends_on = None

_TS = sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "portal_brandings",
        sa.Column(
            "organisation_id", sa.String(32), sa.ForeignKey("organisations.id"), primary_key=True
        ),
        sa.Column("name", sa.String(100), nullable=False),
        sa.Column("logo_url", sa.String(500)),
        sa.Column("logo_type", sa.String(40)),
        sa.Column("logo_data", sa.LargeBinary()),
        sa.Column("colours", postgresql.JSONB(), nullable=False),
        sa.Column("font_family", sa.String(200), nullable=False),
        sa.Column("footer_links", postgresql.JSONB(), nullable=False),
        sa.Column("support_email", sa.String(320)),
        sa.Column("support_phone", sa.String(40)),
        sa.Column("support_hours", sa.String(100)),
        sa.Column("default_language", sa.String(2), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("updated_at", _TS, nullable=False),
        sa.CheckConstraint(
            "default_language in ('en','es')", name=op.f("ck_portal_brandings_default_language")
        ),
        sa.CheckConstraint("version >= 1", name=op.f("ck_portal_brandings_version")),
    )
    op.create_table(
        "portal_hosts",
        sa.Column("host", sa.String(253), primary_key=True),
        sa.Column(
            "organisation_id",
            sa.String(32),
            sa.ForeignKey("portal_brandings.organisation_id"),
            nullable=False,
        ),
        sa.CheckConstraint("host = lower(host)", name=op.f("ck_portal_hosts_host_lower")),
    )


def downgrade() -> None:
    op.drop_table("portal_hosts")
    op.drop_table("portal_brandings")
