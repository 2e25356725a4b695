"""Tickets: raise, read, move through their states, comment, assign, attach. One transaction each (the
caller's session); every change appends to the ticket's history and records a business event.

Functions take the caller's principal and plain fields (never a Request), so the self-service API can use
them with a subscriber's principal later. Who sees a ticket: staff of the account's organisation subtree,
and staff of the organisation that owns the ticket's queue (an outlet or partner working its tickets).
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Select, or_, select
from sqlalchemy.orm import Session, aliased

from activities.care import setup
from activities.events.outbox import record
from activities.shared.pagination import decode_cursor, fetch_page
from domain import care, process_ids
from domain.errors import Conflict, NotFound, RuleViolation
from domain.events import BusinessEvent
from domain.ids import is_valid_id, new_id
from domain.principal import Principal
from models.accounts import Account
from models.base import utcnow
from models.billing import Invoice
from models.care import Ticket, TicketAttachment, TicketHistory, TicketQueue
from models.devices import Device
from models.organisations import Organisation
from models.payments import Payment
from models.subscriptions import Subscription

SYSTEM = "system"


class ReferenceNotFound(RuleViolation):
    """A subscription, device, invoice or payment a ticket names that is not the account's (404, field)."""

    status = 404


def ticket_data(ticket: Ticket) -> dict[str, Any]:
    """The ticket as events carry it (no description or comments: those may hold personal data)."""
    return {
        "id": ticket.id,
        "account_id": ticket.account_id,
        "category_id": ticket.category_id,
        "queue_id": ticket.queue_id,
        "status": ticket.status,
        "priority": ticket.priority,
        "assignee": ticket.assignee,
        "escalation_level": ticket.escalation_level,
        "subscription_id": ticket.subscription_id,
        "device_id": ticket.device_id,
        "invoice_id": ticket.invoice_id,
        "payment_id": ticket.payment_id,
    }


UPDATE_FIELDS = {"change": None, "previous_status": None, "public": None, "process_id": None}
"""What a ``ticket.updated`` always carries (null when the change has none), so a template that names them
renders for every change."""


def record_ticket_event(session: Session, event_type: str, ticket: Ticket, **extra: Any) -> str:
    fixed = UPDATE_FIELDS if event_type == "ticket.updated" else {}
    event = BusinessEvent(
        event_type, ticket.organisation_id, "ticket", ticket.id, {**ticket_data(ticket), **fixed, **extra}
    )
    return record(session, event)


def append_history(
    session: Session,
    ticket: Ticket,
    kind: str,
    actor: str,
    *,
    body: str | None = None,
    visibility: str = "internal",
    data: dict[str, Any] | None = None,
) -> TicketHistory:
    line = TicketHistory(
        ticket_id=ticket.id, kind=kind, actor=actor, visibility=visibility, body=body, data=data or {}
    )
    session.add(line)
    return line


def _visible(principal: Principal) -> Select[Ticket]:
    owner = aliased(Organisation)
    return (
        select(Ticket)
        .join(Account, Account.id == Ticket.account_id)
        .join(Organisation, Organisation.id == Account.organisation_id)
        .join(TicketQueue, TicketQueue.id == Ticket.queue_id)
        .join(owner, owner.id == TicketQueue.owner_organisation_id)
        .where(
            or_(
                Organisation.path.startswith(principal.organisation_path, autoescape=True),
                owner.path.startswith(principal.organisation_path, autoescape=True),
            )
        )
    )


def find_ticket(session: Session, principal: Principal, ticket_id: str, *, lock: bool = False) -> Ticket:
    """The ticket if the caller may see it, else NotFound (another organisation's ticket is not found)."""
    if not is_valid_id(ticket_id, "tkt"):
        raise NotFound("ticket", ticket_id)
    stmt = _visible(principal).where(Ticket.id == ticket_id)
    if lock:
        stmt = stmt.with_for_update(of=Ticket)
    ticket = session.execute(stmt).scalar_one_or_none()
    if ticket is None:
        raise NotFound("ticket", ticket_id)
    return ticket


def _account(session: Session, principal: Principal, account_id: str) -> Account:
    account = session.get(Account, account_id) if is_valid_id(account_id, "acc") else None
    org = session.get(Organisation, account.organisation_id) if account is not None else None
    if account is None or org is None or not org.path.startswith(principal.organisation_path):
        raise NotFound("account", account_id)
    return account


def _check_reference(session: Session, model: Any, kind: str, ident: str | None, account_id: str) -> None:
    """A named subscription, invoice, payment or device must be the account's (else 404 of its kind)."""
    if ident is None:
        return
    row = session.get(model, ident)
    if model is Device:
        holder = session.get(Subscription, row.subscription_id) if row and row.subscription_id else None
        owner = holder.account_id if holder is not None else None
    else:
        owner = row.account_id if row is not None else None
    if owner != account_id:
        raise ReferenceNotFound(
            f"{kind}_not_found", f"No {kind} {ident} of account {account_id}", field=f"{kind}_id"
        )


@dataclass(frozen=True)
class NewTicket:
    account_id: str
    category: str  # a category id or code
    subject: str
    description: str = ""
    subscription_id: str | None = None
    device_id: str | None = None
    invoice_id: str | None = None
    payment_id: str | None = None


def create_ticket(session: Session, principal: Principal, new: NewTicket) -> Ticket:
    """A new ticket of a visible account in a category of the operator, with its first history line and
    ``ticket.created``; its TicketEscalation is started by the caller (process id on the row)."""
    account = _account(session, principal, new.account_id)
    if is_valid_id(new.category, "tcat"):
        category = setup.find_category(session, principal, new.category)
    else:
        category = setup.category_by_code(session, principal, new.category)
    for model, kind, ident in (
        (Subscription, "subscription", new.subscription_id),
        (Device, "device", new.device_id),
        (Invoice, "invoice", new.invoice_id),
        (Payment, "payment", new.payment_id),
    ):
        _check_reference(session, model, kind, ident, account.id)
    ticket_id = new_id("tkt")
    ticket = Ticket(
        id=ticket_id,
        organisation_id=account.organisation_id,
        account_id=account.id,
        category_id=category.id,
        queue_id=category.queue_id,
        status=care.TicketStatus.NEW.value,
        priority=category.priority,
        subject=new.subject,
        description=new.description,
        subscription_id=new.subscription_id,
        device_id=new.device_id,
        invoice_id=new.invoice_id,
        payment_id=new.payment_id,
        escalation_level=0,
        reopens=0,
        process_id=process_ids.ticket_escalation(ticket_id),
    )
    session.add(ticket)
    session.flush()
    append_history(session, ticket, "created", principal.key_id, data={"category": category.code})
    record_ticket_event(session, "ticket.created", ticket)
    return ticket


def transition(
    session: Session, principal: Principal, ticket_id: str, target: str, note: str | None = None
) -> Ticket:
    """Move the ticket (new → open → waiting_on_customer → resolved → closed; a resolved one reopens)."""
    ticket = find_ticket(session, principal, ticket_id, lock=True)
    try:
        to = care.check_transition(ticket.status, target)
    except care.TransitionRefused as exc:
        raise Conflict("ticket_transition_refused", str(exc)) from None
    return apply_status(session, ticket, to, principal.key_id, note)


def apply_status(
    session: Session, ticket: Ticket, to: care.TicketStatus, actor: str, note: str | None
) -> Ticket:
    now = utcnow()
    before = ticket.status
    reopen = care.is_reopen(before, to)
    ticket.status = to.value
    if reopen:
        ticket.reopens += 1
        ticket.resolved_at = None
    if to == care.TicketStatus.RESOLVED:
        ticket.resolved_at = now
    if to == care.TicketStatus.CLOSED:
        ticket.closed_at = now
    if to == care.TicketStatus.OPEN and before == care.TicketStatus.NEW and ticket.first_responded_at is None:
        ticket.first_responded_at = now  # staff picking it up is the first response
    ticket.version += 1
    append_history(
        session, ticket, "status", actor, body=note, data={"from": before, "to": to.value, "reopen": reopen}
    )
    record_ticket_event(session, "ticket.updated", ticket, change="status", previous_status=before)
    return ticket


def comment(
    session: Session,
    principal: Principal,
    ticket_id: str,
    body: str,
    *,
    public: bool,
    from_customer: bool = False,
) -> TicketHistory:
    """A comment: a public staff answer is the first response; a customer's reply on a ticket waiting on
    them opens it again (the SLA clock resumes)."""
    ticket = find_ticket(session, principal, ticket_id, lock=True)
    if ticket.status == care.TicketStatus.CLOSED:
        raise Conflict("ticket_closed", f"Ticket {ticket.id} is closed")
    line = append_history(
        session,
        ticket,
        "comment",
        principal.key_id,
        body=body,
        visibility="public" if public or from_customer else "internal",
        data={"from_customer": from_customer},
    )
    if public and not from_customer and ticket.first_responded_at is None:
        ticket.first_responded_at = utcnow()
    if from_customer and ticket.status == care.TicketStatus.WAITING_ON_CUSTOMER:
        apply_status(session, ticket, care.TicketStatus.OPEN, principal.key_id, "the customer replied")
    else:
        ticket.version += 1
        record_ticket_event(
            session, "ticket.updated", ticket, change="comment", public=line.visibility == "public"
        )
    session.flush()
    return line


def assign(
    session: Session, principal: Principal, ticket_id: str, assignee: str | None, queue_id: str | None
) -> Ticket:
    """Give the ticket to a person and/or move it to another queue of the operator."""
    ticket = find_ticket(session, principal, ticket_id, lock=True)
    if queue_id is not None:
        setup.find_queue(session, principal, queue_id)
    before = {"assignee": ticket.assignee, "queue_id": ticket.queue_id}
    ticket.assignee = assignee if assignee is not None else ticket.assignee
    ticket.queue_id = queue_id or ticket.queue_id
    ticket.version += 1
    after = {"assignee": ticket.assignee, "queue_id": ticket.queue_id}
    append_history(session, ticket, "assignment", principal.key_id, data={"from": before, "to": after})
    record_ticket_event(session, "ticket.updated", ticket, change="assignment")
    return ticket


def attach(
    session: Session,
    principal: Principal,
    ticket_id: str,
    *,
    filename: str,
    content_type: str,
    content: bytes,
    limit: int = care.MAX_ATTACHMENT_BYTES,
    visibility: str = "internal",
) -> TicketAttachment:
    """Store an attachment (allowed types, at most ``limit`` bytes) in PostgreSQL, with its history line
    (``public`` when the customer sent it: they see it in their thread)."""
    media = care.check_attachment(content_type, len(content), limit)
    care.check_content(media, content)
    ticket = find_ticket(session, principal, ticket_id, lock=True)
    row = TicketAttachment(
        id=new_id("tatt"),
        ticket_id=ticket.id,
        filename=filename[:255] or "attachment",
        content_type=media,
        size=len(content),
        sha256=hashlib.sha256(content).hexdigest(),
        content=content,
    )
    session.add(row)
    append_history(
        session,
        ticket,
        "attachment",
        principal.key_id,
        visibility=visibility,
        data={
            "attachment_id": row.id,
            "filename": row.filename,
            "content_type": row.content_type,
            "size": row.size,
        },
    )
    ticket.version += 1
    record_ticket_event(session, "ticket.updated", ticket, change="attachment")
    session.flush()
    return row


def find_attachment(
    session: Session, principal: Principal, ticket_id: str, attachment_id: str
) -> TicketAttachment:
    ticket = find_ticket(session, principal, ticket_id)
    row = session.get(TicketAttachment, attachment_id) if is_valid_id(attachment_id, "tatt") else None
    if row is None or row.ticket_id != ticket.id:
        raise NotFound("ticket_attachment", attachment_id)
    return row


def history(session: Session, ticket: Ticket, *, public_only: bool = False) -> list[TicketHistory]:
    stmt = select(TicketHistory).where(TicketHistory.ticket_id == ticket.id)
    if public_only:
        stmt = stmt.where(TicketHistory.visibility == "public")
    return list(session.execute(stmt.order_by(TicketHistory.id)).scalars())


@dataclass(frozen=True)
class TicketFilter:
    status: str | None = None
    account_id: str | None = None
    queue_id: str | None = None
    category_id: str | None = None
    priority: str | None = None
    assignee: str | None = None
    created_since: datetime | None = None


def list_tickets(
    session: Session, principal: Principal, filters: TicketFilter, cursor: str | None, limit: int
) -> tuple[Sequence[Ticket], bool]:
    stmt = _visible(principal)
    for column, value in (
        (Ticket.status, filters.status),
        (Ticket.account_id, filters.account_id),
        (Ticket.queue_id, filters.queue_id),
        (Ticket.category_id, filters.category_id),
        (Ticket.priority, filters.priority),
        (Ticket.assignee, filters.assignee),
    ):
        if value is not None:
            stmt = stmt.where(column == value)
    if filters.created_since is not None:
        stmt = stmt.where(Ticket.created_at >= filters.created_since)
    if cursor:
        stmt = stmt.where(Ticket.id > decode_cursor(cursor, "tkt"))
    return fetch_page(session, stmt.order_by(Ticket.id), limit)
