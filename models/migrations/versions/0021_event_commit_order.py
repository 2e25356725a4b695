"""business_events: the writing transaction's id (txid), so webhook fan-out reads events in commit-safe order

Revision ID: 0021
Revises: 0020
Create Date: 2026-11-30 14:50:00

Event ids are made when a change is written, but a transaction that took its ids earlier can commit
later (a bill run's pages run in parallel): a reader that walks events by id can pass one that is not yet
committed and never see it. Each event now records ``pg_current_xact_id()``; the fan-out walks
(txid, id) up to the oldest transaction still running (``pg_snapshot_xmin``), below which every
transaction has ended, so nothing is skipped and nothing waits on a clock.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0021"
down_revision = "0020"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.execute(
        "alter table business_events add column txid xid8 not null default pg_current_xact_id()"
    )
    op.execute(
        "comment on column business_events.txid is "
        "'the writing transaction: fan-out walks (txid, id) below the oldest running one'"
    )
    op.create_index("ix_business_events_txid_id", "business_events", [sa.text("txid"), "id"])


def downgrade() -> None:
    op.drop_index("ix_business_events_txid_id", table_name="business_events")
    op.drop_column("business_events", "txid")
