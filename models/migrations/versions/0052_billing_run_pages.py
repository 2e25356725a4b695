"""A bill run's pages keep what each billed, written with the page's invoices.

A page retried after its first attempt committed (the worker died before Temporal recorded the
completion) was recounted: the invoices, lines and amounts from the invoices (right), the accounts from
a new look at the due accounts (wrong when the first attempt had closed a terminated subscription: no
longer due, its account was missing from the run's count). The retry now answers the page's stored
result (activities/billing/bill_run.py); the primary key refuses a second result for the same page.

Revision ID: 0052
Revises: 0051
Create Date: 2026-12-02 01:00:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects.postgresql import JSONB

revision = "0052"
down_revision = "0051"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "billing_run_pages",
        sa.Column("run_id", sa.String(32), sa.ForeignKey("billing_runs.id"), primary_key=True),
        sa.Column("until", sa.String(64), primary_key=True, comment="the page's last account id"),
        sa.Column("result", JSONB, nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
    )


def downgrade() -> None:
    op.drop_table("billing_run_pages")
