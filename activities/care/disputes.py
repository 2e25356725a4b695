"""Billing disputes: a ticket of a ``billing_dispute`` category holds its invoice (dunning waits while the
hold stands, see workflows/dunning.py) and ends in a credit note approved by a supervisor (an admin key;
the credit-note script of activities/invoices) or in a rejection; either releases the hold and resolves
the ticket. One transaction each (the caller's session)."""

from __future__ import annotations

from sqlalchemy import delete, select, update
from sqlalchemy.orm import Session

from activities.care.tickets import append_history, apply_status, find_ticket, record_ticket_event
from activities.devices import stolen
from activities.devices.moves import Who
from activities.invoices.credit_notes import CreditLineIn, CreditRequest, issue_credit_note
from domain import care
from domain.devices import DeviceState
from domain.errors import Conflict, RuleViolation
from domain.organisations import Role
from domain.principal import Principal
from models.accounts import Account
from models.base import utcnow
from models.billing import Invoice
from models.care import InvoiceHold, Ticket, TicketCategory
from models.devices import Device, DeviceLogin, ServiceCredential


class SupervisorRequired(RuleViolation):
    status = 403


def _dispute(session: Session, principal: Principal, ticket_id: str) -> tuple[Ticket, Invoice]:
    ticket = find_ticket(session, principal, ticket_id, lock=True)
    category = session.get(TicketCategory, ticket.category_id)
    if category is None or category.action != care.CategoryAction.BILLING_DISPUTE:
        raise Conflict("not_a_billing_dispute", f"Ticket {ticket.id} is not a billing dispute")
    if ticket.invoice_id is None:
        raise Conflict("dispute_without_invoice", f"Ticket {ticket.id} names no invoice")
    if ticket.status in (care.TicketStatus.RESOLVED, care.TicketStatus.CLOSED):
        raise Conflict("dispute_settled", f"Ticket {ticket.id} is {ticket.status}")
    invoice = session.get(Invoice, ticket.invoice_id, with_for_update=True)
    assert invoice is not None
    return ticket, invoice


def is_held(session: Session, invoice_id: str) -> bool:
    """Whether a billing dispute holds the invoice (dunning waits)."""
    stmt = select(InvoiceHold.invoice_id).where(
        InvoiceHold.invoice_id == invoice_id, InvoiceHold.released_at.is_(None)
    )
    return session.execute(stmt).first() is not None


def hold_invoice(session: Session, principal: Principal, ticket_id: str) -> Ticket:
    """Put the disputed invoice on hold (again: a released hold is taken up by this ticket)."""
    ticket, invoice = _dispute(session, principal, ticket_id)
    hold = session.get(InvoiceHold, invoice.id, with_for_update=True)
    if hold is not None and hold.released_at is None:
        return ticket  # held already: a repeated request changes nothing
    if hold is None:
        session.add(InvoiceHold(invoice_id=invoice.id, ticket_id=ticket.id))
    else:
        hold.ticket_id, hold.held_at, hold.released_at = ticket.id, utcnow(), None
    append_history(
        session, ticket, "action", principal.key_id, data={"action": "hold_invoice", "invoice_id": invoice.id}
    )
    ticket.version += 1
    record_ticket_event(session, "ticket.updated", ticket, change="invoice_held")
    session.flush()
    return ticket


def _release(session: Session, invoice_id: str) -> None:
    hold = session.get(InvoiceHold, invoice_id, with_for_update=True)
    if hold is not None and hold.released_at is None:
        hold.released_at = utcnow()


def credit_dispute(
    session: Session, principal: Principal, ticket_id: str, amount_minor: int, description: str, key: str
) -> Ticket:
    """Settle the dispute with a credit note of ``amount_minor`` (net) on the invoice, approved by the caller,
    who must be a supervisor (an admin key); the hold ends and the ticket is resolved."""
    if principal.role != Role.ADMIN:
        raise SupervisorRequired(
            "supervisor_approval_required",
            "A credit note settling a dispute needs a supervisor's (admin) key",
        )
    ticket, invoice = _dispute(session, principal, ticket_id)
    account = session.get(Account, ticket.account_id)
    assert account is not None
    request = CreditRequest(
        currency=invoice.currency,
        reason="goodwill",
        description=description,
        lines=[CreditLineIn(description=description, amount_minor=amount_minor)],
        key=f"ticket:{ticket.id}:{key}",
    )
    note = issue_credit_note(session, request, account, invoice)
    _release(session, invoice.id)
    append_history(
        session,
        ticket,
        "action",
        principal.key_id,
        body=description,
        data={"action": "credit_note", "credit_note_id": note.id, "approved_by": principal.key_id},
    )
    return apply_status(session, ticket, care.TicketStatus.RESOLVED, principal.key_id, "dispute credited")


def reject_dispute(session: Session, principal: Principal, ticket_id: str, reason: str) -> Ticket:
    """Reject the dispute: the hold ends (dunning goes on) and the ticket is resolved."""
    ticket, invoice = _dispute(session, principal, ticket_id)
    _release(session, invoice.id)
    append_history(
        session, ticket, "action", principal.key_id, body=reason, data={"action": "reject_dispute"}
    )
    return apply_status(session, ticket, care.TicketStatus.RESOLVED, principal.key_id, "dispute rejected")


def cancellation_ticket(session: Session, principal: Principal, ticket_id: str) -> Ticket:
    """A ``cancel_request`` ticket naming a subscription, not yet resolved (its termination may start)."""
    ticket = find_ticket(session, principal, ticket_id, lock=True)
    category = session.get(TicketCategory, ticket.category_id)
    if category is None or category.action != care.CategoryAction.CANCEL_REQUEST:
        raise Conflict("not_a_cancel_request", f"Ticket {ticket.id} is not a cancel request")
    if ticket.subscription_id is None:
        raise Conflict("cancel_request_without_subscription", f"Ticket {ticket.id} names no subscription")
    if ticket.status in (care.TicketStatus.RESOLVED, care.TicketStatus.CLOSED):
        raise Conflict("cancel_request_settled", f"Ticket {ticket.id} is {ticket.status}")
    return ticket


def record_cancellation(session: Session, ticket: Ticket, actor: str, process_id: str, timing: str) -> None:
    """The termination a cancel request started, in the ticket's history."""
    append_history(
        session,
        ticket,
        "action",
        actor,
        data={"action": "terminate", "process_id": process_id, "timing": timing},
    )
    ticket.version += 1
    record_ticket_event(
        session, "ticket.updated", ticket, change="termination_started", process_id=process_id
    )


def block_stolen_device(session: Session, principal: Principal, ticket_id: str) -> Ticket:
    """A ``stolen_device`` ticket blocks its device at once, in one transaction: the device becomes
    ``lost_stolen`` (its stock movement names the ticket), every login of the device's service ends and
    the service's login secret is revoked, so no app logs in again with what the thief holds (the
    subscriber gets a new secret from ``POST /v1/devices/credentials``); the caller then starts the
    DeviceSwap (reason stolen), which deprovisions the device and hands over a replacement. Asked again
    (another key, e.g. after a swap that found no stock): the device stays lost/stolen, nothing more
    moves or ends (logins since are the subscriber's, with a new secret), and a new swap may start."""
    ticket = find_ticket(session, principal, ticket_id, lock=True)
    category = session.get(TicketCategory, ticket.category_id)
    if category is None or category.action != care.CategoryAction.STOLEN_DEVICE:
        raise Conflict("not_a_stolen_device", f"Ticket {ticket.id} is not a stolen device")
    device = session.get(Device, ticket.device_id, with_for_update=True) if ticket.device_id else None
    service_id = _held_service(session, device)
    if device is None or service_id is None:
        raise Conflict("device_not_assigned", f"Ticket {ticket.id} names no device with a subscriber")
    marked = stolen.mark_stolen(
        session,
        device,
        Who(principal.key_id),
        key=f"ticket:{ticket.id}:stolen-device",
        reason=f"stolen: ticket {ticket.id}",
    )
    ended, revoked = _end_logins(session, service_id) if marked is not None else ([], [])
    append_history(
        session,
        ticket,
        "action",
        principal.key_id,
        data={
            "action": "block_device",
            "device_id": device.id,
            "device_state": device.state,
            "movement_id": marked.id if marked is not None else None,
            "logins_ended": len(ended),
            "credential_revoked": bool(revoked),
        },
    )
    ticket.version += 1
    record_ticket_event(session, "ticket.updated", ticket, change="device_blocked", device_state=device.state)
    return ticket


def _end_logins(session: Session, service_id: str) -> tuple[list[object], list[object]]:
    """End the service's logins and revoke its login secret: (logins ended, secrets revoked)."""
    ended = session.execute(
        update(DeviceLogin)
        .where(DeviceLogin.service_id == service_id, DeviceLogin.logged_out_at.is_(None))
        .values(logged_out_at=utcnow(), logout_reason="stolen")
        .returning(DeviceLogin.id)
    ).all()
    revoked = session.execute(
        delete(ServiceCredential)
        .where(ServiceCredential.service_id == service_id)
        .returning(ServiceCredential.service_id)
    ).all()
    return list(ended), list(revoked)


def _held_service(session: Session, device: Device | None) -> str | None:
    """The service (line id) a device serves, or served until it was marked lost/stolen."""
    if device is None:
        return None
    if device.state == DeviceState.ASSIGNED.value:
        return device.service_id
    taken = stolen.stolen_from(session, device)
    return taken.service_id if taken is not None else None
