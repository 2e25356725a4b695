"""A validated segment rule (domain/segments.py) as ONE set-based SQLAlchemy Core query over accounts.

Each predicate becomes a condition on ``accounts``: an ``EXISTS`` for "has a row like this" (a plan, a
payment method, an address), or ``accounts.id IN (SELECT account_id … GROUP BY account_id HAVING agg op
value)`` for a total (usage, amounts, counts). When an account with no rows at all would satisfy the
comparison (``usage < 10``, ``wallet_balance <= 0``), the condition is turned around: ``NOT IN`` the
accounts whose total fails it, so accounts without rows are members as they should be. ``all``/``any``/
``not`` become AND/OR/NOT. Every value is a bound parameter; nothing is built from strings.

Every subquery is narrowed to the segment's organisation subtree (the tables that carry an organisation)
and to the period, so PostgreSQL prunes the monthly partitions of ``usage_events``.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, date, datetime, time
from typing import Any

from sqlalchemy import (
    ColumnElement,
    Date,
    Integer,
    Select,
    and_,
    cast,
    exists,
    extract,
    false,
    func,
    literal,
    not_,
    or_,
    select,
    text,
    true,
)
from sqlalchemy.orm import Session

from domain import segments as rules
from models.accounts import Account
from models.billing import Invoice
from models.events import EventRecord
from models.organisations import Organisation
from models.payments import Payment, PaymentAllocation, PaymentMethod
from models.subscriptions import Subscription, SubscriptionService
from models.usage import UsageEvent
from models.wallets import Wallet

LIVE_SUBSCRIPTIONS = ("active", "suspended")
LIVE_SERVICES = ("active", "suspended")
BILLED_INVOICES = ("issued", "paid", "partially_paid", "overdue", "written_off")
PAID_PAYMENTS = ("succeeded", "partially_refunded", "refunded")
UNSETTLED_INVOICES = ("issued", "partially_paid", "overdue", "written_off")
COUNTED_USAGE = ("accepted", "rated")
POSTAL_PREFIX = "$[*] ? (@.postal_code starts with $p)"
"""A fixed JSON path (the prefix is its variable ``$p``, bound): some address's postal code starts with it."""


WORK_MEM = "64MB"
"""Memory for each sort and hash of a segment's query (``SET LOCAL``): the per-account aggregates of 100k
accounts spilled to disk with PostgreSQL's default 4MB (bench/segments.py)."""


@dataclass(frozen=True)
class Scope:
    """Where and when a rule is read: the organisations of a subtree (their ids) on the day ``as_of``."""

    organisation_ids: tuple[str, ...]
    as_of: date

    def organisations(self) -> tuple[str, ...]:
        return self.organisation_ids


def scope_for(session: Session, organisation_path: str, as_of: date) -> Scope:
    """The scope of the subtree at ``organisation_path``: its organisations' ids are read first, so the
    planner sees a list of constants (a join to ``organisations`` on a path pattern was estimated at one
    row and filtered every aggregated row through a nested loop). Also gives the transaction's sorts and
    hashes ``WORK_MEM``."""
    session.execute(text(f"SET LOCAL work_mem = '{WORK_MEM}'"))
    ids = session.execute(
        select(Organisation.id).where(Organisation.path.startswith(organisation_path, autoescape=True))
    ).scalars()
    return Scope(tuple(sorted(ids)), as_of)


def _at(day: date) -> datetime:
    return datetime.combine(day, time(0), tzinfo=UTC)


def _compare(left: ColumnElement[Any], op: str, right: int) -> ColumnElement[bool]:
    return {
        "gt": left > right,
        "gte": left >= right,
        "lt": left < right,
        "lte": left <= right,
        "eq": left == right,
        "ne": left != right,
    }[op]


def _total(per_account: Select[Any], total: ColumnElement[Any], op: str, value: int) -> ColumnElement[bool]:
    """Accounts whose ``total`` (0 for accounts without rows) satisfies ``op value``."""
    if rules.zero_passes(op, value):
        failing = per_account.group_by(per_account.selected_columns[0]).having(
            not_(_compare(func.coalesce(total, 0), op, value))
        )
        return Account.id.not_in(failing)
    passing = per_account.group_by(per_account.selected_columns[0]).having(_compare(total, op, value))
    return Account.id.in_(passing)


def _live_services() -> Select[Any]:
    return (
        select(Subscription.account_id)
        .join(SubscriptionService, SubscriptionService.subscription_id == Subscription.id)
        .where(Subscription.status.in_(LIVE_SUBSCRIPTIONS), SubscriptionService.status.in_(LIVE_SERVICES))
    )


def _has_service(column: Any, values: list[str]) -> ColumnElement[bool]:
    return exists(_live_services().where(Subscription.account_id == Account.id, column.in_(values)))


def _address(key: str, values: list[str]) -> ColumnElement[bool]:
    return or_(*(Account.addresses.contains([{key: v}]) for v in values))


def account_type(p: rules.AccountType, scope: Scope) -> ColumnElement[bool]:
    return Account.type.in_(p.in_)


def language(p: rules.Language, scope: Scope) -> ColumnElement[bool]:
    return Account.language.in_(p.in_)


def age_band(p: rules.AgeBand, scope: Scope) -> ColumnElement[bool]:
    """Whole years from the birth date to the as-of day (PostgreSQL's ``age``: a birthday on 29 February
    comes on 1 March in other years). NULL without a birth date, so neither the band nor its ``not``
    selects such an account."""
    years = cast(extract("year", func.age(cast(literal(scope.as_of), Date), Account.birth_date)), Integer)
    bounds = [years >= p.min] if p.min is not None else []
    if p.max is not None:
        bounds.append(years <= p.max)
    return and_(*bounds)  # the rule has at least one bound


def status(p: rules.AccountStatus, scope: Scope) -> ColumnElement[bool]:
    return Account.status.in_(p.in_)


def country(p: rules.CountryIn, scope: Scope) -> ColumnElement[bool]:
    return _address("country", p.in_)


def region(p: rules.RegionIn, scope: Scope) -> ColumnElement[bool]:
    return _address("region", p.in_)


def city(p: rules.CityIn, scope: Scope) -> ColumnElement[bool]:
    return _address("city", p.in_)


def postal_code(p: rules.PostalCodePrefix, scope: Scope) -> ColumnElement[bool]:
    return func.jsonb_path_exists(
        Account.addresses, literal(POSTAL_PREFIX), func.jsonb_build_object("p", p.prefix)
    )


def plan(p: rules.PlanIn, scope: Scope) -> ColumnElement[bool]:
    return _has_service(SubscriptionService.plan_code, p.in_)


def product_kind(p: rules.ProductKindIn, scope: Scope) -> ColumnElement[bool]:
    return _has_service(SubscriptionService.product_kind, list(p.in_))


def bundle(p: rules.BundleIn, scope: Scope) -> ColumnElement[bool]:
    return _has_service(SubscriptionService.bundle_code, p.in_)


def service_count(p: rules.ServiceCount, scope: Scope) -> ColumnElement[bool]:
    return _total(_live_services(), func.count(), p.op, p.value)


def subscription_status(p: rules.SubscriptionStatus, scope: Scope) -> ColumnElement[bool]:
    return exists(
        select(Subscription.id).where(Subscription.account_id == Account.id, Subscription.status.in_(p.in_))
    )


def tenure_months(p: rules.TenureMonths, scope: Scope) -> ColumnElement[bool]:
    """Whole months from the first subscription's start (drafts and failures aside) to the as-of day."""
    first = func.min(Subscription.start_date)
    span = func.age(cast(literal(scope.as_of), Date), first)
    months = cast(extract("year", span) * 12 + extract("month", span), Integer)
    started = select(Subscription.account_id).where(
        Subscription.status.in_(("active", "suspended", "terminated")),
        Subscription.start_date <= scope.as_of,
    )
    passing = started.group_by(Subscription.account_id).having(_compare(months, p.op, p.value))
    return Account.id.in_(passing)


def usage(p: rules.Usage, scope: Scope) -> ColumnElement[bool]:
    start, end = p.period.bounds(scope.as_of)
    per_account = (
        select(Subscription.account_id)
        .join(UsageEvent, UsageEvent.subscription_id == Subscription.id)
        .where(
            UsageEvent.organisation_id.in_(scope.organisations()),
            UsageEvent.metric == p.metric,
            UsageEvent.status.in_(COUNTED_USAGE),
            UsageEvent.started_at >= _at(start),
            UsageEvent.started_at < _at(end),
        )
    )
    return _total(per_account, func.sum(UsageEvent.quantity), p.op, p.value)


def amount_billed(p: rules.AmountBilled, scope: Scope) -> ColumnElement[bool]:
    start, end = p.period.bounds(scope.as_of)
    per_account = select(Invoice.account_id).where(
        Invoice.organisation_id.in_(scope.organisations()),
        Invoice.currency == p.currency,
        Invoice.status.in_(BILLED_INVOICES),
        Invoice.issue_date >= start,
        Invoice.issue_date < end,
    )
    return _total(per_account, func.sum(Invoice.total_minor), p.op, p.value)


def amount_paid(p: rules.AmountPaid, scope: Scope) -> ColumnElement[bool]:
    start, end = p.period.bounds(scope.as_of)
    per_account = select(Payment.account_id).where(
        Payment.organisation_id.in_(scope.organisations()),
        Payment.currency == p.currency,
        Payment.status.in_(PAID_PAYMENTS),
        Payment.created_at >= _at(start),
        Payment.created_at < _at(end),
    )
    return _total(per_account, func.sum(Payment.amount_minor - Payment.refunded_minor), p.op, p.value)


def payment_method(p: rules.PaymentMethodIn, scope: Scope) -> ColumnElement[bool]:
    return exists(
        select(PaymentMethod.id).where(
            PaymentMethod.account_id == Account.id,
            PaymentMethod.status == "active",
            PaymentMethod.kind.in_(list(p.in_)),
        )
    )


def late_payments(p: rules.LatePayments, scope: Scope) -> ColumnElement[bool]:
    """Invoices due in the period (and before the as-of day) that were not settled by their due date:
    still open, written off, or paid by an allocation made (UTC) after the due date."""
    start, end = p.period.bounds(scope.as_of)
    paid_late = exists(
        select(PaymentAllocation.id).where(
            PaymentAllocation.invoice_id == Invoice.id,
            cast(func.timezone("UTC", PaymentAllocation.created_at), Date) > Invoice.due_date,
        )
    )
    per_account = select(Invoice.account_id).where(
        Invoice.organisation_id.in_(scope.organisations()),
        Invoice.due_date >= start,
        Invoice.due_date < min(end, scope.as_of),
        or_(Invoice.status.in_(UNSETTLED_INVOICES), and_(Invoice.status == "paid", paid_late)),
    )
    return _total(per_account, func.count(), p.op, p.value)


def dunning_steps(p: rules.DunningSteps, scope: Scope) -> ColumnElement[bool]:
    start, end = p.period.bounds(scope.as_of)
    per_account = (
        select(Invoice.account_id)
        .join(EventRecord, EventRecord.object_id == Invoice.id)
        .where(
            EventRecord.organisation_id.in_(scope.organisations()),
            EventRecord.type == "dunning.step",
            EventRecord.object_type == "invoice",
            EventRecord.occurred_at >= _at(start),
            EventRecord.occurred_at < _at(end),
        )
    )
    return _total(per_account, func.count(), p.op, p.value)


def wallet_balance(p: rules.WalletBalance, scope: Scope) -> ColumnElement[bool]:
    per_account = select(Wallet.account_id).where(
        Wallet.organisation_id.in_(scope.organisations()), Wallet.currency == p.currency
    )
    return _total(per_account, func.sum(Wallet.balance_minor), p.op, p.value)


COMPILERS: dict[type, Callable[[Any, Scope], ColumnElement[bool]]] = {
    rules.AccountType: account_type,
    rules.Language: language,
    rules.AgeBand: age_band,
    rules.AccountStatus: status,
    rules.CountryIn: country,
    rules.RegionIn: region,
    rules.CityIn: city,
    rules.PostalCodePrefix: postal_code,
    rules.PlanIn: plan,
    rules.ProductKindIn: product_kind,
    rules.BundleIn: bundle,
    rules.ServiceCount: service_count,
    rules.SubscriptionStatus: subscription_status,
    rules.TenureMonths: tenure_months,
    rules.Usage: usage,
    rules.AmountBilled: amount_billed,
    rules.AmountPaid: amount_paid,
    rules.PaymentMethodIn: payment_method,
    rules.LatePayments: late_payments,
    rules.DunningSteps: dunning_steps,
    rules.WalletBalance: wallet_balance,
}


def condition(rule: Any, scope: Scope) -> ColumnElement[bool]:
    """The rule as a boolean condition on ``accounts``."""
    if isinstance(rule, rules.All):
        return and_(true(), *(condition(r, scope) for r in rule.all))
    if isinstance(rule, rules.AnyOf):
        return or_(false(), *(condition(r, scope) for r in rule.any))
    if isinstance(rule, rules.Not):
        return not_(condition(rule.not_, scope))
    return COMPILERS[type(rule)](rule, scope)


def members(rule: Any, scope: Scope) -> Select[Any]:
    """The ids of the accounts of the scope's subtree that satisfy ``rule`` (unordered)."""
    return select(Account.id).where(
        Account.organisation_id.in_(scope.organisations()), condition(rule, scope)
    )
