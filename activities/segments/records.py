"""An organisation's segments: create, edit, delete, read; their members and changes by page; a preview of a
rule. One transaction each (the caller's session)."""

from __future__ import annotations

import base64
import binascii
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from activities.segments.compiler import members, scope_for
from activities.shared.pagination import decode_cursor, encode_cursor
from domain import segments as rules
from domain.errors import Conflict, RuleViolation
from domain.ids import is_valid_id, new_id
from domain.principal import Principal
from models.base import utcnow
from models.segments import Segment, SegmentMember, SegmentMembershipChange

SAMPLE = 20


@dataclass(frozen=True)
class SegmentSpec:
    code: str
    name: str
    description: str | None
    rules: dict[str, Any]


def create_segment(session: Session, principal: Principal, spec: SegmentSpec) -> Segment:
    """A new segment of the caller's organisation (its code unique there: else ``segment_code_taken``)."""
    taken = session.execute(
        select(Segment.id).where(
            Segment.organisation_id == principal.organisation_id, Segment.code == spec.code
        )
    ).first()
    if taken is not None:
        raise Conflict("segment_code_taken", f"a segment with code {spec.code!r} exists", field="code")
    segment = Segment(
        id=new_id("seg"),
        organisation_id=principal.organisation_id,
        code=spec.code,
        name=spec.name,
        description=spec.description,
        rules=rules.rule_json(rules.parse_rule(spec.rules)),
        member_count=0,
        created_at=utcnow(),
    )
    session.add(segment)
    session.flush()
    return segment


def find_segment(
    session: Session, principal: Principal, segment_id: str, *, lock: bool = False
) -> Segment | None:
    """The caller's organisation's segment ``segment_id``, else None."""
    if not is_valid_id(segment_id, "seg"):
        return None
    segment = session.get(Segment, segment_id, with_for_update=lock)
    if segment is None or segment.organisation_id != principal.organisation_id:
        return None
    return segment


def list_segments(
    session: Session, principal: Principal, *, after: str | None, limit: int
) -> tuple[Sequence[Segment], str | None]:
    """A page of the caller's organisation's segments, oldest first, and the next page's cursor."""
    stmt = select(Segment).where(Segment.organisation_id == principal.organisation_id).order_by(Segment.id)
    if after:
        stmt = stmt.where(Segment.id > decode_cursor(after, "seg"))
    rows = list(session.execute(stmt.limit(limit + 1)).scalars())
    return rows[:limit], encode_cursor(rows[limit - 1].id) if len(rows) > limit else None


def update_segment(segment: Segment, changes: dict[str, Any]) -> Segment:
    """Apply the given changes (name, description, rules); new rules take effect at the next refresh."""
    if "rules" in changes:
        segment.rules = rules.rule_json(rules.parse_rule(changes["rules"]))
    if "name" in changes:
        segment.name = changes["name"]
    if "description" in changes:
        segment.description = changes["description"]
    return segment


def segment_ids_page(session: Session, organisation_id: str, after: str | None, limit: int) -> list[str]:
    """Ids of an organisation's segments after ``after``, in order (a refresh run's page)."""
    stmt = select(Segment.id).where(Segment.organisation_id == organisation_id).order_by(Segment.id)
    if after:
        stmt = stmt.where(Segment.id > after)
    return list(session.execute(stmt.limit(limit)).scalars())


@dataclass(frozen=True)
class Preview:
    count: int
    sample: list[str]


def preview(session: Session, principal: Principal, rule_data: Any, as_of: date) -> Preview:
    """How many of the caller's subtree's accounts the rule selects on ``as_of``, and the first
    ``SAMPLE`` of them by id. Writes nothing."""
    rule = rules.parse_rule(rule_data)
    query = members(rule, scope_for(session, principal.organisation_path, as_of)).subquery()
    # One pass: the count is a window over every member, the sample the first ids of a top-N sort.
    stmt = select(query.c.id, func.count().over()).order_by(query.c.id).limit(SAMPLE)
    rows = session.execute(stmt).all()
    return Preview(int(rows[0][1]) if rows else 0, [row[0] for row in rows])


def member_page(
    session: Session, segment: Segment, *, after: str | None, limit: int
) -> tuple[Sequence[SegmentMember], str | None]:
    stmt = (
        select(SegmentMember).where(SegmentMember.segment_id == segment.id).order_by(SegmentMember.account_id)
    )
    if after:
        stmt = stmt.where(SegmentMember.account_id > decode_cursor(after, "acc"))
    rows = list(session.execute(stmt.limit(limit + 1)).scalars())
    return rows[:limit], encode_cursor(rows[limit - 1].account_id) if len(rows) > limit else None


def _change_cursor(cursor: str) -> int:
    try:
        value = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)).decode()
        if value.startswith("chg_") and value[4:].isdigit():
            return int(value[4:])
    except (binascii.Error, UnicodeDecodeError, ValueError):
        pass
    raise RuleViolation("invalid_cursor", "cursor is not one this API returned", field="cursor")


def change_page(
    session: Session, segment: Segment, *, after: str | None, limit: int
) -> tuple[Sequence[SegmentMembershipChange], str | None]:
    """The segment's joiners and leavers, oldest first."""
    stmt = (
        select(SegmentMembershipChange)
        .where(SegmentMembershipChange.segment_id == segment.id)
        .order_by(SegmentMembershipChange.id)
    )
    if after:
        stmt = stmt.where(SegmentMembershipChange.id > _change_cursor(after))
    rows = list(session.execute(stmt.limit(limit + 1)).scalars())
    more = len(rows) > limit
    cursor = (
        base64.urlsafe_b64encode(f"chg_{rows[limit - 1].id}".encode()).decode().rstrip("=") if more else None
    )
    return rows[:limit], cursor
