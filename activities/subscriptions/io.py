"""The subscription activities as workflows call them, and their inputs and outputs (no SQLAlchemy here).

Five interfaces: onboarding (SubscriptionActivities), changes (ChangeActivities), prepaid renewals in a
bill run (PrepaidActivities), the end of an on-demand line (OnDemandActivities) and the resume of a
prepaid subscription after a top-up (FundedResumeActivities); all implemented in
activities/subscriptions/activities.py.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Any, Literal

from pydantic import BaseModel, Field
from temporalio import activity

from activities.billing.io import RunInput

Timing = Literal["immediate", "end_of_term"]


class ServiceOrder(BaseModel):
    """One service of an order, resolved against the catalogue."""

    plan_code: str
    plan_version: int
    product_kind: str
    role: Literal["base", "addon"]
    quantity: int
    bundle_code: str | None = None
    characteristics: dict[str, Any] = Field(default_factory=dict)


class OnboardingInput(BaseModel):
    """A checked order, ready for the Onboarding workflow."""

    operator_id: str | None = None
    invoice_now: bool = False
    subscription_id: str
    process_id: str
    organisation_id: str
    account_id: str
    request_id: str
    actor: str
    currency: str
    timezone: str
    bill_day: int
    billing_term: str
    start_date: date
    cooling_off_days: int
    email: str
    display_name: str
    language: str
    services: list[ServiceOrder]


class OnboardingResult(BaseModel):
    """How an Onboarding ended: ``active`` (or ``scheduled``), or ``failed`` with the reason."""

    subscription_id: str
    status: str
    reason: str | None = None


class ServiceRef(BaseModel):
    """A service as provisioning knows it: ``service_id`` is its line id (stable across plan changes)."""

    service_id: str
    plan_code: str
    product_kind: str
    characteristics: dict[str, Any] = Field(default_factory=dict)
    device_product: str | None = Field(default=None, description="the device the plan rents or sells")
    access_hours: int | None = Field(default=None, description="on-demand: the access window, hours")


class SubscriptionRef(BaseModel):
    """A subscription as an onboarding step names it, with the process acting on it."""

    subscription_id: str
    process_id: str
    actor: str = "system"


class CreatedSubscription(BaseModel):
    """The draft subscription and its services, as provisioning will need them."""

    subscription_id: str
    status: str
    services: list[ServiceRef]


class FailInput(SubscriptionRef):
    """Onboarding's compensation: why the subscription failed."""

    reason: str


class Notice(BaseModel):
    """An email telling the subscriber what happened to the subscription."""

    subscription_id: str
    process_id: str
    kind: Literal["welcome", "suspended", "resumed", "terminated", "changed", "device_swapped"]


class ChangePlan(BaseModel):
    """A change resolved against the catalogue, ready for the workflow."""

    subscription_id: str
    process_id: str
    actor: str
    action: Literal["change_plan", "add_addon", "remove_addon", "suspend", "resume", "terminate", "regret"]
    service_id: str | None = None
    plan_code: str | None = None
    plan_version: int | None = None
    timing: Timing = "immediate"
    effective_on: date
    run_at: datetime
    reason: str | None = None
    pause_billing: bool = False


class Applied(BaseModel):
    """What a change did: the subscription's status and the provisioning orders it needs."""

    subscription_id: str
    status: str
    provision: list[tuple[str, ServiceRef]] = Field(default_factory=list, description="(action, line) orders")


class Scheduled(BaseModel):
    """A change recorded for later, and the instant it happens."""

    change_id: str
    run_at: datetime


class RenewalResult(BaseModel):
    """The prepaid renewals of a bill run: debits per currency and the wallets that could not pay."""

    debited: int = 0
    amount_minor: dict[str, int] = Field(default_factory=dict)
    unfunded: list[str] = Field(default_factory=list, description="subscriptions whose wallet could not pay")


class SuspendInput(BaseModel):
    """The subscriptions a bill run suspends because their wallet could not pay."""

    subscription_ids: list[str]
    process_id: str


class EndAccess(BaseModel):
    """An on-demand line whose access window expired or was revoked."""

    process_id: str
    subscription_id: str
    service_id: str  # the line id, as provisioning knows it
    ended_at: datetime  # the expiry, or the moment of the revocation (from the workflow's clock)
    outcome: Literal["expired", "revoked"]


class EndedAccess(BaseModel):
    """The rows of the line ended now, and the day they ended."""

    service_ids: list[str]  # the rows ended now (empty when a retry or another process ended them)
    ended_on: date | None


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
    """The subscriptions a PrepaidResume process resumed."""

    subscription_ids: list[str]


class SubscriptionActivities:
    """Onboarding's activities as workflows call them (implemented in activities.py)."""

    @activity.defn(name="create_subscription")
    def create_subscription(self, order: OnboardingInput) -> CreatedSubscription:
        """The subscription (draft) and its services (pending); a retry finds what the first try made."""
        raise NotImplementedError

    @activity.defn(name="add_activation_charges")
    def add_activation_charges(self, ref: SubscriptionRef) -> int:
        """One-off fees and devices sold with the plans, as pending charges (once per process)."""
        raise NotImplementedError

    @activity.defn(name="open_subscription")
    def open_subscription(self, order: OnboardingInput) -> CreatedSubscription:
        """create_subscription and add_activation_charges in one transaction (both or neither)."""
        raise NotImplementedError

    @activity.defn(name="activate_subscription")
    def activate_subscription(self, ref: SubscriptionRef) -> str:
        """Activate a draft subscription and its pending services, and release it; its status."""
        raise NotImplementedError

    @activity.defn(name="fail_subscription")
    def fail_subscription(self, failure: FailInput) -> str:
        """Compensation's last step: void the pending charges, mark it failed with the reason."""
        raise NotImplementedError

    @activity.defn(name="notify_subscriber")
    def notify_subscriber(self, notice: Notice) -> str:
        """Email the subscriber the notice; the message id."""
        raise NotImplementedError


class ChangeActivities:
    """The change processes' activities as workflows call them (implemented in activities.py)."""

    @activity.defn(name="acquire_subscription")
    def acquire_subscription(self, plan: ChangePlan) -> None:
        """Take the subscription for this process; retried (by the workflow) while another holds it."""
        raise NotImplementedError

    @activity.defn(name="schedule_change")
    def schedule_change(self, plan: ChangePlan) -> Scheduled:
        """Record a change for later (once per process) and release the subscription."""
        raise NotImplementedError

    @activity.defn(name="close_scheduled_change")
    def close_scheduled_change(self, request: tuple[str, str]) -> None:
        """Set the status of the process's scheduled change, if it is still pending."""
        raise NotImplementedError

    @activity.defn(name="apply_change")
    def apply_change(self, plan: ChangePlan) -> Applied:
        """Apply the change in one transaction (idempotent: a retry finds it applied) and release."""
        raise NotImplementedError

    @activity.defn(name="release_change")
    def release_change(self, plan: ChangePlan) -> None:
        """Release the subscription from this process."""
        raise NotImplementedError


class PrepaidActivities:
    """Prepaid renewals in a bill run as workflows call them (implemented in activities.py)."""

    @activity.defn(name="renew_prepaid")
    def renew(self, run: RunInput) -> RenewalResult:
        """Debit every active prepaid subscription of the cycle for the period holding the run's date."""
        raise NotImplementedError

    @activity.defn(name="plan_prepaid_suspensions")
    def plan_suspensions(self, request: SuspendInput) -> list[ChangePlan]:
        """Take each unfunded subscription for its suspension (skipping those that can't be)."""
        raise NotImplementedError


class OnDemandActivities:
    """The end of an on-demand line as workflows call it (implemented in activities.py)."""

    @activity.defn(name="end_on_demand_service")
    def end_on_demand_service(self, request: EndAccess) -> EndedAccess:
        """Record the end of the line's live rows; a retry changes nothing."""
        raise NotImplementedError


class FundedResumeActivities:
    """The PrepaidResume process's activities as it calls them (implemented in activities.py)."""

    @activity.defn(name="pay_prepaid_resume")
    def pay_and_plan(self, target: ResumeTarget) -> ResumePlan:
        """Debit the period from the wallet (once per period) and take the subscription for its resume."""
        raise NotImplementedError

    @activity.defn(name="release_prepaid_resume")
    def release(self, plan: ChangePlan) -> None:
        """Give the subscription back when its resume could not start."""
        raise NotImplementedError
