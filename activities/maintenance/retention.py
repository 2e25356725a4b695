"""Pruning rows that only grow: stored responses past their Idempotency-Key retention, and credentials
long expired.

Every POST stores its response under its (organisation, Idempotency-Key) for a repeat of the request
(``api/idempotency.py``); usage loaders alone write one a batch. A key is kept
``MULTIBILL_IDEMPOTENCY_RETENTION_DAYS`` (30 by default: longer than a client's retries and than Temporal
keeps a closed process, whose id may be derived from the key); a key sent again after that is a new
request.

The subscriber's one-time links, the app's authorization codes and its tokens (a row per refresh: an app
in use writes one every 15 minutes) are refused once expired; they are deleted a day after
(``EXPIRED_GRACE``), so a support question about a link that "did not work" still finds it that day. A
rotated refresh token presented again revokes its installation (activities/identity/oauth.py); once
pruned, the same token is simply refused: it expired 90 days after it was issued anyway.

Login throttles (activities/identity/throttle.py) keep a row per e-mail and per client address ever tried,
known or not: a password-spraying attack writes one per address it invents. A row no attempt has
touched for ``THROTTLE_IDLE`` (the longest lock, a day, plus the day's grace) holds no lock any more and
is deleted; its lockout count, which lengthens the next lock, starts again from nothing.

One batch per transaction, oldest first, each table's prune found on its own index (migration 0051);
rows another transaction holds are skipped, never waited for.
"""

from __future__ import annotations

from datetime import date, datetime, timedelta

from sqlalchemy import text
from sqlalchemy.orm import Session

from activities.identity.throttle import MAX_LOCK
from domain.periods import local_midnight

EXPIRED_GRACE = timedelta(days=1)
THROTTLE_IDLE = MAX_LOCK + EXPIRED_GRACE  # a lock lasts at most MAX_LOCK from the row's last update

# table: (its key columns, the time column past which a row can go)
PRUNED: dict[str, tuple[str, str]] = {
    "idempotency_keys": ("organisation_id, key", "created_at"),
    "subscriber_login_links": ("id", "expires_at"),
    "oauth_codes": ("id", "expires_at"),
    "oauth_tokens": ("id", "refresh_expires_at"),
    "subscriber_login_throttles": ("key", "updated_at"),
}


def idempotency_cutoff(on: date, retention_days: int) -> datetime:
    """Keys stored before this moment are past their retention on the day ``on`` (UTC midnight)."""
    return local_midnight(on, "UTC") - timedelta(days=retention_days)


def expired_cutoff(on: date) -> datetime:
    """Credentials that expired before this moment are deleted on the day ``on``."""
    return local_midnight(on, "UTC") - EXPIRED_GRACE


def throttle_cutoff(on: date) -> datetime:
    """Login throttles last updated before this moment are deleted on the day ``on``."""
    return local_midnight(on, "UTC") - THROTTLE_IDLE


def prune_batch(session: Session, table: str, before: datetime, batch_size: int) -> int:
    """Delete up to ``batch_size`` of ``table``'s oldest rows whose time column is before ``before``."""
    keys, column = PRUNED[table]
    result = session.execute(
        text(
            f"DELETE FROM {table} WHERE ({keys}) IN ("  # noqa: S608 - names from PRUNED only
            f"SELECT {keys} FROM {table} WHERE {column} < :before "
            f"ORDER BY {column} LIMIT :n FOR UPDATE SKIP LOCKED)"
        ),
        {"before": before, "n": batch_size},
    )
    return int(result.rowcount or 0)  # type: ignore[attr-defined]
