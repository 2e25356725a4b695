"""Account verification: email the signed link, then record whether the subscriber confirmed."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel
from temporalio import activity
from temporalio.exceptions import ApplicationError

from domain.verification import email_message_id, make_token, outcome_is_superseded, verification_link
from integrations.notify.base import EmailMessageSpec, MessageRejected, Notifier
from integrations.notify.smtp import SmtpNotifier
from models.accounts import Account
from models.base import unit_of_work
from runtime.settings import Settings

Outcome = Literal["verified", "unverified"]


class SendVerificationEmail(BaseModel):
    account_id: str
    email: str
    display_name: str
    language: str = "en"
    process_id: str
    run_id: str


class VerificationEmailSent(BaseModel):
    account_id: str
    message_id: str


class RecordVerificationOutcome(BaseModel):
    account_id: str
    outcome: Outcome
    decided_at: datetime
    process_id: str


class VerificationOutcomeRecorded(BaseModel):
    account_id: str
    verification_status: str
    verified_at: datetime | None
    changed: bool


class VerificationActivities:
    """Activities of the AccountVerification workflow; sync, so the worker runs them on a thread pool."""

    def __init__(self, settings: Settings, notifier: Notifier | None = None) -> None:
        if not settings.database_url:
            raise RuntimeError("DATABASE_URL is not set: verification activities need the database")
        self.settings = settings
        self.database_url: str = settings.database_url
        self.notifier: Notifier = notifier or SmtpNotifier(
            host=settings.smtp_host, port=settings.smtp_port, sender=settings.smtp_sender
        )

    @activity.defn(name="send_verification_email")
    def send_verification_email(self, request: SendVerificationEmail) -> VerificationEmailSent:
        token = make_token(self.settings.secret_key, request.account_id, request.email)
        link = verification_link(self.settings.public_url, request.account_id, token)
        message_id = email_message_id(request.process_id, request.run_id, self.settings.smtp_sender)
        message = EmailMessageSpec(
            to=request.email,
            subject=verification_subject(request.language),
            text=verification_text(request.display_name, link, request.language),
            message_id=message_id,
        )
        try:
            self.notifier.send_email(message)
        except MessageRejected as err:
            raise ApplicationError(str(err), type="MessageRejected", non_retryable=True) from err
        return VerificationEmailSent(account_id=request.account_id, message_id=message_id)

    @activity.defn(name="record_verification_outcome")
    def record_verification_outcome(self, request: RecordVerificationOutcome) -> VerificationOutcomeRecorded:
        """Set the account's verification status in one transaction; a verified account stays verified.

        The outcome of a process the account no longer waits for (its address changed since) is ignored.
        """
        with unit_of_work(self.database_url) as session:
            account = session.get(Account, request.account_id, with_for_update=True)
            if account is None:
                raise ApplicationError(
                    f"account {request.account_id} does not exist", type="AccountNotFound", non_retryable=True
                )
            superseded = outcome_is_superseded(
                account.verification_process_id, account.verification_status, request.process_id
            )
            changed = not superseded and account.verification_status not in ("verified", request.outcome)
            if changed:
                account.verification_status = request.outcome
                account.verified_at = request.decided_at if request.outcome == "verified" else None
                account.verification_process_id = request.process_id
                account.version += 1
            return VerificationOutcomeRecorded(
                account_id=account.id,
                verification_status=account.verification_status,
                verified_at=account.verified_at,
                changed=changed,
            )

    def all(self) -> list[Callable[..., Any]]:
        return [self.send_verification_email, self.record_verification_outcome]


def _spanish(language: str) -> bool:
    return language.lower().startswith("es")


def verification_subject(language: str) -> str:
    subject = "Confirm your email address"
    return f"{subject} / Confirma tu dirección de correo" if _spanish(language) else subject


def verification_text(display_name: str, link: str, language: str) -> str:
    english = (
        f"Hello {display_name},\n\n"
        "Please confirm your email address by opening this link:\n\n"
        f"{link}\n\n"
        "If you did not open an account with us, you can ignore this message.\n"
    )
    if not _spanish(language):
        return english
    spanish = (
        f"Hola {display_name}:\n\n"
        "Confirma tu dirección de correo abriendo este enlace:\n\n"
        f"{link}\n\n"
        "Si no has abierto una cuenta con nosotros, puedes ignorar este mensaje.\n"
    )
    return f"{english}\n---\n\n{spanish}"
