"""Refresh a segment: compute its members in one query, diff them with ``segment_members`` in SQL, write the
joiners and leavers as a dated snapshot, and update the count, all in the caller's one transaction.

A refresh is named by its key (``refresh_id``): the segment row is locked first, so two refreshes of a
segment run one after the other, and a refresh whose key is already in ``segment_refreshes`` returns what it
did the first time and writes nothing (a retried activity, a repeated request).

The members are computed once into a temporary table (``ON COMMIT DROP``) with a primary key, then:
joiners = new minus current, leavers = current minus new, each an ``INSERT … SELECT`` of changes and a bulk
``INSERT``/``DELETE`` of members. No row travels to Python.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from sqlalchemy import Column, MetaData, String, Table, delete, func, insert, literal, select, update
from sqlalchemy.orm import Session

from activities.events.outbox import record
from activities.segments.compiler import Scope, members, scope_for
from domain import segments as rules
from domain.events import BusinessEvent
from models.base import utcnow
from models.organisations import Organisation
from models.segments import Segment, SegmentMember, SegmentMembershipChange, SegmentRefresh

_NEW = Table(
    "segment_refresh_members",
    MetaData(),
    Column("account_id", String(32), primary_key=True),
    prefixes=["TEMPORARY"],
    postgresql_on_commit="DROP",
)


@dataclass(frozen=True)
class Refreshed:
    refresh_id: str
    segment_id: str
    as_of: date
    joined: int
    left: int
    member_count: int
    at: datetime
    repeated: bool = False


class SegmentGone(LookupError):
    """The segment was deleted (a refresh of it has nothing to do)."""


def scope_of(session: Session, segment: Segment, as_of: date) -> Scope:
    path = session.execute(
        select(Organisation.path).where(Organisation.id == segment.organisation_id)
    ).scalar_one()
    return scope_for(session, path, as_of)


def _done(row: SegmentRefresh, repeated: bool) -> Refreshed:
    return Refreshed(
        row.id, row.segment_id, row.as_of, row.joined, row.left, row.member_count, row.at, repeated
    )


def refresh_segment(session: Session, segment_id: str, refresh_id: str, as_of: date) -> Refreshed:
    """Bring the segment's members up to ``as_of``; once per ``refresh_id``."""
    segment = session.get(Segment, segment_id, with_for_update=True)
    if segment is None:
        raise SegmentGone(segment_id)
    seen = session.get(SegmentRefresh, (segment_id, refresh_id))
    if seen is not None:
        return _done(seen, repeated=True)
    rule = rules.parse_rule(segment.rules)
    at = utcnow()
    conn = session.connection()
    _NEW.create(conn)
    conn.execute(insert(_NEW).from_select(["account_id"], members(rule, scope_of(session, segment, as_of))))
    current = select(SegmentMember.account_id).where(SegmentMember.segment_id == segment_id)
    joiners = select(_NEW.c.account_id).where(_NEW.c.account_id.not_in(current))
    leavers = current.where(SegmentMember.account_id.not_in(select(_NEW.c.account_id)))
    joined = _changes(conn, segment_id, refresh_id, at, "joined", joiners)
    left = _changes(conn, segment_id, refresh_id, at, "left", leavers)
    if left:
        conn.execute(
            delete(SegmentMember).where(
                SegmentMember.segment_id == segment_id,
                SegmentMember.account_id.not_in(select(_NEW.c.account_id)),
            )
        )
    if joined:
        conn.execute(
            insert(SegmentMember).from_select(
                ["segment_id", "account_id", "joined_at"],
                select(literal(segment_id), _NEW.c.account_id, literal(at)).where(
                    _NEW.c.account_id.not_in(current)
                ),
            )
        )
    count = conn.execute(select(func.count()).select_from(_NEW)).scalar_one()
    _NEW.drop(conn)
    conn.execute(update(Segment).where(Segment.id == segment_id).values(member_count=count, refreshed_at=at))
    row = SegmentRefresh(
        id=refresh_id, segment_id=segment_id, as_of=as_of, joined=joined, left=left, member_count=count, at=at
    )
    session.add(row)
    record(session, BusinessEvent("segment.refreshed", segment.organisation_id, "segment", segment_id, {
        "id": segment_id, "object": "segment", "code": segment.code, "refresh_id": refresh_id,
        "as_of": as_of.isoformat(), "joined": joined, "left": left, "member_count": count,
    }))  # fmt: skip
    session.flush()
    session.expire(segment)
    return _done(row, repeated=False)


def _changes(conn: Any, segment_id: str, refresh_id: str, at: datetime, change: str, who: Any) -> int:
    """Record ``who`` (a one-column select of account ids) as having ``change``d; how many."""
    sub = who.subquery()
    account = next(iter(sub.c))
    rows = select(literal(segment_id), account, literal(change), literal(at), literal(refresh_id))
    result = conn.execute(
        insert(SegmentMembershipChange).from_select(
            ["segment_id", "account_id", "change", "at", "refresh_id"], rows
        )
    )
    return int(result.rowcount)
