"""RADIUS accounting (radacct Start / Interim-Update / Stop) → data events per subscriber.

Counters in accounting records are totals since the session started (octets = gigawords * 2^32 +
octets, input + output). The last totals seen per (user, session) are kept, so each Interim-Update or
Stop becomes one ``data`` event carrying only the increase (bytes, and session seconds as
``duration``). A repeated or out-of-order record adds nothing; its event id is derived from the
totals, so even a replay that slips through is stored once. ``User-Name`` is the subscriber (an alias).
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import select
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.orm import Session

from activities.usage.ingestion import IngestReport, Rejection, store_events
from domain.usage_events import EventRejected, NewEvent, check_event
from models.usage import RadiusSession

STATUS_TYPES = {"start": "start", "interim-update": "interim", "alive": "interim", "stop": "stop"}


def _count(record: dict[str, Any], name: str) -> int:
    value = record.get(name, 0)
    if isinstance(value, bool) or (isinstance(value, str) and not value.strip().isdigit()):
        raise EventRejected("malformed", f"{name} must be a non-negative whole number")
    if not isinstance(value, int | str):
        raise EventRejected("malformed", f"{name} must be a non-negative whole number")
    number = int(value)
    if number < 0:
        raise EventRejected("quantity_negative", f"{name} must not be negative")
    return number


def _timestamp(record: dict[str, Any], now: datetime) -> datetime:
    value = record.get("Event-Timestamp")
    if value is None or value == "":
        return now
    if isinstance(value, int) or (isinstance(value, str) and value.isdigit()):
        return datetime.fromtimestamp(int(value), UTC)
    if isinstance(value, str):
        try:
            at = datetime.fromisoformat(value)
        except ValueError:
            raise EventRejected("malformed", f"Event-Timestamp {value[:40]!r} is not a time") from None
        return at if at.tzinfo else at.replace(tzinfo=UTC)
    raise EventRejected("malformed", "Event-Timestamp must be epoch seconds or ISO 8601")


def _session_row(session: Session, org: str, user: str, session_id: str, started: datetime) -> RadiusSession:
    session.execute(
        insert(RadiusSession)
        .values(
            organisation_id=org,
            user_name=user,
            session_id=session_id,
            octets=0,
            session_time=0,
            records=0,
            stopped=False,
            started_at=started,
        )
        .on_conflict_do_nothing()
    )
    return session.execute(
        select(RadiusSession)
        .where(
            RadiusSession.organisation_id == org,
            RadiusSession.user_name == user,
            RadiusSession.session_id == session_id,
        )
        .with_for_update()
    ).scalar_one()


def _event(org: str, record: dict[str, Any], row: RadiusSession, now: datetime) -> NewEvent | None:
    octets = (
        (_count(record, "Acct-Input-Gigawords") << 32)
        + _count(record, "Acct-Input-Octets")
        + (_count(record, "Acct-Output-Gigawords") << 32)
        + _count(record, "Acct-Output-Octets")
    )
    seconds = _count(record, "Acct-Session-Time")
    at = _timestamp(record, now)
    row.records += 1
    if octets <= row.octets and seconds <= row.session_time:
        return None  # a repeat or an older record: nothing new
    delta_octets, delta_time = max(0, octets - row.octets), max(0, seconds - row.session_time)
    totals = (max(octets, row.octets), max(seconds, row.session_time))
    key = f"{org}|{row.user_name}|{row.session_id}|{totals[0]}|{totals[1]}"
    raw = {
        "client_event_id": "radius:" + hashlib.sha256(key.encode()).hexdigest()[:40],
        "subscriber": row.user_name,
        "event_type": "data",
        "quantity": delta_octets,
        "duration": delta_time,
        "started_at": (at - timedelta(seconds=delta_time)).isoformat(),
    }
    event = check_event(raw, now)  # a refused record leaves the counters as they were
    row.octets, row.session_time = totals
    return event


def ingest_radius(
    session: Session, organisation_id: str, records: Sequence[Any], now: datetime | None = None
) -> dict[str, Any]:
    """Turn accounting records into data events (deltas), store them; report stale and bad records."""
    now = now or datetime.now(UTC)
    report = IngestReport(received=len(records))
    events: list[NewEvent] = []
    stale = 0
    for index, record in enumerate(records):
        try:
            if not isinstance(record, dict):
                raise EventRejected("malformed", "a record must be an object of RADIUS attributes")
            kind = STATUS_TYPES.get(str(record.get("Acct-Status-Type", "")).strip().lower())
            user = str(record.get("User-Name") or "").strip()
            session_id = str(record.get("Acct-Session-Id") or "").strip()
            if kind is None or not user or not session_id or len(user) > 128 or len(session_id) > 128:
                raise EventRejected(
                    "malformed",
                    "needs Acct-Status-Type (Start/Interim-Update/Stop), User-Name, Acct-Session-Id",
                )
            started = _timestamp(record, now) - timedelta(seconds=_count(record, "Acct-Session-Time"))
            row = _session_row(session, organisation_id, user, session_id, started)
            event = None if kind == "start" else _event(organisation_id, record, row, now)
            if kind == "stop":
                row.stopped = True
            if event is None:
                stale += kind != "start"
            else:
                events.append(event)
        except EventRejected as exc:
            client = record.get("Acct-Session-Id") if isinstance(record, dict) else None
            report.rejected.append(Rejection(index, str(client) if client else None, exc.code, exc.message))
    store_events(session, organisation_id, events, "radius", report)
    return {**report.as_dict(), "events": len(events), "stale": stale}
