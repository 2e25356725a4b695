"""Rating: accepted events → rated usage per subscription and billing period; re-rating as adjustments.

Events are picked in pages (``FOR UPDATE SKIP LOCKED``, so several workers share the queue), grouped
by subscription (its row locked while its pools are read and drawn), and rated in start-time order.
Each rated event gets exactly one ``rated`` row (a unique index); a re-rating of a period computes
every event again from empty pools and writes only the differences as ``adjustment`` rows of its run,
so re-running it changes nothing. What cannot be rated goes to suspense with its reason.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import insert, select, update
from sqlalchemy.orm import Session

from activities.usage.context import ServicePlan, SubscriptionContext, Unrateable
from activities.usage.ingestion import subtree
from activities.usage.prepaid import debit_rated_usage, is_prepaid
from domain.catalog import UsageCharge
from domain.memo import Memo
from domain.money import PricingError, quantize
from domain.periods import Period
from domain.quote import call_tariff
from domain.tariffs import CompiledTariff
from domain.usage_numbers import dialled_digits
from domain.usage_pricing import PriceModel
from domain.usage_rating import (
    DEFAULT_PRECISION,
    base_units_per,
    chargeable_model,
    rate_call_event,
    rate_quantity_event,
)
from models.usage import RatedUsage, UsageEvent

FIRST_RUN = "initial"
# Keyed by the catalogue owner too: plan codes are per operator (two may both have "mobile" v1).
_TARIFFS: Memo[tuple[str, str, int, str, str], CompiledTariff] = Memo(4096)
_MODELS: Memo[tuple[str, str, int, str, str], PriceModel] = Memo(4096)


@dataclass(frozen=True)
class Rated:
    service_id: str
    metric: str
    destination: str | None
    destination_name: str | None
    period: Period
    quantity: int
    covered: int
    charged: int
    pool: str
    amount: Decimal
    precision: int
    tariff: str


def plan_tariff(service: ServicePlan, charge: UsageCharge, currency: str) -> CompiledTariff:
    key = (service.catalogue, service.plan.code, service.plan_version, charge.metric, currency)
    return _TARIFFS.remember(key, lambda: CompiledTariff.of(call_tariff(charge, currency)))


def plan_model(service: ServicePlan, charge: UsageCharge, currency: str) -> PriceModel:
    key = (service.catalogue, service.plan.code, service.plan_version, charge.metric, currency)
    return _MODELS.remember(key, lambda: chargeable_model(charge, currency))


def call_tariff_for(
    ctx: SubscriptionContext, service: ServicePlan, charge: UsageCharge, event: UsageEvent, local: datetime
) -> tuple[CompiledTariff, str, str | None, str | None]:
    deck = ctx.decks.at(charge.metric, event.started_at)
    if deck is None:
        ref = f"plan {service.plan.code}@{service.plan_version}"
        return plan_tariff(service, charge, ctx.subscription.currency), ref, None, None
    dialled = event.destination_raw or event.destination
    if not dialled:
        raise Unrateable("no_matching_tariff", f"{deck.ref} rates by destination and the call has none")
    # National numbers take the account's country (else the operator's): 912345678 is +34 91…, not India.
    hit = deck.deck.tariff_for(dialled_digits(dialled, ctx.region), local)
    if hit is None:
        raise Unrateable(
            "no_matching_tariff", f"{deck.ref} has no rate for {event.destination} on {local:%a %H:%M}"
        )
    destination, name, tariff = hit
    return tariff, f"{deck.ref}/{name}", destination.prefix, destination.name or None


def rate_event(ctx: SubscriptionContext, event: UsageEvent) -> Rated:
    """Rate one event, drawing on its pool; :class:`Unrateable` when it has to wait in suspense."""
    local = ctx.local(event.started_at)
    service, charge = ctx.choose(event.service_id, event.metric, local.date())
    currency = ctx.subscription.currency
    try:
        period = ctx.period(service, local.date())
        if charge.model == "call":
            tariff, ref, prefix, name = call_tariff_for(ctx, service, charge, event, local)
            pool = ctx.pool(service, charge, period)
            result = rate_call_event(tariff, event.quantity, pool)
            precision = tariff.precision
        else:
            model = plan_model(service, charge, currency)
            ref, prefix, name = f"plan {service.plan.code}@{service.plan_version}", None, None
            pool = ctx.pool(service, charge, period)
            result = rate_quantity_event(model, event.quantity, base_units_per(charge.unit), pool)
            precision = DEFAULT_PRECISION
    except PricingError as exc:
        raise Unrateable("no_matching_tariff", exc.message) from None
    return Rated(
        service.service_id,
        charge.metric,
        prefix,
        name,
        period,
        event.quantity,
        result.covered,
        result.charged,
        ctx.pool_key(service, charge),
        result.amount,
        precision,
        ref,
    )


def _row(ctx: SubscriptionContext, event: UsageEvent, r: Rated, kind: str, run: str) -> dict[str, Any]:
    return {
        "event_id": event.id,
        "organisation_id": event.organisation_id,
        "subscription_id": ctx.subscription.id,
        "service_id": r.service_id,
        "metric": r.metric,
        "destination": r.destination,
        "destination_name": r.destination_name,
        "period_start": r.period.start,
        "period_end": r.period.end,
        "quantity": r.quantity,
        "covered": r.covered,
        "charged": r.charged,
        "pool": r.pool,
        "amount": r.amount,
        "precision": r.precision,
        "currency": ctx.subscription.currency,
        "tariff": r.tariff,
        "kind": kind,
        "rating_run": run,
        "status": "open",
    }


def rate_subscription_events(
    session: Session, subscription_id: str, events: list[UsageEvent]
) -> dict[str, int]:
    """Rate a subscription's accepted events in start-time order; the others go to suspense."""
    ctx = SubscriptionContext(session, subscription_id)
    rows: list[dict[str, Any]] = []
    changes: list[dict[str, Any]] = []
    now = datetime.now(UTC)
    counts = {"rated": 0, "suspense": 0}
    for event in sorted(events, key=lambda e: (e.started_at, e.id)):
        try:
            rated = rate_event(ctx, event)
        except Unrateable as exc:
            counts["suspense"] += 1
            changes.append(
                {
                    "id": event.id,
                    "at": event.started_at,
                    "status": "suspense",
                    "reason": exc.code,
                    "detail": exc.detail[:1000],
                }
            )
            continue
        counts["rated"] += 1
        rows.append(_row(ctx, event, rated, "rated", FIRST_RUN))
        changes.append(
            {
                "id": event.id,
                "at": event.started_at,
                "status": "rated",
                "reason": None,
                "detail": None,
                "rated_at": now,
            }
        )
    if rows:
        session.execute(insert(RatedUsage), rows)
    for change in changes:  # the whole primary key: the update touches the event's month only
        key = UsageEvent.id == change.pop("id"), UsageEvent.started_at == change.pop("at")
        session.execute(update(UsageEvent).where(*key).values(**change))
    return counts


def rate_pending(
    session: Session, *, organisation_id: str | None = None, limit: int = 5_000
) -> dict[str, int]:
    """Rate up to ``limit`` accepted events of the organisation's subtree (oldest first); other workers
    skip the locked ones."""
    query = select(UsageEvent).where(UsageEvent.status == "accepted")
    if organisation_id is not None:
        query = query.where(UsageEvent.organisation_id.in_(subtree(session, organisation_id)))
    events = list(
        session.execute(
            query.order_by(UsageEvent.id).limit(limit).with_for_update(skip_locked=True)
        ).scalars()
    )
    by_subscription: dict[str, list[UsageEvent]] = defaultdict(list)
    for event in events:
        if event.subscription_id:
            by_subscription[event.subscription_id].append(event)
    totals = {"picked": len(events), "rated": 0, "suspense": 0, "subscriptions": len(by_subscription)}
    for subscription_id in sorted(by_subscription):
        counts = rate_subscription_events(session, subscription_id, by_subscription[subscription_id])
        totals["rated"] += counts["rated"]
        totals["suspense"] += counts["suspense"]
        if is_prepaid(session, subscription_id):  # prepaid usage is paid from the wallet as it arrives
            debit_rated_usage(session, subscription_id)
    return totals


def rerate_period(session: Session, subscription_id: str, period_start: date, run: str) -> dict[str, Any]:
    """Rate a period's events again and record only the differences, as adjustments of ``run``."""
    ctx = SubscriptionContext(session, subscription_id)
    net: dict[int, list[Any]] = {}
    places = DEFAULT_PRECISION
    for row in session.execute(
        select(RatedUsage).where(
            RatedUsage.subscription_id == subscription_id, RatedUsage.period_start == period_start
        )
    ).scalars():
        if row.rating_run == run:
            raise Unrateable("rerate_run_reused", f"run {run} already re-rated this period")
        places = max(places, row.precision)
        total = net.setdefault(row.event_id, [Decimal(0), 0, 0])
        total[0] += row.amount
        total[1] += row.covered
        total[2] += row.charged
    events = list(
        session.execute(
            select(UsageEvent)
            .where(UsageEvent.id.in_(list(net)))
            .order_by(UsageEvent.started_at, UsageEvent.id)
        ).scalars()
    )
    ctx.reset_period(period_start)
    adjustments: list[dict[str, Any]] = []
    difference = Decimal(0)
    for event in events:
        amount, covered, charged = net[event.id]
        try:
            rated = rate_event(ctx, event)
        except Unrateable as exc:
            event.status, event.reason, event.detail = "suspense", exc.code, exc.detail[:1000]
            rated = None
        if rated is None or rated.period.start != period_start:
            new_amount, new_covered, new_charged = Decimal(0), 0, 0
        else:
            new_amount, new_covered, new_charged = rated.amount, rated.covered, rated.charged
        delta = (new_amount - amount, new_covered - covered, new_charged - charged)
        if any(delta):
            template = rated or _as_rated(event, session, period_start)
            adjustment = _row(ctx, event, template, "adjustment", run)
            adjustment.update(amount=delta[0], covered=delta[1], charged=delta[2], quantity=0)
            adjustments.append(adjustment)
            difference += delta[0]
    if adjustments:
        session.execute(insert(RatedUsage), adjustments)
    return {
        "subscription_id": subscription_id,
        "period_start": period_start.isoformat(),
        "events": len(events),
        "adjustments": len(adjustments),
        "difference": str(quantize(difference, places)),  # exact: amounts carry ≤ places decimals
        "currency": ctx.subscription.currency,
    }


def _as_rated(event: UsageEvent, session: Session, period_start: date) -> Rated:
    """The first rating of an event, to describe an adjustment that takes it back out of a period."""
    first = session.execute(
        select(RatedUsage).where(RatedUsage.event_id == event.id, RatedUsage.kind == "rated")
    ).scalar_one()
    return Rated(
        first.service_id,
        first.metric,
        first.destination,
        first.destination_name,
        Period(first.period_start, first.period_end),
        first.quantity,
        0,
        0,
        first.pool,
        Decimal(0),
        first.precision,
        first.tariff,
    )
