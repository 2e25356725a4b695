"""Usage events lose their (organisation, client event id) index: nothing reads it.

"Stored once per client event id" is guarded by ``usage_event_keys``' primary key on the same pair,
written in the same statement as the event (migration 0022 moved it there when ``usage_events`` was
partitioned by month, and kept this non-unique index beside it). No query looks events up by client
id, and every ingested event paid for the index: with 8 clients posting 1,000-event batches it cost
PostgreSQL 15-20% of its insert throughput (a /tmp harness, 2026-12-02: ~57k against ~70k events/s).
It was also the only index leading with ``organisation_id``: deleting an organisation would now scan
``usage_events`` for its foreign key, but nothing deletes organisations (they are closed, not removed).

Revision ID: 0054
Revises: 0053
Create Date: 2026-12-02 07:40:00
"""

from __future__ import annotations

from alembic import op

revision = "0054"
down_revision = "0053"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.execute("DROP INDEX IF EXISTS ix_usage_events_client_id")  # the partitions' copies go with it


def downgrade() -> None:
    op.execute(
        "CREATE INDEX IF NOT EXISTS ix_usage_events_client_id ON usage_events (organisation_id, client_event_id)"
    )
