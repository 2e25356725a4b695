"""Prepaid renewals in a bill run: debit each prepaid subscription's wallet for its period, and plan the
suspension of those whose wallet cannot pay (the bill run does not invoice prepaid terms)."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, Field
from sqlalchemy import select
from temporalio import activity

from activities.billing.bill_run import RunInput
from activities.billing.page_data import cycle_column
from activities.shared.heartbeat import heartbeating
from activities.subscriptions import records as store
from activities.subscriptions.changes import ActionRequest, ChangePlan, take_for_action
from activities.subscriptions.onboarding import local_today
from activities.wallets.io import PrepaidDebit
from activities.wallets.prepaid import debit_prepaid_period
from domain.catalog import PREPAID_TERMS
from models.base import unit_of_work
from models.organisations import Organisation
from models.subscriptions import Subscription
from runtime.settings import Settings

PREPAID_SUSPENSION_REASON = "prepaid wallet cannot pay the period"


class RenewalResult(BaseModel):
    debited: int = 0
    amount_minor: dict[str, int] = Field(default_factory=dict)
    unfunded: list[str] = Field(default_factory=list, description="subscriptions whose wallet could not pay")


class SuspendInput(BaseModel):
    subscription_ids: list[str]
    process_id: str


class PrepaidActivities:
    def __init__(self, settings: Settings) -> None:
        if not settings.database_url:
            raise RuntimeError("DATABASE_URL is not set: prepaid activities need the database")
        self.url = settings.database_url

    @activity.defn(name="renew_prepaid")
    def renew(self, run: RunInput) -> RenewalResult:
        """Debit every active prepaid subscription of the cycle for the period holding the run's date,
        heartbeating four times per heartbeat timeout however long one query or debit takes."""
        with heartbeating():
            return self._renew(run)

    def _renew(self, run: RunInput) -> RenewalResult:
        with unit_of_work(self.url) as session:
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
            with unit_of_work(self.url) as session:  # one wallet movement per transaction
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

    @activity.defn(name="plan_prepaid_suspensions")
    def plan_suspensions(self, request: SuspendInput) -> list[ChangePlan]:
        plans = []
        with unit_of_work(self.url) as session:
            for sub_id in request.subscription_ids:
                sub = store.load(session, sub_id, lock=True)
                plan = take_for_action(
                    session,
                    sub,
                    "suspend",
                    ActionRequest(reason=PREPAID_SUSPENSION_REASON),
                    f"{request.process_id}:suspend:{sub_id}",
                    "billing",
                )
                if plan is not None:
                    plans.append(plan)
        return plans

    def all(self) -> list[Any]:
        return [self.renew, self.plan_suspensions]
