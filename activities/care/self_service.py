"""Tickets from the subscriber's side: the categories open to subscribers, raising one, the subscriber's
own tickets and their public thread (never an internal note), a reply, closing. Each narrows to the
subscriber's accounts first, then calls the care scripts (activities/care/tickets.py) with the
subscriber as the actor, so every rule and history line is the staff path's."""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import select
from sqlalchemy.orm import Session

from activities.accounts.subscriber_access import acting_principal, own_account
from activities.care import tickets as store
from activities.shared.pagination import decode_cursor, fetch_page
from domain import care
from domain.errors import Conflict, NotFound
from domain.ids import is_valid_id
from domain.principal import Principal
from domain.subscribers import Subscriber
from models.care import Ticket, TicketAttachment, TicketCategory, TicketHistory


def _operator_of(session: Session, subscriber: Subscriber) -> str:
    account = own_account(session, subscriber)
    return acting_principal(session, subscriber, account).organisation_path.strip("/").split("/")[0]


def open_categories(session: Session, subscriber: Subscriber) -> Sequence[TicketCategory]:
    """The operator's categories a subscriber may raise tickets in."""
    stmt = select(TicketCategory).where(
        TicketCategory.organisation_id == _operator_of(session, subscriber),
        TicketCategory.open_to_subscribers.is_(True),
    )
    return session.execute(stmt.order_by(TicketCategory.name, TicketCategory.id)).scalars().all()


def _open_category(session: Session, subscriber: Subscriber, wanted: str) -> TicketCategory:
    for category in open_categories(session, subscriber):
        if wanted in (category.id, category.code):
            return category
    raise NotFound("ticket_category", wanted)


def raise_ticket(session: Session, subscriber: Subscriber, new: store.NewTicket) -> Ticket:
    """A ticket of one of the subscriber's accounts, in a category open to subscribers; a subscription,
    device or invoice it names must be that account's (else 404 of its kind)."""
    account = own_account(session, subscriber, new.account_id)
    category = _open_category(session, subscriber, new.category)
    principal = acting_principal(session, subscriber, account)
    ticket = store.NewTicket(
        account_id=account.id,
        category=category.id,
        subject=new.subject,
        description=new.description,
        subscription_id=new.subscription_id,
        device_id=new.device_id,
        invoice_id=new.invoice_id,
    )
    return store.create_ticket(session, principal, ticket)


def own_ticket(
    session: Session, subscriber: Subscriber, ticket_id: str, *, lock: bool = False
) -> tuple[Ticket, Principal]:
    """The ticket if it is one of the subscriber's accounts' (else NotFound) and the acting principal."""
    if not is_valid_id(ticket_id, "tkt"):
        raise NotFound("ticket", ticket_id)
    stmt = select(Ticket).where(Ticket.id == ticket_id, Ticket.account_id.in_(subscriber.account_ids))
    if lock:
        stmt = stmt.with_for_update()
    ticket = session.execute(stmt).scalar_one_or_none()
    if ticket is None:
        raise NotFound("ticket", ticket_id)
    account = own_account(session, subscriber, ticket.account_id)
    return ticket, acting_principal(session, subscriber, account)


def my_tickets(
    session: Session, subscriber: Subscriber, status: str | None, cursor: str | None, limit: int
) -> tuple[list[Ticket], bool]:
    """The subscriber's accounts' tickets, newest first."""
    stmt = select(Ticket).where(Ticket.account_id.in_(subscriber.account_ids))
    if status is not None:
        stmt = stmt.where(Ticket.status == status)
    if cursor:
        stmt = stmt.where(Ticket.id < decode_cursor(cursor, "tkt"))
    return fetch_page(session, stmt.order_by(Ticket.id.desc()), limit)


def public_thread(session: Session, ticket: Ticket) -> list[TicketHistory]:
    """What the subscriber sees of the history: public lines only (never an internal note)."""
    return store.history(session, ticket, public_only=True)


def reply(session: Session, subscriber: Subscriber, ticket_id: str, body: str) -> Ticket:
    """The subscriber's public comment; on a ticket waiting on them it opens the ticket again."""
    ticket, principal = own_ticket(session, subscriber, ticket_id)
    store.comment(session, principal, ticket.id, body, public=True, from_customer=True)
    return ticket


def close(session: Session, subscriber: Subscriber, ticket_id: str) -> Ticket:
    """The subscriber needs nothing more: the ticket is resolved (unless it was) and closed."""
    ticket, _ = own_ticket(session, subscriber, ticket_id, lock=True)
    if ticket.status == care.TicketStatus.CLOSED:
        raise Conflict("ticket_closed", f"Ticket {ticket.id} is closed already")
    actor = subscriber.login_id
    if ticket.status != care.TicketStatus.RESOLVED:
        store.apply_status(session, ticket, care.TicketStatus.RESOLVED, actor, "closed by the customer")
    return store.apply_status(session, ticket, care.TicketStatus.CLOSED, actor, "closed by the customer")


def attach(
    session: Session, subscriber: Subscriber, ticket_id: str, filename: str, content_type: str, content: bytes
) -> TicketAttachment:
    """The subscriber's file on their ticket (the care area's type and size checks), shown in the thread."""
    ticket, principal = own_ticket(session, subscriber, ticket_id)
    if ticket.status == care.TicketStatus.CLOSED:
        raise Conflict("ticket_closed", f"Ticket {ticket.id} is closed")
    return store.attach(
        session,
        principal,
        ticket.id,
        filename=filename,
        content_type=content_type,
        content=content,
        visibility="public",
    )


def public_attachment(
    session: Session, subscriber: Subscriber, ticket_id: str, attachment_id: str
) -> TicketAttachment:
    """An attachment of the subscriber's ticket shown in its public thread (else NotFound)."""
    ticket, principal = own_ticket(session, subscriber, ticket_id)
    shown = {str(line.data.get("attachment_id")) for line in public_thread(session, ticket)}
    if attachment_id not in shown:
        raise NotFound("ticket_attachment", attachment_id)
    return store.find_attachment(session, principal, ticket.id, attachment_id)
