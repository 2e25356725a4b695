"""Prepaid authorisation: how long a call (or how much data) the allowance and the funds can pay for.

Funds come from a :class:`Funds` source. Today that is an optional credit limit less the period's rated
usage; the wallet (a later issue) plugs in as another ``Funds`` returning its balance. Nothing is
reserved: the final usage is rated (and debited) when its record arrives.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import Any, Protocol

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from activities.usage.context import SubscriptionContext, Unrateable
from activities.usage.ingestion import resolve_subscribers
from activities.usage.rating import call_tariff_for, plan_model
from domain.errors import RuleViolation
from domain.periods import Period
from domain.usage_rating import base_units_per, max_quantity
from models.usage import RatedUsage, UsageEvent

DEFAULT_CAPS = {"voice": 4 * 3600, "data": 10 * 1024**3, "video": 1}
UNITS = {"voice": "seconds", "data": "bytes", "video": "units"}


class Funds(Protocol):
    def available(self, session: Session, ctx: SubscriptionContext, period: Period) -> Decimal:
        """What the subscriber may still spend on usage in ``period`` beyond the allowance."""
        ...


@dataclass(frozen=True)
class CreditLimit:
    limit: Decimal

    def available(self, session: Session, ctx: SubscriptionContext, period: Period) -> Decimal:
        spent = session.execute(
            select(func.coalesce(func.sum(RatedUsage.amount), 0)).where(
                RatedUsage.subscription_id == ctx.subscription.id,
                RatedUsage.period_start == period.start,
                RatedUsage.status == "open",
            )
        ).scalar_one()
        return max(Decimal(0), self.limit - Decimal(spent))


@dataclass(frozen=True)
class NoFunds:
    def available(self, session: Session, ctx: SubscriptionContext, period: Period) -> Decimal:
        return Decimal(0)


def authorize(
    session: Session,
    organisation_id: str,
    *,
    subscriber: str,
    event_type: str,
    metric: str | None,
    destination: str | None,
    at: datetime,
    requested: int | None,
    funds: Funds,
) -> dict[str, Any]:
    found = resolve_subscribers(session, organisation_id, [subscriber]).get(subscriber)
    if found is None:
        raise RuleViolation("unknown_subscriber", f"no subscription, service or alias {subscriber}")
    ctx = SubscriptionContext(session, found[0], lock=False)
    local = ctx.local(at)
    try:
        service, charge = ctx.choose(found[1], metric or event_type, local.date())
    except Unrateable as exc:
        raise RuleViolation(exc.code, exc.detail) from None
    period = ctx.period(service, local.date())
    pool = ctx.pool(service, charge, period)
    available = funds.available(session, ctx, period)
    cap = requested if requested is not None else DEFAULT_CAPS[event_type]
    probe = UsageEvent(started_at=at, destination=destination, quantity=0)
    if charge.model == "call":
        try:
            tariff, ref, _, _ = call_tariff_for(ctx, service, charge, probe, local)
        except Unrateable as exc:
            raise RuleViolation(exc.code, exc.detail) from None
        covered = min(pool.remaining, cap)
        allowed = tariff.max_seconds(covered, available, cap)
    else:
        model = plan_model(service, charge, ctx.subscription.currency)
        ref = f"plan {service.plan.code}@{service.plan_version}"
        allowed = max_quantity(model, base_units_per(charge.unit), pool, available, cap)
    return {
        "subscription_id": ctx.subscription.id,
        "service_id": service.service_id,
        "metric": charge.metric,
        "granted": allowed > 0,
        "max_quantity": allowed,
        "unit": UNITS[event_type],
        "allowance_remaining": pool.remaining,
        "funds_available": str(available),
        "currency": ctx.subscription.currency,
        "tariff": ref,
        "period_start": period.start.isoformat(),
        "period_end": period.end.isoformat(),
    }
