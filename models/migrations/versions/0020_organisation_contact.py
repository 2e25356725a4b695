"""organisations: a contact email, where the platform tells an organisation about its own set-up
(a webhook endpoint disabled after failing for days)

Revision ID: 0020
Revises: 0019
Create Date: 2026-11-30 14:40:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0020"
down_revision = "0019"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column(
        "organisations",
        sa.Column(
            "contact_email",
            sa.String(length=254),
            nullable=True,
            comment="where the platform writes to the organisation (disabled webhook endpoints…)",
        ),
    )


def downgrade() -> None:
    op.drop_column("organisations", "contact_email")
