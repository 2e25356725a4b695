"""Accounts: an optional date of birth (a person's, where given), for segments' age bands.

Revision ID: 0039
Revises: 0037
Create Date: 2026-11-30 21:20:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0039"
down_revision = "0037"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column("accounts", sa.Column("birth_date", sa.Date(), nullable=True))
    op.create_check_constraint(op.f("ck_accounts_birth_date"), "accounts", "birth_date >= date '1900-01-01'")


def downgrade() -> None:
    op.drop_constraint(op.f("ck_accounts_birth_date"), "accounts", type_="check")
    op.drop_column("accounts", "birth_date")
