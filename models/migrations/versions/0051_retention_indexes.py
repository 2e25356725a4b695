"""Rows that only grew are pruned: indexes on the time each is pruned by.

Every POST stores its response under its Idempotency-Key (usage loaders send one a batch), an app writes
an ``oauth_tokens`` row every refresh, and one-time links and authorization codes were never deleted.
The daily PartitionMaintenance now deletes keys older than ``MULTIBILL_IDEMPOTENCY_RETENTION_DAYS`` (30)
and credentials a day after they expired, oldest first, in batches (activities/maintenance/retention.py):
these indexes find them.

Revision ID: 0051
Revises: 0050
Create Date: 2026-12-01 20:00:00
"""

from __future__ import annotations

from alembic import op

revision = "0051"
down_revision = "0050"
branch_labels = None
depends_on = None

INDEXES = (
    ("ix_idempotency_keys_created_at", "idempotency_keys", "created_at"),
    ("ix_subscriber_login_links_expires_at", "subscriber_login_links", "expires_at"),
    ("ix_oauth_codes_expires_at", "oauth_codes", "expires_at"),
    ("ix_oauth_tokens_refresh_expires_at", "oauth_tokens", "refresh_expires_at"),
)


def upgrade() -> None:
    for name, table, column in INDEXES:
        op.create_index(name, table, [column])


def downgrade() -> None:
    for name, table, _ in INDEXES:
        op.drop_index(name, table_name=table)
