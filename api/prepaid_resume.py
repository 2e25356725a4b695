"""A top-up that can pay a suspended prepaid subscription's period resumes it (through its process)."""

from __future__ import annotations

from typing import Any

from fastapi.concurrency import run_in_threadpool
from sqlalchemy import select

from activities.subscriptions import records as store
from activities.subscriptions.changes import ActionRequest, take_for_action
from activities.subscriptions.io import ChangePlan
from activities.subscriptions.onboarding import local_today
from activities.subscriptions.prepaid_renewals import PREPAID_SUSPENSION_REASON
from activities.wallets.operations import PrepaidDebit, debit_prepaid_period
from api.errors import ApiError
from api.subscription_processes import process_id_for, start_process
from models.base import unit_of_work
from models.subscriptions import Subscription, SubscriptionEvent


def _suspended_for_funds(database_url: str, account_id: str) -> list[str]:
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


def _pay_and_plan(database_url: str, sub_id: str, key: str) -> ChangePlan | None:
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
            session,
            sub,
            "resume",
            ActionRequest(reason="wallet topped up"),
            process_id_for("resume", sub_id, key),
            "wallet",
        )


async def resume_funded(app_state: Any, account_id: str, organisation_id: str, key: str) -> list[str]:
    """Resume the account's prepaid subscriptions suspended for lack of funds that the wallet now pays."""
    settings = app_state.settings
    url = settings.database_url or ""
    resumed = []
    found = await run_in_threadpool(_suspended_for_funds, url, account_id)
    for sub_id in found:
        plan = await run_in_threadpool(_pay_and_plan, url, sub_id, key)
        if plan is None:
            continue
        try:
            client = await app_state.temporal.client()
            await start_process(
                client,
                settings,
                "SubscriptionAction",
                plan,
                process_id=plan.process_id,
                process="SubscriptionResume",
                organisation_id=organisation_id,
                account_id=account_id,
                subscription_id=sub_id,
            )
        except ApiError:
            await run_in_threadpool(_release, url, plan)
            continue
        resumed.append(sub_id)
    return resumed


def _release(database_url: str, plan: ChangePlan) -> None:
    with unit_of_work(database_url) as session:
        store.release(session, plan.subscription_id, plan.process_id)
