"""Prepaid renewals in a bill run: debit each prepaid subscription's wallet for its period, and plan the
suspension of those whose wallet cannot pay (the bill run does not invoice prepaid terms)."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session
from temporalio import activity

from activities.billing.io import RunInput
from activities.billing.page_data import cycle_column
from activities.subscriptions import records as store
from activities.subscriptions.changes import ActionRequest, take_for_action
from activities.subscriptions.io import ChangePlan, RenewalResult, SuspendInput
from activities.subscriptions.onboarding import local_today
from activities.wallets.io import PrepaidDebit
from activities.wallets.prepaid import debit_prepaid_period
from domain import process_ids
from domain.catalog import PREPAID_TERMS
from models.base import unit_of_work
from models.organisations import Organisation
from models.subscriptions import Subscription

PREPAID_SUSPENSION_REASON = "prepaid wallet cannot pay the period"


def renew(url: str, run: RunInput) -> RenewalResult:
    """Debit every active prepaid subscription of the cycle for the period holding the run's date, one
    wallet movement per transaction, heartbeating after each."""
    with unit_of_work(url) as session:
        org = session.get(Organisation, run.organisation_id)
        assert org is not None
        rows = session.execute(
            select(Subscription.id, Subscription.timezone)
            .join(Organisation, Organisation.id == Subscription.organisation_id)
            .where(
                Organisation.path.startswith(org.path, autoescape=True),
                cycle_column() == run.bill_day,
                Subscription.status == "active",
                Subscription.billing_term.in_(PREPAID_TERMS),
            )
            .order_by(Subscription.id)
        ).all()
    result = RenewalResult()
    for index, (sub_id, timezone) in enumerate(rows):
        on = run.period_date or local_today(timezone)
        with unit_of_work(url) as session:  # one wallet movement per transaction
            debit = debit_prepaid_period(session, PrepaidDebit(subscription_id=sub_id, on=on))
        if debit.status == "debited":
            result.debited += 1
            result.amount_minor[debit.currency] = (
                result.amount_minor.get(debit.currency, 0) + debit.amount_minor
            )
        elif debit.status == "insufficient_funds":
            result.unfunded.append(sub_id)
        activity.heartbeat(index)
    return result


def plan_suspensions(session: Session, request: SuspendInput) -> list[ChangePlan]:
    """Take each unfunded subscription for its suspension (skipping those that can't be)."""
    plans = []
    for sub_id in request.subscription_ids:
        sub = store.load(session, sub_id, lock=True)
        plan = take_for_action(
            session,
            sub,
            "suspend",
            ActionRequest(reason=PREPAID_SUSPENSION_REASON),
            process_ids.service_action(request.process_id, "suspend", sub_id),
            "billing",
        )
        if plan is not None:
            plans.append(plan)
    return plans
