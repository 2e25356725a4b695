"""Idempotency-Keys past their retention are pruned: an index on ``idempotency_keys.created_at``.

Every POST stores its response under its Idempotency-Key, and usage loaders send one a batch, so the
table grew for ever. The daily PartitionMaintenance now deletes the keys older than
``MULTIBILL_IDEMPOTENCY_RETENTION_DAYS`` (30), oldest first, in batches: this index finds them.

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


def upgrade() -> None:
    op.create_index("ix_idempotency_keys_created_at", "idempotency_keys", ["created_at"])


def downgrade() -> None:
    op.drop_index("ix_idempotency_keys_created_at", table_name="idempotency_keys")
