"""Usage ingestion: check each event, resolve its subscriber, store it once per client event id.

A batch is checked event by event (a bad one is reported with its reason, the rest are kept), the
subscribers are resolved in three queries, and the rows are streamed with ``COPY`` into a temporary
table of the session (emptied at commit), then go in as one statement that first claims each
(organisation, client event id) in ``usage_event_keys`` (``ON CONFLICT DO NOTHING``) and inserts the
events whose key was new: the same id is stored once, whatever the batch, the month, the retry or the
restart. Keys are claimed in client-id order so concurrent batches with overlapping ids cannot
deadlock. (``COPY`` replaced a multi-row ``VALUES`` built by ``execute_values``: its per-row
``mogrify`` was the largest Python cost of a batch after the phone numbers; see ``bench.rating``.)
An unknown subscriber is stored in ``suspense`` (nothing is lost); fix it with an alias
(:func:`add_alias`) and retry the event.

Dialled destinations are stored in E.164 (national numbers get the country of the subscriber's account,
else the operator's; see :mod:`domain.usage_numbers`), the number as sent in ``destination_raw``.
Aliases that are phone numbers are stored and looked up in E.164 the same way, in the operator's region.
"""

from __future__ import annotations

import io
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import select, text
from sqlalchemy.orm import Session

from activities.usage.numbers import (
    OrganisationScope,
    organisation_region,
    organisation_scope,
    subscription_regions,
)
from domain.errors import NotFound
from domain.usage_events import EventRejected, NewEvent, check_event
from domain.usage_numbers import alias_key, stored_destination
from models.bulk import escape
from models.organisations import Organisation
from models.usage import SubscriberAlias

MAX_BATCH = 10_000
_COLUMNS = (
    "organisation_id, client_event_id, subscriber, subscription_id, service_id, event_type, metric, "
    "quantity, duration, started_at, destination, destination_raw, source, status, reason, detail, attempts"
)
_STAGING = "usage_events_incoming"
_CREATE_STAGING = (
    f"CREATE TEMPORARY TABLE IF NOT EXISTS {_STAGING} (organisation_id text, client_event_id text, "
    "subscriber text, subscription_id text, service_id text, event_type text, metric text, "
    "quantity bigint, duration bigint, started_at timestamptz, destination text, destination_raw text, "
    "source text, status text, reason text, detail text, attempts integer) ON COMMIT DELETE ROWS"
)
_PREPARE_STAGING = f"{_CREATE_STAGING}; DELETE FROM {_STAGING}"  # noqa: S608 - constant name
_COPY = f"COPY {_STAGING} ({_COLUMNS}) FROM STDIN"
_COPY_CHUNK = 1 << 20
# usage_events is partitioned by month, so its own unique index cannot hold "once per client event id";
# the key goes into usage_event_keys in the same statement and only the events whose key was new are
# inserted (a concurrent batch with the same id waits on the key's row, then finds it taken).
_INSERT = (
    "WITH fresh AS (INSERT INTO usage_event_keys (organisation_id, client_event_id, started_at) "  # noqa: S608
    f"SELECT organisation_id, client_event_id, started_at FROM {_STAGING} ORDER BY client_event_id "
    "ON CONFLICT (organisation_id, client_event_id) DO NOTHING RETURNING organisation_id, client_event_id) "
    f"INSERT INTO usage_events ({_COLUMNS}) SELECT batch.* FROM {_STAGING} AS batch "
    "JOIN fresh USING (organisation_id, client_event_id) RETURNING status"
)


_NULL = "\\N"


def _field(value: str | None) -> str:
    """A text field of COPY's text format: NULL as ``\\N``; backslash, tab and line ends escaped."""
    return _NULL if value is None else escape(value)


@dataclass
class Rejection:
    position: int
    client_event_id: str | None
    code: str
    message: str

    def as_dict(self, position_name: str = "index") -> dict[str, Any]:
        return {
            position_name: self.position,
            "client_event_id": self.client_event_id,
            "code": self.code,
            "message": self.message,
        }


@dataclass
class IngestReport:
    received: int = 0
    accepted: int = 0
    suspense: int = 0
    duplicates: int = 0
    rejected: list[Rejection] = field(default_factory=list)

    def as_dict(self, position_name: str = "index") -> dict[str, Any]:
        return {
            "received": self.received,
            "accepted": self.accepted,
            "suspense": self.suspense,
            "duplicates": self.duplicates,
            "rejected": [r.as_dict(position_name) for r in self.rejected],
        }


def subtree(session: Session, organisation_id: str) -> list[str]:
    path = session.execute(select(Organisation.path).where(Organisation.id == organisation_id)).scalar_one()
    below = select(Organisation.id).where(Organisation.path.startswith(path, autoescape=True))  # '_' literal
    return list(session.execute(below).scalars())


# A batch's aliases, as sent and as stored (text statements: an ORM select of the same columns cost ~3x
# the client CPU).
_ALIASES = text(
    "SELECT alias, subscription_id, service_id FROM usage_subscriber_aliases "
    "WHERE organisation_id = :org AND alias = ANY(:aliases)"
)

# Subscriptions and services named by id, kept to the subtree at ``path`` (one statement for both).
_BY_ID = text(
    "SELECT s.id, NULL FROM subscriptions s JOIN organisations o ON o.id = s.organisation_id "
    "WHERE s.id = ANY(:ids) AND starts_with(o.path, :path) "
    "UNION ALL "
    "SELECT v.subscription_id, v.id FROM subscription_services v "
    "JOIN subscriptions s ON s.id = v.subscription_id JOIN organisations o ON o.id = s.organisation_id "
    "WHERE v.id = ANY(:ids) AND starts_with(o.path, :path)"
)


def resolve_subscribers(
    session: Session,
    organisation_id: str,
    subscribers: Iterable[str],
    scope: OrganisationScope | None = None,
) -> dict[str, tuple[str, str | None]]:
    """subscriber → (subscription id, service id or None) for those known in the organisation's subtree.

    ``scope`` is the organisation's (:func:`organisation_scope`), looked up unless the caller has it."""
    wanted = set(subscribers)
    if not wanted:
        return {}
    found: dict[str, tuple[str, str | None]] = {}
    scope = scope or organisation_scope(session, organisation_id)
    keys = {subscriber: alias_key(subscriber, scope.region) for subscriber in wanted}
    by_key: dict[str, tuple[str, str]] = {}
    aliases = sorted(wanted | set(keys.values()))
    for alias, sub_id, svc_id in session.execute(_ALIASES, {"org": organisation_id, "aliases": aliases}):
        by_key[alias] = (sub_id, svc_id)
    for subscriber, key in keys.items():  # as stored (E.164), else as sent (aliases stored before)
        hit = by_key.get(key) or by_key.get(subscriber)
        if hit is not None:
            found[subscriber] = hit
    ids = sorted(s for s in wanted - set(found) if s.startswith(("sub_", "svc_", "srv_")))
    if ids:
        for sub_id, svc_id in session.execute(_BY_ID, {"ids": ids, "path": scope.path}):
            found[svc_id or sub_id] = (sub_id, svc_id)
    return found


def check_batch(
    raw_events: Sequence[Any], now: datetime, first_position: int = 0
) -> tuple[list[tuple[int, NewEvent]], list[Rejection]]:
    good: list[tuple[int, NewEvent]] = []
    bad: list[Rejection] = []
    for offset, raw in enumerate(raw_events):
        position = first_position + offset
        try:
            good.append((position, check_event(raw, now)))
        except EventRejected as exc:
            client_id = raw.get("client_event_id") if isinstance(raw, dict) else None
            bad.append(
                Rejection(position, str(client_id)[:128] if client_id else None, exc.code, exc.message)
            )
    return good, bad


def store_events(
    session: Session, organisation_id: str, events: Sequence[NewEvent], source: str, report: IngestReport
) -> None:
    """Insert the events not seen before; count accepted, suspense and duplicates into ``report``."""
    if not events:
        return
    unique = {e.client_event_id: e for e in events}
    scope = organisation_scope(session, organisation_id)
    home = scope.region
    resolved = resolve_subscribers(session, organisation_id, {e.subscriber for e in unique.values()}, scope)
    regions = subscription_regions(session, {who[0] for who in resolved.values()})
    lines = []
    for client_id in sorted(unique):
        e = unique[client_id]
        who = resolved.get(e.subscriber)
        region = (regions.get(who[0]) if who else None) or home
        if who:
            status, reason, detail = "accepted", None, None
        else:
            status, reason = "suspense", "unknown_subscriber"
            detail = f"no subscription, service or alias {e.subscriber}"
        # Every text the client sent goes through _field (a pattern's ``$`` lets a final line end in);
        # the rest is ours: ids, constants, numbers, a UTC timestamp.
        lines.append(
            f"{organisation_id}\t{_field(e.client_event_id)}\t{_field(e.subscriber)}\t"
            f"{who[0] if who else _NULL}\t{(who[1] or _NULL) if who else _NULL}\t{e.event_type}\t"
            f"{_field(e.metric)}\t{e.quantity}\t{_NULL if e.duration is None else e.duration}\t"
            f"{e.started_at.isoformat()}\t{_field(stored_destination(e.destination, region))}\t"
            f"{_field(e.destination)}\t{source}\t{status}\t{reason or _NULL}\t{_field(detail)}\t0"
        )
    inserted: list[tuple[str]] = []
    if lines:
        cursor = session.connection().connection.cursor()
        cursor.execute(_PREPARE_STAGING)  # one round trip; empty unless an earlier chunk of this transaction
        # One read of the whole batch (the default 8 KB chunks each took the GIL back under load)
        cursor.copy_expert(_COPY, io.StringIO("\n".join(lines) + "\n"), size=_COPY_CHUNK)
        cursor.execute(_INSERT)
        inserted = [(str(row[0]),) for row in cursor.fetchall()]
    report.duplicates += len(events) - len(inserted)
    for (status,) in inserted:
        if status == "accepted":
            report.accepted += 1
        else:
            report.suspense += 1


def ingest(
    session: Session,
    organisation_id: str,
    raw_events: Sequence[Any],
    *,
    source: str = "api",
    now: datetime | None = None,
) -> IngestReport:
    """Check and store a batch; the good events are kept whatever is wrong with the others."""
    report = IngestReport(received=len(raw_events))
    good, report.rejected = check_batch(raw_events, now or datetime.now(UTC))
    store_events(session, organisation_id, [e for _, e in good], source, report)
    return report


def add_alias(session: Session, organisation_id: str, alias: str, service_id: str) -> SubscriberAlias:
    """Map a phone number / username to a service of a subscription in the organisation's subtree."""
    found = resolve_subscribers(session, organisation_id, [service_id]).get(service_id)
    if found is None or found[1] is None:
        raise NotFound("service", service_id)
    key = alias_key(alias, organisation_region(session, organisation_id))
    row = session.get(SubscriberAlias, (organisation_id, key))
    if row is None:
        row = SubscriberAlias(organisation_id=organisation_id, alias=key)
        session.add(row)
    row.subscription_id, row.service_id = found[0], service_id
    session.flush()
    return row
