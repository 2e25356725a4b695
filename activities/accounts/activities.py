"""The accounts area's Temporal activities: account verification (email the signed link, record the
outcome), bound to the settings and a notifier."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from temporalio import activity
from temporalio.exceptions import ApplicationError

from activities.accounts import io, verification
from activities.accounts.io import (
    RecordVerificationOutcome,
    SendVerificationEmail,
    VerificationEmailSent,
    VerificationOutcomeRecorded,
)
from activities.notifications import direct
from activities.notifications.templates import Parts
from domain.verification import email_message_id, make_token, verification_link
from integrations.notify.base import MessageRejected, Notifier
from integrations.notify.smtp import SmtpNotifier
from models.base import unit_of_work
from runtime.settings import Settings


class VerificationActivities(io.VerificationActivities):
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
        """Email the subscriber the signed link that confirms the address."""
        token = make_token(self.settings.secret_key, request.account_id, request.email)
        link = verification_link(self.settings.public_url, request.account_id, token)
        message_id = email_message_id(request.process_id, request.run_id, self.settings.smtp_sender)
        default = Parts(
            verification.verification_subject(request.language),
            verification.verification_text(request.display_name, link, request.language),
        )
        with unit_of_work(self.database_url) as session:  # the operator's template, logged
            message = direct.prepare_email(
                session,
                account_id=request.account_id,
                kind="account.verification",
                data={"account_id": request.account_id, "link": link, "email": request.email},
                to=request.email,
                message_id=message_id,
                default=default,
            )
        if message is None:  # the subscriber refused email: logged as suppressed, the link never goes
            return VerificationEmailSent(account_id=request.account_id, message_id=message_id)
        try:
            self.notifier.send_email(message)
        except MessageRejected as err:
            with unit_of_work(self.database_url) as session:
                direct.record_sent(
                    session,
                    kind="account.verification",
                    to=request.email,
                    message_id=message_id,
                    error=str(err),
                )
            raise ApplicationError(str(err), type="MessageRejected", non_retryable=True) from err
        with unit_of_work(self.database_url) as session:
            direct.record_sent(session, kind="account.verification", to=request.email, message_id=message_id)
        return VerificationEmailSent(account_id=request.account_id, message_id=message_id)

    @activity.defn(name="record_verification_outcome")
    def record_verification_outcome(self, request: RecordVerificationOutcome) -> VerificationOutcomeRecorded:
        """Set the account's verification status in one transaction; a verified account stays verified.

        The outcome of a process the account no longer waits for (its address changed since) is ignored.
        """
        with unit_of_work(self.database_url) as session:
            return verification.record_outcome(session, request)

    def all(self) -> list[Callable[..., Any]]:
        return [self.send_verification_email, self.record_verification_outcome]
