"""Notices a process sends at once (not through the relay): the verification link, the welcome and other
subscription notices, dunning notices, the low-balance alert. They go through this engine too: the
operator's template of the notice's type in the subscriber's language when it has one (else the built-in
text the caller passes, already rendered), the subscriber's channel choice (an email opt-out suppresses
them), and the message log. The caller sends after the transaction and then records the outcome; a
retried activity sends again with the same Message-ID (what these notices always did: the mail server
can tell a repeat), and the log keeps one row per Message-ID.

Their types: ``account.verification``, ``subscription.<kind>`` (``subscription.welcome``,
``subscription.device_swapped``…), ``dunning.step`` (the notice of a step), ``wallet.low_balance``. The
relay leaves the email of ``dunning.step`` and ``wallet.low_balance`` events to these (SENT_DIRECTLY).
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import update
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.orm import Session

from activities.notifications import fanout, settings, templates
from activities.notifications.templates import Parts
from domain import notifications as rules
from domain.i18n import language_of
from domain.ids import new_id
from domain.notifications import TemplateRejected
from integrations.notify.base import EmailMessageSpec
from models.accounts import Account
from models.base import core, utcnow
from models.notifications import NotificationMessage
from models.organisations import Organisation

SENT_DIRECTLY = fanout.SENT_DIRECTLY


def _key(message_id: str, kind: str, to: str) -> str:
    return rules.message_key(f"direct:{message_id}", kind, "email", to)


def prepare_email(
    session: Session,
    *,
    account_id: str,
    kind: str,
    data: dict[str, Any],
    to: str,
    message_id: str,
    default: Parts,
) -> EmailMessageSpec | None:
    """The email to send (None: the subscriber refused email; logged as suppressed)."""
    account = session.get(Account, account_id)
    organisation = session.get(Organisation, account.organisation_id) if account is not None else None
    if account is None or organisation is None:
        return EmailMessageSpec(
            to=to, subject=default.subject, text=default.text, html=default.html, message_id=message_id
        )
    language = language_of(account.language)
    row: dict[str, Any] = {
        "id": new_id("ntm"),
        "key": _key(message_id, kind, to),
        "organisation_id": organisation.id,
        "account_id": account.id,
        "event_id": None,
        "event_type": kind,
        "trigger_id": None,
        "channel": "email",
        "recipient": to,
        "template_id": None,
        "language": language,
        "attachments": [],
        "status": "sending",
        "attempts": 1,
        "next_attempt_at": utcnow(),
        "created_at": utcnow(),
        "updated_at": utcnow(),
    }
    prefs = settings.preferences_of(session, account.id)
    if prefs.channels is not None and "email" not in prefs.channels:
        _log(
            session,
            {
                **row,
                "status": "suppressed",
                "suppressed_reason": "channel_opted_out",
                "subject": default.subject,
                "body_text": default.text,
                "attempts": 0,
            },
        )
        return None
    parts = default
    own = fanout.operator_template(session, organisation.path, kind, "email", language)
    if own is not None:
        context = templates.context_for(
            account=fanout.account_view(account),
            organisation={"id": organisation.id, "name": organisation.name},
            event={"id": message_id, "type": kind, "occurred_at": utcnow().isoformat()},
            data=data,
        )
        try:
            parts = templates.render(Parts(own.subject, own.body_text, own.body_html), context)
            row.update(template_id=own.id, language=own.language)
        except TemplateRejected as exc:  # the data lacks what the template names: the built-in text goes
            row["last_error"] = f"template {own.id}: {exc}; sent the built-in text"
    _log(session, {**row, "subject": parts.subject, "body_text": parts.text, "body_html": parts.html})
    return EmailMessageSpec(
        to=to, subject=parts.subject, text=parts.text, html=parts.html, message_id=message_id
    )


# Every direct email writes these two (Core statements: see models.base.core).
_MESSAGES = core(NotificationMessage)


def _log(session: Session, row: dict[str, Any]) -> None:
    stmt = insert(_MESSAGES).values(row)
    changes = {"attempts": _MESSAGES.c.attempts + 1, "updated_at": utcnow()}
    if row["status"] == "sending":
        changes["status"] = "sending"
    session.execute(stmt.on_conflict_do_update(index_elements=["key"], set_=changes))


def record_sent(session: Session, *, kind: str, to: str, message_id: str, error: str | None = None) -> None:
    """The send's outcome in the log (``error`` None: sent)."""
    session.execute(
        update(_MESSAGES)
        .where(_MESSAGES.c.key == _key(message_id, kind, to), _MESSAGES.c.status == "sending")
        .values(
            status="failed" if error else "sent",
            last_error=error,
            provider_message_id=None if error else message_id,
            updated_at=utcnow(),
        )
    )
