"""Dunning activities: the operator's ladder, invoice state, notices, service actions, write-off."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel
from sqlalchemy import select, update
from temporalio import activity
from temporalio.exceptions import ApplicationError

from activities.shared.ledger import post_entry
from activities.subscriptions.changes import ActionRequest, ChangePlan, take_for_action
from domain import process_ids
from domain.dunning import DEFAULT_LADDER, Ladder
from domain.ledger import write_off_entry
from integrations.notify.base import EmailMessageSpec, Notifier
from integrations.notify.smtp import SmtpNotifier
from models.accounts import Account
from models.base import unit_of_work, utcnow
from models.billing import Invoice
from models.organisations import Organisation
from models.subscriptions import Subscription
from runtime.settings import Settings


class DunningInput(BaseModel):
    invoice_id: str
    account_id: str
    organisation_id: str
    ladder: Ladder | None = None


class InvoiceState(BaseModel):
    invoice_id: str
    status: str
    open_minor: int
    currency: str


class NoticeInput(BaseModel):
    invoice_id: str
    kind: str
    process_id: str


class ServiceActionInput(BaseModel):
    account_id: str
    action: str  # suspend | resume | terminate
    process_id: str
    reason: str


class DunningActivities:
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
            org = session.get(Organisation, organisation_id)
            root = session.get(Organisation, org.path.strip("/").split("/")[0]) if org else None
            spec = (root.dunning_ladder if root is not None else None) or None
            return Ladder.model_validate(spec) if spec else DEFAULT_LADDER

    @activity.defn(name="invoice_state")
    def invoice_state(self, invoice_id: str) -> InvoiceState:
        """Mark an unpaid invoice overdue and say what is still open."""
        with unit_of_work(self.url) as session:
            invoice = session.get(Invoice, invoice_id)
            if invoice is None:
                raise ApplicationError(f"invoice {invoice_id} does not exist", non_retryable=True)
            if invoice.status == "issued":
                invoice.status = "overdue"
            return InvoiceState(
                invoice_id=invoice.id,
                status=invoice.status,
                open_minor=max(0, invoice.total_minor - invoice.paid_minor),
                currency=invoice.currency,
            )

    @activity.defn(name="send_dunning_notice")
    def send_notice(self, notice: NoticeInput) -> str:
        with unit_of_work(self.url) as session:
            invoice = session.get(Invoice, notice.invoice_id)
            assert invoice is not None
            account = session.get(Account, invoice.account_id)
            assert account is not None
            to, number = account.email, invoice.number
            due = invoice.total_minor - invoice.paid_minor
        subject = {
            "reminder": f"Reminder: invoice {number} is unpaid",
            "warning": f"Warning: services will be suspended, invoice {number} is unpaid",
            "final": f"Final notice: invoice {number}, services will be terminated",
        }.get(notice.kind, number)
        text = (
            f"Invoice {number} still has {due} (minor units) to pay. Please pay it now to keep your services."
        )
        message_id = f"<{notice.process_id}.{notice.kind}@multibill.local>"
        self.notifier.send_email(EmailMessageSpec(to=to, subject=subject, text=text, message_id=message_id))
        return message_id

    @activity.defn(name="plan_service_actions")
    def plan_service_actions(self, request: ServiceActionInput) -> list[ChangePlan]:
        """Take each live subscription of the account for one action process (skipping those that can't)."""
        plans = []
        with unit_of_work(self.url) as session:
            subs = session.execute(
                select(Subscription)
                .where(Subscription.account_id == request.account_id)
                .order_by(Subscription.id)
                .with_for_update()
            ).scalars()
            for sub in subs:
                timing = "end_of_term" if request.action == "terminate" else "immediate"
                plan = take_for_action(
                    session,
                    sub,
                    request.action,
                    ActionRequest(reason=request.reason, timing=timing),
                    process_ids.service_action(request.process_id, request.action, sub.id),
                    "dunning",
                )
                if plan is not None:
                    plans.append(plan)
        return plans

    @activity.defn(name="write_off_invoice")
    def write_off(self, invoice_id: str) -> int:
        """Write the open amount off as bad debt (a ledger entry) and close the invoice."""
        with unit_of_work(self.url) as session:
            invoice = session.execute(
                select(Invoice).where(Invoice.id == invoice_id).with_for_update()
            ).scalar_one()
            open_minor = invoice.total_minor - invoice.paid_minor
            if open_minor <= 0 or invoice.status == "written_off":
                return 0
            post_entry(
                session,
                organisation_id=invoice.organisation_id,
                customer_id=invoice.account_id,
                kind="write_off",
                source_id=invoice.id,
                currency=invoice.currency,
                booked_on=utcnow().date(),
                postings=write_off_entry(invoice.account_id, invoice.currency, open_minor),
                key=f"write_off:{invoice.id}",
                memo=f"write-off of invoice {invoice.number}",
            )
            session.execute(update(Invoice).where(Invoice.id == invoice.id).values(status="written_off"))
            return open_minor

    def all(self) -> list[Any]:
        return [self.ladder, self.invoice_state, self.send_notice, self.plan_service_actions, self.write_off]
