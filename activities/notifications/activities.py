"""Notification delivery's Temporal activities: the fan-out in one transaction; a send round as claim
(one transaction), the sends (outside any), and the record (one transaction per message)."""

from __future__ import annotations

import logging
from typing import Any

from temporalio import activity

from activities.invoices.documents import invoice_pdf
from activities.notifications import fanout, integrators, io, sending
from activities.notifications.io import FanOutInput, FanOutResult, SendDueInput, SendRound
from activities.notifications.sending import Outgoing, Result
from integrations.notify.base import (
    Attachment,
    EmailMessageSpec,
    MessageRejected,
    Notifier,
    NotifierUnavailable,
)
from integrations.notify.sms.client import OutcomeUnknown, SmsGateway
from models.base import unit_of_work
from models.billing import Invoice
from runtime.settings import Settings

log = logging.getLogger(__name__)

SMS_REPORTS_PATH = "/v1/notifications/sms/reports"


def sms_gateway(settings: Settings) -> SmsGateway | None:
    """The SMS channel as configured (None when ``MULTIBILL_SMS_URL`` is unset)."""
    if not settings.sms_url:
        return None
    return SmsGateway(
        base_url=settings.sms_url,
        api_key=settings.sms_api_key,
        sender=settings.sms_sender,
        callback_url=settings.public_url.rstrip("/") + SMS_REPORTS_PATH,
    )


class NotificationActivities(io.NotificationActivities):
    """Notification delivery's activities, bound to the database and the channels (sync: thread pool)."""

    def __init__(self, settings: Settings, notifier: Notifier, sms: SmsGateway | None = None) -> None:
        if not settings.database_url:
            raise RuntimeError("DATABASE_URL is not set: notification activities need the database")
        self.url = settings.database_url
        self.notifier = notifier
        self.sms = sms if sms is not None else sms_gateway(settings)

    @activity.defn(name="fan_out_notification_events")
    def fan_out(self, request: FanOutInput) -> FanOutResult:
        """Turn the events after the cursor into messages (rendered, suppressed, or deferred)."""
        with unit_of_work(self.url) as session:
            return fanout.fan_out(session, request)

    @activity.defn(name="send_due_notifications")
    def send_due(self, request: SendDueInput) -> SendRound:
        """Claim a batch of due messages (marked ``sending`` first), send each once, record the outcome."""
        with unit_of_work(self.url) as session:
            unknown = sending.sweep_abandoned(session)
        with unit_of_work(self.url) as session:
            batch = sending.claim(session, request.at)
        round_ = SendRound(unknown=unknown, full=len(batch) >= sending.BATCH)
        for out in batch:
            if out.channel == "webhook":  # to the integrators: an outbox event, in one transaction
                with unit_of_work(self.url) as session:
                    became = integrators.hand_over(session, out)
            else:
                result = self._send(out)
                with unit_of_work(self.url) as session:
                    became = sending.record(session, request.at, out.id, result)
            if became == "retry":
                round_.retrying += 1
            elif became == "failed":
                round_.failed += 1
            else:
                round_.sent += 1
        with unit_of_work(self.url) as session:
            round_.next_due_at = sending.next_due(session)
        return round_

    def _send(self, out: Outgoing) -> Result:
        try:
            if out.channel == "email":
                try:
                    email = self._email(out)
                except Exception as err:
                    return Result("retry", error=f"could not build the email: {err}")
                self.notifier.send_email(email)
                return Result("sent", f"<{out.id}@multibill.local>")
            if out.channel == "sms":
                if self.sms is None:
                    return Result("failed", error="no SMS gateway is configured (MULTIBILL_SMS_URL)")
                return Result("sent", self.sms.send_sms(out.recipient, out.text, out.id))
            return Result("sent", out.id)  # push: the app fetches it from the message log
        except OutcomeUnknown as err:  # it may have gone: never again
            return Result("unknown", error=f"outcome unknown, not sent again: {err}")
        except NotifierUnavailable as err:
            log.warning("notification %s: temporary failure: %s", out.id, err)
            return Result("retry", error=str(err))
        except MessageRejected as err:
            return Result("failed", error=str(err))

    def _email(self, out: Outgoing) -> EmailMessageSpec:
        attachments = []
        for wanted in out.attachments:
            if wanted.get("kind") == "invoice_pdf":
                with unit_of_work(self.url) as session:
                    invoice = session.get(Invoice, wanted.get("invoice_id"))
                    if invoice is not None:
                        pdf = invoice_pdf(session, invoice)
                        attachments.append(
                            Attachment(
                                filename=f"{invoice.number}.pdf", content_type="application/pdf", content=pdf
                            )
                        )
        return EmailMessageSpec(
            to=out.recipient,
            subject=out.subject,
            text=out.text,
            html=out.html,
            message_id=f"<{out.id}@multibill.local>",
            attachments=tuple(attachments),
        )

    def all(self) -> list[Any]:
        return [self.fan_out, self.send_due]
