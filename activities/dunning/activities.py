"""Dunning's Temporal activities: each opens one transaction and calls records.py (notices go out after
the transaction)."""

from __future__ import annotations

from typing import Any

from temporalio import activity

from activities.dunning import io, records
from activities.dunning.io import InvoiceState, NoticeInput, ServiceActionInput
from activities.notifications import direct
from activities.subscriptions.io import ChangePlan
from domain.dunning import Ladder
from integrations.notify.base import Notifier
from integrations.notify.smtp import SmtpNotifier
from models.base import unit_of_work
from runtime.settings import Settings


class DunningActivities(io.DunningActivities):
    """Dunning's activities, bound to the database and a notifier (sync: run on the worker's thread pool)."""

    def __init__(self, settings: Settings, notifier: Notifier | None = None) -> None:
        if not settings.database_url:
            raise RuntimeError("DATABASE_URL is not set: dunning activities need the database")
        self.url = settings.database_url
        self.notifier: Notifier = notifier or SmtpNotifier(
            host=settings.smtp_host, port=settings.smtp_port, sender=settings.smtp_sender
        )

    @activity.defn(name="dunning_ladder")
    def ladder(self, organisation_id: str) -> Ladder:
        """The ladder of the operator at the root of the organisation's tree (default when none is set)."""
        with unit_of_work(self.url) as session:
            return records.ladder(session, organisation_id)

    @activity.defn(name="invoice_state")
    def invoice_state(self, invoice_id: str) -> InvoiceState:
        """Mark an unpaid invoice overdue and say what is still open."""
        with unit_of_work(self.url) as session:
            return records.invoice_state(session, invoice_id)

    @activity.defn(name="send_dunning_notice")
    def send_notice(self, notice: NoticeInput) -> str:
        """Email the account holder the notice of this step; the message id."""
        with unit_of_work(self.url) as session:
            message = records.notice_email(session, notice)
            records.record_step(
                session,
                notice.invoice_id,
                f"notice:{notice.kind}",
                f"{notice.process_id}:notice:{notice.kind}",
            )
        if message is None:  # the holder refused email: logged as suppressed
            return f"<{notice.process_id}.{notice.kind}@multibill.local>"
        self.notifier.send_email(message)
        with unit_of_work(self.url) as session:
            direct.record_sent(session, kind="dunning.step", to=message.to, message_id=message.message_id)
        return message.message_id

    @activity.defn(name="plan_service_actions")
    def plan_service_actions(self, request: ServiceActionInput) -> list[ChangePlan]:
        """Take each live subscription of the account for one action process (skipping those that can't)."""
        with unit_of_work(self.url) as session:
            return records.plan_service_actions(session, request)

    @activity.defn(name="write_off_invoice")
    def write_off(self, invoice_id: str) -> int:
        """Write the open amount off as bad debt (a ledger entry) and close the invoice."""
        with unit_of_work(self.url) as session:
            return records.write_off(session, invoice_id)

    def all(self) -> list[Any]:
        return [self.ladder, self.invoice_state, self.send_notice, self.plan_service_actions, self.write_off]
