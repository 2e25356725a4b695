"""Monthly partitions: making the coming months, dropping raw usage past its retention, pruning keys.

Each function is one transaction's work. Locks are short and bounded (``lock_timeout``): creating or
dropping a partition takes a brief exclusive lock on its table, and a maintenance run that cannot get
it fails and is retried rather than queueing the table's writers behind it.
"""

from __future__ import annotations

from datetime import date, datetime, timedelta

from sqlalchemy import text
from sqlalchemy.orm import Session

from domain.periods import local_midnight
from domain.usage_events import MAX_AGE
from models.partitions import PARTITIONED, add_months, month_of, partition_name

LOCK_TIMEOUT = "5s"


def _bounded_locks(session: Session) -> None:
    session.execute(text(f"SET LOCAL lock_timeout = '{LOCK_TIMEOUT}'"))


def ensure_months(session: Session, on: date, ahead: int) -> list[str]:
    """Create the partitions of ``on``'s month and the ``ahead`` next ones where missing (moving rows of
    those months out of the DEFAULT partition); the names created."""
    _bounded_locks(session)
    first = on.replace(day=1)
    created = []
    for table in PARTITIONED:
        for n in range(ahead + 1):
            month = add_months(first, n)
            made = session.execute(
                text("SELECT multibill_month_partition(:table, :month)"), {"table": table, "month": month}
            ).scalar_one()
            if made:
                created.append(partition_name(table, month))
    return created


def partitions_of(session: Session, table: str) -> dict[str, date]:
    """The monthly partitions of ``table`` and the month each holds (the DEFAULT one is not listed)."""
    names = session.execute(
        text(
            "SELECT c.relname FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid "
            "WHERE i.inhparent = to_regclass(:t)"
        ),
        {"t": table},
    ).scalars()
    found = {name: month_of(name, table) for name in names}
    return {name: month for name, month in found.items() if month is not None}


def usage_cutoff(on: date, retention_months: int) -> date:
    """The first month kept: the raw usage of every month before it may go."""
    return add_months(on.replace(day=1), -retention_months)


def drop_old_usage(session: Session, on: date, retention_months: int) -> tuple[list[str], list[str]]:
    """Drop the raw usage-event months before the cut-off whose events are all rated or rejected (what
    billing needs is in ``rated_usage``); keep a month with an event still accepted or in suspense.
    (dropped, kept)."""
    _bounded_locks(session)
    cutoff = usage_cutoff(on, retention_months)
    dropped, kept = [], []
    for name, month in sorted(partitions_of(session, "usage_events").items(), key=lambda item: item[1]):
        if month >= cutoff:
            continue
        # Locked first, so no event can land in it between the check and the drop.
        session.execute(text(f'LOCK TABLE "{name}" IN ACCESS EXCLUSIVE MODE'))
        pending = session.execute(
            text(f"SELECT EXISTS (SELECT 1 FROM \"{name}\" WHERE status IN ('accepted', 'suspense'))")  # noqa: S608
        ).scalar_one()
        if pending:
            kept.append(name)
            continue
        session.execute(text(f'DROP TABLE "{name}"'))
        dropped.append(name)
    return dropped, kept


def keys_cutoff(on: date) -> datetime:
    """Keys of events started before this can go: such an event is refused as too old (``MAX_AGE``)
    before its key is looked at, so it cannot be stored twice (a day of margin)."""
    return local_midnight(on, "UTC") - MAX_AGE - timedelta(days=1)


def prune_keys_batch(session: Session, before: datetime, batch_size: int) -> int:
    """Delete up to ``batch_size`` usage-event keys of events started before ``before``; how many."""
    _bounded_locks(session)
    result = session.execute(
        text(
            "DELETE FROM usage_event_keys WHERE (organisation_id, client_event_id) IN ("
            "SELECT organisation_id, client_event_id FROM usage_event_keys WHERE started_at < :before "
            "LIMIT :n)"
        ),
        {"before": before, "n": batch_size},
    )
    return int(result.rowcount or 0)  # type: ignore[attr-defined]
