"""The subscription processes' Temporal activities: each opens one transaction and calls the transaction
scripts of onboarding.py, changes.py, change_steps.py, prepaid_renewals.py, on_demand.py or
funded_resumes.py."""

from __future__ import annotations

from typing import Any

from temporalio import activity
from temporalio.exceptions import ApplicationError

from activities.billing.io import RunInput
from activities.events.snapshots import subscription_data
from activities.notifications import direct
from activities.notifications.templates import Parts
from activities.shared.heartbeat import heartbeating
from activities.subscriptions import (
    change_steps,
    changes,
    funded_resumes,
    io,
    on_demand,
    onboarding,
    prepaid_renewals,
)
from activities.subscriptions import records as store
from activities.subscriptions.io import (
    Applied,
    ChangePlan,
    CreatedSubscription,
    EndAccess,
    EndedAccess,
    FailInput,
    Notice,
    OnboardingInput,
    RenewalResult,
    ResumePlan,
    ResumeTarget,
    Scheduled,
    SubscriptionRef,
    SuspendInput,
)
from domain.errors import Conflict
from integrations.notify.base import Notifier
from integrations.notify.smtp import SmtpNotifier
from models.base import unit_of_work
from runtime.settings import Settings


def _database_url(settings: Settings, what: str) -> str:
    if not settings.database_url:
        raise RuntimeError(f"DATABASE_URL is not set: {what} activities need the database")
    return settings.database_url


class SubscriptionActivities(io.SubscriptionActivities):
    """Activities of the subscription processes (sync: the worker runs them on its thread pool)."""

    def __init__(self, settings: Settings, notifier: Notifier | None = None) -> None:
        self.url = _database_url(settings, "subscription")
        self.notifier: Notifier = notifier or SmtpNotifier(
            host=settings.smtp_host, port=settings.smtp_port, sender=settings.smtp_sender
        )

    @activity.defn(name="create_subscription")
    def create_subscription(self, order: OnboardingInput) -> CreatedSubscription:
        """The subscription (draft) and its services (pending); a retry finds what the first try made."""
        with unit_of_work(self.url) as session:
            return onboarding.create(session, order)

    @activity.defn(name="add_activation_charges")
    def add_activation_charges(self, ref: SubscriptionRef) -> int:
        """One-off fees and devices sold with the plans, as pending charges (once per process)."""
        with unit_of_work(self.url) as session:
            return onboarding.add_activation_charges(session, ref)

    @activity.defn(name="open_subscription")
    def open_subscription(self, order: OnboardingInput) -> CreatedSubscription:
        """create_subscription and add_activation_charges in one transaction (both or neither)."""
        with unit_of_work(self.url) as session:
            return onboarding.open_subscription(session, order)

    @activity.defn(name="activate_subscription")
    def activate_subscription(self, ref: SubscriptionRef) -> str:
        """Activate a draft subscription and its pending services, and release it; its status."""
        with unit_of_work(self.url) as session:
            return onboarding.activate(session, ref)

    @activity.defn(name="fail_subscription")
    def fail_subscription(self, failure: FailInput) -> str:
        """Compensation's last step: void the pending charges, mark it failed with the reason."""
        with unit_of_work(self.url) as session:
            return onboarding.fail(session, failure)

    @activity.defn(name="notify_subscriber")
    def notify_subscriber(self, notice: Notice) -> str:
        """Email the subscriber the notice (the operator's ``subscription.<kind>`` template, else the
        built-in text; logged by the notifications engine); the message id."""
        kind = f"subscription.{notice.kind}"
        message_id = f"<{notice.process_id}.{notice.kind}@multibill.local>"
        with unit_of_work(self.url) as session:
            # held here, so that prepare_email's own reads of them hit the session's identity map
            sub, account = store.holder(session, notice.subscription_id)
            email, name = account.email, account.display_name
            subject = f"Your subscription {notice.subscription_id}: {notice.kind}"
            text = f"Hello {name},\n\nYour subscription {notice.subscription_id} is now {notice.kind}.\n"
            # the subscription's event data too: a template of ``subscription.<kind>`` fits both paths
            data = {**subscription_data(sub), "subscription_id": notice.subscription_id, "kind": notice.kind}
            message = direct.prepare_email(
                session,
                account_id=sub.account_id,
                kind=kind,
                data=data,
                to=email,
                message_id=message_id,
                default=Parts(subject, text),
            )
        if message is None:  # the subscriber refused email: logged as suppressed
            return message_id
        self.notifier.send_email(message)
        with unit_of_work(self.url) as session:
            direct.record_sent(session, kind=kind, to=email, message_id=message_id)
        return message_id

    def all(self) -> list[Any]:
        return [
            self.create_subscription,
            self.add_activation_charges,
            self.open_subscription,
            self.activate_subscription,
            self.fail_subscription,
            self.notify_subscriber,
        ]


class ChangeActivities(io.ChangeActivities):
    """Activities of the change processes: take, schedule, apply and release a subscription."""

    def __init__(self, settings: Settings) -> None:
        self.url = _database_url(settings, "subscription")

    @activity.defn(name="acquire_subscription")
    def acquire_subscription(self, plan: ChangePlan) -> None:
        """Take the subscription for this process; retried (by the workflow) while another holds it."""
        with unit_of_work(self.url) as session:
            try:
                store.acquire(session, plan.subscription_id, plan.process_id)
            except Conflict as exc:
                raise ApplicationError(exc.message, type="SubscriptionBusy") from exc

    @activity.defn(name="schedule_change")
    def schedule_change(self, plan: ChangePlan) -> Scheduled:
        """Record a change for later (once per process) and release the subscription."""
        with unit_of_work(self.url) as session:
            return changes.schedule(session, plan)

    @activity.defn(name="close_scheduled_change")
    def close_scheduled_change(self, request: tuple[str, str]) -> None:
        """Set the status of the process's scheduled change, if it is still pending."""
        process_id, status = request
        with unit_of_work(self.url) as session:
            changes.close_scheduled(session, process_id, status)

    @activity.defn(name="apply_change")
    def apply_change(self, plan: ChangePlan) -> Applied:
        """Apply the change in one transaction (idempotent: a retry finds it applied) and release.
        The subscription's row is locked first, before anything billed is read: a bill-run page billing
        it (``billing.bill_run.lock_for_billing``) waits for the change, or the change for the page."""
        with unit_of_work(self.url) as session:
            sub = store.load(session, plan.subscription_id, lock=True)
            applied = change_steps.apply(session, sub, plan)
            store.release(session, sub.id, plan.process_id)
            return applied

    @activity.defn(name="release_change")
    def release_change(self, plan: ChangePlan) -> None:
        """Release the subscription from this process."""
        with unit_of_work(self.url) as session:
            store.release(session, plan.subscription_id, plan.process_id)

    def all(self) -> list[Any]:
        return [
            self.acquire_subscription,
            self.schedule_change,
            self.close_scheduled_change,
            self.apply_change,
            self.release_change,
        ]


class PrepaidActivities(io.PrepaidActivities):
    """Prepaid renewals in a bill run: wallet debits, and the suspensions of those that cannot pay."""

    def __init__(self, settings: Settings) -> None:
        self.url = _database_url(settings, "prepaid")

    @activity.defn(name="renew_prepaid")
    def renew(self, run: RunInput) -> RenewalResult:
        """Debit every active prepaid subscription of the cycle for the period holding the run's date,
        heartbeating four times per heartbeat timeout however long one query or debit takes."""
        with heartbeating():
            return prepaid_renewals.renew(self.url, run)

    @activity.defn(name="plan_prepaid_suspensions")
    def plan_suspensions(self, request: SuspendInput) -> list[ChangePlan]:
        """Take each unfunded subscription for its suspension (skipping those that can't be)."""
        with unit_of_work(self.url) as session:
            return prepaid_renewals.plan_suspensions(session, request)

    def all(self) -> list[Any]:
        return [self.renew, self.plan_suspensions]


class OnDemandActivities(io.OnDemandActivities):
    """The end of an on-demand line once its access window expired or was revoked."""

    def __init__(self, settings: Settings) -> None:
        self.url = _database_url(settings, "on-demand")

    @activity.defn(name="end_on_demand_service")
    def end_on_demand_service(self, request: EndAccess) -> EndedAccess:
        """Record the end of the line's live rows; a retry changes nothing."""
        return on_demand.end_access(self.url, request)


class FundedResumeActivities(io.FundedResumeActivities):
    """The PrepaidResume process's activities."""

    def __init__(self, settings: Settings) -> None:
        self.url = settings.database_url or ""

    @activity.defn(name="pay_prepaid_resume")
    def pay_and_plan(self, target: ResumeTarget) -> ResumePlan:
        """Debit the period from the wallet (once per period) and take the subscription for its resume."""
        return ResumePlan(
            plan=funded_resumes.pay_and_plan(self.url, target.subscription_id, target.process_id)
        )

    @activity.defn(name="release_prepaid_resume")
    def release(self, plan: ChangePlan) -> None:
        """Give the subscription back when its resume could not start."""
        with unit_of_work(self.url) as session:
            store.release(session, plan.subscription_id, plan.process_id)

    def all(self) -> list[Any]:
        return [self.pay_and_plan, self.release]
