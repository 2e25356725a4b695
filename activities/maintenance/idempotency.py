"""Pruning stored responses of requests past their Idempotency-Key retention.

Every POST stores its response under its (organisation, Idempotency-Key) for a repeat of the request
(``api/idempotency.py``); usage loaders alone write one a batch, so the table would grow for ever. A key
is kept ``MULTIBILL_IDEMPOTENCY_RETENTION_DAYS`` (30 by default: longer than a client's retries and than
Temporal keeps a closed process, whose id may be derived from the key); a key sent again after that is a
new request. One batch per transaction, oldest first, found on ``ix_idempotency_keys_created_at``.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta

from sqlalchemy import text
from sqlalchemy.orm import Session


def idempotency_cutoff(on: date, retention_days: int) -> datetime:
    """Keys stored before this moment are past their retention on the day ``on`` (UTC midnight)."""
    return datetime.combine(on, time(), tzinfo=UTC) - timedelta(days=retention_days)


def prune_idempotency_batch(session: Session, before: datetime, batch_size: int) -> int:
    """Delete up to ``batch_size`` of the oldest idempotency keys stored before ``before``; how many.
    A key another transaction holds (its request still running) is skipped, never waited for."""
    result = session.execute(
        text(
            "DELETE FROM idempotency_keys WHERE (organisation_id, key) IN ("
            "SELECT organisation_id, key FROM idempotency_keys WHERE created_at < :before "
            "ORDER BY created_at LIMIT :n FOR UPDATE SKIP LOCKED)"
        ),
        {"before": before, "n": batch_size},
    )
    return int(result.rowcount or 0)  # type: ignore[attr-defined]
