"""What the dashboard shows a subscriber, read from the database in one transaction: their services,
wallet balances, open invoices and the next bill (its date from the bill day, its amount estimated from
the last bill)."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, date, datetime

import sqlalchemy as sa
from sqlalchemy.orm import Session

from domain.periods import BillingPeriodUnit, period_containing, zone
from models.billing import Invoice
from models.catalog import PlanVersion
from models.subscriptions import Subscription, SubscriptionService
from models.wallets import Wallet

OPEN_INVOICE_STATES = ("issued", "partially_paid", "overdue")
BILLED_STATES = ("active", "suspended")
UNBILLED_TERMS = ("prepaid", "voucher")  # debited from the wallet or a voucher: no bill


@dataclass(frozen=True)
class ServiceView:
    subscription_id: str
    plan_name: str
    status: str
    addons: list[str] = field(default_factory=list)


@dataclass(frozen=True)
class NextBill:
    on: date
    estimate_minor: int | None
    currency: str


@dataclass(frozen=True)
class Dashboard:
    services: list[ServiceView]
    balances: list[tuple[int, str]]  # (balance_minor, currency) per wallet
    open_invoices: list[Invoice]
    next_bill: NextBill | None


def next_bill_date(today: date, bill_day: int, started: date) -> date:
    """The next monthly bill date after ``today`` (the end of the period that contains it)."""
    first = max(today, started)
    return period_containing(first, bill_day, BillingPeriodUnit.MONTH, 1).end


def _plan_names(
    session: Session, operator_id: str, codes: set[tuple[str, int]]
) -> dict[tuple[str, int], str]:
    if not codes:
        return {}
    rows = session.execute(
        sa.select(PlanVersion.code, PlanVersion.version, PlanVersion.spec).where(
            PlanVersion.organisation_id == operator_id,
            PlanVersion.code.in_({code for code, _ in codes}),
        )
    )
    return {(code, version): str(spec.get("name") or code) for code, version, spec in rows}


def _services(session: Session, operator_id: str, subscriptions: list[Subscription]) -> list[ServiceView]:
    by_sub: dict[str, list[SubscriptionService]] = {}
    ids = [s.id for s in subscriptions]
    for row in session.scalars(
        sa.select(SubscriptionService)
        .where(SubscriptionService.subscription_id.in_(ids), SubscriptionService.ended_on.is_(None))
        .order_by(SubscriptionService.id)
    ):
        by_sub.setdefault(row.subscription_id, []).append(row)
    names = _plan_names(
        session, operator_id, {(r.plan_code, r.plan_version) for rows in by_sub.values() for r in rows}
    )
    views = []
    for sub in subscriptions:
        rows = by_sub.get(sub.id, [])
        base = [names.get((r.plan_code, r.plan_version), r.plan_code) for r in rows if r.role == "base"]
        addons = [names.get((r.plan_code, r.plan_version), r.plan_code) for r in rows if r.role == "addon"]
        views.append(ServiceView(sub.id, ", ".join(base) or "—", sub.status, addons))
    return views


def _next_bill(
    session: Session, account_ids: tuple[str, ...], subscriptions: list[Subscription]
) -> NextBill | None:
    billed = [s for s in subscriptions if s.status in BILLED_STATES and s.billing_term not in UNBILLED_TERMS]
    if not billed:
        return None
    now = datetime.now(UTC)

    def bill_on(sub: Subscription) -> date:
        return next_bill_date(now.astimezone(zone(sub.timezone)).date(), sub.bill_day, sub.start_date)

    first = min(billed, key=lambda s: (bill_on(s), s.id))
    on = bill_on(first)
    last = session.scalars(
        sa.select(Invoice)
        .where(
            Invoice.account_id.in_(account_ids),
            Invoice.currency == first.currency,
            Invoice.status != "void",
            Invoice.billing_run_id.is_not(None),
        )
        .order_by(Invoice.issue_date.desc(), Invoice.id.desc())
        .limit(1)
    ).first()
    return NextBill(on, last.total_minor if last else None, first.currency)


def dashboard(session: Session, operator_id: str, account_ids: tuple[str, ...]) -> Dashboard:
    subscriptions = list(
        session.scalars(
            sa.select(Subscription)
            .where(Subscription.account_id.in_(account_ids), Subscription.status != "draft")
            .order_by(Subscription.created_at, Subscription.id)
        )
    )
    wallets = session.execute(
        sa.select(Wallet.balance_minor, Wallet.currency)
        .where(Wallet.account_id.in_(account_ids))
        .order_by(Wallet.currency, Wallet.id)
    )
    invoices = list(
        session.scalars(
            sa.select(Invoice)
            .where(Invoice.account_id.in_(account_ids), Invoice.status.in_(OPEN_INVOICE_STATES))
            .order_by(Invoice.due_date, Invoice.id)
        )
    )
    return Dashboard(
        services=_services(session, operator_id, subscriptions),
        balances=[(int(b), str(c)) for b, c in wallets],
        open_invoices=invoices,
        next_bill=_next_bill(session, account_ids, subscriptions),
    )
