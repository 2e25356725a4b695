"""PrepaidResume: after a top-up, resume the account's prepaid subscriptions suspended for lack of funds
that the wallet now pays: for each, debit the period, take the subscription, and start its
SubscriptionAction (resume) process; a resume whose id is taken gives the subscription back."""

from __future__ import annotations

from datetime import timedelta

from temporalio import workflow
from temporalio.common import RetryPolicy, SearchAttributeKey, SearchAttributePair, TypedSearchAttributes
from temporalio.exceptions import WorkflowAlreadyStartedError
from temporalio.workflow import ParentClosePolicy

with workflow.unsafe.imports_passed_through():
    from activities.subscriptions.changes import ChangePlan
    from activities.subscriptions.funded_resumes import (
        FundedResume,
        FundedResumeActivities,
        ResumedSubscriptions,
    )

DB_RETRY = RetryPolicy(initial_interval=timedelta(seconds=1), maximum_interval=timedelta(seconds=30))
# The search attributes staff find processes by (registered by runtime/temporal.py).
ACCOUNT_ID = SearchAttributeKey.for_keyword("AccountId")
ORGANISATION_ID = SearchAttributeKey.for_keyword("OrganisationId")
SUBSCRIPTION_ID = SearchAttributeKey.for_keyword("SubscriptionId")
PROCESS = SearchAttributeKey.for_keyword("Process")


def _attributes(resume: FundedResume, plan: ChangePlan) -> TypedSearchAttributes:
    return TypedSearchAttributes(
        [
            SearchAttributePair(ACCOUNT_ID, resume.account_id),
            SearchAttributePair(ORGANISATION_ID, resume.organisation_id),
            SearchAttributePair(PROCESS, "SubscriptionResume"),
            SearchAttributePair(SUBSCRIPTION_ID, plan.subscription_id),
        ]
    )


@workflow.defn(name="PrepaidResume")
class PrepaidResumeWorkflow:
    """Pay and resume each subscription the top-up can fund; the ids of those whose resume started."""

    @workflow.run
    async def run(self, resume: FundedResume) -> ResumedSubscriptions:
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
            await workflow.start_child_workflow(
                "SubscriptionAction",
                plan,
                id=plan.process_id,
                parent_close_policy=ParentClosePolicy.ABANDON,
                memo={
                    "organisation_id": resume.organisation_id,
                    "account_id": resume.account_id,
                    "subscription_id": plan.subscription_id,
                },
                search_attributes=_attributes(resume, plan),
            )
        except WorkflowAlreadyStartedError:
            await workflow.execute_activity_method(
                FundedResumeActivities.release,
                plan,
                start_to_close_timeout=timedelta(minutes=1),
                retry_policy=DB_RETRY,
            )
            return False  # another process already runs under that id: give the subscription back
        return True
