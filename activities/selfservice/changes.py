"""What a plan change or add-on would cost, before the subscriber confirms it: the change is planned by
the staff route's own checks (prepare_change) and rehearsed by the PlanChange process's own step
(change_steps.apply) inside a savepoint that is always rolled back, so the quote is exactly what the
process will charge and nothing is kept."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from activities.subscriptions import change_steps
from activities.subscriptions import records as store
from activities.subscriptions.changes import ChangeRequest, prepare_change
from activities.subscriptions.io import ChangePlan
from domain.errors import NotFound
from domain.money import Money
from domain.subscribers import Subscriber
from domain.subscriptions import price_on
from models.devices import Device
from models.subscriptions import PendingCharge, Subscription, SubscriptionService

QUOTE_PROCESS = "change-quote"


def own_subscription(session: Session, subscriber: Subscriber, subscription_id: str) -> Subscription:
    """The subscription, if it belongs to an account the subscriber may see (404 otherwise)."""
    sub = session.get(Subscription, subscription_id) if subscription_id.startswith("sub_") else None
    if sub is None or not subscriber.may_see(sub.account_id):
        raise NotFound("subscription", subscription_id)
    return sub


def money(amount_minor: int, currency: str) -> dict[str, Any]:
    value = Money(amount_minor, currency)
    return {"amount_minor": amount_minor, "amount": str(value.to_decimal()), "currency": currency}


def _new_price(session: Session, sub: Subscription, plan: ChangePlan) -> dict[str, Any] | None:
    if not plan.plan_code or plan.plan_version is None:
        return None
    like = session.get(SubscriptionService, plan.service_id) if plan.service_id else None
    probe = SubscriptionService(
        plan_code=plan.plan_code,
        plan_version=plan.plan_version,
        started_on=plan.effective_on,
        quantity=like.quantity if like is not None else 1,
    )
    price = price_on(store.terms_of(session, sub, probe), plan.effective_on)
    return money(price.amount_minor, price.currency)


def _position(row: PendingCharge) -> tuple[str, int]:
    prefix, _, index = row.idempotency_key.rpartition(":")
    return prefix.rsplit(":", 2)[0], int(index) if index.isdigit() else 0


def quote_change(
    session: Session, subscriber: Subscriber, subscription_id: str, request: ChangeRequest
) -> dict[str, Any]:
    """The change as the process would make it (timing, date, the new recurring price) and the prorated
    charges and credits it adds to the next invoice (net of tax; tax is added on the invoice)."""
    sub = own_subscription(session, subscriber, subscription_id)
    process_id = f"{QUOTE_PROCESS}-{sub.id}"
    plan = prepare_change(session, sub, request, process_id, f"subscriber:{subscriber.login_id}")
    lines: list[dict[str, Any]] = []
    if plan.timing == "immediate":
        savepoint = session.begin_nested()
        try:
            change_steps.apply(session, sub, plan)
            found = session.scalars(
                select(PendingCharge).where(
                    PendingCharge.idempotency_key.startswith(f"{process_id}:", autoescape=True)
                )
            ).all()
            rows = sorted(found, key=_position)  # as the step recorded them (its keys end in the index)
            lines = [
                {
                    "kind": row.kind,
                    "description": row.description,
                    "period_start": row.period_start.isoformat() if row.period_start else None,
                    "period_end": row.period_end.isoformat() if row.period_end else None,
                    "amount": money(row.amount_minor, row.currency),
                }
                for row in rows
            ]
        finally:
            savepoint.rollback()
            session.expire_all()
    total = sum(line["amount"]["amount_minor"] for line in lines)
    return {
        "object": "change_quote",
        "subscription_id": sub.id,
        "type": plan.action,
        "plan": plan.plan_code,
        "service_id": plan.service_id,
        "timing": plan.timing,
        "effective_on": plan.effective_on.isoformat(),
        "new_price": _new_price(session, sub, plan),
        "lines": lines,
        "total_net": money(total, sub.currency),
    }


def devices_of(session: Session, subscription_id: str) -> list[dict[str, Any]]:
    """The devices a subscription holds (routers, set-top boxes, SIMs), by id."""
    rows = session.scalars(
        select(Device).where(Device.subscription_id == subscription_id).order_by(Device.id)
    )
    return [
        {
            "id": d.id,
            "product_code": d.product_code,
            "serial": d.serial,
            "state": d.state,
            "service_line_id": d.service_id,
            "msisdn": d.msisdn,
        }
        for d in rows
    ]
