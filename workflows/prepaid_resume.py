"""PrepaidResume: after a top-up, resume the account's prepaid subscriptions suspended for lack of funds
that the wallet now pays: for each, debit the period, take the subscription, and start its
SubscriptionAction (resume) process; a resume whose id is taken gives the subscription back."""

from __future__ import annotations

from datetime import timedelta

from temporalio import workflow
from temporalio.exceptions import WorkflowAlreadyStartedError

with workflow.unsafe.imports_passed_through():
    from activities.subscriptions.io import (
        ChangePlan,
        FundedResume,
        FundedResumeActivities,
        ResumedSubscriptions,
    )
    from domain.process_ids import ProcessLabels
    from workflows.common import DB_RETRY, show_details, start_child
    from workflows.subscription_change import SubscriptionActionWorkflow


@workflow.defn(name="PrepaidResume")
class PrepaidResumeWorkflow:
    """Pay and resume each subscription the top-up can fund; the ids of those whose resume started."""

    @workflow.run
    async def run(self, resume: FundedResume) -> ResumedSubscriptions:
        show_details(f"Resume of account {resume.account_id}'s prepaid subscriptions", "resuming")
        resumed: list[str] = []
        for target in resume.targets:
            taken = await workflow.execute_activity_method(
                FundedResumeActivities.pay_and_plan,
                target,
                start_to_close_timeout=timedelta(minutes=1),
                retry_policy=DB_RETRY,
            )
            if taken.plan is None:
                continue
            if await self._start_resume(resume, taken.plan):
                resumed.append(target.subscription_id)
        return ResumedSubscriptions(subscription_ids=resumed)

    async def _start_resume(self, resume: FundedResume, plan: ChangePlan) -> bool:
        try:
            labels = ProcessLabels(
                process="SubscriptionResume",
                summary=f"Resume of {plan.subscription_id} once its wallet pays the period",
                organisation_id=resume.organisation_id,
                account_id=resume.account_id,
                subscription_id=plan.subscription_id,
            )
            await start_child(SubscriptionActionWorkflow.run, plan, id=plan.process_id, labels=labels)
        except WorkflowAlreadyStartedError:
            await workflow.execute_activity_method(
                FundedResumeActivities.release,
                plan,
                start_to_close_timeout=timedelta(minutes=1),
                retry_policy=DB_RETRY,
            )
            return False  # another process already runs under that id: give the subscription back
        return True
