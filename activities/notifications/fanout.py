"""Business events turned into messages (the NotificationRelay's first step), one transaction a page.

Events are walked in commit-safe order exactly as the webhook relay walks them (``(txid, id)`` below the
oldest running transaction: activities/webhooks/deliveries.py says why). For each event about an account,
the most specific enabled trigger of the event's operator (or of an organisation above the event's) says
which channels; without any trigger of its own an operator has the built-in ones (defaults.py). Each
channel gets one message, unique per (event, trigger, channel, recipient): rendered now, from the
operator's template in the account's language (else English, else the built-in default), or suppressed
with the reason (opted out of the channel or of marketing, no address on it), or held back until the
quiet hours end in the subscriber's time zone. A repeat of a page adds nothing. An escalated ticket's
supervisor gets an email of their own (staff.py).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Text, cast, select, text
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.orm import Session

from activities.notifications import defaults, settings, staff, templates
from activities.notifications.io import FanOutInput, FanOutResult
from activities.notifications.templates import Parts
from activities.webhooks.deliveries import LATE_COMMIT_WINDOW, commit_position, cursor_at
from domain import notifications as rules
from domain.i18n import language_of
from domain.ids import new_id
from domain.notifications import TemplateRejected
from models.accounts import Account
from models.base import utcnow
from models.events import EventRecord
from models.notifications import NotificationMessage, NotificationTemplate, NotificationTrigger
from models.organisations import Organisation

PAGE = 500
SENT_DIRECTLY = frozenset({"dunning.step", "wallet.low_balance"})
"""Event types whose email their process sends itself (direct.py): the relay sends their other channels."""


@dataclass(frozen=True)
class Rule:
    """A trigger as the fan-out applies it (an operator's row, or a built-in one)."""

    id: str
    pattern: str
    channels: tuple[str, ...]
    marketing: bool
    ignore_quiet_hours: bool
    quiet_start: Any
    quiet_end: Any
    depth: int


def _rules_for(session: Session, path: str, cache: dict[str, list[Rule]]) -> list[Rule]:
    """The enabled triggers of the organisations on ``path`` (deepest first); the built-in ones when none
    of them has any trigger at all (a disabled one counts: the operator chose)."""
    if path in cache:
        return cache[path]
    rows = session.execute(
        select(NotificationTrigger, Organisation.path)
        .join(Organisation, Organisation.id == NotificationTrigger.organisation_id)
        .where(text("starts_with(:p, organisations.path)").bindparams(p=path))
    ).all()
    if rows:
        found = [
            Rule(
                t.id,
                t.event_pattern,
                tuple(t.channels),
                t.marketing,
                t.ignore_quiet_hours,
                t.quiet_start,
                t.quiet_end,
                len(org_path),
            )
            for t, org_path in rows
            if t.enabled
        ]
    else:
        found = [
            Rule(
                f"default:{d.event_pattern}",
                d.event_pattern,
                d.channels,
                d.marketing,
                d.ignore_quiet_hours,
                None,
                None,
                0,
            )
            for d in defaults.DEFAULT_TRIGGERS
        ]
    cache[path] = found
    return found


def _best(found: list[Rule], event_type: str) -> Rule | None:
    matching = [r for r in found if rules.trigger_matches(r.pattern, event_type)]
    if not matching:
        return None
    return max(matching, key=lambda r: (r.depth, r.pattern == event_type, len(r.pattern)))


def account_of(event: EventRecord) -> str | None:
    """The account an event concerns: its data's ``account_id``, or the event's object when an account."""
    if event.object_type == "account":
        return event.object_id
    value = (event.data or {}).get("account_id")
    return str(value) if value else None


def operator_template(
    session: Session, path: str, event_type: str, channel: str, language: str
) -> NotificationTemplate | None:
    """The template of the nearest organisation on ``path`` in ``language``, else in English."""
    rows = session.execute(
        select(NotificationTemplate, Organisation.path)
        .join(Organisation, Organisation.id == NotificationTemplate.organisation_id)
        .where(
            text("starts_with(:p, organisations.path)").bindparams(p=path),
            NotificationTemplate.event_type == event_type,
            NotificationTemplate.channel == channel,
            NotificationTemplate.language.in_([language, "en"]),
        )
    ).all()
    if not rows:
        return None
    return max(rows, key=lambda r: (r[0].language == language, len(r[1])))[0]


def account_view(account: Account) -> dict[str, Any]:
    return {
        "id": account.id,
        "display_name": account.display_name,
        "email": account.email,
        "phone": account.phone,
        "language": account.language,
        "timezone": account.timezone,
    }


def recipient_of(account: Account, channel: str) -> str | None:
    if channel == "email":
        return account.email or None
    if channel == "sms":
        return account.phone or None
    return account.id  # push: the subscriber's app fetches its own; webhook: the integrator is told whose


def compose(
    session: Session,
    path: str,
    organisation: Organisation,
    account: Account,
    event: dict[str, Any],
    data: dict[str, Any],
    channel: str,
) -> tuple[str | None, str, Parts]:
    """The template used (None: built-in), its language, and the message rendered from it."""
    language = language_of(account.language)
    own = operator_template(session, path, str(event["type"]), channel, language)
    if own is not None:
        parts, template_id, used = Parts(own.subject, own.body_text, own.body_html), own.id, own.language
    else:
        parts, template_id, used = (
            defaults.default_template(event["type"], language).parts(channel),
            None,
            language,
        )
    context = templates.context_for(
        account=account_view(account),
        organisation={"id": organisation.id, "name": organisation.name},
        event=event,
        data=data,
    )
    return template_id, used, templates.render(parts, context)


def fan_out(session: Session, request: FanOutInput) -> FanOutResult:
    """Messages for the events after the cursor (see the module's docstring)."""
    cursor = request.cursor or cursor_at(request.at - LATE_COMMIT_WINDOW)
    horizon = session.execute(text("select pg_snapshot_xmin(pg_current_snapshot())::text")).scalar_one()
    stmt = (
        select(EventRecord, Organisation, cast(EventRecord.txid, Text).label("txid_text"))
        .join(Organisation, Organisation.id == EventRecord.organisation_id)
        .where(text("business_events.txid < cast(:horizon as xid8)").bindparams(horizon=horizon))
        .order_by(EventRecord.txid, EventRecord.id)
        .limit(PAGE)
    )
    txid, sep, after_id = cursor.partition(":")
    if sep and txid.isdigit():
        after = text("(business_events.txid, business_events.id) > (cast(:t as xid8), :i)")
        stmt = stmt.where(after.bindparams(t=txid, i=after_id))
    else:
        stmt = stmt.where(EventRecord.id > cursor)
    events = list(session.execute(stmt).all())
    cache: dict[str, list[Rule]] = {}
    rows: list[dict[str, Any]] = []
    for event, organisation, _ in events:
        rows.extend(_messages_of(session, event, organisation, request.at, cache))
        if event.type == "ticket.escalated":
            alert = _supervisor_alert(session, event, organisation, request.at)
            if alert is not None:
                rows.append(alert)
    created = 0
    if rows:
        result = session.execute(
            insert(NotificationMessage)
            .values(rows)
            .on_conflict_do_nothing()
            .returning(NotificationMessage.id)
        )
        created = len(result.all())
    if not events:
        return FanOutResult(cursor=cursor, messages=0)
    last, _, last_txid = events[-1]
    return FanOutResult(
        cursor=commit_position(last_txid, last.id), messages=created, full=len(events) == PAGE
    )


def _supervisor_alert(
    session: Session, event: EventRecord, organisation: Organisation, at: datetime
) -> dict[str, Any] | None:
    own = operator_template(session, organisation.path, "ticket.escalated", "email", "en")
    account = session.get(Account, account_of(event) or "")
    view = account_view(account) if account is not None else None
    return staff.supervisor_alert(event, organisation, at, own=own, account=view)


def _messages_of(
    session: Session,
    event: EventRecord,
    organisation: Organisation,
    at: datetime,
    cache: dict[str, list[Rule]],
) -> list[dict[str, Any]]:
    if event.type == rules.MESSAGE_EVENT:
        return []  # a message handed to the integrators is no trigger of another
    if not rules.for_subscriber(event.type, event.data or {}):
        return []  # a ticket's internal life (SLA, escalation, internal notes) is not the subscriber's
    rule = _best(_rules_for(session, organisation.path, cache), event.type)
    account_id = account_of(event)
    if rule is None or not rule.channels or account_id is None:
        return []
    account = session.get(Account, account_id)
    if account is None:
        return []
    prefs = settings.preferences_of(session, account.id)
    view = {"id": event.id, "type": event.type, "occurred_at": event.occurred_at.isoformat()}
    out = []
    for channel in rule.channels:
        if channel == "email" and event.type in SENT_DIRECTLY:
            continue  # its process emails it (activities/notifications/direct.py)
        recipient = recipient_of(account, channel)
        row: dict[str, Any] = {
            "id": new_id("ntm"),
            "key": rules.message_key(event.id, rule.id, channel, recipient or ""),
            "organisation_id": organisation.id,
            "account_id": account.id,
            "event_id": event.id,
            "event_type": event.type,
            "trigger_id": rule.id,
            "channel": channel,
            "recipient": recipient,
            "template_id": None,
            "language": language_of(account.language),
            "subject": "",
            "body_text": "",
            "body_html": None,
            "attachments": [],
            "status": "queued",
            "suppressed_reason": None,
            "attempts": 0,
            "segments": None,
            "next_attempt_at": at,
            "deferred_until": None,
            "last_error": None,
            "created_at": utcnow(),
            "updated_at": utcnow(),
        }
        reason = rules.suppression(
            channel,
            event_type=event.type,
            marketing=rule.marketing,
            chosen_channels=prefs.channels,
            marketing_opt_out=prefs.marketing_opt_out,
            recipient=recipient,
        )
        if reason is not None:
            out.append({**row, "status": "suppressed", "suppressed_reason": reason})
            continue
        try:
            template_id, language, parts = compose(
                session, organisation.path, organisation, account, view, event.data or {}, channel
            )
        except TemplateRejected as exc:
            out.append({**row, "status": "failed", "last_error": f"template: {exc}"})
            continue
        row.update(
            template_id=template_id,
            language=language,
            subject=parts.subject,
            body_text=parts.text,
            body_html=parts.html,
        )
        if channel == "sms":
            row["segments"] = rules.sms_segments(parts.text)
        if channel == "email" and event.type == "invoice.issued" and event.object_type == "invoice":
            row["attachments"] = [{"kind": "invoice_pdf", "invoice_id": event.object_id}]
        if not rule.ignore_quiet_hours:
            resume = rules.defer_until(at, account.timezone, rule.quiet_start, rule.quiet_end)
            if resume is not None:
                row.update(next_attempt_at=resume, deferred_until=resume)
        out.append(row)
    return out
