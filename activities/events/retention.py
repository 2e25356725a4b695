"""Pruning business events past their retention: one batch per transaction, oldest first.

Event ids sort by time (48 bits of milliseconds first), so the batch is found on the primary key:
every id below the smallest id of the cut-off's millisecond is older than the cut-off.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from domain.ids import new_id
from models.events import EventRecord

_TIME_CHARS = len("evt_") + 10  # the prefix and the 10 characters of the id's millisecond


def first_id_at(moment: datetime) -> str:
    """The smallest event id of ``moment``'s millisecond: every smaller id was recorded before it."""
    stamp = new_id("evt", now_ms=int(moment.timestamp() * 1000))
    return stamp[:_TIME_CHARS] + "0" * (len(stamp) - _TIME_CHARS)


def prune_batch(session: Session, before: datetime, batch_size: int) -> int:
    """Delete up to ``batch_size`` of the oldest events recorded before ``before``; how many."""
    oldest = (
        select(EventRecord.id)
        .where(EventRecord.id < first_id_at(before))
        .order_by(EventRecord.id)
        .limit(batch_size)
    )
    result = session.execute(delete(EventRecord).where(EventRecord.id.in_(oldest.scalar_subquery())))
    return int(result.rowcount or 0)  # type: ignore[attr-defined]
