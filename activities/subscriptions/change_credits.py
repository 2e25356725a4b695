"""The money of a subscription change, in the caller's transaction: the credit of a stopped service's
unused days, the charge for the rest of a started service's period, and the refund of all that was billed
(a regret)."""

from __future__ import annotations

from datetime import date

from sqlalchemy import select
from sqlalchemy.orm import Session

from activities.billing.device_returns import rental_billed, returned_on
from activities.billing.extras import charges_billed, discount_of
from activities.billing.page_data import charged_spans
from activities.invoices.credit_notes import amounts_from_lines, insert_note, post_note
from activities.invoices.void import negated_line
from activities.subscriptions import records as store
from activities.subscriptions.io import ChangePlan
from domain.invoice_extras import (
    DISCOUNT,
    charge_net_of_discount,
    credit_net_of_discount,
    rental_credit,
)
from domain.invoicing import credit_owed
from domain.quote import QuoteContext
from domain.subscriptions import ChargeLine, start_charge, stop_credit
from models.billing import Invoice, InvoiceLine
from models.subscriptions import Subscription, SubscriptionService


def credit_unused(
    session: Session,
    sub: Subscription,
    service: SubscriptionService,
    stop_on: date,
    why: str,
    rental: bool = True,
    netted: list[ChargeLine] | None = None,
) -> list[ChargeLine]:
    """The credit of the unused days when ``service`` stops (or pauses) on ``stop_on``, if its period is
    billed: a credit reverses only what a run billed (or will bill) or a change charged, never more. A
    discounted service's credit is net of its bundle discount when the discount of that period is (or
    will be) billed (``netted`` collects such credits before netting), and ``rental``: the unused days of
    its device's rental period, if that is billed."""
    terms = store.terms_of(session, sub, service)
    extras = charges_billed(session, sub.id)
    lines = []
    line = stop_credit(terms, stop_on, why)
    if line is not None and line.period is not None:
        period = line.period
        charged = any(
            span.covers_service(service.id, service.line_id, period)
            for span in charged_spans(session, [sub.id]).get(sub.id, ())
        )
        if credit_owed(service.started_on, period, stop_on, charged):
            discount = discount_of(
                session, store.operator_id(session, sub.organisation_id), sub.id, service.id
            )
            discounted = not charged or any(s.covers(DISCOUNT, service.id, period) for s in extras)
            if discount is not None and discounted:
                ctx = QuoteContext(sub.currency, bill_day=sub.bill_day, rounding=terms.rounding)
                if netted is not None:
                    netted.append(line)
                line = credit_net_of_discount(line, terms.plan, service.started_on, *discount, ctx)
            lines.append(line)
    back = returned_on(session, service.line_id, sub.timezone) if rental else None
    if back is not None and back <= stop_on:
        rental = False  # the rental ended when the device went back, and its return credited it
    billed = rental_billed(session, sub, service.line_id) if rental else []
    unused = rental_credit(terms, stop_on, why, billed) if billed else None
    if unused is not None:
        lines.append(unused)
    return lines


def charge_rest(
    session: Session,
    sub: Subscription,
    service: SubscriptionService,
    on: date,
    why: str,
    credits: list[ChargeLine],
) -> ChargeLine | None:
    """The charge for the rest of the period when ``service`` starts (or resumes) on ``on``, less its
    bundle discount if it was sold in a discounted bundle (with ``credits``, the period's netted credits
    before netting, as the quote discounts the period's net)."""
    terms = store.terms_of(session, sub, service)
    charge = start_charge(terms, on, why)
    operator = store.operator_id(session, sub.organisation_id)
    discount = discount_of(session, operator, sub.id, service.id) if charge is not None else None
    if charge is None or discount is None:
        return charge
    ctx = QuoteContext(sub.currency, bill_day=sub.bill_day, rounding=terms.rounding)
    return charge_net_of_discount(charge, credits, terms.plan, service.started_on, *discount, ctx)


def credit_billed(session: Session, sub: Subscription, plan: ChangePlan) -> list[str]:
    """A credit note per invoice for every line billed to the subscription (a regret refunds it all)."""
    rows = session.execute(
        select(InvoiceLine, Invoice)
        .join(Invoice, Invoice.id == InvoiceLine.invoice_id)
        .where(InvoiceLine.subscription_id == sub.id, Invoice.status != "void")
        .order_by(Invoice.id, InvoiceLine.position)
    ).all()
    by_invoice: dict[str, tuple[Invoice, list[InvoiceLine]]] = {}
    for line, invoice in rows:
        by_invoice.setdefault(invoice.id, (invoice, []))[1].append(line)
    notes = []
    for invoice, lines in by_invoice.values():
        note_lines = [negated_line(li) for li in lines]
        note = insert_note(
            session,
            issuer=invoice.organisation_id,
            account_id=invoice.account_id,
            invoice_id=invoice.id,
            reason="refund",
            description=f"Regret of subscription {sub.id}: everything billed is refunded",
            currency=invoice.currency,
            issue_date=plan.effective_on,
            lines=note_lines,
            key=f"{plan.process_id}:regret:{invoice.id}",
        )
        post_note(session, note, *amounts_from_lines(note_lines))
        notes.append(note.id)
    return notes
