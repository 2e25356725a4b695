"""How a subscription reads in the API: services with today's prices, scheduled changes, history."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from activities.subscriptions import records as store
from activities.subscriptions.onboarding import local_today
from domain.subscriptions import price_on
from models.subscriptions import PendingCharge, ScheduledChange, Subscription, SubscriptionEvent


def _iso(value: Any) -> str | None:
    return value.isoformat() if value is not None else None


def subscription_view(session: Session, sub: Subscription, *, brief: bool = False) -> dict[str, Any]:
    out: dict[str, Any] = {
        "id": sub.id,
        "object": "subscription",
        "account_id": sub.account_id,
        "organisation_id": sub.organisation_id,
        "status": sub.status,
        "currency": sub.currency,
        "timezone": sub.timezone,
        "bill_day": sub.bill_day,
        "billing_term": sub.billing_term,
        "start_date": _iso(sub.start_date),
        "end_date": _iso(sub.end_date),
        "cooling_off_until": _iso(sub.cooling_off_until),
        "failure_reason": sub.failure_reason,
        "active_process_id": sub.active_process_id,
        "version": sub.version,
        "created_at": _iso(sub.created_at),
    }
    if brief:
        return out
    today = local_today(sub.timezone)
    services = []
    for row in store.services(session, sub.id):
        price = price_on(store.terms_of(session, sub, row), max(today, row.started_on))
        services.append(
            {
                "id": row.id,
                "line_id": row.line_id,
                "plan": row.plan_code,
                "plan_version": row.plan_version,
                "kind": row.product_kind,
                "role": row.role,
                "quantity": row.quantity,
                "status": row.status,
                "started_on": _iso(row.started_on),
                "ended_on": _iso(row.ended_on),
                "replaced_by": row.replaced_by,
                "price": {
                    "amount_minor": price.amount_minor,
                    "amount": str(price.to_decimal()),
                    "currency": price.currency,
                },
            }
        )
    scheduled = session.execute(
        select(ScheduledChange).where(
            ScheduledChange.subscription_id == sub.id, ScheduledChange.status == "pending"
        )
    ).scalars()
    events = session.execute(
        select(SubscriptionEvent)
        .where(SubscriptionEvent.subscription_id == sub.id)
        .order_by(SubscriptionEvent.id)
    ).scalars()
    charges = session.execute(
        select(PendingCharge)
        .where(PendingCharge.subscription_id == sub.id)
        .order_by(PendingCharge.created_at)
    ).scalars()
    out["services"] = services
    out["scheduled_changes"] = [
        {
            "id": c.id,
            "kind": c.kind,
            "effective_on": _iso(c.effective_on),
            "process_id": c.process_id,
            "plan": c.data.get("plan_code"),
        }
        for c in scheduled
    ]
    out["charges"] = [
        {
            "id": c.id,
            "kind": c.kind,
            "description": c.description,
            "amount_minor": c.amount_minor,
            "currency": c.currency,
            "status": c.status,
            "period_start": _iso(c.period_start),
            "period_end": _iso(c.period_end),
        }
        for c in charges
    ]
    out["history"] = [
        {
            "kind": e.kind,
            "actor": e.actor,
            "reason": e.reason,
            "effective_on": _iso(e.effective_on),
            "at": _iso(e.at),
            "service_id": e.service_id,
        }
        for e in events
    ]
    return out
