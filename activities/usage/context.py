"""What rating a subscription's events needs: its services and their plan versions, periods, pools, decks."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from zoneinfo import ZoneInfo

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from activities.usage.decks import DeckBook
from activities.usage.numbers import organisation_region, subscription_regions
from domain.catalog import PlanSpec, UsageCharge
from domain.periods import BillingPeriodUnit, Period, period_containing
from domain.usage_rating import Pool, base_units_per, is_shared
from models.catalog import PlanVersion
from models.organisations import Organisation
from models.subscriptions import Subscription, SubscriptionService
from models.usage import RatedUsage


class Unrateable(Exception):
    """The event cannot be rated now: it goes to suspense with ``code``."""

    def __init__(self, code: str, detail: str) -> None:
        super().__init__(detail)
        self.code = code
        self.detail = detail


@dataclass(frozen=True)
class ServicePlan:
    service_id: str
    line_id: str
    role: str
    started_on: date
    ended_on: date | None
    plan: PlanSpec
    plan_version: int
    catalogue: str  # the organisation whose catalogue holds the plan (codes are per operator)

    def charge(self, metric: str) -> UsageCharge | None:
        return next((u for u in self.plan.usage if u.metric == metric), None)

    def active_on(self, day: date) -> bool:
        return self.started_on <= day and (self.ended_on is None or day < self.ended_on)


def catalogue_owner(session: Session, organisation_id: str) -> str:
    path = session.execute(select(Organisation.path).where(Organisation.id == organisation_id)).scalar_one()
    return path.strip("/").split("/")[0]


class SubscriptionContext:
    def __init__(self, session: Session, subscription_id: str, *, lock: bool = True) -> None:
        query = select(Subscription).where(Subscription.id == subscription_id)
        subscription = session.execute(query.with_for_update() if lock else query).scalar_one()
        self.session = session
        self.subscription = subscription
        self.zone = ZoneInfo(subscription.timezone)
        self.catalogue = catalogue_owner(session, subscription.organisation_id)
        self.decks = DeckBook(session, self.catalogue, subscription.currency)
        self.region = subscription_regions(session, [subscription.id]).get(
            subscription.id
        ) or organisation_region(session, subscription.organisation_id)
        self.services = self._services()
        self._pools: dict[tuple[str, date], Pool] = {}
        self._loaded_periods: set[date] = set()

    def _services(self) -> list[ServicePlan]:
        rows = self.session.execute(
            select(SubscriptionService, PlanVersion.spec)
            .join(
                PlanVersion,
                (PlanVersion.organisation_id == self.catalogue)
                & (PlanVersion.code == SubscriptionService.plan_code)
                & (PlanVersion.version == SubscriptionService.plan_version),
            )
            .where(SubscriptionService.subscription_id == self.subscription.id)
            .order_by(SubscriptionService.role, SubscriptionService.started_on)
        ).all()
        return [
            ServicePlan(
                s.id,
                s.line_id,
                s.role,
                s.started_on,
                s.ended_on,
                PlanSpec.model_validate(spec),
                s.plan_version,
                self.catalogue,
            )
            for s, spec in rows
        ]

    def local(self, at: datetime) -> datetime:
        return at.astimezone(self.zone)

    def choose(self, service_id: str | None, metric: str, day: date) -> tuple[ServicePlan, UsageCharge]:
        """The service that rates ``metric``: the one named (or its line after a plan change, the version
        active that day), else the first active one pricing it."""
        lines = {s.line_id for s in self.services if s.service_id == service_id}
        candidates = [s for s in self.services if service_id is None or s.line_id in lines]
        if service_id is not None and not candidates:
            raise Unrateable("unknown_subscriber", f"service {service_id} has no plan in the catalogue")
        pricing = [s for s in candidates if s.charge(metric) is not None]
        active = [s for s in pricing if s.active_on(day)] or pricing
        if not active:
            raise Unrateable("no_matching_tariff", f"no plan of the subscription prices {metric}")
        chosen = active[0]
        charge = chosen.charge(metric)
        assert charge is not None
        return chosen, charge

    def period(self, service: ServicePlan, day: date) -> Period:
        plan, sub = service.plan, self.subscription
        bill_day = sub.bill_day
        if plan.billing_period is BillingPeriodUnit.WEEK and bill_day > 7:
            bill_day = sub.start_date.isoweekday()
        return period_containing(
            day, bill_day, plan.billing_period, plan.billing_interval, anchor=sub.start_date
        )

    def pool_key(self, service: ServicePlan, charge: UsageCharge) -> str:
        owner = self.subscription.id if is_shared(charge) else service.service_id
        return f"{owner}:{charge.metric}"

    def _included(self, service: ServicePlan, charge: UsageCharge) -> int:
        if not is_shared(charge):
            return int(charge.included * base_units_per(charge.unit))
        total = 0
        for other in self.services:
            mine = other.charge(charge.metric)
            if mine is not None and is_shared(mine):
                total += int(mine.included * base_units_per(mine.unit))
        return total

    def pool(self, service: ServicePlan, charge: UsageCharge, period: Period, *, fresh: bool = False) -> Pool:
        """The allowance pool of the service (or the subscription) for ``metric`` in ``period``."""
        key = (self.pool_key(service, charge), period.start)
        if not fresh and period.start not in self._loaded_periods:
            self._load_period(period.start)
        pool = self._pools.get(key)
        if pool is None:
            pool = self._pools[key] = Pool()
        pool.included = self._included(service, charge)
        return pool

    def _load_period(self, start: date) -> None:
        self._loaded_periods.add(start)
        for key, covered, charged in self.session.execute(
            select(RatedUsage.pool, func.sum(RatedUsage.covered), func.sum(RatedUsage.charged))
            .where(RatedUsage.subscription_id == self.subscription.id, RatedUsage.period_start == start)
            .group_by(RatedUsage.pool)
        ):
            self._pools[(key, start)] = Pool(0, int(covered), int(charged))

    def reset_period(self, start: date) -> None:
        """Forget the stored state of a period (re-rating recomputes it from its first event)."""
        self._loaded_periods.add(start)
        for key in [k for k in self._pools if k[1] == start]:
            del self._pools[key]
