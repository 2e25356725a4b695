"""The credit of a rented device taken back while its service stays active, in the caller's transaction.

A run bills a rental in advance; when the device goes back (returned to a warehouse, or lost/stolen)
the rental ends that day (``activities.billing.extras`` reads the return) and the unused days of the
period billed are credited: a pending credit the next run puts on its credit note, booked against
device revenue. The amount is the quote's (``domain.invoice_extras.rental_credit``): the period billed
less the rental prorated to the return day. Once per return (keyed by its stock movement); nothing
when the period holding the return day is not billed yet (the run then bills the rental up to the
return day) or when the service has ended (its stop credited the rental). A device swap does not come
here: the rental goes on with the replacement.
"""

from __future__ import annotations

from datetime import date

from sqlalchemy import select
from sqlalchemy.orm import Session

from activities.billing.extras import TAKEN_BACK, charges_billed
from activities.subscriptions import records as store
from domain.invoice_extras import RENTAL, RentalBilled, rental_credit
from domain.periods import zone
from models.devices import Device, StockMovement
from models.subscriptions import Subscription, SubscriptionService


def _renting_service(session: Session, sub_id: str, line_id: str, day: date) -> SubscriptionService | None:
    for service in store.services(session, sub_id, ("active",)):
        if service.line_id == line_id and service.started_on <= day:
            return service
    return None


def credit_returned_rental(session: Session, movement: StockMovement) -> int:
    """Record the credit of the unused days of the rental billed for the returned device's line; the
    number of credits recorded (0 or 1). The subscription's row is locked first, as a change does, so
    a bill-run page billing it waits (or is waited for) and both see the other's guard rows."""
    if movement.subscription_id is None or movement.service_id is None:
        return 0
    sub = store.load(session, movement.subscription_id, lock=True)
    day = movement.at.astimezone(zone(sub.timezone)).date()
    if sub.end_date is not None and sub.end_date <= day:
        return 0
    service = _renting_service(session, sub.id, movement.service_id, day)
    if service is None:
        return 0
    terms = store.terms_of(session, sub, service)
    device = terms.plan.device
    if device is None or device.product_code != movement.product_code:
        return 0
    billed = rental_billed(session, sub, service.line_id)
    if not any(s.start <= day < s.end for s in billed):
        return 0  # not billed yet: the run bills the rental up to the return day
    line = rental_credit(terms, day, "device returned", billed)
    if line is None or line.period is None:
        return 0
    return store.record_charges(session, sub, service.id, [line], f"{movement.id}:returned")


def rental_billed(session: Session, sub: Subscription, line_id: str) -> list[RentalBilled]:
    """The days runs billed for a line's rental, each with the plan of the service that billed them
    (the line's service live on the span's first day; the earlier one while a change replaces it)."""
    services = [s for s in store.services(session, sub.id) if s.line_id == line_id]
    billed = []
    for span in charges_billed(session, sub.id):
        if span.charge != RENTAL or span.key != line_id:
            continue
        by = sorted(
            (
                s
                for s in services
                if s.started_on <= span.start and (s.ended_on is None or span.start < s.ended_on)
            ),
            key=lambda s: s.started_on,
        )
        if by:
            billed.append(RentalBilled(span.start, span.end, store.terms_of(session, sub, by[0]).plan))
    return sorted(billed, key=lambda b: b.start)


def returned_on(session: Session, line_id: str, timezone: str) -> date | None:
    """The local day a line's device last went back, if no device is with the line now."""
    held = session.execute(
        select(Device.id).where(Device.service_id == line_id, Device.state == "assigned").limit(1)
    ).first()
    if held is not None:
        return None
    at = session.execute(
        select(StockMovement.at)
        .where(
            StockMovement.service_id == line_id,
            StockMovement.from_state == "assigned",
            StockMovement.kind.in_(TAKEN_BACK),
        )
        .order_by(StockMovement.at.desc())
        .limit(1)
    ).scalar_one_or_none()
    return at.astimezone(zone(timezone)).date() if at is not None else None
