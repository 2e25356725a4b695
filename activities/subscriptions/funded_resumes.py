"""A top-up that can pay a suspended prepaid subscription's period resumes it: the PrepaidResume process's
activities (pay the period from the wallet and take the subscription for a resume; release it when the
resume cannot start), and the read that finds which subscriptions to try."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel
from sqlalchemy import select
from temporalio import activity

from activities.subscriptions import records as store
from activities.subscriptions.changes import ActionRequest, ChangePlan, take_for_action
from activities.subscriptions.onboarding import local_today
from activities.subscriptions.prepaid_renewals import PREPAID_SUSPENSION_REASON
from activities.wallets.io import PrepaidDebit
from activities.wallets.prepaid import debit_prepaid_period
from models.base import unit_of_work
from models.subscriptions import Subscription, SubscriptionEvent
from runtime.settings import Settings


class ResumeTarget(BaseModel):
    """A subscription to resume and the id of its SubscriptionAction process."""

    subscription_id: str
    process_id: str


class FundedResume(BaseModel):
    """The PrepaidResume process's input: the account that was topped up and what to try to resume."""

    organisation_id: str
    account_id: str
    targets: list[ResumeTarget]


class ResumePlan(BaseModel):
    """The resume to start (the subscription is taken for it), or None when the wallet cannot pay."""

    plan: ChangePlan | None = None


class ResumedSubscriptions(BaseModel):
    subscription_ids: list[str]


def suspended_for_funds(database_url: str, account_id: str) -> list[str]:
    """The account's prepaid subscriptions suspended for lack of funds (a read)."""
    with unit_of_work(database_url) as session:
        subs = (
            session.execute(
                select(Subscription.id).where(
                    Subscription.account_id == account_id,
                    Subscription.status == "suspended",
                    Subscription.billing_term.in_(("prepaid", "voucher")),
                )
            )
            .scalars()
            .all()
        )
        out = []
        for sub_id in subs:
            last = session.execute(
                select(SubscriptionEvent.reason)
                .where(SubscriptionEvent.subscription_id == sub_id, SubscriptionEvent.kind == "suspend")
                .order_by(SubscriptionEvent.id.desc())
                .limit(1)
            ).scalar_one_or_none()
            if last == PREPAID_SUSPENSION_REASON:
                out.append(sub_id)
        return out


def _pay_and_plan(database_url: str, sub_id: str, process_id: str) -> ChangePlan | None:
    with unit_of_work(database_url) as session:
        sub = store.load(session, sub_id)
        today = local_today(sub.timezone)
        debit = debit_prepaid_period(
            session, PrepaidDebit(subscription_id=sub_id, on=today, include_suspended=True)
        )
    if debit.status not in ("debited", "already_debited"):
        return None
    with unit_of_work(database_url) as session:
        sub = store.load(session, sub_id, lock=True)
        return take_for_action(
            session, sub, "resume", ActionRequest(reason="wallet topped up"), process_id, "wallet"
        )


class FundedResumeActivities:
    """The PrepaidResume process's activities."""

    def __init__(self, settings: Settings) -> None:
        self.url = settings.database_url or ""

    @activity.defn(name="pay_prepaid_resume")
    def pay_and_plan(self, target: ResumeTarget) -> ResumePlan:
        """Debit the period from the wallet (once per period) and take the subscription for its resume."""
        return ResumePlan(plan=_pay_and_plan(self.url, target.subscription_id, target.process_id))

    @activity.defn(name="release_prepaid_resume")
    def release(self, plan: ChangePlan) -> None:
        """Give the subscription back when its resume could not start."""
        with unit_of_work(self.url) as session:
            store.release(session, plan.subscription_id, plan.process_id)

    def all(self) -> list[Any]:
        return [self.pay_and_plan, self.release]
