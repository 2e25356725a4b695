"""Idempotency keys store the response body as the exact JSON text sent (jsonb reordered its keys)

Revision ID: 0016
Revises: 0015
Create Date: 2026-11-30 09:00:00.000000
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision = "0016"
down_revision = "0015"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.alter_column(
        "idempotency_keys",
        "response_body",
        type_=sa.Text(),
        existing_type=postgresql.JSONB(astext_type=sa.Text()),
        existing_nullable=True,
        postgresql_using="response_body::text",
    )


def downgrade() -> None:
    op.alter_column(
        "idempotency_keys",
        "response_body",
        type_=postgresql.JSONB(astext_type=sa.Text()),
        existing_type=sa.Text(),
        existing_nullable=True,
        postgresql_using="response_body::jsonb",
    )
