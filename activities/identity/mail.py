"""The identity e-mails (a sign-in link, a password-reset link, "you already have an account"), queued
in the notification log for the NotificationRelay to send (activities/notifications/sending.py): the
API never talks to a mail server. The operator's own template of the type (``subscriber.login_link``,
``subscriber.password_reset``, ``subscriber.already_registered``) wins over the built-in text below; an
e-mail opt-out does not suppress them (the subscriber asked for the message)."""

from __future__ import annotations

from typing import Any

from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.orm import Session

from activities.notifications import fanout, templates
from activities.notifications.templates import Parts
from domain import notifications as rules
from domain.i18n import language_of
from domain.ids import new_id
from domain.notifications import TemplateRejected
from models.accounts import Account
from models.base import utcnow
from models.notifications import NotificationMessage
from models.organisations import Organisation

LOGIN_LINK = "subscriber.login_link"
PASSWORD_RESET = "subscriber.password_reset"  # noqa: S105 (a message type)
ALREADY_REGISTERED = "subscriber.already_registered"

_BUILT_IN: dict[tuple[str, str], tuple[str, str]] = {
    (LOGIN_LINK, "en"): (
        "Your sign-in link",
        "Hello {name},\n\nOpen this link within 15 minutes to sign in:\n\n{link}\n\n"
        "It works once. If you did not ask for it, ignore this message.\n",
    ),
    (LOGIN_LINK, "es"): (
        "Tu enlace para entrar",
        "Hola {name}:\n\nAbre este enlace en los próximos 15 minutos para entrar:\n\n{link}\n\n"
        "Solo sirve una vez. Si no lo has pedido, ignora este mensaje.\n",
    ),
    (PASSWORD_RESET, "en"): (
        "Reset your password",
        "Hello {name},\n\nOpen this link within an hour to choose a new password:\n\n{link}\n\n"
        "It works once and signs out your other devices. If you did not ask for it, ignore this message.\n",
    ),
    (PASSWORD_RESET, "es"): (
        "Cambia tu contraseña",
        "Hola {name}:\n\nAbre este enlace en la próxima hora para elegir una contraseña nueva:\n\n{link}\n\n"
        "Solo sirve una vez y cierra tus otras sesiones. Si no lo has pedido, ignora este mensaje.\n",
    ),
    (ALREADY_REGISTERED, "en"): (
        "You already have an account",
        "Hello {name},\n\nSomeone (maybe you) tried to sign up again with this address. You already have"
        " an account: sign in or reset your password here:\n\n{link}\n",
    ),
    (ALREADY_REGISTERED, "es"): (
        "Ya tienes una cuenta",
        "Hola {name}:\n\nAlguien (quizá tú) ha intentado registrarse de nuevo con esta dirección. Ya tienes"
        " una cuenta: entra o cambia tu contraseña aquí:\n\n{link}\n",
    ),
}


def built_in(kind: str, language: str, name: str, link: str) -> Parts:
    subject, text = _BUILT_IN.get((kind, language)) or _BUILT_IN[(kind, "en")]
    return Parts(subject, text.format(name=name, link=link))


def queue_email(session: Session, *, account: Account, kind: str, to: str, link: str, ref: str) -> str:
    """Queue the message (once per ``ref``); its id. Sent by the relay on its next round."""
    organisation = session.get(Organisation, account.organisation_id)
    assert organisation is not None
    language = language_of(account.language)
    parts = built_in(kind, language, account.display_name, link)
    template_id = None
    own = fanout.operator_template(session, organisation.path, kind, "email", language)
    if own is not None:
        context = templates.context_for(
            account=fanout.account_view(account),
            organisation={"id": organisation.id, "name": organisation.name},
            event={"id": ref, "type": kind, "occurred_at": utcnow().isoformat()},
            data={"link": link},
        )
        try:
            parts = templates.render(Parts(own.subject, own.body_text, own.body_html), context)
            template_id = own.id
        except TemplateRejected:
            pass  # the built-in text goes
    row: dict[str, Any] = {
        "id": new_id("ntm"),
        "key": rules.message_key(f"identity:{ref}", kind, "email", to),
        "organisation_id": organisation.id,
        "account_id": account.id,
        "event_type": kind,
        "channel": "email",
        "recipient": to,
        "template_id": template_id,
        "language": language,
        "subject": parts.subject,
        "body_text": parts.text,
        "body_html": parts.html,
        "attachments": [],
        "status": "queued",
        "attempts": 0,
        "next_attempt_at": utcnow(),
        "created_at": utcnow(),
        "updated_at": utcnow(),
    }
    session.execute(insert(NotificationMessage).values(row).on_conflict_do_nothing(index_elements=["key"]))
    return str(row["id"])
