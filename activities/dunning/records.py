"""Dunning's transaction scripts, in the caller's transaction: the operator's ladder, an invoice's state and
write-off, the notice of a step, and taking an account's subscriptions for a service action."""

from __future__ import annotations

from sqlalchemy import select, update
from sqlalchemy.orm import Session
from temporalio.exceptions import ApplicationError

from activities.dunning.io import InvoiceState, NoticeInput, ServiceActionInput
from activities.events.outbox import record_once
from activities.events.snapshots import account_organisation
from activities.notifications import direct
from activities.notifications.templates import Parts
from activities.shared.ledger import post_entry
from activities.subscriptions.changes import ActionRequest, take_for_action
from activities.subscriptions.io import ChangePlan
from domain import process_ids
from domain.dunning import DEFAULT_LADDER, Ladder
from domain.events import BusinessEvent
from domain.ledger import write_off_entry
from integrations.notify.base import EmailMessageSpec
from models.accounts import Account
from models.base import utcnow
from models.billing import Invoice
from models.care import InvoiceHold
from models.organisations import Organisation
from models.subscriptions import Subscription


def ladder(session: Session, organisation_id: str) -> Ladder:
    """The ladder of the operator at the root of the organisation's tree (default when none is set)."""
    org = session.get(Organisation, organisation_id)
    root = session.get(Organisation, org.path.strip("/").split("/")[0]) if org else None
    spec = (root.dunning_ladder if root is not None else None) or None
    return Ladder.model_validate(spec) if spec else DEFAULT_LADDER


def invoice_state(session: Session, invoice_id: str) -> InvoiceState:
    """Mark an unpaid invoice overdue and say what is still open.

    The row is locked first: a payment settling at the same moment (a gateway's webhook) must not have its
    ``paid`` overwritten by this ``overdue``.
    """
    invoice = session.get(Invoice, invoice_id, with_for_update=True)
    if invoice is None:
        raise ApplicationError(f"invoice {invoice_id} does not exist", non_retryable=True)
    if invoice.status == "issued":
        invoice.status = "overdue"
    return InvoiceState(
        invoice_id=invoice.id,
        status=invoice.status,
        open_minor=max(0, invoice.total_minor - invoice.paid_minor),
        currency=invoice.currency,
        on_hold=_held(session, invoice.id),
    )


def _held(session: Session, invoice_id: str) -> bool:
    """Whether a billing dispute holds the invoice (models/care.py ``invoice_holds``)."""
    stmt = select(InvoiceHold.invoice_id).where(
        InvoiceHold.invoice_id == invoice_id, InvoiceHold.released_at.is_(None)
    )
    return session.execute(stmt).first() is not None


def notice_email(session: Session, notice: NoticeInput) -> EmailMessageSpec | None:
    """The email of a dunning step to the invoice's account holder, through the notifications engine (the
    operator's ``dunning.step`` template, else this text; logged; None when the holder refused email)."""
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
    text = f"Invoice {number} still has {due} (minor units) to pay. Please pay it now to keep your services."
    message_id = f"<{notice.process_id}.{notice.kind}@multibill.local>"
    data = {
        "invoice_id": invoice.id,
        "account_id": account.id,
        "invoice_number": number,
        "step": f"notice:{notice.kind}",
        "kind": notice.kind,
        "invoice_status": invoice.status,
        "open_minor": max(0, due),
        "currency": invoice.currency,
    }
    return direct.prepare_email(
        session,
        account_id=account.id,
        kind="dunning.step",
        data=data,
        to=to,
        message_id=message_id,
        default=Parts(subject, text),
    )


def plan_service_actions(session: Session, request: ServiceActionInput) -> list[ChangePlan]:
    """Take each live subscription of the account for one action process (skipping those that can't)."""
    plans = []
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
    if plans and request.invoice_id and request.action in ("suspend", "terminate"):
        record_step(session, request.invoice_id, request.action, f"{request.process_id}:{request.action}")
    return plans


def write_off(session: Session, invoice_id: str) -> int:
    """Write the open amount off as bad debt (a ledger entry) and close the invoice; the amount."""
    invoice = session.execute(select(Invoice).where(Invoice.id == invoice_id).with_for_update()).scalar_one()
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
    record_step(session, invoice.id, "write_off", f"write_off:{invoice.id}")
    return open_minor


def record_step(session: Session, invoice_id: str, step: str, key: str) -> None:
    """Record the ``dunning.step`` event of ``step`` (a notice, a suspension or termination of the account's
    services, the write-off) once per ``key`` (the dunning process and step), however often the activity
    that takes it is retried. A retry is told by its ``payment.succeeded``/``payment.failed`` event."""
    invoice = session.get(Invoice, invoice_id)
    assert invoice is not None
    data = {
        "invoice_id": invoice.id,
        "account_id": invoice.account_id,
        "invoice_number": invoice.number,
        "step": step,
        "invoice_status": invoice.status,
        "open_minor": max(0, invoice.total_minor - invoice.paid_minor),
        "currency": invoice.currency,
    }
    org = account_organisation(session, invoice.account_id)
    record_once(session, BusinessEvent("dunning.step", org, "invoice", invoice.id, data), key)
