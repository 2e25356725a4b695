"""The emails the platform sends by itself (the verification link, the welcome, the low-balance alert) on
the notifications engine: an operator's template, saved and checked against the sample data of its type,
renders with the data the real notice carries (no fallback to the built-in text), and every email is logged.
Real parts: PostgreSQL, the SMTP sink, the activities the processes run."""

from __future__ import annotations

from email.message import Message

import httpx
import pytest
from sqlalchemy import select

from activities.accounts.activities import VerificationActivities
from activities.accounts.io import SendVerificationEmail
from activities.subscriptions.activities import SubscriptionActivities
from activities.subscriptions.io import Notice
from activities.wallets.prepaid import send_low_balance_email
from domain.ids import new_id
from integrations.notify.smtp import SmtpNotifier
from models.accounts import Account
from models.base import unit_of_work
from models.notifications import NotificationMessage
from models.wallets import Wallet
from runtime.settings import Settings
from tests.support.billing_factory import make_account
from tests.support.factories import Tenant, make_operator
from tests.support.smtp import SmtpSink
from tests.support.wallet_support import make_prepaid_subscription

TEMPLATES = {
    "account.verification": (
        "Confirme {{ data.email }}",
        "Hola {{ account.display_name }}, abra {{ data.link }} (cuenta {{ data.account_id }}).",
    ),
    "subscription.welcome": (
        "Bienvenida: {{ data.subscription_id }}",
        "Su alta {{ data.kind }} está {{ data.status }}, día de factura {{ data.bill_day }}.",
    ),
    "wallet.low_balance": (
        "Saldo bajo en {{ organisation.name }}",
        "Le quedan {{ money(data.balance_minor, data.currency) }}, "
        "menos de {{ money(data.low_balance_threshold_minor, data.currency) }}.",
    ),
}


def _text(message: Message) -> str:
    for part in message.walk():
        if part.get_content_type() == "text/plain":
            payload = part.get_payload(decode=True)
            assert isinstance(payload, bytes)
            return payload.decode(part.get_content_charset() or "utf-8")
    return ""


def _logged(database_url: str, account_id: str, kind: str) -> NotificationMessage:
    with unit_of_work(database_url) as session:
        row = session.execute(
            select(NotificationMessage).where(
                NotificationMessage.account_id == account_id, NotificationMessage.event_type == kind
            )
        ).scalar_one()
        session.expunge(row)
        return row


async def _save_templates(api: httpx.AsyncClient, operator: Tenant) -> dict[str, str]:
    saved = {}
    for kind, (subject, text) in TEMPLATES.items():
        body = {
            "event_type": kind,
            "channel": "email",
            "language": "es",
            "subject": subject,
            "body_text": text,
        }
        answer = await api.post("/v1/notification-templates", json=body, headers=operator.post_headers())
        assert answer.status_code == 201, (kind, answer.text)
        saved[kind] = answer.json()["id"]
    return saved


@pytest.mark.parametrize("kind", sorted(TEMPLATES))
async def test_an_operators_template_of_a_platform_email_renders_with_the_real_data(
    api: httpx.AsyncClient, settings: Settings, database_url: str, smtp_server: SmtpSink, kind: str
) -> None:
    operator = make_operator(database_url)
    saved = await _save_templates(api, operator)
    account_id = make_account(database_url, operator.organisation_id, language="es")
    with unit_of_work(database_url) as session:
        account = session.get(Account, account_id)
        assert account is not None
        email = account.email
    notifier = SmtpNotifier(host=smtp_server.host, port=smtp_server.port, sender="Op <no-reply@op.example>")

    if kind == "account.verification":
        VerificationActivities(settings, notifier).send_verification_email(
            SendVerificationEmail(
                account_id=account_id,
                email=email,
                display_name="Ana Ruiz",
                language="es",
                process_id=f"account-verification-{account_id}",
                run_id="run-1",
            )
        )
        expected = (f"Confirme {email}", "Hola Ana Ruiz, abra http")
    elif kind == "subscription.welcome":
        sub_id = make_prepaid_subscription(database_url, operator.organisation_id, account_id)
        SubscriptionActivities(settings, notifier).notify_subscriber(
            Notice(subscription_id=sub_id, process_id=f"onboarding-{sub_id}", kind="welcome")
        )
        expected = (f"Bienvenida: {sub_id}", "Su alta welcome está active, día de factura 1.")
    else:
        with unit_of_work(database_url) as session:
            account = session.get(Account, account_id)
            assert account is not None
            wallet = Wallet(
                id=new_id("wal"),
                organisation_id=operator.organisation_id,
                account_id=account_id,
                currency="EUR",
                balance_minor=150,
                low_balance_threshold_minor=500,
            )
            session.add(wallet)
            session.flush()
            send_low_balance_email(session, notifier, account, wallet, new_id("wtx"))
        expected = ("Saldo bajo en ", "Le quedan 1,50")

    logged = _logged(database_url, account_id, kind)
    # the operator's template was used, not the built-in text it falls back to when the data lacks a field
    assert (logged.status, logged.template_id, logged.language) == ("sent", saved[kind], "es")
    assert logged.last_error is None
    sent = await smtp_server.wait_for(email)
    assert sent["Subject"].startswith(expected[0])
    assert _text(sent).startswith(expected[1]), _text(sent)
    assert len(smtp_server.to(email)) == 1
