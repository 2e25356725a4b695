"""Loyalty test data: an operator's accounts with subscriptions, services, usage, invoices and payments,
inserted directly (fixed dates, exact amounts), rules and a programme, and readers of what was awarded."""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Any

import sqlalchemy as sa

from activities.loyalty import awards, evaluation, rules, runs
from domain.ids import new_id
from domain.loyalty import RuleDefinition
from models.base import engine_for, unit_of_work
from models.billing import Invoice
from models.loyalty import LoyaltyRule
from models.payments import Payment
from models.subscriptions import Subscription, SubscriptionService
from models.usage import UsageEvent
from tests.support.billing_factory import make_account

RUN_DAY = date(2026, 4, 1)
PERIOD = "2026-03"


@dataclass
class Customer:
    """An account of the test operator and its one subscription."""

    account_id: str
    subscription_id: str
    service_ids: list[str] = field(default_factory=list)


def customer(
    url: str, organisation_id: str, *, since: date, kinds: tuple[str, ...] = ("video",), currency: str = "EUR"
) -> Customer:
    account_id = make_account(url, organisation_id, currency=currency)
    with unit_of_work(url) as session:
        sub = Subscription(
            id=new_id("sub"),
            organisation_id=organisation_id,
            account_id=account_id,
            request_id=uuid.uuid4().hex,
            status="active",
            currency=currency,
            timezone="Europe/Madrid",
            bill_day=1,
            billing_term="in_advance",
            start_date=since,
        )
        session.add(sub)
        session.flush()
        found = Customer(account_id, sub.id)
        for index, kind in enumerate(kinds):
            service_id = new_id("svc")
            session.add(
                SubscriptionService(
                    id=service_id,
                    line_id=service_id,
                    subscription_id=sub.id,
                    plan_code=f"plan-{kind}",
                    plan_version=1,
                    product_kind=kind,
                    role="base" if index == 0 else "addon",
                    status="active",
                    started_on=since,
                )
            )
            found.service_ids.append(service_id)
    return found


def usage(url: str, organisation_id: str, who: Customer, metric: str, at: datetime) -> None:
    with unit_of_work(url) as session:
        session.add(
            UsageEvent(
                organisation_id=organisation_id,
                client_event_id=uuid.uuid4().hex,
                subscriber=who.subscription_id,
                subscription_id=who.subscription_id,
                service_id=who.service_ids[0] if who.service_ids else None,
                event_type="data" if metric == "data" else "voice",
                metric=metric,
                quantity=60,
                started_at=at,
                status="accepted",
            )
        )


def invoice(
    url: str, organisation_id: str, who: Customer, total_minor: int, issued: date, **extra: Any
) -> str:
    invoice_id = new_id("inv")
    with unit_of_work(url) as session:
        session.add(
            Invoice(
                id=invoice_id,
                organisation_id=organisation_id,
                account_id=who.account_id,
                number=f"T-{uuid.uuid4().hex[:12]}",
                status=extra.get("status", "issued"),
                currency=extra.get("currency", "EUR"),
                issue_date=issued,
                due_date=issued,
                net_minor=total_minor,
                tax_minor=0,
                total_minor=total_minor,
            )
        )
    return invoice_id


def payment(
    url: str, organisation_id: str, who: Customer, amount_minor: int, at: datetime, refunded: int = 0
) -> None:
    with unit_of_work(url) as session:
        session.add(
            Payment(
                id=new_id("pay"),
                organisation_id=organisation_id,
                account_id=who.account_id,
                kind="cash",
                amount_minor=amount_minor,
                currency="EUR",
                status="succeeded" if not refunded else "partially_refunded",
                gateway="cash",
                idempotency_key=uuid.uuid4().hex,
                refunded_minor=refunded,
                created_at=at,
            )
        )


def programme(url: str, organisation_id: str, value: str = "1", expiry_months: int | None = None) -> None:
    with unit_of_work(url) as session:
        rules.set_programme(session, organisation_id, "EUR", Decimal(value), expiry_months)


def rule(url: str, organisation_id: str, code: str, definition: dict[str, Any]) -> str:
    with unit_of_work(url) as session:
        made = rules.create_rule(
            session, organisation_id, code, code, RuleDefinition.model_validate(definition), True
        )
        return made.id


def award_period(url: str, organisation_id: str, period: str = PERIOD, on: date = RUN_DAY) -> str:
    """What the LoyaltyAward workflow does, step by step in this process: the run's id."""
    with unit_of_work(url) as session:
        started = runs.start_run(session, organisation_id, period, f"test-{uuid.uuid4().hex[:6]}")
    for rule_id in started.rule_ids:
        with unit_of_work(url) as session:
            found = session.get(LoyaltyRule, rule_id)
            assert found is not None
            evaluation.evaluate(session, started.run_id, found, period)
    more = True
    while more:
        with unit_of_work(url) as session:
            _, more = awards.apply_page(session, started.run_id, organisation_id, 2, on)
    with unit_of_work(url) as session:
        runs.finish_run(session, started.run_id, 0)
    return started.run_id


def awarded(url: str, organisation_id: str) -> dict[tuple[str, str], tuple[str, int, int | None, str]]:
    """(rule code, account) → (kind, points, amount, status) of every award of the operator."""
    with engine_for(url).connect() as conn:
        rows = conn.execute(
            sa.text(
                "select r.code, a.account_id, a.kind, a.points, a.amount_minor, a.status "
                "from loyalty_awards a join loyalty_rules r on r.id = a.rule_id where a.organisation_id = :o"
            ),
            {"o": organisation_id},
        ).all()
    return {(code, acc): (kind, pts, amount, status) for code, acc, kind, pts, amount, status in rows}


def scalar(url: str, sql: str, **params: Any) -> Any:
    with engine_for(url).connect() as conn:
        return conn.execute(sa.text(sql), params).scalar_one()


def utc(year: int, month: int, day: int, hour: int = 12) -> datetime:
    return datetime(year, month, day, hour, tzinfo=UTC)
