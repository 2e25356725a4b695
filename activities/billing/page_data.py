"""Loading a page of a bill run: due accounts of a cycle, their subscriptions and what was billed."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from datetime import date
from typing import Any

from sqlalchemy import and_, case, not_, or_, select
from sqlalchemy.orm import Session

from activities.catalog.records import price_list_for, tax_rates_for
from domain.catalog import PREPAID_TERMS, PlanSpec
from domain.invoicing import BilledSpan, ServiceSpan, SubscriptionToBill
from domain.money import RoundingMode
from domain.tax import TaxRate
from models.accounts import Account
from models.bulk import any_of, consecutive_runs
from models.catalog import PlanVersion, Product
from models.organisations import Organisation
from models.subscriptions import PendingCharge, Subscription, SubscriptionEvent, SubscriptionService
from models.usage import RatedUsage

BILLABLE = ("active", "suspended", "terminated")
CHANGE_CHARGE = "proration_charge"  # the kind of a pending charge for the rest of a period


def cycle_column() -> Any:
    return case((Subscription.bill_day > 28, 31), else_=Subscription.bill_day)


def billable() -> Any:
    """A subscription a run must look at: of a billable status, and not a terminated one a run found
    fully billed for its end date (``fully_billed_to``), unless something fell due for it since — a
    pending charge (a partner's, a device not returned, a credit) or open rated usage (late records).
    A later change of its end date or status makes it billable again. The disjuncts are evaluated in
    order: a live subscription never runs the two lookups."""
    pending = (
        select(PendingCharge.id)
        .where(PendingCharge.subscription_id == Subscription.id, PendingCharge.status == "pending")
        .exists()
    )
    usage = (
        select(RatedUsage.id)
        .where(RatedUsage.subscription_id == Subscription.id, RatedUsage.status == "open")
        .exists()
    )
    return and_(Subscription.status.in_(BILLABLE), or_(not_(closed()), pending, usage))


def closed() -> Any:
    """Terminated and found fully billed for its current end date by a run (never NULL: every operand
    is checked for NULL first)."""
    return and_(
        Subscription.status == "terminated",
        Subscription.end_date.is_not(None),
        Subscription.fully_billed_to.is_not(None),
        Subscription.fully_billed_to == Subscription.end_date,
    )


def awaiting_close() -> Any:
    """Terminated and not found fully billed yet: the run asks whether it is (``fully_billed``)."""
    return and_(Subscription.status == "terminated", not_(closed()))


def due_accounts_query(org_path: str, cycle: int) -> Any:
    return (
        select(Subscription.account_id)
        .join(Organisation, Organisation.id == Subscription.organisation_id)
        .where(
            Organisation.path.startswith(org_path, autoescape=True),
            cycle_column() == cycle,
            billable(),
            Subscription.billing_term.not_in(PREPAID_TERMS),
        )
        .distinct()
    )


@dataclass
class Catalogue:
    """Plan specs and product kinds of one operator, loaded once per page."""

    operator: str
    plans: dict[tuple[str, int], PlanSpec] = field(default_factory=dict)
    kinds: dict[str, str] = field(default_factory=dict)
    rounding: RoundingMode = RoundingMode.HALF_UP

    def load(self, session: Session) -> None:
        for row in session.execute(
            select(PlanVersion).where(PlanVersion.organisation_id == self.operator)
        ).scalars():
            self.plans[(row.code, row.version)] = PlanSpec.model_validate(row.spec)
        for code, kind in session.execute(
            select(Product.code, Product.kind).where(Product.organisation_id == self.operator)
        ):
            self.kinds[code] = kind
        org = session.get(Organisation, self.operator)
        self.rounding = RoundingMode(org.rounding_mode) if org else RoundingMode.HALF_UP


@dataclass
class AccountToBill:
    """One account's due work; rows are plain database rows (Core), not ORM objects, for speed."""

    account: Any
    subscriptions: list[SubscriptionToBill]
    charges: list[Any]
    service_kinds: dict[str, str]
    errors: list[str] = field(default_factory=list)
    usage: list[Any] = field(default_factory=list)
    service_tax: dict[str, str] = field(default_factory=dict)
    ended: set[str] = field(default_factory=set)  # terminated, not yet found fully billed for its end


def _paused(events: list[Any]) -> list[tuple[date, date | None]]:
    spans: list[tuple[date, date | None]] = []
    start: date | None = None
    for event in events:
        if event.kind == "suspend" and event.data.get("pause_billing") and event.effective_on:
            start = event.effective_on
        elif event.kind == "resume" and start is not None:
            spans.append((start, event.effective_on))
            start = None
    if start is not None:
        spans.append((start, None))
    return spans


# A service's billed periods as runs of consecutive days (one row for a service billed every month for
# years, not one per month): the billed-period guard asks only whether a period overlaps a billed day of
# its service, which the runs answer as the periods do.
_BILLED_RUNS = consecutive_runs(
    "billed_periods", "subscription_id, line_id, service_id", "subscription_id = ANY(:ids)"
)


def charged_spans(session: Session, sub_ids: list[str]) -> dict[str, set[BilledSpan]]:
    """What each subscription's services are charged for, by subscription: the periods bill runs billed
    (as runs of consecutive days), and the periods a change charged (the rest of a period in advance
    when a service started or resumed; the next run invoices that charge, and must not bill the period
    again)."""
    billed: dict[str, set[BilledSpan]] = defaultdict(set)
    for sub_id, line_id, service_id, start, end in session.execute(_BILLED_RUNS, {"ids": sub_ids}):
        billed[sub_id].add(BilledSpan(line_id, service_id, start, end))
    for charge in session.execute(
        select(
            PendingCharge.subscription_id,
            SubscriptionService.line_id,
            PendingCharge.service_id,
            PendingCharge.period_start,
            PendingCharge.period_end,
        )
        .join(SubscriptionService, SubscriptionService.id == PendingCharge.service_id)
        .where(
            any_of(PendingCharge.subscription_id, sub_ids),
            PendingCharge.kind == CHANGE_CHARGE,
            PendingCharge.status != "void",
            PendingCharge.period_start.is_not(None),
            PendingCharge.period_end.is_not(None),
        )
    ):
        sub_id, line_id, service_id, start, end = charge
        assert start is not None and end is not None
        billed[sub_id].add(BilledSpan(line_id, service_id, start, end))
    return billed


def load_page(
    session: Session, catalogue: Catalogue, org_path: str, cycle: int, account_ids: list[str]
) -> list[AccountToBill]:
    subs = list(
        session.execute(
            select(Subscription.__table__, awaiting_close().label("awaiting_close"))
            .join(Organisation, Organisation.id == Subscription.organisation_id)
            .where(
                any_of(Subscription.account_id, account_ids),
                billable(),
                Subscription.billing_term.not_in(PREPAID_TERMS),
                cycle_column() == cycle,
                Organisation.path.startswith(org_path, autoescape=True),
            )
            .order_by(Subscription.id)
        ).all()
    )
    sub_ids = [s.id for s in subs]
    services: dict[str, list[Any]] = defaultdict(list)
    for row in session.execute(
        select(SubscriptionService.__table__).where(
            any_of(SubscriptionService.subscription_id, sub_ids), SubscriptionService.status != "failed"
        )
    ).all():
        services[row.subscription_id].append(row)
    billed = charged_spans(session, sub_ids)
    events: dict[str, list[Any]] = defaultdict(list)
    for event in session.execute(
        select(SubscriptionEvent.__table__)
        .where(
            any_of(SubscriptionEvent.subscription_id, sub_ids),
            SubscriptionEvent.kind.in_(("suspend", "resume")),
        )
        .order_by(SubscriptionEvent.id)
    ).all():
        events[event.subscription_id].append(event)
    charges: dict[str, list[Any]] = defaultdict(list)
    for charge in session.execute(
        select(PendingCharge.__table__)
        .where(any_of(PendingCharge.subscription_id, sub_ids), PendingCharge.status == "pending")
        .order_by(PendingCharge.created_at, PendingCharge.id)
    ).all():
        charges[charge.account_id].append(charge)
    usage: dict[str, list[Any]] = defaultdict(list)
    for rated in session.execute(
        select(RatedUsage.__table__)
        .where(any_of(RatedUsage.subscription_id, sub_ids), RatedUsage.status == "open")
        .order_by(RatedUsage.period_start, RatedUsage.metric, RatedUsage.id)
    ).all():
        usage[rated.subscription_id].append(rated)
    accounts = {
        a.id: a
        for a in session.execute(select(Account.__table__).where(any_of(Account.id, account_ids))).all()
    }
    by_account: dict[str, AccountToBill] = {}
    for sub in subs:
        entry = by_account.setdefault(
            sub.account_id, AccountToBill(accounts[sub.account_id], [], charges.get(sub.account_id, []), {})
        )
        spans = []
        for row in services[sub.id]:
            plan = catalogue.plans.get((row.plan_code, row.plan_version))
            if plan is None:
                entry.errors.append(
                    f"{sub.id}: plan {row.plan_code} v{row.plan_version} is not in the catalogue"
                )
                continue
            kind = catalogue.kinds.get(plan.product_code, row.product_kind)
            entry.service_kinds[row.id] = kind
            entry.service_tax[row.id] = plan.tax_category
            spans.append(
                ServiceSpan(
                    row.id,
                    row.line_id,
                    plan,
                    kind,
                    row.started_on,
                    row.ended_on,
                    row.quantity,
                    row.replaced_by,
                    row.bundle_code,
                )
            )
        entry.usage += usage.get(sub.id, [])
        if sub.awaiting_close:
            entry.ended.add(sub.id)
        entry.subscriptions.append(
            SubscriptionToBill(
                sub.id,
                sub.currency,
                sub.bill_day,
                sub.start_date,
                sub.end_date,
                spans,
                frozenset(billed.get(sub.id, ())),
                _paused(events[sub.id]),
            )
        )
    return [by_account[a] for a in account_ids if a in by_account]


@dataclass
class TaxSetup:
    rates: dict[str, TaxRate]
    inclusive: bool
    overrides: dict[str, Any]


def tax_setup(
    session: Session, operator: str, account: Any, cache: dict[tuple[str, str, str], TaxSetup]
) -> TaxSetup:
    billing: dict[str, Any] = next((a for a in account.addresses if a.get("kind") == "billing"), {})
    country, region = billing.get("country"), billing.get("region")
    key = (country or "", region or "", account.currency)
    if key not in cache:
        price_list = price_list_for(session, operator, country, account.currency)
        cache[key] = TaxSetup(
            tax_rates_for(session, operator, country, region),
            price_list.tax_inclusive if price_list else False,
            dict(price_list.recurring) if price_list else {},
        )
    return cache[key]
